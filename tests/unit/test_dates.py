"""A story's date: where it is read (crawler.extract.dates.find_date), which one wins (crawler.extract.dates.settle), and the
story record built from a saved page behind a feed entry (crawler.extract.story.build_story). Every clock is injected
or relative to the test's own `NOW`; no test depends on today's date."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawler.extract.dates import Dated, find_date, settle
from crawler.extract.article import extract_page
from crawler.items import ArticlePage, Hint
from crawler.extract.story import build_story

PAGES = Path(__file__).resolve().parents[1] / "data" / "pages"
NOW = datetime(2026, 12, 2, 7, 0, tzinfo=timezone.utc)  # the tests' own clock, handed to the code under test
UTC = ZoneInfo("UTC")
SHANGHAI = ZoneInfo("Asia/Shanghai")
TWO_DAYS = timedelta(days=2)
STRUCTURED_DATE = b'<meta property="article:published_time" content="2024-06-11T09:12:00+08:00">'


def seed_page() -> bytes:
    """The page the project started from, as its site serves it: byline "Deep News 06/11", no structured date."""
    body = (PAGES / "iflytek_en_hant_chrome.html").read_bytes()
    assert STRUCTURED_DATE in body and b'<span class="date">06/11</span>' in body
    return body.replace(STRUCTURED_DATE, b"")


def gbk_page(pubdate: str) -> bytes:
    text = f"""<html><head><meta charset="gbk"><title>科大讯飞发布国产算力大模型_财经频道</title>
