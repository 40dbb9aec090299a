"""Leases: how several workers share the polling of one PostgreSQL store (crawler.run.cluster drives them).

Every source has a `source_schedule` row: when it is next due and which worker holds its poll. Every time in
the protocol is the database's clock (`now()`), never a worker's, so clock skew between hosts changes nothing:

1. **claim**: a worker takes due, unleased sources in one statement,
   `UPDATE source_schedule SET lease_owner = ME, lease_until = now() + LEASE, epoch = epoch + 1 WHERE source IN
   (SELECT source ... WHERE next_due <= now() AND (lease_until IS NULL OR lease_until <= now()) ORDER BY next_due
   LIMIT N FOR UPDATE SKIP LOCKED)`: two workers never claim one source, and neither waits for the other;
2. **fence**: every write of the poll (its stories with their matches and alerts, validators, failed URLs,
   health and its notices) first checks, in its own transaction, that (ME, epoch) still holds an unexpired lease
   (`SELECT ... FOR SHARE`: a takeover waits for that write to commit). After a takeover the write is refused
   with `Fenced`: a worker paused past its lease, or cut off, writes nothing once another has the source;
3. **heartbeat**: every quarter lease a worker renews its `workers` row and extends the leases it holds;
4. **release**: after the poll the lease is dropped and `next_due` set from `claimed_at` (the database time of
   the claim) plus the interval (or the next cron time), only where (ME, epoch) still holds it;
5. **reap**: a worker whose heartbeat is older than the lease is dead. Its leases have expired by then
   (claimable again) and its `sending` outbox rows go back to pending: at most one duplicate per crash.

Stories are written one at a time across the cluster (a transaction-scoped advisory lock in
`Store.add_story`, crawler.store.database), so the dedupe and thread windows of every worker see every story
before the next is decided. No session-level advisory lock guards anything here: those break behind
transaction poolers.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from crawler.store.database import Store, StoreError
from crawler.store.tables import UtcDateTime

_UTC = UtcDateTime()


def _aware(value: Any) -> datetime | None:
    return _UTC.process_result_value(value, None)


def _utc(statement: str) -> str:
    """The store's times are naive UTC (crawler.store.tables); `now()` is a timestamptz that PostgreSQL would
    convert with the session's TimeZone when compared with or stored in them: take its UTC wall time instead."""
    return (statement.replace("now()", "(now() AT TIME ZONE 'UTC')")
            .replace("clock_timestamp()", "(clock_timestamp() AT TIME ZONE 'UTC')"))


class Fenced(StoreError):
    """A write of a poll whose lease this worker no longer holds: refused, nothing written."""


@dataclass(frozen=True)
class Lease:
    source: str
    epoch: int
    claimed_at: datetime  # the database's time of the claim: the next poll is planned from it


def worker_id() -> str:
    """HOST:PID:RANDOM: unique even where every worker is pid 1 of its container, or a pid is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


def cluster_hash(workers: Iterable[dict]) -> str | None:
    """The config the cluster runs: the hash most live workers run; on a tie, the oldest worker's."""
    alive = sorted((w for w in workers if w["alive"]), key=lambda w: w["since"])
    if not alive:
        return None
    counts = Counter(w["config_hash"] for w in alive)
    top = max(counts.values())
    return next(w["config_hash"] for w in alive if counts[w["config_hash"]] == top)


