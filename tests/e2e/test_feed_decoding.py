"""Feeds decoded like pages before feedparser sees them (spiders/feed.py, crawler.extract.decode.decode_feed): a feed
whose declared charset is wrong still gives the right titles, also with `follow: false` (issue 9)."""

from __future__ import annotations

import re

import pytest
from scrapy.http import XmlResponse

from crawler.extract.decode import decode_feed
from spiders import FeedSpider
from spiders.base import ListingError
from tests.conftest import corpus, items, newsradar

TITLE = "科大讯飞发布星火大模型4.0 国产算力再获突破"
SUMMARY = "科大讯飞今日在合肥发布星火认知大模型4.0版本，公司表示其训练全部基于国产算力平台完成。"


def _gbk_feed_declared_utf8() -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>财经快讯</title>'
        "<link>http://127.0.0.1/</link><description>快讯</description>"
        f"<item><title>{TITLE}</title><link>http://127.0.0.1/news/1.html</link>"
        f"<description>{SUMMARY}</description></item>"
        "</channel></rss>"
    ).encode("gbk")


def test_feed_declared_utf8_sent_in_gbk_with_follow_false_stores_the_title_and_matches(site, tmp_path):
    site.add("/rss.xml", _gbk_feed_declared_utf8(), "application/rss+xml; charset=utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"""store: sqlite:///store.db
max_age: 3650d
fetch: {{delay: 0s, timeout: 10s}}
sources:
  - {{name: flash, type: feed, url: "{site.url('/rss.xml')}", follow: false, allow_private: true}}
rules:
  - {{name: iflytek, any: [科大讯飞], notify: [desk]}}
notifiers:
  desk: {{url: "console://"}}
"""
    )
    proc = newsradar("run", "--once", "-c", str(config))
    stored = items(config)
    assert [row["title"] for row in stored] == [TITLE]
    assert [m["rule"] for m in stored[0]["rules"]] == ["iflytek"]
    assert TITLE in proc.stdout, "the alert went out"
    assert site.hits.get("/news/1.html", 0) == 0, "follow: false fetches no page"


@pytest.mark.parametrize("charset", ["big5", "gb2312"])
def test_real_big5_and_gb2312_feeds_declared_utf8_keep_their_titles(charset):
    # The real feeds of feeds/chardet-*, their XML declaration and header turned into a lie (UTF-8):
    # every entry title comes out as it does from the honest feed.
    root = corpus(f"feeds/chardet-{charset}")
    checked = 0
    for path in sorted(root.glob("*.xml")):
        honest = path.read_bytes()
        liar = re.sub(rb'encoding="[^"]+"', b'encoding="utf-8"', honest, count=1)
        want = _titles(honest, "application/rss+xml")
        if not want or liar == honest:
            continue
        got = _titles(liar, "application/rss+xml; charset=utf-8")
        # cp950 and big5hkscs differ on a few private-use characters only: compare ideographs.
        assert [_han(t) for t in got] == [_han(t) for t in want], path.name
        checked += 1
    assert checked >= 15


def _titles(body: bytes, ctype: str) -> list[str]:
    response = XmlResponse("http://127.0.0.1/rss", body=body, headers={"Content-Type": ctype})
    spider = FeedSpider(source={"name": "t", "url": "http://127.0.0.1/rss", "follow": False})
    try:
        return [page.hint.title or "" for page in spider.parse_listing(response)]
    except ListingError as exc:
        return [f"ListingError: {exc}"]


def _han(text: str) -> str:
    return "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")


def test_decode_feed_rewrites_the_declaration_and_keeps_a_correct_feed():
    body, codec = decode_feed(_gbk_feed_declared_utf8(), "application/rss+xml; charset=utf-8")
    assert codec == "gb18030"
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>') and TITLE.encode() in body
    honest = '<?xml version="1.0" encoding="gb2312"?><rss><channel><title>快讯</title></channel></rss>'
    body, codec = decode_feed(honest.encode("gb2312"))
    assert codec == "gb18030" and body == honest.replace("gb2312", "utf-8").encode()
