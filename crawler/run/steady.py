"""Scheduling that survives wall-clock steps (NTP corrections, a VM resumed, an operator's `date -s`).

APScheduler 3 keeps each job's next run as a wall-clock time and sleeps (on the loop's monotonic clock) until
the earliest. After the wall clock steps back 2 h, every next run is 2 h away and the daemon would make no poll,
retry or reload for 2 h; after a step forward, every job is overdue at once.

`SteadyScheduler` wakes at least every `max_wait` seconds and, before it looks for due jobs, asks a `ClockWatch`
whether the wall clock stepped: whether wall time minus monotonic time moved by more than `tolerance` since the
last look (slewing, as NTP does for small errors, moves it by far less). On a step of `delta`:
- interval jobs (polls with `every`, the outbox, the config check) keep their place in real time: their next run
  moves by `delta`, so a step either way neither stops them nor runs them twice;
- cron jobs are recomputed from the new wall-clock time, so `cron: "0 9 * * 1-5"` still fires at 09:00 local;
- `on_step(delta)` is called (the daemon shifts the outbox's retry times and failed articles' retry times).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.cron import CronTrigger

log = logging.getLogger("newsradar.daemon")


class ClockWatch:
    """Detects steps of the wall clock against the monotonic clock (both injectable for tests)."""

    def __init__(self, tolerance: float = 2.0, wall: Callable[[], float] = time.time,
                 mono: Callable[[], float] = time.monotonic):
        self.tolerance = tolerance
        self._wall, self._mono = wall, mono
        self._offset = wall() - mono()

    def step(self) -> float:
        """Seconds the wall clock stepped since the last call (positive: forward), or 0.0 within tolerance."""
        offset = self._wall() - self._mono()
        delta, self._offset = offset - self._offset, offset  # always follow: slow drift never adds up to a step
        return delta if abs(delta) > self.tolerance else 0.0


class SteadyScheduler(AsyncIOScheduler):
    """An AsyncIOScheduler whose jobs keep their real-time schedule across wall-clock steps (module doc)."""

    def __init__(self, *args: Any, watch: ClockWatch | None = None, max_wait: float = 1.0,
                 on_step: Callable[[timedelta], Any] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.watch = watch or ClockWatch()
        self.max_wait = max_wait
        self.on_step = on_step

    def _process_jobs(self) -> float | None:
        delta = self.watch.step()
        if delta:
            self._after_step(timedelta(seconds=delta))
        return super()._process_jobs()

    def _start_timer(self, wait_seconds: float | None) -> None:
        # never sleep longer than max_wait, so a step back is seen within it (a wakeup costs microseconds)
        if self.state == STATE_RUNNING:  # paused (shutting down) or stopped: no watch needed
            wait_seconds = self.max_wait if wait_seconds is None else min(wait_seconds, self.max_wait)
        super()._start_timer(wait_seconds)

    def _after_step(self, delta: timedelta) -> None:
        now = datetime.now(self.timezone)
        log.warning("the wall clock stepped %+.0f s: rescheduling (interval jobs keep their pace, cron jobs "
                    "follow the new local time)", delta.total_seconds())
        with self._jobstores_lock:
            for store in self._jobstores.values():
                for job in store.get_all_jobs():
                    if job.next_run_time is None:  # paused
                        continue
                    if isinstance(job.trigger, CronTrigger):
                        nxt = job.trigger.get_next_fire_time(None, now)
                    else:
                        nxt = job.next_run_time + delta
                    if nxt is not None:
                        job._modify(next_run_time=nxt)
                        store.update_job(job)
        if self.on_step is not None:
            try:
                self.on_step(delta)
            except Exception:  # the schedule is already right; shifting stored retry times is best effort
                log.exception("could not shift stored retry times after the clock step")
