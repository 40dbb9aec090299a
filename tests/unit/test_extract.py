"""crawler.extract.article and crawler.extract.dates on hand-written pages (tests/data/pages/, see its README):
main text without chrome, title without site suffix, publication time from structured data first,
language of the main text, canonical URL, and no exception on any input."""

from __future__ import annotations

import json
import pickle
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawler.extract.dates import parse_datetime
from crawler.extract.article import Page, extract_page

PAGES = Path(__file__).resolve().parents[1] / "data" / "pages"
CST = timezone(timedelta(hours=8))
EDT = timezone(timedelta(hours=-4))


def load(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def html(body: str, head: str = "", lang: str = "") -> bytes:
    lang_attr = f' lang="{lang}"' if lang else ""
    return f"<!doctype html><html{lang_attr}><head>{head}</head><body>{body}</body></html>".encode()


ARTICLE = "".join(
    f"<p>{s}</p>"
    for s in (
        "Oil prices slipped on Tuesday as inventories built for a second week and refiners cut runs ahead of "
        "the maintenance season in Asia, traders said.",
        "Brent crude futures fell 62 cents to settle at 81.40 dollars a barrel, while West Texas Intermediate "
        "lost 55 cents. Both benchmarks had gained more than four percent last week.",
        "Analysts said the market was waiting for the monthly reports from producers due later in the week "
        "for fresh signals on demand growth in the second half of the year.",
    )
)


# ---------------------------------------------------------------------------------------------
# Fixture pages


@pytest.fixture(scope="module")
def iflytek() -> Page:
    return extract_page(load("iflytek_en_hant_chrome.html"), "https://community.example.com/post/1123581321?ref=home")


def test_english_article_in_chinese_chrome_keeps_the_body(iflytek):
    assert "Liu Qingfeng set out where the company wants to stand" in iflytek.text
    assert "mixture-of-experts models" in iflytek.text
    assert "Ci Yuan Xing Huo" in iflytek.text


@pytest.mark.parametrize(
    "chrome",
    [
        "熱議股票",
        "科大訊飛",
        "002230",
        "寒武紀",
        "688256",
        "騰訊控股",
        "Cambricon",
        "相關文章",
        "分享到",
        "首頁",
        "版權所有",
        "免責聲明",
    ],
)
def test_sidebar_nav_related_share_and_footer_are_not_main_text(iflytek, chrome):
    # A watchlist keyword that only appears in the hot-stocks box must not trigger an alert.
    assert chrome not in iflytek.text


def test_english_article_in_chinese_chrome_metadata(iflytek):
    assert iflytek.lang == "en"  # of the text, not of <html lang="zh-Hant">
    assert iflytek.title == "Liu Qingfeng: Settling for an 'AI application' role would betray iFlytek's mission"
    assert iflytek.published == datetime(2024, 6, 11, 9, 12, tzinfo=CST)
    assert iflytek.canonical_url == "https://community.example.com/post/1123581321"  # og:url
    assert iflytek.encoding == "utf-8"


@pytest.fixture(scope="module")
def sina() -> Page:
    url = "https://finance.sina.com.cn/stock/relnews/cn/2024-06-11/doc-inayxkqf1203981.shtml"
    return extract_page(load("sina_gbk_meta_only.html"), url)


def test_gbk_page_with_charset_only_in_meta(sina):
    assert sina.encoding == "gb18030"
    assert "在科大讯飞成立27周年的庆典上" in sina.text
    assert "朱镕基" in sina.text  # 镕 is GBK, not GB2312: decoded only because the label was widened
    assert sina.lang == "zh"
    for chrome in ("热门股票", "寒武纪", "贵州茅台", "688256", "相关阅读", "新浪首页", "版权所有"):
        assert chrome not in sina.text


def test_gbk_page_metadata(sina):
    assert sina.title == "科大讯飞刘庆峰：只做AI应用公司有违初心"  # without "_新浪财经_新浪网"
    # JSON-LD inside @graph, offset kept (the byline's "2024年06月11日 10:30" has none).
    assert sina.published == datetime(2024, 6, 11, 10, 30, tzinfo=CST)
    assert sina.published.utcoffset() == timedelta(hours=8)
    # Protocol-relative canonical resolved against the page URL.
    assert sina.canonical_url == "https://finance.sina.com.cn/stock/relnews/cn/2024-06-11/doc-inayxkqf1203981.shtml"


def test_big5_page_with_hkscs_characters():
    page = extract_page(load("hk_big5_hkscs.html"), "https://hk.example.com/news/20240612/123.html")
    assert page.encoding == "big5hkscs"
    assert "最近啲大模型訂單多咗，晶片股嘅估值" in page.text
    assert page.lang == "zh"
    assert page.title == "港股收市：恒指升百點 科技股領漲"
    assert page.published == datetime(2024, 6, 12, 16, 20, tzinfo=CST)  # itemprop=datePublished
    # A four-paragraph Chinese report is a whole article: the nav table must not be swept in.
    for chrome in ("會員登入", "首頁", "即時排行", "滙豐控股", "列印本文", "版權所有"):
        assert chrome not in page.text


def test_structured_date_beats_the_date_in_the_url():
    page = extract_page(
        load("published_time_vs_url.html"), "https://www.marketwire.example/2019/01/02/markets/fed.html"
    )
    assert page.published == datetime(2024, 6, 12, 14, 5, tzinfo=EDT)
    assert page.published.utcoffset() == timedelta(hours=-4)
    assert page.title == "Fed holds rates - and signals two cuts this year"  # the inner dash survives
    assert page.canonical_url == "https://www.marketwire.example/markets/fed-holds-rates-signals-two-cuts"
    assert "policymakers penciled in two quarter-point cuts" in page.text
    assert "Nvidia" not in page.text and "Trending" not in page.text


def test_page_without_title():
    page = extract_page(load("no_title.html"))
    assert page.title is None
    assert "Copper prices climbed to a two-week high" in page.text
    assert "Archive" not in page.text
    assert page.canonical_url is None and page.lang == "en"


def test_page_libxml2_files_under_head_still_gives_its_text():
    # A leading <script> plus a CMS tag left open in <head>: libxml2 puts the whole page under
    # <head>, and trafilatura given the string discards such a tree. We hand it the parsed tree.
    page = extract_page(load("leading_script.html"))
    assert "Harbor Logistics reported second-quarter revenue" in page.text
    assert page.title == "Quarterly results: Harbor Logistics beats estimates"


def test_layout_table_page_loses_its_sidebar_and_nav():
    page = extract_page(load("layout_table.html"))
    assert "五月份全国发行地方政府债券超过七千亿元" in page.text
    for chrome in ("热点排行", "沪指午后翻红", "首页", "论坛", "广告服务"):
        assert chrome not in page.text
    assert page.title == "地方债发行提速 五月规模创年内新高"  # "--财经频道--东方网" gone
    assert page.published == datetime(2024, 6, 3, 8, 15)  # byline time, no offset given: naive


def test_data_table_cells_without_markdown_syntax():
    table = "<table><tr><th>Quarter</th><th>Revenue | bn</th></tr><tr><td>Q1</td><td>1.82</td></tr></table>"
    page = extract_page(html(f"<article><h1>Results</h1>{ARTICLE}{table}</article>", "<title>Results</title>"))
    assert "Quarter | Revenue | bn" in page.text and "Q1 | 1.82" in page.text
    assert "---" not in page.text and "\\|" not in page.text


# ---------------------------------------------------------------------------------------------
# Bad input never raises


def test_truncated_page():
    body = load("iflytek_en_hant_chrome.html")
    cut = body[: body.index(b"For three years")]
    page = extract_page(cut[:-1] + "訊".encode()[:2])  # and end inside a multi-byte character
    assert "Liu Qingfeng set out where the company wants to stand" in page.text
    assert page.encoding == "utf-8"


@pytest.mark.parametrize("name", sorted(p.name for p in PAGES.glob("*.html")))
@pytest.mark.parametrize("fraction", [0.1, 0.37, 0.5, 0.83])
def test_any_truncation_of_any_fixture_never_raises(name, fraction):
    body = load(name)
    page = extract_page(body[: int(len(body) * fraction)])
    assert isinstance(page, Page) and isinstance(page.text, str)


@pytest.mark.parametrize("seed", range(3))
def test_random_binary_gives_no_text(seed):
    page = extract_page(random.Random(seed).randbytes(20_000))
    assert page.text == "" and page.title is None and page.lang is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"\x00" * 100,
        b"<html></html>",
        b"<html><body><script>var a = 1;</script></body></html>",
        b"\xef\xbb\xbf",
    ],
)
def test_empty_and_degenerate_bodies(body):
    page = extract_page(body)
    assert page.text == "" and page.published is None and page.canonical_url is None


