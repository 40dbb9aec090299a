"""The store's tables (SQLAlchemy 2 declarative models) and its time convention.

Every time column is a `UtcDateTime`: it takes and gives timezone-aware datetimes, UTC on the way out (`utcnow()`
is the current one; `iso_utc` shows one as ISO 8601 with its +00:00 offset). In the database it is the same naive
UTC `DateTime` (`timestamp without time zone`) as before, so stores written by older versions read back unchanged.
A story's publication offset is kept beside it (`published_offset`, minutes) so `published` can be shown as the
page gave it (`Story.published_local`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = ["Base", "Burst", "FailedUrl", "Match", "Outbox", "SourceHealth", "SourceSchedule", "Story", "StoryUrl",
           "UtcDateTime", "Validator", "Worker", "iso_utc", "rule_names", "utcnow"]


def utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(timezone.utc)


def iso_utc(value: datetime | None, timespec: str = "auto") -> str | None:
    """An aware time as ISO 8601 in UTC (+00:00), for output."""
    return value.astimezone(timezone.utc).isoformat(timespec=timespec) if value else None


class UtcDateTime(TypeDecorator):
    """A `DateTime` column as aware UTC datetimes. Bound values (inserts, updates and SQL comparisons alike) are
    converted to UTC and stored naive, the store's format since its first version; a naive value is taken as UTC.
    Values read back are aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # naive as stored; a driver that returns an aware value (a timestamptz column) has it converted
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def rule_names(rules: list | None) -> list[str]:
    """The rule names of an outbox row's `rules` (names; pairs [rule, terms] in rows of earlier versions)."""
    return [r if isinstance(r, str) else r[0] for r in rules or []]


class Base(DeclarativeBase):
    pass


class Story(Base):
    __tablename__ = "stories"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    source: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    lang: Mapped[str | None] = mapped_column(String(16))
    published: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    published_offset: Mapped[int | None] = mapped_column(Integer)
    date_is_first_seen: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    content_hash: Mapped[str] = mapped_column(String(32), index=True)
    simhash: Mapped[int | None] = mapped_column(BigInteger)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    origin: Mapped[str] = mapped_column(String(16), default="page")  # page | feed (the feed's summary) | disclosure
    # Where `published` came from (crawler.extract.dates: jsonld meta time feed sitemap text url first-seen), a date
    # dropped or clamped on the way, and why a story that matched rules owes no alert (alerts.delivery.outbox.planner).
    date_source: Mapped[str | None] = mapped_column(String(16))
    date_note: Mapped[str | None] = mapped_column(Text)
    not_alerted: Mapped[str | None] = mapped_column(Text)
    # Structured fields (JSON and disclosure sources).
    tickers: Mapped[list | None] = mapped_column(JSON)  # normalised, crawler.tickers
    company: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(200))
    doc_url: Mapped[str | None] = mapped_column(String(2048))
    # Event threads (crawler.store.threads): the id of the thread's first story (its own id when it starts one),
    # and the title + lead signature other stories are compared with (crawler.dedupe.threads).
    thread_id: Mapped[int | None] = mapped_column(Integer, index=True)
    thread_sig: Mapped[list | None] = mapped_column(JSON)

    def published_local(self) -> datetime | None:
        """The publication time with the offset the page gave (UTC when it gave none)."""
        if self.published is None:
            return None
        offset = timezone(timedelta(minutes=self.published_offset or 0))
        return self.published.astimezone(offset)


class StoryUrl(Base):
    __tablename__ = "story_urls"
    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)


class FailedUrl(Base):
    """An article that could not be fetched or parsed: not refetched until `next_try` (backing off)."""

    __tablename__ = "failed_urls"
    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    next_try: Mapped[datetime] = mapped_column(UtcDateTime)


class Validator(Base):
    """HTTP validators of a feed, listing page or sitemap, for conditional GET."""

    __tablename__ = "validators"
    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    source: Mapped[str] = mapped_column(String(200), index=True)
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    updated: Mapped[datetime] = mapped_column(UtcDateTime)


class Match(Base):
    __tablename__ = "matches"
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(200), primary_key=True)
    terms: Mapped[list] = mapped_column(JSON)
    alerted: Mapped[bool] = mapped_column(Boolean, default=False)


