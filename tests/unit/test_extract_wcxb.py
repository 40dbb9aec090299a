"""newsradar's extraction against plain trafilatura on wcxb-dev-articles (../shared/corpora, see its README).

711 English article pages from 695 sites, with human ground truth for the title and the main text. Every page
goes through newsradar's extraction as a crawler meets it (``crawler.extract.article.extract_page`` on the
page's bytes and its URL) and through trafilatura with its default settings (``bare_extraction`` with metadata)
on the same bytes and URL, in the same run: one pass per tool gives text, title and date (two worker processes,
so all pages rather than a subset). Held:

- body token F1 (as in tests/test_extract_corpus.py) >= trafilatura's on the same pages;
- title exact match (whitespace collapsed) >= 0.80;
- no page with empty text where trafilatura's default finds 500 characters or more;
- publication day >= 0.84 over the pages with a ground-truth date (see the test for why not 0.93).

Pages whose ground truth has no main text (one has none) count for the title only.
"""

from __future__ import annotations

import gzip
import json
import os
from concurrent.futures import ProcessPoolExecutor

import pytest

from tests.unit.test_extract_corpus import CORPORA, token_prf

# The first test pays for all 711 pages (~40 s on 2 idle cores); a loaded machine needs more than the 120 s default.
pytestmark = [pytest.mark.corpus, pytest.mark.timeout(900)]

WCXB = CORPORA / "wcxb-dev-articles"
RECALL_CHARS = 500
DATE_FLOOR = 0.84


def _norm(value: str | None) -> str:
    return " ".join((value or "").split())


def _score(page_id: str) -> dict:
    """Runs in a worker: both tools on one page, as a crawler meets it (its bytes and the URL it came from),
    scored against its ground truth: main text, title and publication day in one pass per tool."""
    import logging

    import trafilatura

    from crawler.extract.article import extract_page

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    path = WCXB / "html" / f"{page_id}.html.gz"
    meta = json.loads((WCXB / "ground-truth" / f"{page_id}.json").read_text(encoding="utf-8"))
    truth, url = meta["ground_truth"], meta.get("url")
    gold = truth.get("main_content") or ""
    gold_day = (truth.get("publish_date") or "")[:10] or None
    raw = gzip.decompress(path.read_bytes())
    page = extract_page(raw, url)
    text, title = page.text or "", page.title
    try:
        doc = trafilatura.bare_extraction(raw, url=url, with_metadata=True)
    except Exception:  # trafilatura's failure on a page is its score, not ours
        doc = None
    ref_text, ref_title = ((doc.text if doc else "") or ""), (doc.title if doc else None)
    ref_day = ((doc.date if doc else None) or "")[:10] or None
    return {
        "id": page_id,
        "gold": bool(gold.strip()),
        "f1": token_prf(text, gold)[2],
        "ref_f1": token_prf(ref_text, gold)[2],
        "title": _norm(title) == _norm(truth.get("title")),
        "ref_title": _norm(ref_title) == _norm(truth.get("title")),
        "empty": not text.strip(),
        "ref_empty": not ref_text.strip(),
        "ref_chars": len(ref_text),
        "failure": page.failure,
        "gold_day": gold_day,
        "day": page.published.date().isoformat() if page.published else None,
        "ref_day": ref_day,
    }


@pytest.fixture(scope="module")
def results():
    if not (WCXB / "ground-truth").is_dir():
        pytest.skip(f"../shared/corpora/{WCXB.name} is absent ({WCXB}); set NEWSRADAR_CORPORA to its parent")
    ids = sorted(p.name.split(".")[0] for p in (WCXB / "html").glob("*.html.gz"))
    assert len(ids) >= 700
    workers = int(os.environ.get("NEWSRADAR_CORPUS_WORKERS", "2"))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_score, ids, chunksize=8))


def _figures(results: list[dict]) -> dict:
    scored = [r for r in results if r["gold"]]
    n = len(results)
    return {
        "pages": n,
        "f1": sum(r["f1"] for r in scored) / len(scored),
        "ref_f1": sum(r["ref_f1"] for r in scored) / len(scored),
        "title": sum(r["title"] for r in results) / n,
        "ref_title": sum(r["ref_title"] for r in results) / n,
        "empty": sum(r["empty"] for r in results),
        "ref_empty": sum(r["ref_empty"] for r in results),
        "dated": len(dated := [r for r in results if r["gold_day"]]),
        "date": sum(r["day"] == r["gold_day"] for r in dated) / max(1, len(dated)),
        "ref_date": sum(r["ref_day"] == r["gold_day"] for r in dated) / max(1, len(dated)),
    }


def test_wcxb_report(results, capsys):
    f = _figures(results)
    with capsys.disabled():
        print(
            f"\n[corpus] {WCXB.name}: {f['pages']} pages; body token F1 newsradar {f['f1']:.3f}, trafilatura default "
            f"{f['ref_f1']:.3f}; title exact newsradar {f['title']:.3f}, trafilatura {f['ref_title']:.3f}; "
            f"empty text newsradar {f['empty']}, trafilatura {f['ref_empty']}; publication date (day) over "
            f"{f['dated']} dated pages newsradar {f['date']:.3f}, trafilatura {f['ref_date']:.3f}"
        )


def test_wcxb_body_f1_at_least_trafilatura(results):
    f = _figures(results)
    assert f["f1"] >= f["ref_f1"], f


def test_wcxb_title_exact_match(results):
    assert _figures(results)["title"] >= 0.80


def test_wcxb_no_empty_text_where_trafilatura_finds_an_article(results):
    lost = [(r["id"], r["ref_chars"], r["failure"]) for r in results if r["empty"] and r["ref_chars"] >= RECALL_CHARS]
    assert not lost


def test_wcxb_publication_date_by_day(results):
    """Floor 0.84 (measured 0.847; trafilatura 0.849), not the 0.93 issue 8 asked for: out of reach for a
    *publication* date. Even the better of the two tools page by page gets 0.866; on 22 of the 45 pages where
    newsradar reads a structured date that disagrees with the truth, the truth is the page's `dateModified` (the
    "Updated ..." line), which newsradar deliberately does not take (an update is not a new story), and on others
    the truth is the local day of a UTC timestamp. The floor catches regressions in the date finder."""
    f = _figures(results)
    assert f["dated"] >= 500, f"expected the 588 dated pages of {WCXB}, found {f['dated']}"
    assert f["date"] >= DATE_FLOOR, f
