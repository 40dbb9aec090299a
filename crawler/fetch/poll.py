"""One poll of one source, and the long-lived machinery that runs polls: a crawl is a result, never a crash.

Scrapy's reactor cannot be restarted in one process, so a `Poller` lives as long as the process and runs every
poll as a new Scrapy crawler on one `AsyncCrawlerRunner`, on the asyncio reactor that the whole process shares
(`run_reactor`). Around it, two executors keep the reactor thread free: a process pool for extraction (CPU) and
one store thread for every database call (I/O; SQLite has one writer). `run --once` and the daemon use the same
`Poller`; the daemon just calls `poll` on a schedule.

A poll's outcome is a `PollResult`: ok or the source's error (DNS, HTTP status, timeout, not a feed, selector
matching nothing, or a story the store failed to write), and counts of new, duplicate and known stories,
failures and alerts. Validators for conditional GET are saved only after a clean poll: one in which every story
found was stored.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from scrapy.crawler import AsyncCrawlerRunner
from scrapy.exceptions import NotConfigured
from scrapy.utils.reactor import install_reactor
from twisted.internet import defer

from crawler.config.model import Config, Source
from crawler.extract.pool import WorkerPool
from crawler.fetch.limits import PollLimits
from crawler.fetch.settings import scrapy_settings
from crawler.items import NewStory, PollTally, SpiderSource
from crawler.store.database import Added, Store
from spiders import SPIDERS
from spiders.base import PollStopped

log = logging.getLogger("newsradar.poll")


@dataclass
class PollResult:
    source: str
    ok: bool
    error: str | None = None
    new: int = 0
    duplicates: int = 0
    known: int = 0
    failures: int = 0
    alerts: int = 0
    stale: int = 0  # matched rules but older than max_age: stored, not alerted (`items --json` says why)
    not_modified: bool = False
    throttled: bool = False  # the host asked to wait (Retry-After): an error of this poll, not a failing source
    ms: int = 0
    waited: float = 0.0  # seconds it waited for its slot before it started (crawler.fetch.limits)

    @property
    def status(self) -> str:
        if not self.ok:
            return "throttled" if self.throttled else "error"
        return "not-modified" if self.not_modified else "ok"


@dataclass
class PollContext:
    """What the middlewares and pipelines of one crawl need; reached as `crawler.newsradar`."""

    config: Config
    source: Source
    store: Store
    io: ThreadPoolExecutor
    cpu: WorkerPool
    ingest: Callable[[NewStory], Added]
    validators: dict[str, tuple[str | None, str | None]]
    fresh_validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    crawler: Any = None
    # Canonical article URLs being fetched by any poll of this process (shared), and those this poll claimed:
    # two sources listing one article at the same time fetch it once (crawler.fetch.middlewares.KnownUrlMiddleware).
    in_flight: set[str] = field(default_factory=set)
    claimed: set[str] = field(default_factory=set)

    @staticmethod
    def of(crawler: Any) -> PollContext:
        """The poll context of a crawler; Scrapy components built outside a newsradar poll switch off."""
        ctx = getattr(crawler, "newsradar", None)
        if ctx is None:
            raise NotConfigured("no newsradar poll context on this crawler")
        return ctx


# Builds, from a config, what stores one story (crawler.run.wiring.ingest_for: store, match, queue alerts).
Ingest = Callable[[Config, Store], Callable[[NewStory], Added]]


class Poller:
    def __init__(self, config: Config, store: Store, ingest: Ingest, workers: int | None = None):
        self.store = store
        self.io = ThreadPoolExecutor(1, thread_name_prefix="newsradar-store")
        self._workers = workers or max(1, min(4, multiprocessing.cpu_count()))
        # started on the first article to extract; idle workers are released by the daemon (release_idle)
        self.cpu = WorkerPool(self._workers, config.daemon.worker_idle.total_seconds())
        self.limits = PollLimits(config.fetch.parallel_sources)
        self._ingest_factory = ingest
        self._active: set[Any] = set()  # crawlers of the polls running now
        self.in_flight: set[str] = set()  # article URLs claimed by running polls (PollContext.in_flight)
        self.use(config)

    def use(self, config: Config) -> None:
        """Switch to a new (already validated) config: later polls use it; running ones finish on the old one."""
        self.config = config
        self.cpu.idle = config.daemon.worker_idle.total_seconds()
        self.limits = self.limits.resized(config.fetch.parallel_sources)
        self.ingest = self._ingest_factory(config, self.store)
        self.runner = AsyncCrawlerRunner(scrapy_settings(config))

    async def warm_up(self) -> None:
        """Start the extraction workers now rather than on the first article (each warms up as it starts).
        Neither `run --once` nor the daemon calls this (workers start when there is work); benchmarks do."""
        await asyncio.gather(*(asyncio.wrap_future(self.cpu.submit(time.sleep, 0.2)) for _ in range(self._workers)))

    async def release_idle_workers(self) -> bool:
        """Stop the extraction workers if they have been idle for `daemon.worker_idle`."""
        released = await asyncio.get_running_loop().run_in_executor(None, self.cpu.release_idle)
        if released:
            log.info("extraction workers stopped after %s idle; they start again on the next article",
                     self.config.daemon.worker_idle)
        return released

    async def poll(self, source: Source) -> PollResult:
        """One poll, once this poll's slot is free: at most `fetch.parallel_sources` polls at once and two per
        host (crawler.fetch.limits), for `run --once` and the daemon alike."""
        asked = time.monotonic()
        async with self.limits.slot(source.url):
            waited = time.monotonic() - asked
            result = await self._poll(source)
        result.waited = waited
        return result

    async def _poll(self, source: Source) -> PollResult:
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            validators = await loop.run_in_executor(self.io, self.store.load_validators, source.name)
            ctx = PollContext(self.config, source, self.store, self.io, self.cpu, self.ingest, validators,
                              in_flight=self.in_flight)
            crawler = self.runner.create_crawler(SPIDERS[source.type])
            if source.render:  # only a rendering source's poll loads scrapy-playwright and its handler
                # lazy: scrapy-playwright is an optional extra (newsradar[js]); and crawler.fetch.render imports
                # this module (PollContext), so a top import here would be a cycle
                from crawler.fetch.render import render_settings

                crawler.settings.setdict(render_settings(
                    self.config, source, crawler.settings.getdict("DOWNLOADER_MIDDLEWARES")), priority="spider")
            crawler.newsradar = ctx
            ctx.crawler = crawler
            task = self.runner.crawl(crawler, source=spider_source(self.config, source))
            self._active.add(crawler)
            try:
                timed_out = not await _finish(task, crawler, self.config.fetch.poll_timeout.total_seconds())
            finally:
                self._active.discard(crawler)
                # stored or recorded as failed by now (known to the store), or dropped by a stop: free them
                self.in_flight.difference_update(ctx.claimed)
            result = _result(source.name, PollTally.of(crawler), crawler.stats.get_value("finish_reason"))
            if timed_out:
                result.ok, result.error = False, f"poll timed out after {self.config.fetch.poll_timeout}"
            # Articles held back by a Retry-After pause must be found again: a 304 next time would hide them.
            held_back = PollTally.of(crawler).throttled_requests
            if result.ok and ctx.fresh_validators and not held_back:
                await loop.run_in_executor(self.io, self.store.save_validators, source.name, ctx.fresh_validators)
        except (Exception, SystemExit) as exc:  # one source's poll never takes the others (or the process) down
            log.exception("poll of %s crashed", source.name)
            result = PollResult(source.name, ok=False, error=f"{type(exc).__name__}: {exc}")
        result.ms = int((time.monotonic() - started) * 1000)
        log.log(
            logging.INFO if result.ok else logging.WARNING,  # a failing source: this one line says why
            "poll source=%s status=%s new=%d duplicates=%d alerts=%d stale=%d failures=%d ms=%d%s",
            result.source, result.status, result.new, result.duplicates, result.alerts, result.stale, result.failures,
            result.ms,
            f" error={result.error!r}" if result.error else "",
            extra={"poll": {**result.__dict__, "status": result.status}},
        )
        return result

    async def poll_all(self, sources: list[Source] | None = None) -> list[PollResult]:
        sources = [s for s in (sources or self.config.sources) if s.enabled]
        return list(await asyncio.gather(*(self.poll(s) for s in sources)))

    async def stop_crawls(self) -> None:
        """Stop every running crawl (shutdown past its grace period), also those started before a config
        reload replaced the runner: queued downloads are dropped first, then running engines stopped."""
        await asyncio.gather(*(_stop(c) for c in self._active if _engine_running(c)))

    async def close_browser(self) -> None:
        """Close the shared browser of rendering sources, if a poll started one (crawler.fetch.render)."""
        render = sys.modules.get("crawler.fetch.render")
        if render is not None:
            await render.POOL.close()

    def close(self) -> None:
        self.cpu.shutdown(wait=True, cancel_futures=True)
        self.io.shutdown(wait=True)


async def _finish(task: asyncio.Task, crawler: Any, timeout: float) -> bool:
    """Wait for a crawl; past `timeout`, stop it. Only a running engine is stopped: stopping a crawler that is
    still starting hangs (scrapy#6916), so that case waits for it to start first, within a hard limit."""
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout)
        return True
    except asyncio.TimeoutError:
        log.warning("poll of %s exceeded %.0fs: stopping it", crawler.spider.source.name, timeout)
    for _ in range(100):
        if _engine_running(crawler):
            break
        await asyncio.sleep(0.1)
    await _stop(crawler)
    try:
        await asyncio.wait_for(asyncio.shield(task), 30)
    except asyncio.TimeoutError:
        log.error("poll of %s could not be stopped cleanly", crawler.spider.source.name)
    return False


