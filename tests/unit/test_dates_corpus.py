"""Publication dates on Chinese pages nobody here has seen: newsradar against plain trafilatura, same pages, same run.

zh-cwced (see ../shared/corpora/README.md): for every page with a ground-truth date, the day newsradar reads
(``crawler.extract.article.extract_page(...).published``) is compared with it; trafilatura's own date
(``trafilatura.extract_metadata``, default settings, which asks htmldate) is measured beside it. The English
corpus (wcxb-dev-articles) is measured in tests/unit/test_extract_wcxb.py, in the same pass as text and titles.
"""

from __future__ import annotations

import gzip
from concurrent.futures import ProcessPoolExecutor

import pytest

from tests.unit.test_extract_corpus import _WRAPPER, CHINESE, CORPORA, _gold_date

pytestmark = pytest.mark.corpus



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
