"""Publication dates on real pages nobody here has seen: newsradar against plain trafilatura, same pages, same run.

``../shared/corpora/wcxb-dev-articles/`` (711 English article pages from 695 sites, human ground truth; see the
corpora README): for every page with a ground-truth ``publish_date`` (588), the day newsradar reads
(``crawler.extract.extract_page(...).published``, what ``newsradar extract`` prints) is compared with it.
trafilatura's own date (``trafilatura.extract_metadata``, default settings, which asks htmldate) is measured on the
same pages in the same run and printed beside it, for the README table.

The floor is 0.84 (measured 0.847; trafilatura 0.849), not the 0.93 the issue asked for: that is out of reach for
a *publication* date. Even the better of the two tools page by page gets 0.866; on 22 of the 45 pages where
newsradar reads a structured date that disagrees with the truth, the truth is the page's ``dateModified`` (the
"Updated ..." line), which newsradar deliberately does not take (an update is not a new story), and on others the
truth is the local day of a UTC timestamp. The floor catches regressions in the date finder.

A page is read as a crawler meets it: the file's bytes and the URL it came from; nothing else from the truth.
"""

from __future__ import annotations

import gzip
import json
from concurrent.futures import ProcessPoolExecutor

import pytest

from tests.unit.test_extract_corpus import _WRAPPER, CHINESE, CORPORA, _gold_date

pytestmark = pytest.mark.corpus

WCXB = CORPORA / "wcxb-dev-articles"
FLOOR = 0.84


def _dates(job: tuple[str, str | None]) -> tuple[str | None, str | None]:
    """Runs in a worker: (path, url) -> (newsradar's day, trafilatura's day)."""
    import logging

    import trafilatura

    from crawler.extract.article import extract_page

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    path, url = job
    raw = open(path, "rb").read()
    raw = gzip.decompress(raw) if path.endswith(".gz") else raw
    page = extract_page(raw, url)
    ours = page.published.date().isoformat() if page.published else None
    try:
        meta = trafilatura.extract_metadata(raw, default_url=url)
        theirs = (meta.date or None) if meta is not None else None
    except Exception:  # trafilatura's failure on a page is its score, not ours
        theirs = None
    return ours, (theirs or "")[:10] or None


@pytest.mark.timeout(1200)  # 711 pages through the whole extraction, twice over, on a shared 2-core machine
def test_wcxb_publication_date_by_day(capsys):
    if not (WCXB / "ground-truth").is_dir():
        pytest.skip(f"../shared/corpora/{WCXB.name} is absent ({WCXB}); set NEWSRADAR_CORPORA to its parent")
    jobs, gold = [], []
    for truth_file in sorted((WCXB / "ground-truth").glob("*.json")):
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        want = (truth.get("ground_truth") or {}).get("publish_date")
        html = WCXB / "html" / f"{truth_file.stem}.html.gz"
        if want and html.is_file():
            jobs.append((str(html), truth.get("url")))
            gold.append(want[:10])
    assert len(jobs) >= 500, f"expected the 588 dated pages of {WCXB}, found {len(jobs)}"
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_dates, jobs, chunksize=8))
    ours = sum(r[0] == want for r, want in zip(results, gold, strict=True)) / len(gold)
    theirs = sum(r[1] == want for r, want in zip(results, gold, strict=True)) / len(gold)
    with capsys.disabled():
        print(f"\n[corpus] {WCXB.name}: publication date (day) over {len(gold)} dated pages: "
              f"newsradar {ours:.3f}, trafilatura {theirs:.3f}")
    assert ours >= FLOOR


@pytest.mark.timeout(600)
def test_zh_cwced_publication_date_beside_trafilatura(capsys):
    """The same comparison on the Chinese corpus (newsradar's floor there, 0.80, is also held by
    tests/test_extract_corpus.py); the file is handed over as a crawler meets it, wrapper line and all."""
    if not (CHINESE / "original").is_dir():
        pytest.skip(f"../shared/corpora/{CHINESE.name} is absent ({CHINESE}); set NEWSRADAR_CORPORA to its parent")
    jobs, gold = [], []
    for original in sorted((CHINESE / "original").glob("*.html")):
        want = _gold_date(CHINESE / "date" / f"{original.stem}.txt")
        wrapper = _WRAPPER.match(original.read_bytes()[:4096])
        if want:
            jobs.append((str(original), wrapper.group(1).decode("utf-8", "replace") if wrapper else None))
            gold.append(want)
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_dates, jobs, chunksize=4))
    ours = sum(r[0] == want for r, want in zip(results, gold, strict=True)) / len(gold)
    theirs = sum(r[1] == want for r, want in zip(results, gold, strict=True)) / len(gold)
    with capsys.disabled():
        print(f"\n[corpus] {CHINESE.name}: publication date (day) over {len(gold)} dated pages: "
              f"newsradar {ours:.3f}, trafilatura {theirs:.3f}")
    assert ours >= 0.80
