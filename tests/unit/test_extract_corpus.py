"""Main-text quality of crawler.extract.article on real pages (../shared/corpora, see its README).

Body token F1 as the corpora README defines it: lower-cased ``\\w+`` tokens, except that each CJK
character is one token; precision, recall and F1 of the bag of tokens per page; the mean over pages.
Floors: >= 0.95 on article-extraction-benchmark (English), >= 0.86 on zh-cwced (Chinese). Plain
trafilatura (default settings, the raw bytes) runs on the same pages in the same run, and both tools' figures
are printed side by side (body F1, pages with empty text). wcxb-dev-articles is tests/test_extract_wcxb.py.

The zh-cwced pages start with the dataset's wrapper line ``<text id="URL" title=... encoding=...>``.
The test reads the URL from it (corpus metadata) but hands extract_page the file as it is: the
wrapper's ``encoding=`` is not a charset declaration, and junk before ``<html>`` is something a real
crawler meets too, so production code gets no help from the test.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from crawler.extract.article import extract_page

pytestmark = pytest.mark.corpus

CORPORA = Path(os.environ.get("NEWSRADAR_CORPORA") or Path(__file__).resolve().parents[2].parent / "shared" / "corpora")
ENGLISH = CORPORA / "article-extraction-benchmark"
CHINESE = CORPORA / "zh-cwced"

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_TOKEN = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+")
_WRAPPER = re.compile(rb'\A<text id="([^"]*)"[^>]*>')


def tokens(text: str) -> Counter:
    return Counter(_TOKEN.findall((text or "").lower()))


def token_prf(predicted: str, gold: str) -> tuple[float, float, float]:
    pred, truth = tokens(predicted), tokens(gold)
    if not pred and not truth:
        return 1.0, 1.0, 1.0
    overlap = sum((pred & truth).values())
    precision = overlap / sum(pred.values()) if pred else 0.0
    recall = overlap / sum(truth.values()) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def test_token_f1_definition():
    assert tokens("Apple's 2024 股价上涨!") == Counter(
        {"apple": 1, "s": 1, "2024": 1, "股": 1, "价": 1, "上": 1, "涨": 1}
    )
    assert token_prf("a b c d", "a b") == (0.5, 1.0, pytest.approx(2 / 3))
    assert token_prf("", "") == (1.0, 1.0, 1.0)


def trafilatura_default(raw: bytes, url: str | None) -> tuple[str, str | None]:
    """Plain trafilatura as a user would call it: default settings on the raw bytes; (text, title)."""
    import trafilatura

    doc = trafilatura.bare_extraction(raw, url=url, with_metadata=True)
    return ((doc.text if doc else "") or ""), (doc.title if doc else None)


def _score(job: tuple[str, str, str | None, str]) -> tuple:
    """Runs in a worker: (path, gold text, url, gold date) ->
    (P, R, F1, CPU seconds, published, empty, trafilatura P, R, F1, trafilatura empty)."""
    path, gold, url, _ = job
    raw = Path(path).read_bytes()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    started = time.process_time()
    page = extract_page(raw, url)
    elapsed = time.process_time() - started
    reference, _ = trafilatura_default(raw, url)
    return (
        *token_prf(page.text, gold),
        elapsed,
        page.published.isoformat() if page.published else None,
        not page.text.strip(),
        *token_prf(reference, gold),
        not reference.strip(),
    )


@pytest.fixture(scope="module")
def pool():
    with ProcessPoolExecutor(max_workers=2) as executor:
        yield executor


def _run(pool, name: str, jobs: list, capsys) -> tuple[float, float, float, list]:
    results = list(pool.map(_score, jobs, chunksize=4))
    n = len(results)
    precision, recall, f1 = (sum(r[i] for r in results) / n for i in range(3))
    t_precision, t_recall, t_f1 = (sum(r[i] for r in results) / n for i in range(6, 9))
    # The first page in each worker also pays for loading the language model and friends.
    ms = 1000 * sorted(r[3] for r in results)[n // 2]
    ms_mean = 1000 * sum(r[3] for r in results) / n
    with capsys.disabled():
        print(
            f"\n[corpus] {name}: {n} pages, body token F1 newsradar {f1:.3f} "
            f"(precision {precision:.3f}, recall {recall:.3f}), trafilatura default {t_f1:.3f} "
            f"(precision {t_precision:.3f}, recall {t_recall:.3f}); empty text newsradar {sum(r[5] for r in results)}, "
            f"trafilatura {sum(r[9] for r in results)}; newsradar CPU per page {ms_mean:.0f} ms mean, {ms:.0f} ms median"
        )
    return precision, recall, f1, results


def test_english_article_body_f1(pool, capsys):
    if not (ENGLISH / "ground-truth.json").is_file():
        pytest.skip(f"../shared/corpora/{ENGLISH.name} is absent ({ENGLISH}); set NEWSRADAR_CORPORA to its parent")
    truth = json.loads((ENGLISH / "ground-truth.json").read_text(encoding="utf-8"))
    jobs = [
        (str(ENGLISH / "html" / f"{page_id}.html.gz"), item["articleBody"], item.get("url"), None)
        for page_id, item in sorted(truth.items())
    ]
    assert len(jobs) >= 150
    _, _, f1, _ = _run(pool, ENGLISH.name, jobs, capsys)
    assert f1 >= 0.95


def _gold_date(path: Path) -> str | None:
    """zh-cwced's date file: 'YYYY-M-D[ H:MM[:SS]]', a year alone, or UNKNOWN; the day, or None."""
    text = path.read_text(encoding="utf-8", errors="replace").strip() if path.is_file() else ""
    m = re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    return f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}" if m else None


def test_chinese_article_body_f1(pool, capsys):
    if not (CHINESE / "original").is_dir():
        pytest.skip(f"../shared/corpora/{CHINESE.name} is absent ({CHINESE}); set NEWSRADAR_CORPORA to its parent")
    jobs = []
    for original in sorted((CHINESE / "original").glob("*.html")):
        wrapper = _WRAPPER.match(original.read_bytes()[:4096])
        url = wrapper.group(1).decode("utf-8", "replace") if wrapper else None
        gold = (CHINESE / "cleaned" / f"{original.stem}.txt").read_text(encoding="utf-8", errors="replace")
        jobs.append((str(original), gold, url, _gold_date(CHINESE / "date" / f"{original.stem}.txt")))
    assert len(jobs) >= 60
    _, _, f1, results = _run(pool, CHINESE.name, jobs, capsys)

    dated = [(job[3], result[4]) for job, result in zip(jobs, results, strict=True) if job[3]]
    accuracy = sum(bool(got) and got[:10] == want for want, got in dated) / len(dated)
    with capsys.disabled():
        print(f"[corpus] {CHINESE.name}: publication date (day) accuracy {accuracy:.3f} over {len(dated)} dated pages")
    assert f1 >= 0.86
    assert accuracy >= 0.80
