"""Spiders offline, on saved responses: real feeds in Big5, GB2312 and Western encodings, listing pages and
sitemaps. No reactor and no network: `parse_listing` is fed a Scrapy response built from bytes."""

from __future__ import annotations

import gzip
import html
import json
import unicodedata
from datetime import datetime, timezone

import pytest
from scrapy.http import HtmlResponse, Request, Response, XmlResponse
from w3lib.html import remove_tags

from crawler.items import ArticlePage, Hint
from spiders import FeedSpider, ListingSpider, SitemapSpider
from spiders.base import ListingError
from tests.conftest import corpus


# The spiders' clock is fixed, so freshness cuts do not depend on the day the suite runs.
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def _spider(cls, **source):
    return cls(source={"name": "t", "url": "http://127.0.0.1/x", **source}, clock=lambda: NOW)


def _requests(spider, response) -> list[Request]:
    return [r for r in spider.parse_listing(response) if isinstance(r, Request)]


def _titles(requests) -> list[str]:
    return [r.meta["newsradar_hint"].title for r in requests]


def _cjk_ratio(text: str) -> float:
    letters = [c for c in text if not c.isspace() and unicodedata.category(c)[0] in "LN"]
    return sum("\u4e00" <= c <= "\u9fff" for c in letters) / max(1, len(letters))


def test_rss_parser_corpus_titles_and_links_match_the_reference_parse():
    root = corpus("feeds/rss-parser")
    checked = found = total = 0
    for out in sorted((root / "output").glob("*.json")):
        src = next((root / "input").glob(out.stem + ".*"), None)
        ref_items = json.loads(_text(out.read_bytes())).get("feed", {}).get("items", [])
        ref = [(i.get("title"), i.get("link")) for i in ref_items if i.get("link") and i.get("title")]
        if src is None or not ref:
            continue
        url = "http://127.0.0.1/feed"
        response = XmlResponse(url, body=src.read_bytes(), headers={"Content-Type": "application/xml"})
        got = [(r.meta["newsradar_hint"].title, r.meta["newsradar_link"]) for r in _requests(_spider(FeedSpider), response)]
        got_titles = {_norm(t) for t, _ in got}
        got_links = {link for _, link in got}
        for title, link in ref:
            total += 1
            found += _norm(title) in got_titles and link in got_links
        checked += 1
    # The reference is another parser's output, not truth (it keeps entities, for one): hold a high floor.
    assert checked >= 15 and found / total >= 0.95, (checked, found, total)


def _text(raw: bytes) -> str:
    try:  # a few reference files were written in the feed's own Western encoding
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def _norm(title: str | None) -> str:
    text = html.unescape(html.unescape(title or ""))
    return " ".join(remove_tags(text).split())


@pytest.mark.parametrize("folder", ["feeds/chardet-big5", "feeds/chardet-gb2312"])
def test_real_chinese_feeds_decode_to_chinese_titles(folder):
    root = corpus(folder)
    decoded = 0
    for path in sorted(root.glob("*.xml")):
        response = XmlResponse("http://127.0.0.1/feed", body=path.read_bytes())
        try:
            titles = [t for t in _titles(_requests(_spider(FeedSpider), response)) if t]
        except ListingError:
            continue
        joined = "".join(titles)
        if not joined:
            continue
        assert "\ufffd" not in joined, f"{path.name}: replacement characters in titles"
        decoded += _cjk_ratio(joined) > 0.3
    assert decoded >= 10, f"only {decoded} feeds of {folder} gave Chinese titles"


def test_gb2312_feed_from_a_chinese_portal():
    src = corpus("feeds/rss-parser") / "input" / "encoding-gb2312.xml"
    response = XmlResponse("http://127.0.0.1/feed", body=src.read_bytes())
    titles = _titles(_requests(_spider(FeedSpider), response))
    assert titles and all("\ufffd" not in t for t in titles) and _cjk_ratio("".join(titles)) > 0.5


def test_feed_links_resolve_against_the_feed_and_carry_the_entry_as_a_hint():
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>
<item><title>One</title><link>/news/1.html</link><pubDate>Tue, 11 Jun 2025 01:30:00 +0800</pubDate>
<description>Summary &lt;b&gt;one&lt;/b&gt;</description></item></channel></rss>"""
    reqs = _requests(_spider(FeedSpider), XmlResponse("http://127.0.0.1:8000/feeds/rss.xml", body=body))
    assert [r.url for r in reqs] == ["http://127.0.0.1:8000/news/1.html"]
    hint: Hint = reqs[0].meta["newsradar_hint"]
    assert hint.title == "One" and hint.published == "Tue, 11 Jun 2025 01:30:00 +0800" and "one" in hint.summary
    assert reqs[0].meta["newsradar_article"]


def test_feed_with_follow_false_yields_the_entry_itself():
    body = b"""<rss version="2.0"><channel><item><title>One</title><link>http://a/1</link>
<description>Body</description></item></channel></rss>"""
    out = list(_spider(FeedSpider, follow=False).parse_listing(XmlResponse("http://a/rss", body=body)))
    assert len(out) == 1 and isinstance(out[0], ArticlePage) and out[0].body is None and out[0].hint.summary == "Body"


@pytest.mark.parametrize("body", [b"", b"<html><body>not a feed</body></html>", b"\x00\xff" * 50])
def test_something_that_is_not_a_feed_is_a_listing_error(body):
    with pytest.raises(ListingError, match="not a feed"):
        list(_spider(FeedSpider).parse_listing(Response("http://a/rss", body=body)))


def test_listing_selector_on_anchors_or_their_containers():
    page = b"""<html><body><nav><a href="/about">About</a></nav>
