"""Bursts: a sudden wave of stories about one rule, alerted once as such.

A rule with `burst: {stories: N, within: W}` is in a burst when at least N distinct event threads (crawler.store
.threads; syndicated copies never count twice) matched it among the stories first seen within the last W. The
story that brings the count to N queues ONE burst alert per notifier target of the rule (`kind: burst`, urgent:
it goes through quiet hours and digests), naming the threads. The rule then stays in its burst (no second alert)
until a whole W passes with no story that keeps the count at N; the next wave after that alerts again.
The state (`bursts` table: active, fired_at, last_above) is written in the story's transaction, so a restart in the
middle of a wave neither forgets it nor alerts it twice. Without threads (`threads` off) a story is its own thread.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.rules.matcher import RuleMatch
from crawler.config.model import Config
from crawler.extract.settle import format_duration
from crawler.store.database import Burst, Match, Outbox, Story

LISTED = 10  # threads named in a burst alert


def check(s: Session, config: Config, story: Story, found: list[RuleMatch], now: datetime) -> list[Outbox]:
    """Burst alert rows owed now for the rules `story` matched (and the state updated in `s`)."""
    specs = {r.name: r for r in config.rules if r.burst is not None}
    rows: list[Outbox] = []
    for m in found:
        rule = specs.get(m.rule)
        if rule is None:
            continue
        spec = rule.burst
        state = s.get(Burst, rule.name)
        if state is None:
            state = Burst(rule=rule.name, active=False)
            s.add(state)
        if state.active and state.last_above is not None and now - state.last_above >= spec.within:
            state.active = False  # a whole window went by without a burst: the next one alerts
        threads = set(s.scalars(
            select(func.coalesce(Story.thread_id, Story.id)).join(Match, Match.story_id == Story.id)
            .where(Match.rule == rule.name, Story.first_seen >= now - spec.within, Story.duplicate_of.is_(None),
                   Story.id != story.id).distinct()))
        if story.duplicate_of is None:
            threads.add(story.thread_id or story.id)
        if len(threads) < spec.stories:
            continue
        state.last_above = now
        if state.active:
            continue
        state.active, state.fired_at = True, now
        rows += _alert_rows(s, config, rule.name, m.notify, sorted(threads), spec.within, now)
    return rows


def _alert_rows(s: Session, config: Config, rule: str, notify: tuple[str, ...], threads: list[int],
                within: timedelta, now: datetime) -> list[Outbox]:
    listed = s.execute(select(Story.title, Story.url).where(Story.id.in_(threads[-LISTED:])).order_by(Story.id))
    lines = [f"- {title or url} {url}" for title, url in listed]
    payload = {"title": f"Burst: {rule}: {len(threads)} stories within {format_duration(within)}"[:120],
               "body": "\n".join([f"{len(threads)} distinct stories matched {rule} within "
                                  f"{format_duration(within)}:", *lines]), "format": "text"}
    out = []
    for name in notify:
        notifier = config.notifiers.get(name)
        for target in range(len(notifier.url) if notifier else 0):
            out.append(Outbox.message("burst", name, target, payload, now, rules=[rule],
                                      key=f"burst:{rule}:{now.isoformat()}:{name}:{target}"))
    return out
