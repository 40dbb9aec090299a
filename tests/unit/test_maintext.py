"""Main text recall without giving up sidebar exclusion (crawler.extract.maintext), boilerplate-only pages as failures,
and titles (crawler.extract.headline) on saved pages in tests/data/pages/ (see its README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.extract.article import extract_page
from crawler.items import ArticlePage, FetchFailure, Hint, NewStory
from crawler.extract.maintext import boilerplate_reason, choose, holds_most_of
from crawler.extract.story import build_story

PAGES = Path(__file__).resolve().parents[1] / "data" / "pages"
# A precise text, and the prose paragraphs a balanced run adds where precision lost them.
STORY = "Shares rose sharply on Tuesday after the company beat forecasts by a wide margin, analysts said."
MORE = "\n".join(f"Paragraph {i} of the story goes on to explain what the results mean for investors."
                 for i in range(4))


def page(name: str):
    return extract_page((PAGES / name).read_bytes(), "https://news.example.com/a/1.html")


def test_article_body_behind_an_expand_block_is_kept_and_the_chrome_stays_out():
    # trafilatura's precision mode drops the collapsed <div class="expand"> (4 of 5 paragraphs); the balanced
    # run on the same tree has them, and what it adds is prose, so it wins.
    got = page("collapsed_article.html")
    assert got.failure is None
    for sentence in ("Shares of the chipmaker rose sharply", "order book had never been longer",
                     "raise its dividend by a tenth"):
        assert sentence in got.text
    for chrome in ("Hot stocks", "iFlytek", "002230", "Cambricon", "Related stories", "Domestic computing power",
                   "Read the full story", "Like 120", "Wow", "Disclaimer", "investment advice",
                   "All rights reserved", "Semiconductors", "Opinion"):
        assert chrome not in got.text


@pytest.mark.parametrize(
    ("name", "reason"),
    [("disclaimer_only.html", "only a disclaimer"), ("channel_menu.html", "short lines (a menu")],
)
def test_a_page_that_is_only_a_disclaimer_or_a_channel_menu_is_a_failure_with_a_reason(name, reason):
    got = page(name)
    assert got.text == "" and reason in (got.failure or "")
    item = ArticlePage("src", "https://news.example.com/a/1.html", "https://news.example.com/a/1.html",
                       (PAGES / name).read_bytes())
    story = build_story(item)
    assert isinstance(story, FetchFailure) and reason in story.error


def test_a_boilerplate_page_behind_a_feed_entry_is_stored_from_the_feed():
    item = ArticlePage("src", "https://news.example.com/a/1.html", "https://news.example.com/a/1.html",
                       (PAGES / "disclaimer_only.html").read_bytes(),
                       hint=Hint(title="科大讯飞发布新模型", summary="科大讯飞今日发布星火大模型新版本。"))
    story = build_story(item)
    assert isinstance(story, NewStory) and story.text == "科大讯飞今日发布星火大模型新版本。" and story.origin == "feed"


def test_a_page_with_nothing_to_extract_says_so():
    assert extract_page(b"<html><body></body></html>").failure
    assert extract_page(b"\x00\x01\x02" * 100).failure
    assert page("collapsed_article.html").failure is None


def test_choose_keeps_the_precise_text_when_balanced_only_adds_chrome():
    precise = "Shares rose sharply on Tuesday after the company beat forecasts by a wide margin, analysts said."
    chrome = "\n".join(["Home", "Markets", "iFlytek 002230 +3.1%", "Cambricon 688256 +2.4%", "Tencent 0700 -0.8%"] * 3)
    called = []
    assert choose(precise, lambda: precise + "\n" + chrome, lambda: called.append(1) or "") == precise
    assert not called, "recall mode runs only when both others are empty"


def test_choose_takes_balanced_when_precision_lost_prose_and_recall_when_both_are_empty():
    first, more = STORY, MORE
    assert choose(first, lambda: first + "\n" + more, lambda: "") == first + "\n" + more
    assert choose("", lambda: more, lambda: "") == more
    assert choose("", lambda: "", lambda: first) == first


def test_the_balanced_run_is_skipped_only_when_the_precise_text_holds_most_of_the_page():
    first, more = STORY, MORE
    ran = []
    assert choose(first, lambda: ran.append(1) or first + "\n" + more, lambda: "", lambda precise: True) == first
    assert not ran, "a page whose text the precise run already holds cannot have a longer extraction"
    assert choose(first, lambda: first + "\n" + more, lambda: "", lambda precise: False) == first + "\n" + more
    assert choose("", lambda: more, lambda: "", lambda precise: True) == more, "an empty precise text never wins"


@pytest.mark.parametrize(
    ("body", "holds"),
    [
        # nearly all of the page is the article
        ("<h1>Chip maker lifts forecast</h1><p>{story}</p>", True),
        # a sidebar as long as the story: another run might be long enough to win
        ("<p>{story}</p><aside>{story}</aside>", False),
        # scripts and styles are no text any extractor returns
        ("<p>{story}</p><script>var a = 'one two three four five six seven eight nine ten';</script>"
         "<style>.a {{ color: red; margin: 0 auto; padding: 1px 2px 3px 4px; }}</style>", True),
        # JSON-LD is: trafilatura's fallback reads its articleBody
        ('<p>{story}</p><script type="application/ld+json">{{"articleBody": "{story} {story}"}}</script>', False),
    ],
)
def test_holds_most_of_counts_every_text_an_extraction_could_return(body, holds):
    from crawler.extract.article import _parse

    tree = _parse(f"<html><head><title>t</title></head><body>{body.format(story=STORY)}</body></html>")
    assert holds_most_of(tree, STORY) is holds


@pytest.mark.parametrize(
    ("text", "failed"),
    [
        ("免责声明：本文仅供参考，不构成投资建议。", True),
        ("Disclaimer: for informational purposes only.\n© 2024 Example. All rights reserved.", True),
        ("首页\n股票\n基金\n债券", True),
        ("科大讯飞 002230\n寒武纪 688256\n中际旭创 300308", True),
        ("科大讯飞涨停", False),  # a one-line flash is short, but not a menu
        ("Shares rose sharply on Tuesday after the company beat forecasts, analysts said.\nDisclaimer: not advice.", False),
    ],
)
def test_boilerplate_reason(text, failed):
    assert bool(boilerplate_reason(text)) is failed


def test_trailing_disclaimer_line_is_cut_from_the_text():
    body = (
        "<html><body><article>"
        + "<p>Shares rose sharply on Tuesday after the company beat forecasts by a wide margin, analysts said.</p>" * 3
        + "<p>免责声明：本文不构成投资建议。</p></article></body></html>"
    )
    got = extract_page(body.encode())
    assert "analysts said" in got.text and "免责声明" not in got.text


# ---------------------------------------------------------------------------------------------
# Titles


@pytest.mark.parametrize(
    ("name", "title"),
    [
        # application-name and og:site_name repeat the <title> headline: the logo <h1> must not win.
        ("site_name_is_headline.html", "Why the yen's slide has further to run, and what would stop it"),
        # "Blog Name: Headline" with <h1>Blog Name</h1>: the headline, not the blog's name.
        ("blog_colon_headline.html", "The bond market is finally listening to the Fed"),
        # A short CJK headline still loses "_百度百科"; the logo <h1> 百度百科 is not the title.
        ("baike_short_cjk.html", "科大讯飞"),
        ("collapsed_article.html", "Chipmaker lifts forecast as data-centre orders surge"),
    ],
)
def test_titles_on_saved_pages(name, title):
    assert page(name).title == title


def test_visible_headline_h1_beats_a_different_seo_title():
    body = (
        "<html><head><title>Best Cloud Computing Stocks of 2025 | The Motley Fool</title></head><body>"
        "<h1>Investing in Cloud Computing Stocks in 2025</h1>"
        + "<p>Cloud spending keeps growing as companies move their workloads off their own servers, analysts say.</p>" * 3
        + "</body></html>"
    )
    assert extract_page(body.encode()).title == "Investing in Cloud Computing Stocks in 2025"


def test_an_h1_unrelated_to_the_title_is_not_the_headline():
    body = (
        "<html><head><title>Fed holds rates and signals two cuts - Daily Wire</title></head><body>"
        "<h1>Subscribe to our newsletter</h1>"
        + "<p>The central bank left its benchmark rate unchanged on Wednesday and pencilled in two cuts.</p>" * 3
        + "</body></html>"
    )
    assert extract_page(body.encode()).title == "Fed holds rates and signals two cuts"


def test_the_external_extractors_run_once_per_page_in_the_balanced_run_only(monkeypatch):
    """readability and justext are the costly part of a trafilatura run: the precise run skips them
    (crawler.extract.maintext), the balanced run, which decides whenever they would matter, keeps them."""
    import trafilatura.external

    calls = []
    real = trafilatura.external.try_readability
    monkeypatch.setattr(trafilatura.external, "try_readability", lambda tree: calls.append(1) or real(tree))
    got = page("collapsed_article.html")
    assert "Shares of the chipmaker rose sharply" in got.text
    assert len(calls) == 1