class Outbox(Base):
    """One message to deliver to one notifier target URL. Never deleted, only marked.

    `kind` says what it carries: `alert` (a story's alert, `story_id` set; may go out in a digest), `ops` (a
    notice to the operator: a source failing, silent or recovered, dead alerts) or `report` (a scheduled report,
    `key` naming its notifier, target and slot so it is queued once). Notices and reports have no story; their
    `payload` is the message: {"title", "body", "format"}. Every kind is stored, claimed, retried and counted the
    same way (alerts.delivery.outbox).
    """

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("story_id", "notifier", "target"),)  # NULL story_ids never collide
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="alert", server_default="alert")
    payload: Mapped[dict | None] = mapped_column(JSON)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)  # one row per key: a report's slot
    notifier: Mapped[str] = mapped_column(String(200))
    target: Mapped[int] = mapped_column(Integer, default=0)  # index into the notifier's apprise URLs
    # The rules routed to this row, by name; their matched terms are the story's `matches` rows (stored once).
    # Rows written by earlier versions hold [rule, [term, ...]] pairs instead: `rule_names` reads both.
    rules: Mapped[list] = mapped_column(JSON)
    snippet: Mapped[list | None] = mapped_column(JSON)  # [before, match, after] around the first hit
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|sending|sent|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    batch: Mapped[str | None] = mapped_column(String(64))  # the digest message it went out in, if any
    held: Mapped[bool] = mapped_column(Boolean, default=False)  # deferred by quiet hours, digest or rate limit
    reported: Mapped[bool] = mapped_column(Boolean, default=False)  # dead rows: operator told once
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # the cluster worker sending it (crawler.store.cluster)

    def rule_names(self) -> list[str]:
        return rule_names(self.rules)

    @classmethod
    def message(cls, kind: str, notifier: str, target: int, payload: dict, now: datetime, *, key: str | None = None,
                rules: Sequence[str] = (), urgent: bool = True, due: datetime | None = None) -> Outbox:
        """A pending row that carries its own message (`payload`), not a story's alert: an operator notice, a
        scheduled report, a thread follow-up or a burst alert; due at `due` (default: `now`)."""
        return cls(story_id=None, kind=kind, key=key, payload=payload, notifier=notifier, target=target,
                   rules=list(rules), urgent=urgent, status="pending", next_attempt=due or now, created=now,
                   attempts=0)


class Burst(Base):
    """A rule's burst state (alerts.delivery.bursts): written with the story that changes it, so it survives a
    restart. `active` from the story that fired until a whole `within` passes without `stories` threads."""

    __tablename__ = "bursts"
    rule: Mapped[str] = mapped_column(String(200), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_above: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the last story that kept the count up


class SourceHealth(Base):
    __tablename__ = "source_health"
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="ok")  # ok | failing | silent
    last_poll: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_success: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_new_story: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    stories: Mapped[int] = mapped_column(Integer, default=0)


class Worker(Base):
    """A `newsradar run` of a cluster (crawler.store.cluster): registered at start, its heartbeat (the
    database's clock) renewed every quarter of `cluster.lease`, removed at a clean stop."""

    __tablename__ = "workers"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # HOST:PID:RANDOM
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started: Mapped[datetime] = mapped_column(UtcDateTime)
    heartbeat: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    config_hash: Mapped[str] = mapped_column(String(64))
    polls: Mapped[int] = mapped_column(Integer, default=0)  # polls finished under a lease
    fenced: Mapped[int] = mapped_column(Integer, default=0)  # polls whose lease was taken over while they ran
    coord_queries: Mapped[int] = mapped_column(Integer, default=0)  # coordination statements run, and their time
    coord_ms: Mapped[float] = mapped_column(default=0.0)


class SourceSchedule(Base):
    """When each source is next due and which worker holds its poll (crawler.store.cluster). `epoch` grows with
    every claim: a write of a poll is accepted only while its (owner, epoch) still holds an unexpired lease."""

    __tablename__ = "source_schedule"
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    timing: Mapped[str] = mapped_column(String(200), default="")  # the schedule it was planned with
    next_due: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_owner: Mapped[str | None] = mapped_column(String(200))  # who finished the last poll, and when
    last_polled: Mapped[datetime | None] = mapped_column(UtcDateTime)