def test_a_missing_dependency_is_loud_not_an_empty_page(monkeypatch):
    monkeypatch.setitem(sys.modules, "htmldate", None)  # "import htmldate" now fails
    with pytest.raises(ImportError):
        extract_page(html(f"<article>{ARTICLE}</article>", "<title>x</title>"))


# ---------------------------------------------------------------------------------------------
# Page


def test_to_dict_is_json_ready(sina):
    data = sina.to_dict()
    assert set(data) == {"title", "published", "lang", "text", "canonical_url", "encoding", "date_source", "failure"}
    assert data["published"] == "2024-06-11T10:30:00+08:00"
    assert data["date_source"] == "jsonld"
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert extract_page(b"").to_dict()["published"] is None


def test_page_is_picklable(sina):
    assert pickle.loads(pickle.dumps(sina)) == sina


# ---------------------------------------------------------------------------------------------
# Title


@pytest.mark.parametrize(
    ("title", "head", "h1", "expected"),
    [
        ("Apple shares fall after earnings miss - Reuters", "", "", "Apple shares fall after earnings miss"),
        (
            "Fed holds rates - and signals two cuts this year",
            "",
            "",
            "Fed holds rates - and signals two cuts this year",
        ),
        ("Biden - Trump debate", "", "", "Biden - Trump debate"),
        (
            "Jedi review - shoots for the moon, lands among the stars",
            "",
            "",
            "Jedi review - shoots for the moon, lands among the stars",
        ),
        ("Tech stocks slide | Markets | Example News", "", "", "Tech stocks slide"),
        (
            "MarketWire :: Oil slips as stocks build",
            '<meta property="og:site_name" content="MarketWire">',
            "",
            "Oil slips as stocks build",
        ),
        ("科大讯飞发布新模型_滚动新闻_新浪财经", "", "", "科大讯飞发布新模型"),
        ("从上海车展看在华布局 现代汽车再次提速-搜狐汽车", "", "", "从上海车展看在华布局 现代汽车再次提速"),
        ("17种产品入选国家绿色制造名单 - 要闻云南 - 云南日报网", "", "", "17种产品入选国家绿色制造名单"),
        ("美联储按兵不动 | 华尔街见闻", "", "", "美联储按兵不动"),
        # The <h1> tells where the decoration starts, even in the middle.
        (
            "Opinion | Rates Are Going Nowhere - The Daily Times",
            "",
            "Rates Are Going Nowhere",
            "Rates Are Going Nowhere",
        ),
        # A logo <h1> repeating the site name never wins.
        ("September open thread - The GiveWell Blog", "", "The GiveWell Blog", "September open thread"),
        (
            "Rupiah firms | Kabar tentang Dunia Islam",
            '<meta property="og:site_name" content="Kabar tentang Dunia Islam">',
            "Kabar tentang Dunia Islam",
            "Rupiah firms",
        ),
        # A <title> that is only the site name: og:title instead.
        (
            "Quanta Magazine",
            '<meta property="og:site_name" content="Quanta Magazine">'
            '<meta property="og:title" content="Cells That Taste Danger">',
            "",
            "Cells That Taste Danger",
        ),
    ],
)
def test_title_suffix_stripping(title, head, h1, expected):
    h1_html = f"<h1>{h1}</h1>" if h1 else ""
    page = extract_page(html(f"<article>{h1_html}{ARTICLE}</article>", f"<title>{title}</title>{head}"))
    assert page.title == expected


