"""One poll of one source, and the long-lived machinery that runs polls: a crawl is a result, never a crash.

Scrapy's reactor cannot be restarted in one process, so a `Poller` lives as long as the process and runs every
poll as a new Scrapy crawler on one `AsyncCrawlerRunner`, on the asyncio reactor that the whole process shares
(`run_reactor`). Around it, two executors keep the reactor thread free: a process pool for extraction (CPU) and
one store thread for every database call (I/O; SQLite has one writer). `run --once` and the daemon use the same
`Poller`; the daemon just calls `poll` on a schedule.

A poll's outcome is a `PollResult`: ok or the source's error (DNS, HTTP status, timeout, not a feed, selector
matching nothing), and counts of new, duplicate and known stories, failures and alerts. Validators for
conditional GET are saved only after a clean poll.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from crawler.config import Config, Source
from crawler.items import NewStory
from crawler.settings import scrapy_settings
from crawler.store import Added, Store
from crawler.workers import process_pool

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
    not_modified: bool = False
    ms: int = 0

    @property
    def status(self) -> str:
        return "error" if not self.ok else ("not-modified" if self.not_modified else "ok")


@dataclass
class PollContext:
    """What the middlewares and pipelines of one crawl need; reached as `crawler.newsradar`."""

    config: Config
    source: Source
    store: Store
    io: ThreadPoolExecutor
    cpu: ProcessPoolExecutor
    ingest: Callable[[NewStory], Added]
    validators: dict[str, tuple[str | None, str | None]]
    fresh_validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    crawler: Any = None

    @staticmethod
    def of(crawler: Any) -> PollContext:
        """The poll context of a crawler; Scrapy components built outside a newsradar poll switch off."""
        from scrapy.exceptions import NotConfigured

        ctx = getattr(crawler, "newsradar", None)
        if ctx is None:
            raise NotConfigured("no newsradar poll context on this crawler")
        return ctx

    def stats_inc(self, key: str, count: int = 1) -> None:
        if count:
            self.crawler.stats.inc_value(key, count)


# Builds, from a config, what stores one story (crawler.wiring.ingest_for: store, match, queue alerts).
Ingest = Callable[[Config, Store], Callable[[NewStory], Added]]


class Poller:
    def __init__(self, config: Config, store: Store, ingest: Ingest, workers: int | None = None):
        self.store = store
        self.io = ThreadPoolExecutor(1, thread_name_prefix="newsradar-store")
        self._workers = workers or max(1, min(4, multiprocessing.cpu_count()))
        self.cpu = self._new_pool()
        self._ingest_factory = ingest
        self._active: set[Any] = set()  # crawlers of the polls running now
        self.use(config)

    def _new_pool(self) -> ProcessPoolExecutor:
        return process_pool(self._workers)

    def use(self, config: Config) -> None:
        """Switch to a new (already validated) config: later polls use it; running ones finish on the old one."""
        from scrapy.crawler import AsyncCrawlerRunner

        self.config = config
        self.ingest = self._ingest_factory(config, self.store)
        self.runner = AsyncCrawlerRunner(scrapy_settings(config))

    async def warm_up(self) -> None:
        """Start the extraction workers now rather than on the first article (each warms up as it starts)."""
        await asyncio.gather(*(asyncio.wrap_future(self.cpu.submit(time.sleep, 0.2)) for _ in range(self._workers)))

    async def poll(self, source: Source) -> PollResult:
        from spiders import SPIDERS

        started = time.monotonic()
        loop = asyncio.get_running_loop()
        if getattr(self.cpu, "_broken", False):  # a worker died (e.g. a parser segfault): start a fresh pool
            self.cpu = self._new_pool()
        try:
            validators = await loop.run_in_executor(self.io, self.store.load_validators, source.name)
            ctx = PollContext(self.config, source, self.store, self.io, self.cpu, self.ingest, validators)
            crawler = self.runner.create_crawler(SPIDERS[source.type])
            crawler.newsradar = ctx
            ctx.crawler = crawler
            task = self.runner.crawl(crawler, source=spider_args(self.config, source))
            self._active.add(crawler)
            try:
                timed_out = not await _finish(task, crawler, self.config.fetch.poll_timeout.total_seconds())
            finally:
                self._active.discard(crawler)
            result = _result(source.name, crawler.stats.get_stats())
            if timed_out:
                result.ok, result.error = False, f"poll timed out after {self.config.fetch.poll_timeout}"
            if result.ok and ctx.fresh_validators:
                await loop.run_in_executor(self.io, self.store.save_validators, source.name, ctx.fresh_validators)
        except (Exception, SystemExit) as exc:  # one source's poll never takes the others (or the process) down
            log.exception("poll of %s crashed", source.name)
            result = PollResult(source.name, ok=False, error=f"{type(exc).__name__}: {exc}")
        result.ms = int((time.monotonic() - started) * 1000)
        log.log(
            logging.INFO if result.ok else logging.WARNING,  # a failing source: this one line says why
            "poll source=%s status=%s new=%d duplicates=%d alerts=%d failures=%d ms=%d%s",
            result.source, result.status, result.new, result.duplicates, result.alerts, result.failures, result.ms,
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
        log.warning("poll of %s exceeded %.0fs: stopping it", crawler.spider.source["name"], timeout)
    for _ in range(100):
        if _engine_running(crawler):
            break
        await asyncio.sleep(0.1)
    await _stop(crawler)
    try:
        await asyncio.wait_for(asyncio.shield(task), 30)
    except asyncio.TimeoutError:
        log.error("poll of %s could not be stopped cleanly", crawler.spider.source["name"])
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
        log.error("crawl of %s did not stop cleanly: %s", crawler.spider.source["name"], exc or "timeout")


def _drop_queued_downloads(crawler: Any) -> None:
    """Closing an engine waits for every request already handed to the downloader, and a per-domain limit of 1
    can leave dozens queued there: fail the queued ones now (the one being downloaded ends within its timeout).
    They are not recorded as failed articles (spiders.base.PollStopped), so the next poll fetches them."""
    from spiders.base import PollStopped

    engine = getattr(crawler, "_engine", None)
    for slot in getattr(getattr(engine, "downloader", None), "slots", {}).values():
        while slot.queue:
            request, deferred = slot.queue.popleft()
            deferred.errback(PollStopped(f"poll stopped: {request.url} not fetched"))


def spider_args(config: Config, source: Source) -> dict[str, Any]:
    args = source.model_dump(mode="json", exclude={"every", "jitter", "max_age"})
    args["max_age_seconds"] = config.max_age_for(source.name).total_seconds()
    args["max_bytes"] = config.fetch.max_bytes
    return args


def _result(name: str, stats: dict[str, Any]) -> PollResult:
    error = stats.get("newsradar/source_error")
    not_modified = bool(stats.get("newsradar/not_modified"))
    if not error and not not_modified and not stats.get("newsradar/listings"):
        error = f"no listing response (finish reason: {stats.get('finish_reason', 'unknown')})"
    return PollResult(
        source=name,
        ok=error is None,
        error=error,
        new=stats.get("newsradar/stories_new", 0),
        duplicates=stats.get("newsradar/stories_duplicate", 0),
        known=stats.get("newsradar/stories_known", 0) + stats.get("newsradar/known_skipped", 0),
        failures=stats.get("newsradar/failures", 0),
        alerts=stats.get("newsradar/alerts", 0),
        not_modified=not_modified and not stats.get("newsradar/listings"),
    )


def run_reactor(main: Callable[[], Awaitable[int]]) -> int:
    """Install Scrapy's asyncio reactor, run `main()` on it, stop, and return its exit code.

    Called once per process: the reactor cannot be restarted (ReactorNotRestartable)."""
    from scrapy.utils.reactor import install_reactor

    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from twisted.internet import defer, reactor

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
