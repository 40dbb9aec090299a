"""The shape every newsradar spider shares: one source, one listing request, one request per new article.

A spider is built from one source's settings (`crawler.items.SpiderSource`: every default already decided).
It requests the source's URL (a feed, listing page or sitemap) marked `newsradar_listing`, so the conditional-GET
middleware can send the stored validators; a `304` means nothing changed and yields nothing. Each article link
becomes a request marked `newsradar_article`, which the known-URL middleware drops when the store already has it.
Errors are results: a source that cannot be fetched or parsed sets the poll's `source_error`
(`crawler.items.PollTally`, which the poll turns into its result); an article that cannot be fetched yields a `FetchFailure`, or, when the listing carried a
title or summary, an `ArticlePage` without a body so the story is kept from the listing. An article request that
lands on one of the source's listing pages (a link or redirect back to it) is not a story and yields nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urldefrag

import scrapy
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.items import ArticlePage, FetchFailure, Fields, Hint, PollTally, SpiderSource
from spiders.reasons import describe


class SourceSpider(scrapy.Spider):
    name = "newsradar-source"
    custom_settings: dict[str, Any] = {}

    def __init__(self, source: SpiderSource | Mapping[str, Any], clock: Callable[[], datetime] | None = None,
                 **kwargs: Any):
        self.source = SpiderSource.given(source)
        super().__init__(name=f"source:{self.source.name}", **kwargs)
        self.clock = clock or _utcnow  # injectable, so freshness cuts are testable without today's date
        self.listing_urls: set[str] = {urldefrag(self.source.url)[0]}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield self.listing_request(self.source.url)

    def listing_request(self, url: str) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self._listing,
            errback=self._listing_failed,
            dont_filter=True,
            meta={"newsradar_listing": True, "handle_httpstatus_list": [304]},
        )

    def article_request(self, link: str, hint: Hint | None = None, fields: Fields | None = None) -> scrapy.Request:
        return scrapy.Request(
            link,
            callback=self._article,
            errback=self._article_failed,
            meta={"newsradar_article": True, "newsradar_link": link, "newsradar_hint": hint or Hint(),
                  "newsradar_fields": fields},
        )

    # -- listing ----------------------------------------------------------------------------------------------
    def _listing(self, response: Response) -> Iterable[Any]:
        self.listing_urls.update(urldefrag(u)[0] for u in (response.url, getattr(response.request, "url", response.url)))
        if response.status == 304:
            PollTally.of(self.crawler).not_modified += 1
            return []
        PollTally.of(self.crawler).listings += 1
        try:
            return list(self.parse_listing(response))
        except ListingError as exc:
            if isinstance(exc, SizeLimitExceeded):
                self.size_limit(response.url, str(exc))
            self.source_error(f"{response.url}: {exc}")
        except SystemExit as exc:
            # A parser that calls sys.exit() would leave the reactor wedged and the daemon deaf to SIGTERM.
            self.source_error(f"{response.url}: the parser called sys.exit({exc.code})")
        return []

    def parse_listing(self, response: Response) -> Iterable[Any]:
        raise NotImplementedError

    def _listing_failed(self, failure: Failure) -> None:
        reason = _reason(failure)
        if _over_size_limit(failure):
            self.size_limit(failure.request.url, reason)
        # A network failure names its host already; an HTTP status says which URL answered it.
        self.source_error(f"{reason} for {failure.request.url}" if reason.startswith("HTTP ") else reason)
        self.logger.debug("listing %s failed:\n%s", failure.request.url, failure.getTraceback())

    def source_error(self, message: str) -> None:
        # The poll's own line is the one WARNING for this failure (crawler.fetch.poll); this is its detail.
        self.logger.debug("source %s failed: %s", self.source.name, message)
        PollTally.of(self.crawler).source_error = message

    def size_limit(self, url: str, detail: str) -> None:
        """A response over `fetch.max_bytes` (as sent or decompressed): contained, and a failure of the poll
        (crawler.fetch.poll._result), so health shows it rather than a healthy poll."""
        self.logger.warning("source %s: %s is over the size limit: %s", self.source.name, url, detail)
        tally = PollTally.of(self.crawler)
        tally.size_limits += 1
        tally.size_limit = tally.size_limit or f"{url}: {detail}"

    # -- articles ---------------------------------------------------------------------------------------------
    def _article(self, response: Response) -> Iterable[ArticlePage]:
        if urldefrag(response.url)[0] in self.listing_urls:
            self.logger.info("article link %s leads to the listing page %s: not a story",
                             response.meta["newsradar_link"], response.url)
            PollTally.of(self.crawler).links_ignored += 1
            return
        content_type = response.headers.get(b"Content-Type")
        yield ArticlePage(
            source=self.source.name,
            link=response.meta["newsradar_link"],
            url=response.url,
            body=response.body,
            content_type=content_type.decode("latin-1") if content_type else None,
            hint=response.meta["newsradar_hint"],
            fields=response.meta.get("newsradar_fields"),
        )

    def _article_failed(self, failure: Failure) -> Iterable[ArticlePage | FetchFailure]:
        if failure.check(PollStopped) or getattr(failure.value, "retry_next_poll", False):
            return  # fetched by the next poll (stopped poll, host asking to wait)
        meta = failure.request.meta
        reason = _reason(failure)
        if _over_size_limit(failure):
            self.size_limit(failure.request.url, reason)
        self.logger.info("article %s failed: %s", failure.request.url, reason)
        hint: Hint = meta.get("newsradar_hint") or Hint()
        if hint.title or hint.summary:
            yield ArticlePage(self.source.name, meta["newsradar_link"], failure.request.url, None, None, hint, reason,
                              meta.get("newsradar_fields"))
        else:
            yield FetchFailure(self.source.name, failure.request.url, reason)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class PollStopped(IgnoreRequest):
    """A request dropped because its poll was stopped (timeout, shutdown): not a failure of the article.
    Any exception with a true `retry_next_poll` attribute is treated the same (crawler.fetch.throttle.HostThrottled)."""

    retry_next_poll = True


class ListingError(ValueError):
    """The source's document is not what its type promises (not a feed, not a sitemap ...)."""


class SizeLimitExceeded(ListingError):
    """A listing document larger than `fetch.max_bytes` once decompressed (a gzip bomb)."""


def _over_size_limit(failure: Failure) -> bool:
    """A download cancelled past DOWNLOAD_MAXSIZE, or a response whose Content-Encoding decompressed past it."""
    value = failure.value
    if isinstance(value, DownloadCancelledError):
        return "max size" in str(value)
    return isinstance(value, IgnoreRequest) and "DOWNLOAD_MAXSIZE" in str(value)


def _reason(failure: Failure) -> str:
    return describe(failure.value, getattr(getattr(failure, "request", None), "url", None))
