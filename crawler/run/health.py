"""Source health: a source is `ok`, `failing` (N consecutive errors), `silent` (no new story for longer than
it should be quiet) or `throttled` (its host asked to wait with Retry-After: not an error, no ops alert). The
operator hears of each change of state once, and once of the recovery, never per poll: `record` writes the
notice as an outbox row (alerts.delivery.outbox.notice_rows) in the transaction that records the change.

`assess(health, result, now, ...)` is pure: it updates the health record from one poll's result and returns the
state change, if any. Defaults: `failing` after `health.failing_after` (3) errors in a row; `silent` after
`health.silent_after`, or, where unset, 20 polling intervals and at least a day, since the last new story (or
since the first poll of a source that never yielded one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts.delivery.outbox import notice_rows
from crawler.config.model import Config, Source
from crawler.store.database import SourceHealth, Store, utcnow


@dataclass(frozen=True)
class Change:
    source: str
    old: str
    new: str
    message: str


def silent_after(config: Config, source: Source) -> timedelta:
    if config.health.silent_after:
        return config.health.silent_after
    return max(timedelta(days=1), source.every * 20)


def assess(h: SourceHealth, ok: bool, error: str | None, new: int, now: datetime, failing_after: int,
           quiet_limit: timedelta, throttled: bool = False) -> Change | None:
    old = h.state or "ok"
    h.polls = (h.polls or 0) + 1
    h.last_poll = now
    if throttled and not ok:  # the host asked to wait: neither a failure nor a success; no ops alert
        h.last_error = (error or "throttled")[:2000]
        h.state = "throttled"
        return None
    was_failing = (h.failures or 0) >= failing_after
    if h.last_new_story is None and h.polls == 1:
        h.last_new_story = now  # the clock for `silent` starts at the first poll
    if ok:
        h.failures = 0
        h.last_success = now
        if new:
            h.last_new_story = now
            h.stories = (h.stories or 0) + new
        quiet_for = now - (h.last_new_story or now)
        h.state = "silent" if quiet_for > quiet_limit else "ok"
    else:
        h.failures = (h.failures or 0) + 1
        h.last_error = (error or "error")[:2000]
        h.state = "failing" if h.failures >= failing_after else ("ok" if old == "throttled" else old)
    if h.state == old or (old == "throttled" and h.state == "ok" and not was_failing):
        return None
    if h.state == "failing":
        msg = f"source {h.source} is failing: {h.failures} errors in a row; last: {h.last_error}"
    elif h.state == "silent":
        msg = f"source {h.source} is silent: no new story since {h.last_new_story:%Y-%m-%d %H:%M} UTC"
    else:
        msg = f"source {h.source} recovered (was {old})"
    return Change(h.source, old, h.state, msg)


def record(store: Store, config: Config, source: Source, ok: bool, error: str | None, new: int,
           throttled: bool = False) -> Change | None:
    """Update the source's stored health from one poll; the change of state, if any, with its notice to the
    operator queued in the same transaction. Blocking (store I/O)."""
    now = utcnow()
    return store.update_health(
        source.name,
        lambda h: assess(h, ok, error, new, now, config.health.failing_after, silent_after(config, source), throttled),
        notices=lambda change: notice_rows(config, f"newsradar: {change.message}", f"newsradar: {change.message}", now))
