"""Item pipelines: extract (in a process pool), then dedupe and store (on the store's own thread).

`ExtractPipeline` sends each `ArticlePage` to `crawler.extract.story.build_story` in the poll's process pool: decoding,
trafilatura and canonicalisation never run on the reactor thread (nor are they imported in the main process). `StorePipeline` hands the resulting story to
the poll's `ingest` function on the single store thread (SQLite has one writer; the reactor never blocks on
I/O), which dedupes, stores, matches and queues alerts in one transaction (crawler.store.Store.add_story).
A `FetchFailure` is recorded so the article is not refetched on every poll. Nothing here raises past an item:
a page that breaks extraction is logged and recorded, and the poll goes on. A story that could not be stored
(database locked, disk full, any error) is rolled back whole and makes the poll an error, so nothing of the
poll is taken as done: the listing's validators are kept and the next poll fetches the story again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy.exceptions import DropItem

from crawler.items import ArticlePage, FetchFailure, NewStory, PollTally
from crawler.fetch.poll import PollContext
from crawler.extract.pool import build_story

log = logging.getLogger(__name__)


class _PollPipeline:
    def __init__(self, ctx: Any):
        self.ctx = ctx

    @property
    def tally(self) -> PollTally:
        return PollTally.of(self.ctx.crawler)

    @classmethod
    def from_crawler(cls, crawler: Any) -> Any:
        return cls(PollContext.of(crawler))


class ExtractPipeline(_PollPipeline):
    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, ArticlePage):
            return item
        try:
            config, name = self.ctx.config, self.ctx.source.name
            job = self.ctx.cpu.submit(build_story, item, config.timezone_for(name), config.max_age_for(name))
            return await asyncio.wrap_future(job)
        except Exception as exc:  # a worker crash or a page that breaks a parser: record, go on
            log.warning("extraction failed for %s: %s: %s", item.url, type(exc).__name__, exc)
            return FetchFailure(item.source, item.url, f"extraction failed: {type(exc).__name__}: {exc}")


class StorePipeline(_PollPipeline):
    async def process_item(self, item: Any, spider: Any = None) -> Any:
        loop = asyncio.get_running_loop()
        if isinstance(item, FetchFailure):
            try:
                await loop.run_in_executor(self.ctx.io, self.ctx.store.record_failure, item.url, item.source,
                                           item.error)
            except Exception as exc:
                self._store_failed(item.url, exc)
            self.tally.failures += 1
            raise DropItem(f"no story at {item.url}: {item.error}", log_level="INFO")
        if not isinstance(item, NewStory):
            return item
        try:
            added = await loop.run_in_executor(self.ctx.io, self.ctx.ingest, item)
        except Exception as exc:  # locked, disk full, any error: rolled back whole; the poll is not clean
            self._store_failed(item.url, exc)
            raise DropItem(f"story at {item.url} not stored: {exc}", log_level="ERROR") from exc
        self.tally.stored(added.status)
        self.tally.alerts += len(added.outbox_ids)
        if added.stale:
            self.tally.stale += 1
            log.info("not alerted: %s (%s)", item.url, added.not_alerted)
        return item

    def _store_failed(self, url: str, exc: Exception) -> None:
        """A write that failed makes the poll an error (crawler.fetch.poll._result): its validators are not saved,
        so the next poll fetches the listing again and, with it, every story that was not stored."""
        message = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        log.error("store failed for %s: %s", url, message)
        self.tally.store_errors += 1
        self.tally.store_error = self.tally.store_error or f"{url}: {message}"
