"""`newsradar rules test --since 7d [--rule NAME] [--json] [--now ISO]`: the rule backtest.

It runs the *current* rules (`compile_rules(config)`) over the stories stored in the period and says, per rule,
which would have alerted, and how that differs from what was alerted at the time. It sends nothing and writes
nothing: the store is opened without creating tables, on a read-only connection (SQLite `PRAGMA query_only`,
PostgreSQL a read-only transaction), and a SQLite file that does not exist is an error, not a new empty store.

Contract:
- The period is `[now - since, now)` by `first_seen`, the time the alert path saw the story (a story published
  last year but first seen today was planned today). `--now` (ISO 8601; naive in the config's `timezone`) moves
  its end, as `report --now` does.
- Syndicated copies (`duplicate_of` set) are skipped: they never alert on their own.
- A story *would alert* for a rule when the rule matches its title and text with its fields (tickers, category,
  source; `alerts.rules.matcher.StoryFields`, as the planner builds them) and the planner's offline checks pass:
  the story was not older than `max_age` (the source's, else the global one) when first seen (a story without a
  page date counts as fresh), and at least one of the rule's `notify` names is a configured notifier with a URL.
  Delivery policy (quiet hours, digests, rate limits) is not applied: it decides when, not whether.
- `alerted`: the store's `matches` row for (story, rule) says alerted (an alert was queued at the time).
- Text: per rule, in config order, "RULE: N would alert (M alerted then); + K new, - J no longer", then one line
  per story, oldest first: a mark (`+` would alert now but was not alerted; `-` was alerted but would not be now;
  blank: both), its first-seen time in `timezone`, title and URL.
- `--json`: one object per line per (rule, story) that would alert, `rule`, `url`, `title`, `published` (ISO
  8601 with the page's offset, as `items --json`), `thread` (the story's thread id; null for stories stored
  before threads), `alerted`, `would_alert` (true); plus one per (rule, story) alerted then that would not be now, with
  `would_alert` false. Lines come in story order (oldest first), rules in config order within a story.
Stories are read in chunks of CHUNK, so a long period never loads whole.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from alerts.rules.matcher import StoryFields
from crawler.cli.common import period_end
from crawler.config.model import Config, compile_rules, parse_duration
from crawler.store.database import Match, Store, StoreError, Story, utcnow

CHUNK = 500  # stories read per query


@dataclass(frozen=True)
class Entry:
    """One (rule, story) that would alert now or was alerted then."""

    rule: str
    story: Story
    would_alert: bool
    alerted: bool

    def as_json(self) -> dict:
        published = self.story.published_local()
        return {"rule": self.rule, "url": self.story.url, "title": self.story.title,
                "published": published.isoformat() if published else None,
                "thread": self.story.thread_id, "alerted": self.alerted,
                "would_alert": self.would_alert}


@dataclass
class RuleTally:
    entries: list[Entry] = field(default_factory=list)

    def count(self, *, would: bool | None = None, alerted: bool | None = None) -> int:
        return sum(1 for e in self.entries
                   if (would is None or e.would_alert == would) and (alerted is None or e.alerted == alerted))


def run_backtest(args: argparse.Namespace, config: Config) -> int:
    """`rules test --since`: exit 0, 1 when the store cannot be read, 2 on bad arguments (an unknown rule)."""
    try:
        since = parse_duration(args.since)
        now = period_end(args.now, config) or utcnow()
    except ValueError as exc:
        print(f"newsradar rules test: {exc}", file=sys.stderr)
        return 2
    if since <= timedelta(0):
        print("newsradar rules test: --since must be a positive duration", file=sys.stderr)
        return 2
    names = [r.name for r in config.rules]
    unknown = [n for n in dict.fromkeys(args.rule or []) if n not in names]
    if unknown:
        print(f"newsradar rules test: no rule named {', '.join(map(repr, unknown))} "
              f"(have: {', '.join(names) or 'none'})", file=sys.stderr)
        return 2
    chosen = [n for n in names if not args.rule or n in args.rule]
    store = _open(config)
    if store is None:
        return 1
    start = now - since
    try:
        with _read_only(store) as conn, Session(conn) as session:
            entries = replay(session, config, start, now, set(chosen))
            if args.json:
                for entry in entries:
                    print(json.dumps(entry.as_json(), ensure_ascii=False))
                return 0
            tallies = {name: RuleTally() for name in chosen}
            for entry in entries:
                tallies[entry.rule].entries.append(entry)
    finally:
        store.close()
    _print_text(tallies, config, start, now)
    return 0


def replay(session: Session, config: Config, start: datetime, end: datetime, chosen: set[str]) -> Iterator[Entry]:
    """The entries of the period for the `chosen` rules, story by story (oldest first), rules in config order.
    As in the alert path (crawler.store.threads), a later story of an event thread that would already have alerted
    for a rule in the period does not alert for it again (it would be a follow-up)."""
    rules = compile_rules(config)
    threads_alerted: dict[str, set[int]] = {}
    order = {r.name: i for i, r in enumerate(config.rules)}
    ids = list(session.scalars(
        select(Story.id).where(Story.first_seen >= start, Story.first_seen < end, Story.duplicate_of.is_(None))
        .order_by(Story.first_seen, Story.id)))
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        stories = {s.id: s for s in session.scalars(select(Story).where(Story.id.in_(chunk)))}
        alerted: dict[int, set[str]] = {}
        for story_id, rule in session.execute(
                select(Match.story_id, Match.rule).where(Match.story_id.in_(chunk), Match.alerted.is_(True))):
            alerted.setdefault(story_id, set()).add(rule)
        for story_id in chunk:
            story = stories[story_id]
            would = would_alert(story, rules, config) & chosen
            thread = story.thread_id
            if thread is not None:
                would = {r for r in would if thread not in threads_alerted.get(r, ())}
                for r in would:
                    threads_alerted.setdefault(r, set()).add(thread)
            then = alerted.get(story_id, set()) & chosen
            for rule in sorted(would | then, key=order.__getitem__):
                yield Entry(rule, story, rule in would, rule in then)
        session.expunge_all()  # a chunk's stories are done with: keep memory flat over a long period


def would_alert(story: Story, rules, config: Config) -> set[str]:
    """The rules the planner (alerts.delivery.outbox.planner) would queue an alert for today, for an original
    story as it was first seen: matched, not older than max_age then, routed to a configured notifier."""
    if story.published is not None and not story.date_is_first_seen and \
            story.published < story.first_seen - config.max_age_for(story.source):
        return set()
    fields = StoryFields(tuple(story.tickers or ()), story.category, story.source)
    found = rules.match(story.title or "", story.text or "", fields)
    return {m.rule for m in found
            if any(config.notifiers.get(name) is not None and config.notifiers[name].url for name in m.notify)}


def _open(config: Config) -> Store | None:
    """The configured store, never created: a SQLite file that is not there is an error (exit 1)."""
    url = make_url(config.store)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).is_file():
        print(f"newsradar rules test: no store at {url.database}: nothing stored to test "
              f"(`newsradar run --once` polls every source once)", file=sys.stderr)
        return None
    try:
        return Store(config.store, create=False, busy_timeout=config.store_busy_timeout.total_seconds())
    except StoreError as exc:
        print(f"newsradar: {exc}", file=sys.stderr)
        return None


@contextmanager
def _read_only(store: Store) -> Iterator[Connection]:
    """A connection that refuses writes, so the backtest cannot change the store even by mistake."""
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = ON")
        elif conn.dialect.name == "postgresql":
            conn = conn.execution_options(postgresql_readonly=True)
        try:
            yield conn
        finally:
            conn.rollback()
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA query_only = OFF")  # the pooled connection goes back as it came


def _print_text(tallies: dict[str, RuleTally], config: Config, start: datetime, end: datetime) -> None:
    fmt = "%Y-%m-%d %H:%M"
    print(f"backtest: stories first seen {start.astimezone(config.tz).strftime(fmt)} to "
          f"{end.astimezone(config.tz).strftime(fmt)} ({config.timezone}), current rules; nothing is sent")
    for name, tally in tallies.items():
        new = tally.count(would=True, alerted=False)
        gone = tally.count(would=False)
        print(f"{name}: {tally.count(would=True)} would alert ({tally.count(alerted=True)} alerted then); "
              f"+ {new} new, - {gone} no longer")
        for e in tally.entries:
            mark = "+" if e.would_alert and not e.alerted else "-" if not e.would_alert else " "
            when = e.story.first_seen.astimezone(config.tz).strftime(fmt)
            print(f"  {mark} {when}  {e.story.title or '(no title)'}  {e.story.url}")
