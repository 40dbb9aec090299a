"""What spiders hand to the pipelines. The only part of `crawler` that `spiders` import.

Pipelines hand the store a `NewStory`: plain data, built in the extraction worker, fingerprints included.

A spider yields an `ArticlePage` for every article it fetched (or, for a feed entry whose page could not be
fetched, one with `body=None` and the feed's own title and summary in `hint`), and a `FetchFailure` for an article
that yielded nothing. Pipelines turn pages into stories; they never see Scrapy responses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SpiderSource:
    """One source as its spider sees it: the config's `Source` with every default already decided
    (crawler.fetch.poll.spider_source: `follow` by type, the zone, `max_age`, the size limit), so no spider
    restates one. Spiders import nothing of the config; this is their typed input. The defaults below only serve a
    spider built by hand (tests, `scrapy` itself): the poll passes every field."""

    name: str
    url: str
    type: str = "feed"
    links: str | None = None  # html: the CSS selector of article links
    follow: bool = True  # fetch each entry's page (false: the listing's own title and summary are the story)
    timezone: str = "UTC"  # IANA zone of times written without an offset
    max_age_seconds: float = 2 * 86400
    max_bytes: int = 10 * 1024 * 1024
    # json sources and exchange presets
    method: str = "GET"
    form: Mapping[str, Any] | None = None
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    items: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    time_format: str = "auto"
    base_url: str | None = None
    tickers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    contact: str | None = None
    max_pages: int = 3

    @classmethod
    def given(cls, source: SpiderSource | Mapping[str, Any]) -> SpiderSource:
        """`source` as a SpiderSource; a mapping (a test's, or `scrapy crawl -a`) must use its field names."""
        if isinstance(source, SpiderSource):
            return source
        unknown = set(source) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown source settings for a spider: {', '.join(sorted(unknown))}")
        return cls(**{k: tuple(v) if k in ("tickers", "categories") and v is not None else v
                      for k, v in source.items()})


@dataclass(frozen=True)
class Hint:
    """What the listing itself said about an article (feed entry, news sitemap): used when the page is silent."""

    title: str | None = None
    summary: str | None = None  # may be HTML (feeds)
    published: str | None = None  # as given (RFC 822, ISO 8601, ...)
    kind: str = "feed"  # feed | sitemap: the `date_source` of `published`


@dataclass(frozen=True)
class Fields:
    """Structured fields of a story from a JSON source or an exchange disclosure (raw: normalised by the store path).

    `key` is the dedupe key when the source gives an id (`cninfo:1224567890`): a story with a key is the same story
    only under the same key, and a disclosure (`disclosure=True`: the title and fields are the story, the PDF is
    linked, not fetched) is never a syndicated copy of another, so a correction under a new id is a new story."""

    tickers: tuple[str, ...] = ()  # as the source wrote them; crawler.tickers normalises them
    market: str | None = None  # CN | HK | US: how bare codes are read
    company: str | None = None
    category: str | None = None
    doc_url: str | None = None
    key: str | None = None
    disclosure: bool = False


@dataclass
class ArticlePage:
    source: str
    link: str  # the URL as the listing gave it
    url: str  # where the page was fetched from, after redirects
    body: bytes | None
    content_type: str | None = None
    hint: Hint = field(default_factory=Hint)
    error: str | None = None  # why body is None
    fields: Fields | None = None  # JSON and disclosure sources
    # URL -> its canonical_url (crawler.dedupe.urls), for the URLs already canonicalised on the reactor (the
    # article request's URL, by crawler.fetch.middlewares.KnownUrlMiddleware): the worker does not redo them.
    canonical: dict[str, str] = field(default_factory=dict)


@dataclass
class FetchFailure:
    source: str
    url: str
    error: str


@dataclass(frozen=True)
class NewStory:
    url: str  # canonical
    source: str
    title: str | None
    text: str
    lang: str | None
    published: datetime | None  # aware (offset kept) or naive UTC
    date_is_first_seen: bool
    origin: str = "page"  # page | feed (the listing's own title and summary)
    aliases: tuple[str, ...] = ()  # other canonical URLs it was seen under
    content_hash: str = ""  # crawler.dedupe.fingerprint, computed off the reactor and store threads
    simhash: int | None = None
    date_source: str | None = None  # crawler.extract.timestamps: jsonld meta time feed sitemap text url first-seen
    date_note: str | None = None  # a date dropped or clamped on the way (crawler.extract.settle)
    tickers: tuple[str, ...] = ()  # normalised (crawler.tickers)
    company: str | None = None
    category: str | None = None
    doc_url: str | None = None
    key: str | None = None  # the source's own id: the dedupe key when given (see Fields)


@dataclass
class PollTally:
    """What one poll did, counted by the parts that did it: the spider (listings, 304s, the source's error, size
    limits, links that led back to the listing), the known-URL middleware, the throttle middlewares and the store
    pipeline. One per crawl (a poll is one crawl), kept on the crawler (`PollTally.of`); crawler.fetch.poll builds
    the poll's `PollResult` from it. Typed fields, not Scrapy stats keys, so a misspelt count is an error."""

    listings: int = 0
    not_modified: int = 0
    source_error: str | None = None
    size_limits: int = 0
    size_limit: str | None = None  # the first, with its URL
    links_ignored: int = 0
    new: int = 0
    known: int = 0
    duplicate: int = 0
    alerts: int = 0
    stale: int = 0
    failures: int = 0
    store_errors: int = 0
    store_error: str | None = None  # the first, with its URL
    known_skipped: int = 0
    in_flight_skipped: int = 0
    throttled: str | None = None  # why the host made us wait (Retry-After), if it did
    throttled_requests: int = 0

    @staticmethod
    def of(crawler: object) -> PollTally:
        tally = getattr(crawler, "newsradar_tally", None)
        if tally is None:
            tally = PollTally()
            setattr(crawler, "newsradar_tally", tally)
        return tally

    def stored(self, status: str) -> None:
        """One story through the store: `new`, `known` or `duplicate` (crawler.store.Added.status)."""
        setattr(self, status, getattr(self, status) + 1)