def _engine_running(crawler: Any) -> bool:
    engine = getattr(crawler, "_engine", None)  # `crawler.engine` raises until the crawl has started
    return engine is not None and engine.running


async def _stop(crawler: Any) -> None:
    """Stop one crawl now: its queued downloads dropped, its engine closed within 30 s. Never raises."""
    _drop_queued_downloads(crawler)
    try:
        await asyncio.wait_for(crawler.stop_async(), 30)
    except (asyncio.TimeoutError, RuntimeError) as exc:
        log.error("crawl of %s did not stop cleanly: %s", crawler.spider.source.name, exc or "timeout")


def _drop_queued_downloads(crawler: Any) -> None:
    """Closing an engine waits for every request already handed to the downloader, and a per-domain limit of 1
    can leave dozens queued there: fail the queued ones now (the one being downloaded ends within its timeout).
    They are not recorded as failed articles (spiders.base.PollStopped), so the next poll fetches them."""
    engine = getattr(crawler, "_engine", None)
    for slot in getattr(getattr(engine, "downloader", None), "slots", {}).values():
        while slot.queue:
            request, deferred = slot.queue.popleft()
            deferred.errback(PollStopped(f"poll stopped: {request.url} not fetched"))


def spider_source(config: Config, source: Source) -> SpiderSource:
    """What the source's spider is built from: every field given, every default decided here, once."""
    follow = source.follow
    if follow is None:  # feeds fetch each entry's page; JSON items are the story unless asked
        follow = source.type in ("feed", "html", "sitemap")
    return SpiderSource(
        name=source.name, url=source.url or "", type=source.type, links=source.links, follow=follow,
        timezone=config.timezone_for(source.name), max_age_seconds=config.max_age_for(source.name).total_seconds(),
        max_bytes=config.fetch.max_bytes, method=source.method, form=source.form, body=source.body,
        headers=dict(source.headers), items=source.items, fields=dict(source.fields), time_format=source.time_format,
        base_url=source.base_url, tickers=tuple(source.tickers), categories=tuple(source.categories),
        contact=source.contact, max_pages=source.max_pages,
    )


