"""`newsradar run`: the daemon. One process, one asyncio loop under Scrapy's asyncio reactor, for months.

Layout (measured, see the README): APScheduler's `AsyncIOScheduler` fires one job per source on the same loop
the reactor runs; each job AWAITS its poll (so `max_instances=1` really means one poll of a source at a time,
and missed runs coalesce); polls run in parallel within `fetch.parallel_sources` and two per host. Extraction
runs in a process pool, store I/O on one thread, delivery on another: the loop only schedules and downloads.

- New alerts are sent right after the poll that found them; a periodic job retries the outbox.
- Live reload: config.yaml is checked every `daemon.reload_check` (and on SIGHUP); a new file is validated in
  full before anything switches; on error the daemon keeps the last good config and logs `config.yaml:LINE:
  reason`. Rules apply from the next story on; stories already stored are never re-alerted. The new config
  reaches every part that holds one through `Daemon._use` (parts bound at start, the metrics and dashboard
  addresses, say that a change waits for a restart).
- Health: each poll updates the source's health; a change to failing/silent, and the recovery, is one operator
  notice each (an outbox row for the notifier named in `ops:`), never one per poll.
- Wall-clock steps: the scheduler (crawler.run.steady) keeps interval jobs on their real-time pace, recomputes cron
  jobs from the new local time, and moves stored retry times, so a step neither stops nor doubles anything.
- SIGTERM/SIGINT: stop scheduling, let running polls finish within `daemon.shutdown_grace`, flush the outbox,
  exit 0. Every write is a transaction, so nothing is half-written; the outbox makes a crash lose nothing.
- With `cluster:` (PostgreSQL) the daemon is one worker of several: sources are claimed from the store's shared
  schedule under leases instead of being scheduled here (crawler.run.cluster, crawler.store.cluster).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
from datetime import datetime
from functools import partial
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.config.model import Config, ConfigError, Source, load_config
from crawler.fetch import robots
from crawler.fetch.poll import Poller, run_reactor
from crawler.run.cluster import ClusterRefused, ClusterWorker
from crawler.run.lock import InstanceLock, InstanceLocked
from crawler.run.metrics import Metrics
from crawler.run.steady import SteadyScheduler
from crawler.run.wiring import Dispatcher, ingest_for
from crawler.store.database import Store, StoreError
from crawler.web.server import start_for as start_dashboard

log = logging.getLogger("newsradar.daemon")


class Daemon:
    def __init__(self, path: Path, config: Config, store: Store, allow_insecure: bool = False):
        self.path = path
        self.allow_insecure = allow_insecure  # a reload checks the file's mode as the start did
        self.config = config
        self.store = store
        self.poller = Poller(config, store, ingest=ingest_for)
        self.delivery = Dispatcher(store, config)
        self.stopping = asyncio.Event()
        self.running: set[asyncio.Task] = set()
        self._fingerprint = _fingerprint(path)
        self.scheduler = None
        self.cluster = ClusterWorker(store, config) if config.cluster is not None else None
        self.metrics = Metrics.start(config.metrics, registry_only=config.web is not None,
                                     worker=self.cluster.id if self.cluster else None)
        robots.use(config)
        self.web = start_dashboard(self)  # None without `web:`; its own threads, never this loop

    # -- life cycle -------------------------------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload(forced=True)))
        if self.cluster is not None:
            try:
                await self.cluster.join()  # it puts back only dead workers' alerts: the others are sending theirs
            except ClusterRefused as exc:
                log.error("%s", exc)
                await self._close()
                return 1
        else:
            recovered = await self.delivery.recover()
            if recovered:
                log.warning("%d alerts were being sent when the last run stopped: sending them again", recovered)
        self.scheduler = SteadyScheduler(event_loop=loop, timezone=self.config.tz, on_step=self._clock_stepped)
        self.scheduler.start()
        self._schedule(self.config)
        # The daemon's own jobs: a late or still-running one just runs at its next turn (no misfire warning).
        self.scheduler.add_job(self._send, "interval", seconds=self.config.daemon.outbox_every.total_seconds(),
                               id="outbox", max_instances=1, coalesce=True, misfire_grace_time=None)
        self.scheduler.add_job(self.reload, "interval", seconds=self.config.daemon.reload_check.total_seconds(),
                               id="reload", max_instances=1, coalesce=True, misfire_grace_time=None)
        self.scheduler.add_job(self.poller.release_idle_workers, "interval", seconds=_idle_check(self.config),
                               id="workers", max_instances=1, coalesce=True, misfire_grace_time=None)
        if self.cluster is not None:
            cluster = self.config.cluster
            self.scheduler.add_job(self._claim, "interval", seconds=cluster.claim_every.total_seconds(), id="claim",
                                   max_instances=1, coalesce=True, misfire_grace_time=None, next_run_time=_now(self.config))
            self.scheduler.add_job(self._beat, "interval", seconds=cluster.lease.total_seconds() / 4, id="beat",
                                   max_instances=1, coalesce=True, misfire_grace_time=None)
        log.info("newsradar running: %d sources, %d rules, store %s", len(self.config.sources),
                 len(self.config.rules), self.store.engine.url.render_as_string(hide_password=True))
        log.info("next polls: %s", self.next_polls() or "none (no enabled source)")
        await self.stopping.wait()
        return await self.shutdown()

    def next_polls(self) -> str:
        """'cnbc-top 20:54:26, 36kr 20:54:26, ...' in `timezone` (the date too when it is not today)."""
        if self.cluster is not None:
            return f"claimed from the store's shared schedule by worker {self.cluster.id}"
        today = datetime.now(self.config.tz).date()
        out = []
        for job in sorted(self.scheduler.get_jobs(), key=lambda j: (j.next_run_time is None, j.next_run_time or 0)):
            if not job.id.startswith("source:") or job.next_run_time is None:
                continue
            at = job.next_run_time.astimezone(self.config.tz)
            out.append(f"{job.id.removeprefix('source:')} {at:%H:%M:%S}" if at.date() == today
                       else f"{job.id.removeprefix('source:')} {at:%Y-%m-%d %H:%M}")
        return ", ".join(out)

    async def shutdown(self) -> int:
        log.info("stopping: no new polls; waiting up to %s for %d running", self.config.daemon.shutdown_grace,
                 len(self.running))
        for job in self.scheduler.get_jobs():
            if job.id != "beat":  # a cluster worker keeps its leases while its polls finish
                job.pause()
        if self.running:
            _, pending = await asyncio.wait(self.running, timeout=self.config.daemon.shutdown_grace.total_seconds())
            if pending:
                log.warning("stopping %d polls that outlived the grace period", len(pending))
                try:
                    await asyncio.wait_for(self.poller.stop_crawls(), 15)
                except (asyncio.TimeoutError, RuntimeError):
                    log.error("some crawls did not stop; their fetched pages will be fetched again next run")
        try:
            await asyncio.wait_for(self.delivery.send_due(), self.config.daemon.shutdown_grace.total_seconds())
        except asyncio.TimeoutError:
            log.warning("outbox not flushed in time: pending alerts go out on the next start")
        self.scheduler.shutdown(wait=False)
        if self.cluster is not None:
            await self.cluster.leave()
        await self._close()
        log.info("stopped")
        return 0

    async def _close(self) -> None:
        await self.poller.close_browser()
        self.poller.close()
        self.delivery.close()
        self.metrics.stop()
        if self.web is not None:
            self.web.stop()

    # -- scheduling -------------------------------------------------------------------------------------------
    def _schedule(self, config: Config) -> None:
        if self.cluster is not None:
            return  # the store's shared schedule: `_claim` reads the current config
        wanted = {s.name: s for s in config.sources if s.enabled}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("source:") and job.id.removeprefix("source:") not in wanted:
                job.remove()
        old = {s.name: s for s in self.config.sources}
        for name, source in wanted.items():
            job_id = f"source:{name}"
            if self.scheduler.get_job(job_id) is not None and _timing(old.get(name)) == _timing(source):
                continue  # unchanged schedule: keep its next run
            self.scheduler.add_job(self._poll, _trigger(source, config), args=[name], id=job_id,
                                   replace_existing=True, max_instances=1, coalesce=True, misfire_grace_time=None,
                                   next_run_time=_now(config))

    def _clock_stepped(self, delta) -> None:
        """The wall clock stepped (the scheduler has moved its jobs): move stored retry times too, off the loop."""
        future = asyncio.get_running_loop().run_in_executor(self.poller.io, self.store.shift_retry_times, delta)
        future.add_done_callback(lambda f: f.exception() and log.error("retry times not shifted: %s", f.exception()))

    async def _poll(self, name: str) -> None:
        source = next((s for s in self.config.sources if s.name == name), None)
        if source is None or self.stopping.is_set():
            return
        task = asyncio.current_task()
        self.running.add(task)
        try:
            result = await self._poll_source(source)
        finally:
            self.running.discard(task)
        if result.alerts:
            await self._send()

    async def _poll_source(self, source: Source):
        result = await self.poller.poll(source)  # waits for its slot (crawler.fetch.limits)
        self.metrics.poll(result)
        await self.delivery.record_poll(self.poller.io, source, result)
        return result

    # -- cluster ----------------------------------------------------------------------------------------------
    async def _claim(self) -> None:
        """Claim due sources for the free poll slots and poll each under its lease (crawler.run.cluster)."""
        if self.stopping.is_set():
            return
        try:
            leases = await self.cluster.claim(self.config.fetch.parallel_sources - len(self.running))
        except Exception as exc:  # PostgreSQL restarting: claim again on the next turn
            log.error("claiming sources failed: %s: %s", type(exc).__name__, str(exc).splitlines()[0])
            return
        for lease in leases:
            task = asyncio.ensure_future(self._poll_leased(lease))
            self.running.add(task)
            task.add_done_callback(self.running.discard)

    async def _poll_leased(self, lease) -> None:
        source = next((s for s in self.config.sources if s.name == lease.source and s.enabled), None)
        result = None
        try:
            if source is not None:
                result = await self._poll_source(source)
        finally:
            try:
                await self.cluster.release(lease, result.waited if result is not None else 0.0)
            except Exception as exc:  # it expires after cluster.lease; another worker polls then
                log.error("lease of %s not released (it expires within %s): %s: %s", lease.source,
                          self.config.cluster.lease, type(exc).__name__, str(exc).splitlines()[0])
        if result is not None and result.alerts:
            await self._send()

    async def _beat(self) -> None:
        try:
            await self.cluster.beat()
        except Exception as exc:  # PostgreSQL restarting: the next beat tries again, within the lease
            log.error("cluster heartbeat failed: %s: %s", type(exc).__name__, str(exc).splitlines()[0])

    async def _send(self) -> None:
        try:
            report = await self.delivery.send_due()
        except Exception:  # the store being briefly unavailable must not kill the job
            log.exception("sending the outbox failed; it is retried on the next run")
            return
        self.metrics.sent(report)
        if self.metrics.enabled:
            loop = asyncio.get_running_loop()
            self.metrics.outbox_depth(await loop.run_in_executor(self.poller.io, self.store.outbox_counts))

    # -- live reload ------------------------------------------------------------------------------------------
    def _use(self, config: Config) -> None:
        """The one place a new (validated) config reaches every part of the daemon that holds config: polls and
        their extraction workers, delivery, the robots.txt cache, metrics, the dashboard, and the schedule."""
        parts = [self.poller, self.delivery, robots, self.metrics] + [p for p in (self.web, self.cluster) if p]
        for part in parts:
            part.use(config)
        self._schedule(config)
        self.config = config

    async def reload(self, forced: bool = False) -> None:
        current = _fingerprint(self.path)
        if not forced and current == self._fingerprint:
            return
        self._fingerprint = current
        loop = asyncio.get_running_loop()
        try:  # validating renders templates and compiles rules: not on the loop
            config = await loop.run_in_executor(None, partial(load_config, self.path,
                                                              allow_insecure=self.allow_insecure))
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("config not reloaded: %s", problem)
            log.error("keeping the last good config")
            return
        if config.store != self.config.store:
            log.error("config not reloaded: the store cannot change while running (restart newsradar)")
            return
        if (config.cluster is None) != (self.config.cluster is None):
            log.error("config not reloaded: `cluster:` cannot be added or removed while running (restart newsradar)")
            return
        self._use(config)
        log.info("config reloaded: %d sources, %d rules, %d notifiers", len(config.sources), len(config.rules),
                 len(config.notifiers))


def _fingerprint(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _idle_check(config: Config) -> float:
    """How often idle extraction workers are looked for: often enough to release them near `worker_idle`."""
    return min(max(config.daemon.worker_idle.total_seconds() / 4, 0.25), 30.0)


def _timing(source: Source | None) -> tuple | None:
    return None if source is None else (source.every, source.cron, source.jitter, source.url, source.type)


def _trigger(source: Source, config: Config):
    if source.cron:
        return CronTrigger.from_crontab(source.cron, timezone=config.tz)
    every = source.every.total_seconds()
    jitter = source.jitter.total_seconds() if source.jitter is not None else min(every * 0.1, 30)
    return IntervalTrigger(seconds=every, jitter=jitter or None, timezone=config.tz)


def _now(config: Config):
    return datetime.now(config.tz)


def run_daemon(path: Path, config: Config, allow_insecure: bool = False) -> int:
    try:
        store = Store(config.store, busy_timeout=config.store_busy_timeout.total_seconds())
    except StoreError as exc:
        log.error("%s", exc)
        return 1
    try:
        lock = InstanceLock(store, shared=config.cluster is not None).acquire()
    except InstanceLocked as exc:
        log.error("%s", exc)
        return 1
    try:
        return run_reactor(lambda: Daemon(path, config, store, allow_insecure=allow_insecure).run())
    finally:
        lock.release()