<meta name="pubdate" content="{pubdate}"></head><body><article><h1>科大讯飞发布国产算力大模型</h1>
<p>{"科大讯飞今日表示，其基于国产算力平台训练的大模型已经完成升级，推理成本大幅下降。" * 4}</p>
<p>{"公司董事长在发布会上说，全栈自主可控是公司的长期战略，国产算力生态正在快速成熟。" * 4}</p>
</article></body></html>"""
    return text.encode("gbk")


def story(body: bytes | None, hint: Hint = Hint(), zone: str = "UTC", now: datetime = NOW, url="http://127.0.0.1/a"):
    item = ArticlePage("src", url, url, body, "text/html", hint)
    return build_story(item, zone=zone, max_age=TWO_DAYS, now=now)


def rss_date(value: datetime) -> str:
    return format_datetime(value.astimezone(timezone.utc), usegmt=True)


# ---------------------------------------------------------------------------------------------
# The seed: a byline without a year behind a feed dated today


def test_seed_page_has_no_date_of_its_own():
    page = extract_page(seed_page(), "http://127.0.0.1/news/iflytek")
    # "06/11" has no year: not a date; the text's years ("December 2024") are not one either.
    assert page.published is None and page.date_source is None


def test_seed_page_behind_a_feed_dated_today_takes_the_feed_date():
    fed = NOW - timedelta(minutes=20)
    new = story(seed_page(), Hint(title="Liu Qingfeng", published=rss_date(fed)))
    assert new.published == fed
    assert new.date_source == "feed" and not new.date_is_first_seen


def test_a_guess_never_overrides_a_feed_or_sitemap_date():
    fed = NOW - timedelta(hours=3)
    guess = Dated(datetime(2023, 1, 5), "text")
    for kind in ("feed", "sitemap"):
        settled = settle(guess, Dated(fed, kind), now=NOW, zone=UTC, max_age=TWO_DAYS)
        assert (settled.published, settled.source) == (fed, kind)


def test_a_guess_far_older_than_first_seen_is_dropped_and_noted():
    settled = settle(Dated(datetime(2023, 1, 5), "text"), None, now=NOW, zone=UTC, max_age=TWO_DAYS)
    assert settled.published is None and settled.source == "first-seen"
    assert "2023-01-05" in settled.note and "(text)" in settled.note and "max_age 2d" in settled.note
    recent = settle(Dated(datetime(2026, 12, 1), "url"), None, now=NOW, zone=UTC, max_age=TWO_DAYS)
    assert (recent.published, recent.source) == (datetime(2026, 12, 1, tzinfo=UTC), "url")


def test_structured_page_date_wins_over_the_feed():
    page = extract_page((PAGES / "iflytek_en_hant_chrome.html").read_bytes(), "http://127.0.0.1/a")
    assert page.date_source == "meta"
    new = story((PAGES / "iflytek_en_hant_chrome.html").read_bytes(), Hint(published=rss_date(NOW)), now=NOW)
    assert new.published.isoformat() == "2024-06-11T09:12:00+08:00" and new.date_source == "meta"


def test_a_date_without_a_year_is_not_a_date():
    page = extract_page(b"<html><body><article><p>Posted 06/11 at 10:30</p><p>" + b"Text. " * 80 +
                        b"</p></article></body></html>", "http://127.0.0.1/a")
    assert page.published is None


def test_a_lone_year_is_not_a_date():
    page = extract_page(b"<html><body><article><p>" + b"Results for the year 2024 were good. " * 20 +
                        b"</p></article><footer>(c) 2025 Site</footer></body></html>", "http://127.0.0.1/a")
    assert page.published is None


# ---------------------------------------------------------------------------------------------
# Time zones


def test_gbk_naive_pubdate_is_read_in_the_sources_time_zone():
    new = story(gbk_page("2026-12-02 14:30:00"), zone="Asia/Shanghai")
    assert new.published.isoformat() == "2026-12-02T14:30:00+08:00"
    assert new.date_source == "meta" and new.published.astimezone(timezone.utc).hour == 6


def test_a_feed_date_agreeing_up_to_whole_hours_gives_the_offset():
    feed = Hint(published="Wed, 02 Dec 2026 06:30:00 GMT")
    new = story(gbk_page("2026-12-02 14:30:00"), feed, zone="UTC")  # the source's zone left at the default
    assert new.published.isoformat() == "2026-12-02T14:30:00+08:00" and new.date_source == "meta"
    # a feed time that is not a whole number of hours away is no evidence: the source's zone applies
    other = story(gbk_page("2026-12-02 06:30:00"), Hint(published="Wed, 02 Dec 2026 04:10:00 GMT"), zone="UTC")
    assert other.published.isoformat() == "2026-12-02T06:30:00+00:00"


def test_a_naive_feed_date_is_read_in_the_sources_zone():
    new = story(None, Hint(title="t", summary="iFlytek " * 20, published="2026-12-02 09:00"), zone="Asia/Shanghai")
    assert new.published == datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI) and new.date_source == "feed"


def test_source_timezone_is_validated(tmp_path):
    from crawler.config.model import ConfigError, parse_config

    text = "sources:\n  - name: s\n    type: feed\n    url: http://127.0.0.1/rss\n    timezone: Asia/Shanghia\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text, tmp_path / "config.yaml")
    assert "config.yaml:5:" in str(err.value) and "unknown time zone 'Asia/Shanghia'" in str(err.value)
    ok = parse_config(text.replace("Shanghia", "Shanghai") + "timezone: Europe/Berlin\n", tmp_path / "c.yaml")
    assert ok.timezone_for("s") == "Asia/Shanghai" and ok.timezone_for("gone") == "Europe/Berlin"


# ---------------------------------------------------------------------------------------------
# Other posts' dates, future dates


SIDEBAR = """<html><head><title>iFlytek trains on domestic compute</title></head><body>
<main><article><h1>iFlytek trains on domestic compute</h1>{byline}
<p>{text}</p><p>{text}</p></article></main>
<aside class="sidebar"><h3>Recent posts</h3><ul>
<li><a href="/old">An older post</a> <time class="published" datetime="2023-03-01T08:00:00+00:00">March 1, 2023</time></li>
<li><a href="/older">Another</a> <time class="published" datetime="2023-02-11T08:00:00+00:00">Feb 11, 2023</time></li>
</ul></aside></body></html>"""
TEXT = "iFlytek said its domestic computing power cluster now trains its largest models end to end. " * 3


def test_a_sidebar_time_of_another_post_is_not_the_pages_date():
    page = extract_page(SIDEBAR.format(byline="", text=TEXT).encode(), "http://127.0.0.1/news/iflytek")
    assert page.published is None or page.published.date().isoformat() not in ("2023-03-01", "2023-02-11")
    own = '<p class="byline">By Desk <time class="published" datetime="2026-11-30T10:00:00+08:00">Nov 30</time></p>'
    dated = extract_page(SIDEBAR.format(byline=own, text=TEXT).encode(), "http://127.0.0.1/news/iflytek")
    assert dated.published.isoformat() == "2026-11-30T10:00:00+08:00" and dated.date_source == "time"


def test_an_aside_inside_the_article_is_its_byline():
    html = f"""<html><body><main><article><h1>Title</h1><aside><time datetime="2021-06-06">June 6, 2021</time>
    </aside><p>{TEXT}</p></article></main></body></html>"""
    assert find_date(extract_tree(html)).when == datetime(2021, 6, 6)


def extract_tree(html: str):
    from lxml.html import document_fromstring

    return document_fromstring(html)


def test_a_future_date_is_clamped_to_first_seen_and_noted():
    ahead = (NOW + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
    new = story(gbk_page(ahead), zone="UTC")
    assert new.published is None and new.date_is_first_seen and new.date_source == "first-seen"
    assert "in the future" in new.date_note and "(meta)" in new.date_note
    # within the hour of slack a clock skew is not the future
    soon = story(gbk_page((NOW + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S")), zone="UTC")
    assert soon.published == NOW + timedelta(minutes=30) and soon.date_source == "meta"


def test_a_recent_posts_box_that_lists_the_page_itself_dates_it():
    html = f"""<html><body><main><article><h1>Title</h1><p>{TEXT}</p></article></main>
    <div class="sidebar recent-posts"><div class="post-item"><a href="/blog/this-post">This post</a>
    <time datetime="2025-12-02">December 02, 2025</time></div>
    <div class="post-item"><a href="/blog/older">Older</a><time datetime="2024-06-03">June 03, 2024</time></div>
    </div></body></html>"""
    dated = find_date(extract_tree(html), "http://127.0.0.1/blog/this-post")
    assert dated is not None and dated.when.date().isoformat() == "2025-12-02"
    other = find_date(extract_tree(html), "http://127.0.0.1/blog/another-post")
    assert other is None or other.when.date().isoformat() not in ("2025-12-02", "2024-06-03")


def test_a_layout_named_after_its_sidebar_is_not_a_sidebar():
    html = f"""<html><body><div class="c-layout-sidebar-left"><div class="meta"><time datetime="2018-11-15T12:00:00Z">
    15 November 2018</time></div><header><time datetime="2018-11-15T12:00:00Z">15 November 2018</time></header>
    <p>{TEXT}</p></div></body></html>"""
    dated = find_date(extract_tree(html))
    assert dated.source == "time" and dated.when.date().isoformat() == "2018-11-15"
