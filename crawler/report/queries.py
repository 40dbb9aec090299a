"""The numbers of a mentions report, read from the store with indexed range queries. Pure data: no rendering.

`build_report(store, config, now=..., since=...)` returns one JSON-able dict; the HTML, PNG and JSON formats and
the dashboard all render this dict, so every format shows the same numbers.

- The period is `[now - since, now)`; a story belongs to it by its publication time (`stories.published`,
  indexed). Syndicated copies (`duplicate_of`) are not mentions of their own: they count as the thread's copies.
- Per watchlist: the stories with a rule match whose matched terms include a term of that watchlist. Per rule:
  the stories that rule matched. Buckets are calendar days and clock hours in the config's `timezone`.
- Baseline: the mean per bucket over the period (mentions / number of days, or hours); the charts mark it.
- Top stories: one per event thread (its first story in the period, with the other sources of the thread as
  `also`), biggest first (the thread's stories plus their syndicated copies), then most matched terms, then newest.
- Alerts: outbox rows (alerts, not operator notices) sent within the period per notifier (`outbox.sent_at`,
  indexed here), with the current pending and dead counts beside them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Index, func, select

from crawler.config.model import Config
from crawler.store.database import Match, Outbox, SourceHealth, Store, Story, utcnow

TOP_STORIES = 10
# Indexes the report's range queries need beyond those the store creates with its tables (created once, if
# missing, so stores made before the report existed get them too).
REPORT_INDEXES = (Index("ix_outbox_sent_at", Outbox.sent_at),)


def ensure_indexes(store: Store) -> None:
    for index in REPORT_INDEXES:
        index.create(store.engine, checkfirst=True)


def _local(value: datetime, tz: ZoneInfo) -> datetime:
    return value.astimezone(tz)


def _buckets(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[list[str], list[str]]:
    """Every local calendar day and clock hour the period touches, oldest first (labels as ISO strings)."""
    days, hours = [], []
    hour = _local(start, tz).replace(minute=0, second=0, microsecond=0)
    last = _local(end - timedelta(microseconds=1), tz)
    while hour <= last:
        hours.append(hour.strftime("%Y-%m-%dT%H:00"))
        day = hour.strftime("%Y-%m-%d")
        if not days or days[-1] != day:
            days.append(day)
        hour = (hour.astimezone(timezone.utc) + timedelta(hours=1)).astimezone(tz)
    return days, hours


def build_report(store: Store, config: Config, *, now: datetime | None = None, since: timedelta = timedelta(days=7),
                 watchlists: list[str] | None = None, top: int = TOP_STORIES) -> dict[str, Any]:
    """The report's numbers. `now` (aware) is injectable for tests; `watchlists` limits the groups."""
    tz = config.tz
    end = now.astimezone(timezone.utc) if now is not None else utcnow()
    start = end - since
    days, hours = _buckets(start, end, tz)
    wanted = list(config.watchlists) if watchlists is None else list(watchlists)
    unknown = [w for w in wanted if w not in config.watchlists]
    if unknown:
        raise KeyError(f"unknown watchlist {', '.join(unknown)} (known: {', '.join(config.watchlists) or 'none'})")
    wl_terms = {name: set(config.watchlists[name]) for name in wanted}
    rules_of = {name: [r.name for r in config.rules if f"@{name}" in (*r.any, *r.all)] for name in wanted}
    rule_names = [r.name for r in config.rules] if watchlists is None else \
        list(dict.fromkeys(r for name in wanted for r in rules_of[name]))

    with store.session() as s:
        rows = s.execute(
            select(Story.id, Story.published, Story.source, Story.title, Story.url, Story.thread_id, Match.rule,
                   Match.terms)
            .join(Match, Match.story_id == Story.id)
            .where(Story.published >= start, Story.published < end, Story.duplicate_of.is_(None))
        ).all()
        story_ids = list({r.id for r in rows})
        copies: dict[int, int] = {}
        for chunk in range(0, len(story_ids), 500):
            ids = story_ids[chunk:chunk + 500]
            copies.update(s.execute(select(Story.duplicate_of, func.count()).where(Story.duplicate_of.in_(ids))
                                    .group_by(Story.duplicate_of)).all())
        sent = s.execute(select(Outbox.notifier, func.count()).where(
            Outbox.sent_at >= start, Outbox.sent_at < end, Outbox.status == "sent", Outbox.kind == "alert")
            .group_by(Outbox.notifier)).all()  # alerts: operator notices are not what the report counts
        waiting = s.execute(select(Outbox.notifier, Outbox.status, func.count()).where(
            Outbox.status.in_(("pending", "sending", "dead")), Outbox.kind == "alert")
            .group_by(Outbox.notifier, Outbox.status)).all()
        health = list(s.scalars(select(SourceHealth).order_by(SourceHealth.source)))
        total_stories = s.execute(select(func.count()).select_from(Story).where(
            Story.published >= start, Story.published < end, Story.duplicate_of.is_(None))).scalar_one()

    stories: dict[int, dict[str, Any]] = {}
    by_rule: dict[str, set[int]] = defaultdict(set)
    by_watchlist: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        st = stories.get(r.id)
        if st is None:
            local = _local(r.published, tz)
            st = stories[r.id] = {"id": r.id, "title": r.title, "url": r.url, "source": r.source,
                                  "published": local.isoformat(), "_day": local.strftime("%Y-%m-%d"),
                                  "_hour": local.strftime("%Y-%m-%dT%H:00"), "rules": {}, "copies": copies.get(r.id, 0),
                                  "_thread": r.thread_id or r.id}
        st["rules"][r.rule] = list(r.terms or [])
        by_rule[r.rule].add(r.id)
        for name, terms in wl_terms.items():
            if terms.intersection(r.terms or ()):
                by_watchlist[name].add(r.id)

    def group(kind: str, name: str, ids: set[int], terms_of) -> dict[str, Any]:
        per_day = Counter(stories[i]["_day"] for i in ids)
        per_hour = Counter(stories[i]["_hour"] for i in ids)
        threads: dict[int, list[int]] = defaultdict(list)
        for i in sorted(ids, key=lambda i: stories[i]["published"]):
            threads[stories[i]["_thread"]].append(i)
        size = {t: len(members) + sum(stories[i]["copies"] for i in members) for t, members in threads.items()}
        firsts = [members[0] for members in threads.values()]
        ranked = sorted(firsts, key=lambda i: (size[stories[i]["_thread"]], len(terms_of(stories[i])),
                                               stories[i]["published"]), reverse=True)
        return {
            "kind": kind, "name": name, "mentions": len(ids),
            "per_day": [{"day": d, "count": per_day.get(d, 0)} for d in days],
            "per_hour": [{"hour": h, "count": per_hour.get(h, 0)} for h in hours],
            "baseline_per_day": round(len(ids) / len(days), 3) if days else 0.0,
            "baseline_per_hour": round(len(ids) / len(hours), 3) if hours else 0.0,
            "top": [{k: v for k, v in stories[i].items() if not k.startswith("_") and k != "rules"}
                    | {"terms": terms_of(stories[i]),
                       "also": list(dict.fromkeys(stories[j]["source"] for j in threads[stories[i]["_thread"]][1:]
                                                  if stories[j]["source"] != stories[i]["source"]))}
                    for i in ranked[:top]],
        }

    def wl_terms_of(name):
        return lambda st: list(dict.fromkeys(t for terms in st["rules"].values() for t in terms if t in wl_terms[name]))

    def rule_terms_of(name):
        return lambda st: st["rules"].get(name, [])

    groups = [group("watchlist", n, by_watchlist[n], wl_terms_of(n)) | {"rules": rules_of[n]} for n in wanted]
    groups += [group("rule", n, by_rule[n], rule_terms_of(n)) for n in rule_names]

    notifiers: dict[str, dict[str, int]] = {}
    for name in [*config.notifiers, *(n for n, _ in sent), *(n for n, _, _ in waiting)]:
        notifiers.setdefault(name, {"sent": 0, "pending": 0, "dead": 0})
    for name, count in sent:
        notifiers[name]["sent"] = count
    for name, status, count in waiting:
        notifiers[name]["dead" if status == "dead" else "pending"] += count

    known = {s.name for s in config.sources}
    sources = [{"source": h.source, "state": h.state, "configured": h.source in known,
                "last_poll": _iso_local(h.last_poll, tz), "last_success": _iso_local(h.last_success, tz),
                "last_new_story": _iso_local(h.last_new_story, tz), "failures": h.failures,
                "last_error": h.last_error, "polls": h.polls, "stories": h.stories} for h in health]
    seen = {h.source for h in health}
    sources += [{"source": n, "state": "never polled", "configured": True, "last_poll": None, "last_success": None,
                 "last_new_story": None, "failures": 0, "last_error": None, "polls": 0, "stories": 0}
                for n in sorted(known - seen)]
    return {
        "period": {"start": _iso_local(start, tz), "end": _iso_local(end, tz), "timezone": config.timezone,
                   "days": days, "since_seconds": int(since.total_seconds())},
        "generated": _iso_local(end, tz),
        "stories_in_period": total_stories,
        "groups": groups,
        "alerts": [{"notifier": n, **c} for n, c in notifiers.items()],
        "sources": sources,
    }


def _iso_local(value: datetime | None, tz: ZoneInfo) -> str | None:
    return _local(value, tz).isoformat(timespec="seconds") if value else None

