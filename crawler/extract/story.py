"""From a fetched page (or a listing's hint) to the story record the store keeps. Pure and CPU-bound.

`build_story(page)` runs in the extraction process pool: it decodes and extracts the page, then canonicalises:
- url: the page's `<link rel="canonical">` when it names a real article (not a site's home page), else the
  fetched URL; every other URL it was seen under (the listing's link, the redirect target) becomes an alias;
- title, text: the page's where it gives them, else the listing's hint (a feed's title and summary, a news
  sitemap's title);
- published: `crawler.extract.settle.settle` over the page's date and the listing's (its precedence: the page's structured
  date, the feed's or sitemap's, a guess; naive times in the source's `zone`; `now` is first-seen); a story with
  no date at all is marked `date_is_first_seen`, and `date_source` says where the date came from;
- a story with neither title nor text is not a story: `build_story` returns a `FetchFailure` to record; so is
  a page whose text is only boilerplate (a disclaimer, a channel menu: `Page.failure` says which) when the
  listing gives no text of its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from w3lib.html import remove_tags, replace_entities

from crawler.extract.settle import settle
from crawler.extract.timestamps import FIRST_SEEN, Dated, parse_datetime
from crawler.extract.article import Page, extract_page
from crawler.extract.language import detect_lang
from crawler.dedupe.fingerprint import fingerprints
from crawler.items import ArticlePage, FetchFailure, NewStory
from crawler.dedupe.urls import canonical_url
from crawler.extract.maintext import BOILERPLATE
from crawler.tickers import normalize


def build_story(item: ArticlePage, zone: str = "UTC", max_age: timedelta = timedelta(days=2),
                now: datetime | None = None) -> NewStory | FetchFailure:
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
    listed = parse_datetime(hint.published)
    dated = settle(
        Dated(page.published, page.date_source or "text") if page and page.published else None,
        Dated(listed, hint.kind) if listed else None,
        now=now or datetime.now(timezone.utc), zone=ZoneInfo(zone), max_age=max_age,
    )
    fields = item.fields
    if fields is not None and fields.key and not item.url:  # an item with an id and no link: the id is its URL
        seen_under = [fields.key]
    else:
        # Each URL once; the article request's URL was canonicalised on the reactor (ArticlePage.canonical).
        seen_under = [item.canonical.get(u) or canonical_url(u) for u in dict.fromkeys((item.url, item.link)) if u]
    url = _canonical(page, item.url) or seen_under[0]
    text_hash, sim = fingerprints(title, text, url)
    extra = {}
    if fields is not None:
        tickers = (normalize(t, fields.market) for t in fields.tickers)
        extra = dict(
            tickers=tuple(dict.fromkeys(t for t in tickers if t)),
            company=_html_to_text(fields.company) if fields.company else None,
            category=fields.category or None, doc_url=fields.doc_url or None, key=fields.key or None,
        )
    origin = "page" if page and page.text else "feed"
    if fields is not None and fields.disclosure:
        origin = "disclosure"
    return NewStory(
        url=url,
        source=item.source,
        title=title,
        text=text,
        lang=(page.lang if page and page.text else None) or detect_lang(text),
        published=dated.published,
        date_is_first_seen=dated.published is None,
        date_source=dated.source if dated.published is not None else FIRST_SEEN,
        date_note=dated.note,
        origin=origin,
        aliases=tuple(u for u in dict.fromkeys(seen_under) if u != url),
        content_hash=text_hash,
        simhash=sim,
        **extra,
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
