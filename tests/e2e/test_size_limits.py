"""A response over `fetch.max_bytes` is contained and is a recorded failure of its URL, visible in health: an
oversize article, a gzip bomb sent with Content-Encoding, a gzipped sitemap that decompresses past the limit."""

from __future__ import annotations

import gzip

from sqlalchemy import select

from crawler.store.database import FailedUrl, Store
from tests.conftest import newsradar


def test_size_limit_hits_are_failures_in_health_not_healthy_polls(site, tmp_path):
    site.add("/big.html", "<html><body><p>" + "big " * 100_000 + "</p></body></html>")
    site.add("/bomb.html", gzip.compress(b"<p>" + b"a" * 5_000_000), headers={"Content-Encoding": "gzip"})
    site.add("/list-big.html", '<html><body><a class="x" href="/big.html">big</a></body></html>')
    site.add("/list-bomb.html", '<html><body><a class="x" href="/bomb.html">bomb</a></body></html>')
    site.add("/sitemap.xml.gz", gzip.compress(b'<?xml version="1.0"?><urlset>' + b" " * 5_000_000 + b"</urlset>"),
             "application/x-gzip")
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
fetch:
  delay: 0s
  max_bytes: 200KB
sources:
  - {{name: oversize, type: html, url: "{site.url('/list-big.html')}", links: a.x, allow_private: true}}
  - {{name: encoded-bomb, type: html, url: "{site.url('/list-bomb.html')}", links: a.x, allow_private: true}}
  - {{name: sitemap-bomb, type: sitemap, url: "{site.url('/sitemap.xml.gz')}", allow_private: true}}
""")
    run = newsradar("run", "--once", "-c", str(config))
    polls = {line.split("poll source=")[1].split()[0]: line for line in run.stderr.splitlines() if "poll source=" in line}
    assert set(polls) == {"oversize", "encoded-bomb", "sitemap-bomb"}, run.stderr
    assert all("status=error" in line and "size limit" in line for line in polls.values()), polls
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    health = store.health()
    for name in polls:
        assert health[name].failures == 1 and "size limit" in health[name].last_error, (name, health[name].last_error)
    with store.session() as s:
        failed = set(s.scalars(select(FailedUrl.url)))
    assert failed == {site.url("/big.html"), site.url("/bomb.html")}, "each URL's failure is recorded"
