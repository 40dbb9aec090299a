"""Scheduled reports (issue 15): a notifier's `report: {every, at, since, watchlists}`, delivered through the outbox.

Slots are local wall-clock times in `timezone`: `at` on 2024-01-01 (a Monday), then every `every` from there, so
`every: 1d, at: "08:00"` is 08:00 each day, `7d` each Monday at 08:00, and `6h` 02:00, 08:00, 14:00 and 20:00.

`queue_due(store, config, now)` queues, for each notifier with a schedule, the report of the latest slot at or
before `now`, unless that slot's rows exist already: each row's unique `key` (`report:NOTIFIER:TARGET:SLOT`)
makes queueing once a property of the store, not of this process. A daemon that was down at 08:00 sends the
08:00 report when it is back, once; one down for three days sends the latest report only; a notifier given a
schedule at 10:00 gets that day's 08:00 report at once (a sign the schedule works).

A report is rendered when it is queued, for the period that ends at its slot (`since`, default `every`), so a
late or retried delivery still shows its own period. Mail targets get the whole HTML report (inline SVG charts,
the page `newsradar report` writes); every other channel gets a short text: stories in the period, mentions per
watchlist against the daily baseline, the top stories, and the dashboard's `/report` link when `web:` is set.
From there the rows are delivered like operator notices (alerts.delivery.outbox): retried with backoff, dead
after the notifier's `max_attempts` or `max_age`, listed by `newsradar outbox`.

A report that cannot be built (store error, charts) is logged and tried again on the next call: nothing is
marked queued before its rows are written.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from alerts.render.renderer import Renderer
from crawler.config.alerting import ReportSchedule
from crawler.config.model import Config
from crawler.extract.dates import format_duration
from crawler.report.html import render_html
from crawler.report.queries import build_report, ensure_indexes
from crawler.store.database import Outbox, Store, utcnow

log = logging.getLogger("newsradar.report")

EPOCH = datetime(2024, 1, 1)  # local midnight of a Monday: where the slots are counted from
TOP_IN_TEXT = 3


def last_slot(schedule: ReportSchedule, tz: ZoneInfo, now: datetime) -> datetime:
    """The latest slot at or before `now` (aware), as aware UTC. Slots are counted in local wall-clock time, so
    a daily report stays at 08:00 across daylight-saving changes."""
    hour, minute = map(int, schedule.at.split(":"))
    anchor = EPOCH.replace(hour=hour, minute=minute)
    local = now.astimezone(tz).replace(tzinfo=None)
    steps = (local - anchor) // schedule.every
    slot = anchor + steps * schedule.every
    return slot.replace(tzinfo=tz).astimezone(timezone.utc)


def queue_due(store: Store, config: Config, now: datetime | None = None) -> int:
    """Queue each scheduled report whose latest slot is not queued yet; the rows written. Never raises."""
    now = now or utcnow()
    written = 0
    for name, notifier in config.notifiers.items():
        if notifier.report is None:
            continue
        try:
            written += _queue(store, config, name, notifier, now)
        except Exception as exc:  # the store or the charts failed: say so; the next call tries again
            log.error("report for %s not queued: %s: %s", name, type(exc).__name__, exc)
    return written


def _queue(store: Store, config: Config, name: str, notifier: Any, now: datetime) -> int:
    slot = last_slot(notifier.report, config.tz, now)
    keys = {target: f"report:{name}:{target}:{slot.isoformat()}" for target in range(len(notifier.url))}
    with store.session() as s:
        done = set(s.scalars(select(Outbox.key).where(Outbox.key.in_(list(keys.values())))))
    wanted = {t: k for t, k in keys.items() if k not in done}
    if not wanted:
        return 0
    since = notifier.report.since or notifier.report.every
    ensure_indexes(store)
    report = build_report(store, config, now=slot, since=since, watchlists=list(notifier.report.watchlists) or None)
    title = f"newsradar report: {format_duration(since)} to {slot.astimezone(config.tz):%Y-%m-%d %H:%M}"
    rows = []
    for target, key in wanted.items():
        mail = Renderer.channel_for(notifier.url[target]) == "mail"
        payload = {"title": title, "format": "html" if mail else "text",
                   "body": render_html(report) if mail else summary(report, config, since)}
        rows.append(Outbox.message("report", name, target, payload, now, key=key))
    try:
        with store.session.begin() as s:
            s.add_all(rows)
    except IntegrityError:  # another process queued this slot first: it is queued, once
        return 0
    log.info("report for %s queued (%s)", name, title)
    return len(rows)


def summary(report: dict[str, Any], config: Config, since: timedelta) -> str:
    """The report as a few lines for chat: counts against the baseline, the top stories, the dashboard link."""
    lines = [f"{report['stories_in_period']} stories in the last {format_duration(since)}."]
    for group in (g for g in report["groups"] if g["kind"] == "watchlist"):
        lines.append(f"{group['name']}: {group['mentions']} mentions (baseline {group['baseline_per_day']:g}/day)")
        for story in group["top"][:TOP_IN_TEXT]:
            lines.append(f"  - {story['title'] or story['url']} ({story['source']}) {story['url']}")
    if config.web is not None:
        base = config.web.url or f"http://{config.web.host}:{config.web.port}"
        lines.append(f"Report: {base.rstrip('/')}/report?since={format_duration(since)}")
    return "\n".join(lines)
