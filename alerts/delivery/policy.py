"""When an alert goes out, and whether alone or in a digest. Pure: times in, decisions out, no I/O.

For each notifier target, the rows due now are decided in this order (`decide`):
1. Quiet hours (`quiet: "22:00-07:00"`, wall-clock time in the configured zone, DST-aware): a non-urgent alert
   is held until the quiet period ends; `urgent: true` rules go through. What was held goes out as one digest.
2. Digest window (`digest: 15m`): a non-urgent alert waits until the window it arrived in closes; windows are
   aligned to local midnight (15m -> :00/:15/:30/:45; 1d -> midnight). Everything due then is one digest.
3. Backlog: more than `backlog` (10) alerts due at once for one target (after an outage, at the market open) go
   out as one digest instead of a burst of pings. Urgent alerts still go alone.
4. Rate limit (`max_per_hour: N`): at most N messages to a target in any hour; the overflow becomes one digest
   (never dropped); with no room left at all, everything waits for the hour to free a slot.
A digest of one alert is sent as a normal alert. Times in and out are aware (UTC out, as the store gives them).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

BACKLOG = 10


@dataclass(frozen=True)
class Due:
    id: int
    urgent: bool
    created: datetime  # aware
    held: bool = False  # was held back by quiet hours, a digest window or the rate limit


@dataclass
class Plan:
    single: list[int] = field(default_factory=list)
    digest: list[int] = field(default_factory=list)
    hold: dict[int, datetime] = field(default_factory=dict)  # id -> time (aware UTC) it becomes due


def parse_quiet(spec: str) -> tuple[time, time]:
    """'22:00-07:00' -> (22:00, 07:00). Raises ValueError with a message fit for a config error."""
    try:
        if not re.fullmatch(r"\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*", spec):
            raise ValueError
        start, end = (time.fromisoformat(part.strip().zfill(5)) for part in spec.split("-"))
    except ValueError:
        raise ValueError(f"quiet '{spec}' is not a time range like 22:00-07:00") from None
    if start == end:
        raise ValueError(f"quiet '{spec}' is empty: start and end are the same")
    return start, end


def quiet_until(spec: str | None, now: datetime, tz: ZoneInfo) -> datetime | None:
    """If `now` (aware) falls in the quiet period, when it ends (aware UTC); else None."""
    if not spec:
        return None
    start, end = parse_quiet(spec)
    local = now.astimezone(tz)
    t, today = local.time(), local.date()
    if start < end:
        inside, end_day = start <= t < end, today
    else:  # overnight, e.g. 22:00-07:00
        inside = t >= start or t < end
        end_day = today if t < end else today + timedelta(days=1)
    if not inside:
        return None
    return _utc(datetime.combine(end_day, end), tz)


def window_closes(created: datetime, window: timedelta, tz: ZoneInfo) -> datetime:
    """The end (aware UTC) of the digest window `created` (aware) falls in, aligned to local midnight."""
    local = created.astimezone(tz).replace(tzinfo=None)  # wall-clock arithmetic: a window is local time
    midnight = datetime.combine(local.date(), time())
    steps = math.floor((local - midnight) / window) + 1
    return _utc(midnight + steps * window, tz)


def _utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """A local wall-clock time (naive) in `tz` as aware UTC."""
    return wall.replace(tzinfo=tz).astimezone(timezone.utc)


def decide(rows: list[Due], now: datetime, tz: ZoneInfo, *, quiet: str | None = None,
           digest: timedelta | None = None, max_per_hour: int | None = None,
           sent_last_hour: list[datetime] = (), backlog: int = BACKLOG) -> Plan:
    """`rows` are one target's due alerts; `now` and `sent_last_hour` are aware."""
    plan = Plan()
    quiet_end = quiet_until(quiet, now, tz)
    for row in rows:
        if row.urgent:
            plan.single.append(row.id)
        elif quiet_end is not None:
            plan.hold[row.id] = quiet_end
        elif digest is not None and window_closes(row.created, digest, tz) > now:
            plan.hold[row.id] = window_closes(row.created, digest, tz)
        elif row.held:
            plan.digest.append(row.id)
        else:
            plan.single.append(row.id)
    if len(plan.single) + len(plan.digest) > backlog:
        urgent = {r.id for r in rows if r.urgent}
        plan.digest += [i for i in plan.single if i not in urgent]
        plan.single = [i for i in plan.single if i in urgent]
    if max_per_hour is not None:
        _limit(plan, now, max_per_hour, sent_last_hour)
    if len(plan.digest) == 1:
        plan.single.append(plan.digest.pop())
    return plan


def _limit(plan: Plan, now: datetime, max_per_hour: int, sent: list[datetime]) -> None:
    recent = sorted(t for t in sent if t > now - timedelta(hours=1))
    room = max_per_hour - len(recent)
    wanted = len(plan.single) + (1 if plan.digest else 0)
    if wanted <= room:
        return
    if room <= 0:  # no message may go now: all wait for the oldest send to leave the hour
        free_at = recent[0] + timedelta(hours=1) if recent else now
        for row_id in plan.single + plan.digest:
            plan.hold[row_id] = free_at
        plan.single, plan.digest = [], []
        return
    keep = plan.single[: room - 1]
    plan.digest = plan.single[room - 1 :] + plan.digest
    plan.single = keep