# ---------------------------------------------------------------------------------------------
# Language, canonical URL


@pytest.mark.parametrize(("lang", "expected"), [("zh-TW", "zh"), ("zh-Hant-HK", "zh"), ("en-US", "en"), ("", None)])
@pytest.mark.parametrize("body", ["<div></div>", "<nav><a href='/'>Home</a></nav>"], ids=["no-text", "one-word"])
def test_html_lang_is_the_fallback_when_the_text_cannot_tell(body, lang, expected):
    assert extract_page(html(body, "<title>x</title>", lang)).lang == expected


def test_a_few_cjk_characters_are_enough_to_tell():
    assert extract_page(html("<p>市场上涨</p>", "<title>x</title>", "en")).lang == "zh"


def test_lang_of_text_beats_html_lang():
    assert extract_page(html(f"<article>{ARTICLE}</article>", "<title>x</title>", "zh-Hant")).lang == "en"


@pytest.mark.parametrize(
    ("head", "url", "expected"),
    [
        ('<link rel="canonical" href="/a/b">', "https://example.com/x/y?z=1", "https://example.com/a/b"),
        ('<link rel="canonical" href="/a/b">', None, None),  # nothing to resolve against
        ('<meta property="og:url" content="https://example.com/og">', None, "https://example.com/og"),
        ('<link rel="canonical" href="javascript:void(0)">', "https://example.com/", None),
        ("", "https://example.com/x", None),
    ],
)
def test_canonical_url(head, url, expected):
    assert extract_page(html(f"<article>{ARTICLE}</article>", head), url).canonical_url == expected


# ---------------------------------------------------------------------------------------------
# Publication time


def _published(head: str, body: str = "", url: str | None = None):
    return extract_page(html(f"<article><h1>Oil slips</h1>{body}{ARTICLE}</article>", head), url).published


