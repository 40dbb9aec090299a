"""From a fetched page (or a listing's hint) to the story record the store keeps. Pure and CPU-bound.

`build_story(page)` runs in the extraction process pool: it decodes and extracts the page, then canonicalises:
- url: the page's `<link rel="canonical">` when it names a real article (not a site's home page), else the
  fetched URL; every other URL it was seen under (the listing's link, the redirect target) becomes an alias;
- title, text, published: the page's where it gives them, else the listing's hint (a feed's title, summary and
  date; a news sitemap's title and date); a story with no date at all is marked `date_is_first_seen`;
- a story with neither title nor text is not a story: `build_story` returns a `FetchFailure` to record; so is
  a page whose text is only boilerplate (a disclaimer, a channel menu: `Page.failure` says which) when the
  listing gives no text of its own.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from w3lib.html import remove_tags, replace_entities

from crawler.dates import parse_datetime
from crawler.extract import Page, detect_lang, extract_page
from crawler.fingerprint import fingerprints
from crawler.items import ArticlePage, FetchFailure, NewStory
from crawler.maintext import BOILERPLATE
from crawler.urls import canonical_url


def build_story(item: ArticlePage) -> NewStory | FetchFailure:
    page = extract_page(item.body, item.url, item.content_type) if item.body else None
    hint = item.hint
    summary = _html_to_text(hint.summary) if hint.summary else ""
    text = page.text if page and page.text else summary
    title = (page.title if page and page.title else None) or (_html_to_text(hint.title) if hint.title else None)
    if not title and not text:
        return FetchFailure(item.source, item.url, item.error or "no title and no text on the page")
    if page and page.failure and page.failure.startswith(BOILERPLATE) and not text:
        # A page that is only a disclaimer or a channel menu is not a story, whatever its <title> says.
        return FetchFailure(item.source, item.url, page.failure)
    published = (page.published if page else None) or parse_datetime(hint.published)
    seen_under = [canonical_url(u) for u in (item.url, item.link)]
    url = _canonical(page, item.url) or seen_under[0]
    text_hash, sim = fingerprints(title, text, url)
    return NewStory(
        url=url,
        source=item.source,
        title=title,
        text=text,
        lang=(page.lang if page and page.text else None) or detect_lang(text),
        published=published,
        date_is_first_seen=published is None,
        origin="page" if page and page.text else "feed",
        aliases=tuple(u for u in dict.fromkeys(seen_under) if u != url),
        content_hash=text_hash,
        simhash=sim,
    )


def _canonical(page: Page | None, fetched: str) -> str | None:
    """The page's canonical URL, unless it points at a home page (a common CMS mistake) from an article."""
    if page is None or not page.canonical_url:
        return None
    target = urlsplit(page.canonical_url)
    if target.scheme not in {"http", "https"}:
        return None
    if target.path.strip("/") == "" and urlsplit(fetched).path.strip("/") != "":
        return None
    return canonical_url(page.canonical_url)


def _html_to_text(value: str) -> str:
    return " ".join(replace_entities(remove_tags(value)).split())