<h2 class="t"><a href="/n/1.html">One</a></h2><h2 class="t"><a href="n/2.html?utm_source=x">Two</a></h2>
<a class="headline" href="javascript:void(0)">js</a><a class="headline" href="https://other.example/3">Three</a></body></html>"""
    response = HtmlResponse("http://127.0.0.1/markets/", body=page, encoding="utf-8")
    urls = [r.url for r in _requests(_spider(ListingSpider, links="h2.t"), response)]
    assert urls == ["http://127.0.0.1/n/1.html", "http://127.0.0.1/markets/n/2.html?utm_source=x"]
    urls = [r.url for r in _requests(_spider(ListingSpider, links="a.headline"), response)]
    assert urls == ["https://other.example/3"]


def test_listing_ignores_blank_fragment_and_self_links():
    page = b"""<html><body><a class="headline" href="  ">blank</a><a class="headline" href="">empty</a>
<a class="headline">none</a><a class="headline" href="#top">top</a><a class="headline" href=" JavaScript:void(0)">js</a>
<a class="headline" href="/markets/">self</a><a class="headline" href="http://127.0.0.1/markets/#more">self#</a>
<a class="headline" href="?">query</a><a class="headline" href=" /n/1.html ">One</a></body></html>"""
    response = HtmlResponse("http://127.0.0.1/markets/", body=page, encoding="utf-8")
    urls = [r.url for r in _requests(_spider(ListingSpider, links="a.headline", url="http://127.0.0.1/markets/"),
                                     response)]
    assert urls == ["http://127.0.0.1/n/1.html"]
    with pytest.raises(ListingError, match="matched no links"):
        list(_spider(ListingSpider, links="a.headline").parse_listing(
            HtmlResponse("http://127.0.0.1/x", body=b'<a class="headline" href=" ">x</a>', encoding="utf-8")))


def test_listing_selector_that_matches_nothing_is_an_error_not_silence():
    response = HtmlResponse("http://127.0.0.1/", body=b"<html><body><a href='/x'>x</a></body></html>", encoding="utf-8")
    with pytest.raises(ListingError, match="matched no links"):
        list(_spider(ListingSpider, links="a.gone").parse_listing(response))


NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>http://127.0.0.1/a.html</loc><news:news><news:publication><news:name>W</news:name><news:language>en</news:language>
</news:publication><news:publication_date>2026-11-29T08:00:00+08:00</news:publication_date><news:title>Fresh</news:title></news:news></url>
<url><loc>http://127.0.0.1/old.html</loc><lastmod>2019-01-01</lastmod></url>
<url><loc>http://127.0.0.1/undated.html</loc></url>
</urlset>"""


def test_google_news_sitemap_titles_dates_and_the_archive_cut():
    spider = _spider(SitemapSpider, max_age_seconds=30 * 86400)
    reqs = _requests(spider, XmlResponse("http://127.0.0.1/sitemap.xml", body=NEWS_SITEMAP))
    assert [r.url for r in reqs] == ["http://127.0.0.1/a.html", "http://127.0.0.1/undated.html"]
    assert reqs[0].meta["newsradar_hint"] == Hint(title="Fresh", published="2026-11-29T08:00:00+08:00", kind="sitemap")


def test_sitemap_index_and_gzip():
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://127.0.0.1/s1.xml.gz</loc></sitemap><sitemap><loc>/s2.xml</loc></sitemap></sitemapindex>"""
    reqs = _requests(_spider(SitemapSpider), Response("http://127.0.0.1/index.xml", body=gzip.compress(index)))
    assert [r.url for r in reqs] == ["http://127.0.0.1/s1.xml.gz", "http://127.0.0.1/s2.xml"]
    assert all(r.meta["newsradar_listing"] for r in reqs), "child sitemaps are fetched conditionally too"


def test_not_a_sitemap():
    with pytest.raises(ListingError, match="not a sitemap"):
        list(_spider(SitemapSpider).parse_listing(Response("http://a/s.xml", body=b"<html><body/></html>")))


def test_a_spider_gets_the_typed_source_with_every_default_decided(tmp_path):
    """Issue 10: spiders get a typed SpiderSource built once from the config's Source (crawler.fetch.poll), not a
    dict whose defaults each spider restates."""
    from pathlib import Path

    from crawler.config.model import parse_config
    from crawler.fetch.poll import spider_source
    from crawler.items import SpiderSource

    config = parse_config("""timezone: Asia/Shanghai
max_age: 3d
fetch: {max_bytes: 2MB}
sources:
  - {name: wire, type: feed, url: "http://127.0.0.1/rss"}
  - {name: api, type: json, url: "http://127.0.0.1/api", items: "data", fields: {id: id, title: t},
     timezone: Asia/Hong_Kong, max_age: 1d}
""", Path(tmp_path / "config.yaml"), {})
    wire, api = (spider_source(config, s) for s in config.sources)
    assert (wire.follow, wire.timezone, wire.max_age_seconds, wire.max_bytes) == (True, "Asia/Shanghai", 3 * 86400,
                                                                                  2 * 1024 * 1024)
    assert (api.follow, api.timezone, api.max_age_seconds, api.items, dict(api.fields)) == (
        False, "Asia/Hong_Kong", 86400, "data", {"id": "id", "title": "t"})
    with pytest.raises(TypeError, match="unknown source settings for a spider: folow"):
        SpiderSource.given({"name": "t", "url": "http://127.0.0.1/", "folow": False})