def test_jsonld_beats_meta_tags():
    head = (
        '<script type="application/ld+json">[{"@type":"BreadcrumbList"},'
        '{"@type":"NewsArticle","datePublished":"2024-06-11T10:30:00+08:00"}]</script>'
        '<meta property="article:published_time" content="2024-06-10T01:00:00Z">'
    )
    assert _published(head) == datetime(2024, 6, 11, 10, 30, tzinfo=CST)


def test_jsonld_with_html_comment_wrapper_and_trailing_comma():
    head = (
        '<script type="application/ld+json"><!-- {"@type": "Article", '
        '"datePublished": "2024-06-11T02:30:00Z",} --></script>'
    )
    assert _published(head) == datetime(2024, 6, 11, 2, 30, tzinfo=timezone.utc)


def test_time_element_in_article():
    body = '<p class="byline">By A. Writer, <time datetime="2024-06-11T08:00:00+01:00">June 11</time></p>'
    assert _published("<title>x</title>", body) == datetime(2024, 6, 11, 8, 0, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        ("2005年04月05日 06:40 来源：新闻晨报", datetime(2005, 4, 5, 6, 40)),
        ("发布时间：2024-06-11 下午3:05", datetime(2024, 6, 11, 15, 5)),
        ("Updated 2024/06/11 06:40 PM ET", datetime(2024, 6, 11, 18, 40)),
    ],
)
def test_byline_datetime_without_structured_data_is_naive(byline, expected):
    assert _published("<title>x</title>", f"<p>{byline}</p>") == expected


def test_htmldate_guess_is_date_only_midnight_naive():
    assert _published("<title>x</title>", "<p>Published June 11, 2024</p>") == datetime(2024, 6, 11)


def test_url_date_is_the_last_resort():
    url = "https://example.com/2019/01/02/oil-slips.html"
    assert _published("<title>x</title>", "", url) == datetime(2019, 1, 2)
    # A publication <meta> that only htmldate knows still beats the URL.
    assert _published('<meta name="displaydate" content="2024/06/11">', "", url) == datetime(2024, 6, 11)


def test_chinese_portal_ptime_meta_keeps_the_time():
    assert _published('<meta name="ptime" content="2024-06-11 10:30:00">') == datetime(2024, 6, 11, 10, 30)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-06-11T10:30:00+08:00", datetime(2024, 6, 11, 10, 30, tzinfo=CST)),
        ("2024-06-11T02:30:00Z", datetime(2024, 6, 11, 2, 30, tzinfo=timezone.utc)),
        ("2024-06-11T10:30:00.123456789+0800", datetime(2024, 6, 11, 10, 30, 0, 123456, tzinfo=CST)),
        ("2024-06-11 10:30", datetime(2024, 6, 11, 10, 30)),
        ("2024-06-11", datetime(2024, 6, 11)),
        ("20240611T103000Z", datetime(2024, 6, 11, 10, 30, tzinfo=timezone.utc)),
        ("Tue, 11 Jun 2024 10:30:00 GMT", datetime(2024, 6, 11, 10, 30, tzinfo=timezone.utc)),
        ("Tue, 11 Jun 2024 10:30:00 +0800", datetime(2024, 6, 11, 10, 30, tzinfo=CST)),
        ("11 Jun 2024 10:30:00 EST", datetime(2024, 6, 11, 10, 30, tzinfo=timezone(timedelta(hours=-5)))),
        ("2024年06月11日 10:30", datetime(2024, 6, 11, 10, 30)),
        ("2024年6月11日10:30:15", datetime(2024, 6, 11, 10, 30, 15)),
        ("发布时间：2024年06月11日 下午3:05", datetime(2024, 6, 11, 15, 5)),
        ("2024/06/11 10:30", datetime(2024, 6, 11, 10, 30)),
        ("2024.06.11", datetime(2024, 6, 11)),
        ("2024-13-45", None),
        ("0000-00-00", None),
        ("yesterday", None),
        ("", None),
        (None, None),
        ("9" * 500, None),
    ],
)
def test_parse_datetime(value, expected):
    got = parse_datetime(value)
    assert got == expected
    if expected is not None:
        assert (got.tzinfo is None) == (expected.tzinfo is None)


def test_the_parsed_page_is_lxml_html_elements_with_forms_as_plain_elements():
    # The parser picks element classes in C (one HtmlElement class for every tag) instead of lxml.html's
    # Python lookup; trafilatura and the metadata code need HtmlElement's methods on every element.
    from lxml.html import HtmlElement

    from crawler.extract.article import _parse

    tree = _parse("<html><body><form><input name=q><p>Shares <b>rose</b>.</p></form><table><tr><td>1</td>"
                  "</tr></table></body></html>")
    assert all(isinstance(element, HtmlElement) for element in tree.iter())
    assert tree.find(".//form").text_content() == "Shares rose."
    assert type(tree.find(".//form")) is HtmlElement  # not lxml.html.FormElement: nothing here uses forms