class Leases:
    """One worker's side of the protocol above. Blocking: call from a thread, never the event loop. `check` is
    the store's fence (`Store.share`); the counters measure what coordination costs (bench/cluster.py)."""

    def __init__(self, store: Store, worker: str, lease: timedelta):
        self.store = store
        self.id = worker
        self.lease = lease
        self.held: dict[str, int] = {}  # source -> epoch of the leases this worker's polls hold
        self.queries = 0
        self.seconds = 0.0
        self._count = threading.Lock()

    def _sql(self, s: Session, statement: str, params: dict | list | None = None) -> Any:
        started = time.perf_counter()
        try:
            return s.execute(text(_utc(statement)), params or {})
        finally:
            with self._count:
                self.queries += 1
                self.seconds += time.perf_counter() - started

    def _params(self, **extra: Any) -> dict:
        return {"me": self.id, "lease": self.lease.total_seconds(), **extra}

    # -- membership -------------------------------------------------------------------------------------------
    def register(self, config_hash: str) -> None:
        with self.store.session.begin() as s:
            self._sql(s, "INSERT INTO workers (id, host, pid, started, heartbeat, config_hash, polls, fenced, "
                         "coord_queries, coord_ms) VALUES (:me, :host, :pid, now(), now(), :hash, 0, 0, 0, 0) "
                         "ON CONFLICT (id) DO UPDATE SET heartbeat = now(), config_hash = :hash",
                      self._params(host=socket.gethostname(), pid=os.getpid(), hash=config_hash))

    def heartbeat(self, config_hash: str, polls: int, fenced: int) -> set[str]:
        """Renew this worker and extend its leases; the sources whose lease another worker has taken."""
        held = dict(self.held)
        with self.store.session.begin() as s:
            found = self._sql(s, "UPDATE workers SET heartbeat = now(), config_hash = :hash, polls = :polls, "
                                 "fenced = :fenced, coord_queries = :q, coord_ms = :ms WHERE id = :me",
                              self._params(hash=config_hash, polls=polls, fenced=fenced, q=self.queries,
                                           ms=self.seconds * 1000)).rowcount
            if not found:  # reaped while it could not beat (paused, cut off): it is back
                self._sql(s, "INSERT INTO workers (id, host, pid, started, heartbeat, config_hash, polls, fenced, "
                             "coord_queries, coord_ms) VALUES (:me, :host, :pid, now(), now(), :hash, 0, 0, 0, 0)",
                          self._params(host=socket.gethostname(), pid=os.getpid(), hash=config_hash))
            kept: set[str] = set()
            if held:
                kept = {r[0] for r in self._sql(
                    s, "UPDATE source_schedule SET lease_until = now() + make_interval(secs => :lease) "
                       "WHERE lease_owner = :me AND (source, epoch) IN (SELECT * FROM unnest(CAST(:sources AS text[]), "
                       "CAST(:epochs AS bigint[]))) RETURNING source",
                    self._params(sources=list(held), epochs=list(held.values())))}
        lost = set(held) - kept
        for source in lost:  # its poll's further writes fail the fence; its release finds the lease gone
            self.held.pop(source, None)
        return lost

    def leave(self) -> None:
        """A clean stop: leases still held are given up (due again at once) and the worker row removed."""
        with self.store.session.begin() as s:
            self._sql(s, "UPDATE source_schedule SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = :me",
                      self._params())
            self._sql(s, "DELETE FROM workers WHERE id = :me", self._params())
        self.held.clear()

    def reap(self) -> int:
        """`sending` outbox rows of workers that are gone (no heartbeat within the lease, or no row) go back to
        pending; workers silent for ten leases are forgotten. Returns the rows put back."""
        with self.store.session.begin() as s:
            back = self._sql(s, "UPDATE outbox SET status = 'pending', claimed_by = NULL WHERE status = 'sending' AND "
                                "(claimed_by IS NULL OR claimed_by NOT IN (SELECT id FROM workers WHERE heartbeat > "
                                "now() - make_interval(secs => :lease)))", self._params()).rowcount
            self._sql(s, "DELETE FROM workers WHERE heartbeat < now() - make_interval(secs => :lease * 10)",
                      self._params())
        return back or 0

    # -- the schedule -----------------------------------------------------------------------------------------
    def sync(self, timings: dict[str, str]) -> None:
        """Every source of this worker's config has a schedule row; one whose timing changed is due now."""
        if not timings:
            return
        with self.store.session.begin() as s:
            self._sql(s, "INSERT INTO source_schedule (source, timing, next_due, epoch) VALUES (:source, :timing, "
                         "now(), 0) ON CONFLICT (source) DO UPDATE SET timing = EXCLUDED.timing, next_due = now() "
                         "WHERE source_schedule.timing <> EXCLUDED.timing",
                      [{"source": k, "timing": v} for k, v in timings.items()])

    def claim(self, sources: Iterable[str], limit: int, due_only: bool = True) -> list[Lease]:
        """Up to `limit` of `sources` that are due (or all, without `due_only`) and leased by nobody."""
        names = [n for n in sources if n not in self.held]
        if limit <= 0 or not names:
            return []
        due = "next_due <= now() AND " if due_only else ""
        with self.store.session.begin() as s:
            rows = self._sql(
                s, "UPDATE source_schedule SET lease_owner = :me, lease_until = now() + make_interval(secs => :lease), "
                   "epoch = epoch + 1, claimed_at = now() WHERE source IN (SELECT source FROM source_schedule WHERE "
                   f"source = ANY(:names) AND {due}(lease_until IS NULL OR lease_until <= now()) ORDER BY next_due "
                   "LIMIT :n FOR UPDATE SKIP LOCKED) RETURNING source, epoch, claimed_at",
                self._params(names=names, n=limit)).all()
        leases = [Lease(source, epoch, _aware(at)) for source, epoch, at in rows]
        for lease in leases:
            self.held[lease.source] = lease.epoch
        return leases

    def release(self, lease: Lease, next_due: datetime | None) -> bool:
        """The poll is done: drop the lease and plan the next poll (None: due at once). False when the lease was
        taken over while the poll ran (its writes since were refused)."""
        self.held.pop(lease.source, None)
        with self.store.session.begin() as s:
            done = self._sql(
                s, "UPDATE source_schedule SET lease_owner = NULL, lease_until = NULL, next_due = COALESCE(:due, "
                   "now()), last_owner = :me, last_polled = now() WHERE source = :source AND lease_owner = :me AND "
                   "epoch = :epoch", self._params(source=lease.source, epoch=lease.epoch,
                                                  due=_UTC.process_bind_param(next_due, None))).rowcount
        return bool(done)

    def check(self, s: Session, source: str) -> None:
        """The fence, run inside a write transaction of a poll: refuse it unless this worker's lease on `source`
        is the current one and unexpired. The row stays share-locked to the commit, so a takeover waits."""
        epoch = self.held.get(source)
        if epoch is not None and self._sql(
                s, "SELECT 1 FROM source_schedule WHERE source = :source AND lease_owner = :me AND epoch = :epoch AND "
                   "lease_until > clock_timestamp() FOR SHARE", self._params(source=source, epoch=epoch)).first():
            return
        raise Fenced(f"lease on source {source} lost to another worker (its poll wrote nothing after that)")

    # -- what `status` shows ----------------------------------------------------------------------------------
    def state(self) -> tuple[list[dict], dict[str, dict], datetime]:
        return cluster_state(self.store, self.lease)


