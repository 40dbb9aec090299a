"""`/healthz`: are polls and the outbox going? Pure over the store and config, with `now` injected.

Unhealthy (503) when either holds:
- no poll has finished within 3 x the shortest `every` of the enabled interval sources (counted from the daemon's
  start while none has finished yet; cron-only configs skip this check);
- the outbox is stuck: a pending alert has been due (its `next_attempt` passed) for longer than
  3 x `daemon.outbox_every`, at least a minute — the sender retries every `outbox_every`, so a due row that old
  means sending has stopped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from crawler.config.model import Config
from crawler.store.database import Outbox, SourceHealth, Store, iso_utc


def check(store: Store, config: Config, now: datetime, started: datetime) -> list[str]:
    """The reasons the daemon is unhealthy (`now` and `started` aware); an empty list means healthy."""
    problems = []
    intervals = [s.every for s in config.sources if s.enabled and not s.cron]
    with store.session() as s:
        last_poll = s.execute(select(func.max(SourceHealth.last_poll))).scalar()
        oldest_due = s.execute(select(func.min(Outbox.next_attempt)).where(Outbox.status == "pending")).scalar()
    if intervals:
        limit = 3 * min(intervals)
        since = max(last_poll, started) if last_poll else started
        if now - since > limit:
            problems.append(f"no poll finished since {iso_utc(since, 'seconds')} (limit {limit})")
    stuck_after = max(3 * config.daemon.outbox_every, timedelta(minutes=1))
    if oldest_due is not None and now - oldest_due > stuck_after:
        problems.append(f"outbox stuck: an alert due since {iso_utc(oldest_due, 'seconds')} is not sent "
                        f"(limit {stuck_after})")
    return problems
