"""Scrapy middlewares that make a poll incremental and polite.

- `ConditionalGetMiddleware` (downloader): listing requests (feeds, listing pages, sitemaps) carry the ETag /
  Last-Modified the store holds for their URL; fresh validators are collected on the poll and saved by the
  poll only when it finished cleanly, so a crash between fetching a listing and storing its articles never
  turns the articles into a `304` that hides them. (Scrapy's HTTP cache serves stale feeds: not used.)
- `KnownUrlMiddleware` (spider): drops article requests whose canonical URL the store already has (or that
  failed recently), with one `IN (...)` query per listing response, duplicates within the poll, and articles
  another poll of this process is fetching right now (`PollContext.in_flight`): a feed entry and a listing
  link to one article, polled at the same time, fetch it once. The canonical URL it computed travels with the
  request (meta `newsradar_canonical`: `(url, canonical)`) into the `ArticlePage` the article's response gives
  (`ArticlePage.canonical`), so the extraction worker does not canonicalise the same URL again.
Both read the poll's context with `PollContext.of(crawler)` (set by crawler.fetch.poll before the crawl starts).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from scrapy import Request

from crawler.fetch.poll import PollContext
from crawler.dedupe.urls import canonical_url
from crawler.items import ArticlePage, PollTally

# Request meta key: (the request's URL, its canonical_url), set when the known-URL filter lets the request through.
CANONICAL_META = "newsradar_canonical"


class ConditionalGetMiddleware:
    def __init__(self, ctx: Any):
        self.ctx = ctx

    @classmethod
    def from_crawler(cls, crawler: Any) -> ConditionalGetMiddleware:
        return cls(PollContext.of(crawler))

    def process_request(self, request: Request, spider: Any = None) -> None:
        if not request.meta.get("newsradar_listing") or request.method != "GET" or request.meta.get("playwright"):
            return None  # a POST query (a page of announcements) has no validators: one URL, many bodies; a
            # rendered page (crawler.fetch.render) is always rendered afresh: a 304 has nothing to render
        etag, modified = self.ctx.validators.get(request.url, (None, None))
        if etag:
            request.headers.setdefault(b"If-None-Match", etag)
        if modified:
            request.headers.setdefault(b"If-Modified-Since", modified)
        return None

    def process_response(self, request: Request, response: Any, spider: Any = None) -> Any:
        if (request.meta.get("newsradar_listing") and request.method == "GET" and response.status == 200
                and not request.meta.get("playwright")):
            etag = response.headers.get(b"ETag")
            modified = response.headers.get(b"Last-Modified")
            if etag or modified:
                self.ctx.fresh_validators[request.url] = (
                    etag.decode("latin-1") if etag else None,
                    modified.decode("latin-1") if modified else None,
                )
        return response


class KnownUrlMiddleware:
    def __init__(self, ctx: Any):
        self.ctx = ctx

    @classmethod
    def from_crawler(cls, crawler: Any) -> KnownUrlMiddleware:
        return cls(PollContext.of(crawler))

    async def process_spider_output(self, response: Any, result: AsyncIterator[Any], spider: Any = None):
        batch = [item async for item in result]
        wanted = {id(r): canonical_url(r.url) for r in batch if isinstance(r, Request) and r.meta.get("newsradar_article")}
        known: set[str] = set()
        if wanted:
            loop = asyncio.get_running_loop()
            known = await loop.run_in_executor(self.ctx.io, self.ctx.store.known_urls, set(wanted.values()))
        skipped = elsewhere = 0
        for item in batch:
            key = wanted.get(id(item))
            if key is not None:
                if key in known or key in self.ctx.claimed:
                    skipped += 1
                    continue
                if key in self.ctx.in_flight:  # claimed by another poll running now (checked and claimed
                    elsewhere += 1  # with no await in between: one reactor thread)
                    continue
                self.ctx.claimed.add(key)
                self.ctx.in_flight.add(key)
                item.meta[CANONICAL_META] = (item.url, key)
            elif isinstance(item, ArticlePage):
                _carry_canonical(item, response)
            yield item
        if skipped or elsewhere:
            PollTally.of(self.ctx.crawler).known_skipped += skipped + elsewhere
        PollTally.of(self.ctx.crawler).in_flight_skipped += elsewhere


def _carry_canonical(page: ArticlePage, response: Any) -> None:
    """Hand the article request's canonical URL (computed above, on the listing's output) to its page."""
    try:
        url, key = response.meta[CANONICAL_META]
    except (AttributeError, KeyError, TypeError, ValueError):  # no request behind it, or not filtered here
        return
    page.canonical.setdefault(url, key)
