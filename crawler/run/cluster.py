"""A daemon as one worker of a cluster (`cluster:` in config.yaml, a PostgreSQL store): the schedule lives in the
store, not in this process.

Instead of one APScheduler job per source, the daemon runs two jobs of its own:
- **claim**, every `cluster.claim_every`: take due sources that no worker leases, as many as this worker has free
  poll slots (`fetch.parallel_sources`), and poll each under its lease (crawler.store.cluster);
- **beat**, every quarter of `cluster.lease`: renew this worker and its leases; put back the outbox rows of dead
  workers; compare this worker's config with the cluster's.
The next poll of a source is planned from the database's time of its claim: the source's `every` (plus up to
`jitter`, as APScheduler does) or its next `cron` time, so no worker polls it again within its interval. No lease
time is ever read from this host's clock; a host clock more than `SKEW_WARNING` off the database's is logged
(times this worker stamps on stories, such as `first_seen`, are its own).

Config: each worker reads its own config.yaml. Its hash (`config_digest`: everything but `store`, `metrics` and
`web`, which may differ per host) is in its `workers` row; a worker that differs from the hash most workers run
logs it loudly (once per change) and `status` shows it; with `cluster.strict_config` it refuses to start.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from collections.abc import Callable
from functools import partial
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from crawler.config.model import Config, Source
from crawler.store.cluster import Lease, Leases, cluster_hash, worker_id
from crawler.store.database import Store, utcnow

log = logging.getLogger("newsradar.cluster")

SKEW_WARNING = timedelta(seconds=5)


class ClusterRefused(RuntimeError):
    pass


def config_digest(config: Config) -> str:
    """The hash workers compare: the whole validated config but what may differ per host."""
    data = config.model_dump(mode="json", exclude={"path", "store", "metrics", "web"})
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def timing_of(source: Source) -> str:
    jitter = source.jitter.total_seconds() if source.jitter is not None else None
    return json.dumps([source.cron, source.every.total_seconds(), jitter])


def next_due(source: Source, config: Config, claimed_at: datetime, rng: random.Random,
             waited: float = 0.0) -> datetime:
    """When a source claimed at `claimed_at` (database time) whose poll waited `waited` seconds for its slot
    (a duration of this host's, not a time of its clock) is next due: its interval after the poll started."""
    started = claimed_at + timedelta(seconds=waited)
    if source.cron:
        trigger = CronTrigger.from_crontab(source.cron, timezone=config.tz)
        return trigger.get_next_fire_time(None, started.astimezone(config.tz) + timedelta(seconds=1))
    every = source.every.total_seconds()
    jitter = source.jitter.total_seconds() if source.jitter is not None else min(every * 0.1, 30)
    return started + timedelta(seconds=every + rng.uniform(0, jitter))


class ClusterWorker:
    """This process's membership of the cluster. Every store call runs on a thread of its own, so a heartbeat
    never waits behind the poll writes queued on the store thread."""

    def __init__(self, store: Store, config: Config, rng: random.Random | None = None,
                 clock: Callable[[], datetime] = utcnow):
        self.id = worker_id()
        self.clock = clock  # only compared with the database's, to warn
        self.store = store
        self.config = config
        self.digest = config_digest(config)
        self.leases = Leases(store, self.id, config.cluster.lease)
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="newsradar-cluster")
        self.rng = rng or random.Random()
        self.polls = 0
        self.fenced = 0
        self.differs: str | None = None  # the cluster's hash while this worker's differs from it
        self.skew: timedelta | None = None  # this host's clock minus the database's, when over SKEW_WARNING
        self._synced: Config | None = None

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.thread, partial(fn, *args))

    async def join(self) -> None:
        """Register, compare configs (ClusterRefused under strict_config), put back dead workers' rows."""
        workers, _, db_now = await self._call(self.leases.state)
        self._check_clock(db_now)
        theirs = cluster_hash(workers)
        if theirs is not None and theirs != self.digest and self.config.cluster.strict_config:
            raise ClusterRefused(f"this worker's config ({self.digest}) differs from the one the cluster runs "
                                 f"({theirs}) and cluster.strict_config is on: not starting")
        await self._call(self.leases.register, self.digest)
        self.store.share(self.id, self.leases.check, idle=self.config.cluster.lease)
        await self._compare(workers)  # the others': this worker is not counted yet
        back = await self._call(self.leases.reap)
        if back:
            log.warning("%d alerts were being sent by workers that stopped: sending them again", back)
        log.info("cluster worker %s joined: lease %s, %d other workers alive", self.id, self.config.cluster.lease,
                 sum(w["alive"] for w in workers))

    def use(self, config: Config) -> None:
        self.config = config
        self.digest = config_digest(config)
        self.leases.lease = config.cluster.lease if config.cluster else self.leases.lease

    async def claim(self, free: int) -> list[Lease]:
        if self._synced is not self.config:
            config = self.config
            await self._call(self.leases.sync, {s.name: timing_of(s) for s in config.sources if s.enabled})
            self._synced = config
        names = [s.name for s in self.config.sources if s.enabled]
        return await self._call(self.leases.claim, names, free)

    async def release(self, lease: Lease, waited: float = 0.0) -> bool:
        """Give the lease back, planning the next poll (`waited`: the seconds the poll waited for its slot)."""
        source = next((s for s in self.config.sources if s.name == lease.source), None)
        due = next_due(source, self.config, lease.claimed_at, self.rng, waited) if source is not None else None
        done = await self._call(self.leases.release, lease, due)
        self.polls += 1
        if not done:
            self.fenced += 1
            log.warning("poll of %s was fenced out: another worker took its lease while it ran (paused or cut off "
                        "past cluster.lease); nothing it found after that was written", lease.source)
        return done

    async def beat(self) -> None:
        lost = await self._call(self.leases.heartbeat, self.digest, self.polls, self.fenced)
        for source in sorted(lost):
            log.warning("lease on %s lost to another worker: this poll's further writes are refused", source)
        workers, _, db_now = await self._call(self.leases.state)
        self._check_clock(db_now)
        await self._compare(workers)
        back = await self._call(self.leases.reap)
        if back:
            log.warning("%d alerts were being sent by a worker that died: sending them again", back)

    def _check_clock(self, db_now: datetime) -> None:
        skew = self.clock() - db_now
        off = abs(skew) > SKEW_WARNING
        if off and self.skew is None:
            log.warning("this host's clock is %+.0f s off the database's: leases and schedules use the database's "
                        "clock, but times this worker stamps (first seen) are off by as much; sync it (NTP)",
                        skew.total_seconds())
        self.skew = skew if off else None

    async def _compare(self, workers: list[dict]) -> None:
        theirs = cluster_hash(workers)
        differs = theirs if theirs is not None and theirs != self.digest else None
        if differs != self.differs:
            if differs:
                log.error("CONFIG MISMATCH: this worker runs config %s, the cluster runs %s: workers disagree on "
                          "sources, rules or notifiers until every config.yaml is the same (`newsradar status` "
                          "shows each worker's)", self.digest, differs)
            else:
                log.info("config matches the cluster again (%s)", self.digest)
        self.differs = differs

    async def leave(self) -> None:
        try:
            await self._call(self.leases.leave)
        except Exception as exc:  # the store is gone: leases expire and dead-worker reaping covers the rest
            log.error("could not leave the cluster cleanly: %s: %s", type(exc).__name__, exc)
        self.thread.shutdown(wait=True)
