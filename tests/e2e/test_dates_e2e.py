"""Dates through a whole `run --once`, on a local site: a story that matched rules but was not alerted says why
(the poll line's `stale=`, `items --json`'s `not_alerted`, `rules test URL`), every story carries `date_source`,
and an article listed by two sources polled at the same time is fetched once. Feed dates are relative to the
moment the test runs; nothing depends on today's date."""

from __future__ import annotations

import json
import re
import time
from email.utils import formatdate

from tests.conftest import cli, items, newsradar
from tests.support.newssite import article
from tests.unit.test_dates import seed_page

OLD_BODY = ["iFlytek said its domestic computing power cluster trains large models, a paragraph long enough to be text."] * 3


def _publish(site) -> None:
    fresh = formatdate(time.time() - 600, usegmt=True)  # ten minutes ago, whenever the test runs
    site.add("/news/seed", seed_page())
    site.add("/news/old", article("iFlytek archive story from 2023", OLD_BODY, "2023-01-01T08:00:00+00:00", lang="en"))
    entries = "".join(
        f"<item><title>{title}</title><link>{site.url(path)}?utm_source=rss&amp;utm_medium=feed</link>"
        f"<pubDate>{fresh}</pubDate></item>"
        for title, path in (("Liu Qingfeng on iFlytek", "/news/seed"), ("iFlytek archive", "/news/old"))
    )
    site.add("/rss.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{entries}</channel></rss>',
             "application/rss+xml")
    links = "".join(f'<a class="headline" href="{p}?utm_campaign=home">{p}</a>' for p in ("/news/seed", "/news/old"))
    site.add("/markets/", f"<html><body>{links}</body></html>")


def _config(site, hook, tmp_path, sources: str) -> str:
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
fetch: {{delay: 0s, timeout: 10s}}
sources:
{sources}
rules:
  - name: iflytek
    any: [iFlytek]
    notify: [hook]
notifiers:
  hook:
    url: "json://127.0.0.1:{hook.port}/alerts"
""")
    return config


FEED = "  - {{name: wire, type: feed, url: '{url}', allow_private: true}}\n"
LISTING = "  - {{name: desk, type: html, url: '{url}', links: a.headline, allow_private: true}}\n"


def _article_hits(site, path: str) -> int:
    return sum(n for p, n in site.hits.items() if p.split("?")[0] == path)


def test_seed_alerts_and_an_old_story_says_why_it_did_not(site, http_receiver, tmp_path):
    _publish(site)
    config = _config(site, http_receiver, tmp_path, FEED.format(url=site.url("/rss.xml")))
    proc = newsradar("run", "--once", "-c", str(config))

    alerts = [r.json for r in http_receiver.requests if r.path.startswith("/alerts")]
    assert len(alerts) == 1 and "Liu Qingfeng" in json.dumps(alerts[0], ensure_ascii=False)
    assert re.search(r"poll source=wire status=ok new=2 duplicates=0 alerts=1 stale=1 ", proc.stderr), proc.stderr

    rows = items(config)
    seed = next(row for row in rows if "Liu Qingfeng" in row["title"])
    old = next(row for row in rows if "2023" in row["title"])
    assert seed["date_source"] == "feed" and seed["not_alerted"] is None and not seed["date_is_first_seen"]
    assert old["date_source"] == "jsonld" and old["published"].startswith("2023-01-01")
    assert old["not_alerted"] == "older than max_age 2d: published 2023-01-01 (jsonld)"
    assert old["rules"] == [{"rule": "iflytek", "terms": ["iFlytek"]}]

    told = cli("rules", "test", site.url("/news/old") + "?utm_source=x", "-c", str(config)).stdout
    assert "published 2023-01-01T08:00:00+00:00 (jsonld)" in told
    assert "not alerted: older than max_age 2d: published 2023-01-01 (jsonld)" in told
    assert re.search(r"MATCH iflytek: matched; not alerted: older than max_age 2d", told), told
    as_json = json.loads(cli("rules", "test", "--json", site.url("/news/seed"), "-c", str(config)).stdout)
    assert as_json[0]["stored"]["alerted"] is True and as_json[0]["stored"]["not_alerted"] is None


def test_an_article_listed_by_two_sources_polled_together_is_fetched_once(site, http_receiver, tmp_path):
    _publish(site)
    sources = FEED.format(url=site.url("/rss.xml")) + LISTING.format(url=site.url("/markets/"))
    config = _config(site, http_receiver, tmp_path, sources)
    newsradar("run", "--once", "-c", str(config))
    assert _article_hits(site, "/news/seed") == 1
    assert _article_hits(site, "/news/old") == 1
    rows = items(config)
    assert len(rows) == 2 and all(row["date_source"] in {"feed", "jsonld", "first-seen"} for row in rows)
    alerts = [r for r in http_receiver.requests if r.path.startswith("/alerts")]
    assert len(alerts) == 1  # the seed; the 2023 story is stale whichever source fetched it