def _result(name: str, did: PollTally, finish_reason: str | None) -> PollResult:
    """The poll's result from what it did (its tally) and how Scrapy says the crawl ended."""
    error = did.source_error
    if did.store_errors:  # a poll is clean only if every story it found was stored
        error = f"{did.store_errors} not stored (store error: {did.store_error})" + (f"; {error}" if error else "")
    if did.size_limits and not error:  # contained, but not a healthy poll: health shows which URL
        error = f"{did.size_limits} over the size limit ({did.size_limit})"
    if not error and not did.not_modified and not did.listings:
        error = f"no listing response (finish reason: {finish_reason or 'unknown'})"
    return PollResult(
        source=name,
        ok=error is None,
        error=error,
        new=did.new,
        duplicates=did.duplicate,
        known=did.known + did.known_skipped,
        failures=did.failures,
        alerts=did.alerts,
        stale=did.stale,
        not_modified=bool(did.not_modified) and not did.listings,
        throttled=error is not None and did.throttled is not None,
    )


def run_reactor(main: Callable[[], Awaitable[int]]) -> int:
    """Install Scrapy's asyncio reactor, run `main()` on it, stop, and return its exit code.

    Called once per process: the reactor cannot be restarted (ReactorNotRestartable)."""
    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from twisted.internet import reactor  # only now: importing it earlier installs Twisted's default reactor

    outcome: dict[str, Any] = {"code": 1}

    def start() -> None:
        d = defer.Deferred.fromFuture(asyncio.ensure_future(main()))

        def done(value: Any) -> None:
            if isinstance(value, int):
                outcome["code"] = value
            else:
                value.printTraceback() if hasattr(value, "printTraceback") else None
            reactor.stop()

        d.addBoth(done)

    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    return outcome["code"]