def cluster_state(store: Store, lease: timedelta) -> tuple[list[dict], dict[str, dict], datetime]:
    """The workers (id, host, pid, since, heartbeat, alive, config_hash, leased, polls, fenced, coordination
    counters), each source's schedule (owner, lease_until, next_due, last_owner, last_polled), as plain dicts
    with aware times, and the database's time; alive means a heartbeat within `lease`, by the database's clock."""
    with store.session() as s:
        db_now = _aware(s.execute(text(_utc("SELECT now()"))).scalar())
        schedule = {}
        for row in s.execute(text("SELECT source, lease_owner, lease_until, next_due, last_owner, last_polled "
                                  "FROM source_schedule")).mappings():
            valid = row["lease_until"] is not None and _aware(row["lease_until"]) > db_now
            schedule[row["source"]] = {"owner": row["lease_owner"] if valid else None,
                                       "lease_until": _aware(row["lease_until"]) if valid else None,
                                       "next_due": _aware(row["next_due"]), "last_owner": row["last_owner"],
                                       "last_polled": _aware(row["last_polled"])}
        workers = []
        for row in s.execute(text("SELECT * FROM workers ORDER BY started")).mappings():
            beat = _aware(row["heartbeat"])
            workers.append({
                "id": row["id"], "host": row["host"], "pid": row["pid"], "since": _aware(row["started"]),
                "heartbeat": beat, "alive": db_now - beat <= lease, "config_hash": row["config_hash"],
                "leased": sorted(n for n, v in schedule.items() if v["owner"] == row["id"]),
                "polls": row["polls"], "fenced": row["fenced"], "coord_queries": row["coord_queries"],
                "coord_ms": row["coord_ms"],
            })
    return workers, schedule, db_now
