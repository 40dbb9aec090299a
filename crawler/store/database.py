"""The durable store (SQLAlchemy 2): stories, the URLs they were seen under, fetch state, matches and the outbox.

Any SQLAlchemy URL works; the default is a SQLite file. The tables and the time convention (aware UTC in and out,
naive UTC in the database) are in crawler.store.tables.

Dedupe keys, in the order `add_story` applies them, in one transaction:
1. every canonical URL the story was seen under (`story_urls`): a URL already known is the same story;
2. the exact hash of its normalised text, then its SimHash against stories first seen within `window`: a match
   is a syndicated copy, stored with `duplicate_of` pointing at the first so nothing downstream alerts twice,
   unless the two differ only in figures and identifiers and their titles differ (`fingerprint.same_story`:
   templated briefs, a price move or a filing notice per company, are stories of their own).
The story, its rule matches and its outbox rows are written in the same transaction as the dedupe decision.
This module knows nothing of Scrapy, rules or notifiers: callers pass plain records.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler.dedupe import fingerprint
from crawler.items import NewStory
from crawler.store import threads
from crawler.store.migrate import upgrade
from crawler.store.reads import StoreReads
from crawler.store.threads import ThreadInfo
from crawler.store.tables import (  # re-exported: callers import the tables from here
    Base,
    Burst,
    FailedUrl,
    Match,
    Outbox,
    SourceHealth,
    Story,
    StoryUrl,
    Validator,
    iso_utc,
    utcnow,
)


# The start of `Story.not_alerted` for a story that matched but is older than `max_age` (a poll's `stale=`).
STALE = "older than max_age"


@dataclass
class Added:
    """What add_story decided. `status` is 'new', 'duplicate' (a syndicated copy) or 'known' (URL seen before)."""

    status: str
    story_id: int
    duplicate_of: int | None = None
    outbox_ids: list[int] = field(default_factory=list)
    not_alerted: str | None = None  # why a story that matched rules owes no alert (Story.not_alerted)
    story: Story | None = field(default=None, repr=False, compare=False)  # the row stored (None when known)

    @property
    def stale(self) -> bool:
        return bool(self.not_alerted and self.not_alerted.startswith(STALE))


@dataclass
class PlanContext:
    """What a planner knows besides the story: the rules its original already matched (empty unless it is a
    syndicated copy), its event thread (None when threads are off), the open transaction (for store state the
    plan reads and writes with the story, e.g. bursts) and the time it is stored at."""

    already: set[str]
    thread: ThreadInfo | None
    session: Session
    now: datetime


# A planner turns a freshly stored story into (matches, outbox rows) inside the same transaction.
Planner = Callable[[Story, PlanContext], tuple[list[Match], list[Outbox]]]


class StoreError(RuntimeError):
    pass


# How long a SQLite writer waits for another writer's lock before the write fails ("database is locked").
BUSY_TIMEOUT = 10.0


class Sessions:
    """`store.session()` opens a read session; `store.session.begin()` a write transaction. On SQLite a write
    transaction is `BEGIN IMMEDIATE`: it takes the write lock up front, waiting up to the busy timeout for
    another writer, instead of upgrading a read snapshot later (an upgrade that loses a race fails at once with
    SQLITE_BUSY, without waiting). Elsewhere both are plain sessions."""

    def __init__(self, read: sessionmaker, write: sessionmaker):
        self._read, self._write = read, write

    def __call__(self, **kw: Any) -> Session:
        return self._read(**kw)

    def begin(self) -> Any:
        return self._write.begin()


class Store(StoreReads):
    def __init__(self, url: str, *, create: bool = True, busy_timeout: float = BUSY_TIMEOUT):
        try:
            # pre-ping: a daemon's PostgreSQL connections outlive server restarts; SQLite has nothing to ping
            self.engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
            writer = self.engine
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", partial(_sqlite_pragmas, busy_ms=int(busy_timeout * 1000)))
                event.listen(self.engine, "begin", _sqlite_begin)
                writer = self.engine.execution_options(newsradar_write=True)
            if create:
                with self.engine.connect() as guard:
                    if self.engine.dialect.name == "postgresql":  # workers starting together: one creates
                        guard.execute(text("SELECT pg_advisory_xact_lock(hashtext('newsradar:schema:' || "
                                           "current_database() || '.' || current_schema()))"))
                    Base.metadata.create_all(writer)
                    upgrade(writer)
                    guard.commit()  # the transaction-scoped lock ends here
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise StoreError(f"cannot open store {_masked(url)}: {exc}") from exc
        self.session = Sessions(sessionmaker(self.engine, expire_on_commit=False),
                                sessionmaker(writer, expire_on_commit=False))
        # SimHashes of the originals first seen within the dedupe window, oldest first: scanned in memory rather
        # than read back from the database for every new story. One process writes a store (crawler.run.lock),
        # or, in a cluster, each worker's windows catch up with the others' stories (`share`, `_catch_up`).
        self._window: deque[tuple[int, datetime, int]] | None = None
        self._threads = threads.Window()  # the same for event threads (crawler.store.threads)
        self._window_since: datetime | None = None
        self.url = url
        # Cluster mode (`share`): the worker id that claims outbox rows, the fence every write of a poll passes,
        # and the last story id the windows have seen (other workers write stories too).
        self.owner: str | None = None
        self.fence: Callable[[Session, str], None] | None = None
        self._seen_upto: int | None = None

    def share(self, owner: str, fence: Callable[[Session, str], None], idle: timedelta | None = None) -> None:
        """Let other workers write this store too (crawler.store.cluster): every write of a source's poll passes
        `fence(session, source)` first; stories are written one at a time across the workers, and the
        in-memory windows catch up with the others' stories before each one is decided. With `idle`, the
        server ends a transaction of this worker left open that long (a process paused mid-write must not hold
        the locks the other workers wait for)."""
        self.owner, self.fence = owner, fence
        if self.engine.dialect.name == "postgresql":
            ms = int(idle.total_seconds() * 1000) if idle is not None else 0
            event.listen(self.engine, "connect", partial(_pg_worker_session, worker=owner, idle_ms=ms))
            self.engine.dispose()  # pooled connections are opened again, with the settings

    @contextmanager
    def _writing(self, source: str) -> Iterator[Session]:
        """A write transaction of a source's poll, fenced in cluster mode."""
        with self.session.begin() as s:
            if self.fence is not None:
                self.fence(s, source)
            yield s

    def close(self) -> None:
        self.engine.dispose()

    # -- what not to fetch ------------------------------------------------------------------------------------
    def known_urls(self, urls: Iterable[str], now: datetime | None = None) -> set[str]:
        """The subset of `urls` already stored, or failed and not yet due again. One query per table."""
        urls = list(dict.fromkeys(urls))
        if not urls:
            return set()
        now = now or utcnow()
        with self.session() as s:
            known = set(s.scalars(select(StoryUrl.url).where(StoryUrl.url.in_(urls))))
            known |= set(s.scalars(select(FailedUrl.url).where(FailedUrl.url.in_(urls), FailedUrl.next_try > now)))
        return known

    def record_failure(self, url: str, source: str, error: str, now: datetime | None = None) -> None:
        """Back off 1 h, 2 h, 4 h ... up to a day before an article that failed is tried again."""
        now = now or utcnow()
        with self._writing(source) as s:
            row = s.get(FailedUrl, url) or FailedUrl(url=url, source=source, attempts=0)
            row.attempts += 1
            row.error = error[:2000]
            row.next_try = now + timedelta(hours=min(2 ** (row.attempts - 1), 24))
            s.add(row)

    def load_validators(self, source: str) -> dict[str, tuple[str | None, str | None]]:
        """ETag and Last-Modified of every listing URL (feed, page, sitemaps) of one source."""
        with self.session() as s:
            return {v.url: (v.etag, v.last_modified) for v in s.scalars(select(Validator).where(Validator.source == source))}

    def save_validators(self, source: str, values: dict[str, tuple[str | None, str | None]]) -> None:
        if not values:
            return
        with self._writing(source) as s:
            for url, (etag, modified) in values.items():
                s.merge(Validator(url=url, source=source, etag=etag, last_modified=modified, updated=utcnow()))

    # -- stories ----------------------------------------------------------------------------------------------
    def add_story(self, new: NewStory, window: timedelta, plan: Planner | None = None,
                  thread_window: timedelta | None = None, now: datetime | None = None) -> Added:
        """Store `new` once (see the module docstring); with `thread_window`, in its event thread
        (crawler.store.threads); with `plan`, with its matches and outbox rows, all in one transaction. `now`
        (first seen) is injectable for tests."""
        now = now or utcnow()
        urls = list(dict.fromkeys((new.url, *new.aliases)))
        text_hash, sim = new.content_hash, new.simhash
        if not text_hash:  # computed by the extraction worker where there is one
            text_hash, sim = fingerprint.fingerprints(new.title, new.text, new.url)
        with self._writing(new.source) as s:
            if self.fence is not None:
                self._catch_up(s)
            # A story with the source's own id is the same story only under that id: a correction re-published
            # under a new id with the same link is a new story (stored under its key, the link kept on it).
            lookup = [new.key] if new.key else urls
            hit = s.execute(select(StoryUrl.story_id).where(StoryUrl.url.in_(lookup)).limit(1)).scalar()
            if hit is not None:
                if not new.key:
                    self._add_aliases(s, urls, hit)
                return Added("known", hit)
            added = self._insert(s, new, urls, text_hash, sim, now, window, plan, thread_window)
        # only now, committed: a rolled-back story (disk full, locked) never enters the window, where its id
        # (which SQLite reuses) would later make an unrelated story look like its copy
        if sim is not None and added.status == "new" and self._window is not None:
            self._window.append((added.story_id, now, sim))
        if added.story is not None:
            self._threads.committed(added.story)
            if self._seen_upto is not None:
                self._seen_upto = max(self._seen_upto, added.story_id)
        return added

    def _catch_up(self, s: Session) -> None:
        """Cluster mode: wait for the cluster's story lock (held to this transaction's end), then add the stories
        other workers committed since the last call to the windows. Under the lock ids grow in commit order,
        so `id > last seen` misses none."""
        s.execute(text("SELECT pg_advisory_xact_lock(hashtext('newsradar:stories:' || current_database() || '.' "
                       "|| current_schema()))"))
        if self._seen_upto is None:  # the windows are read whole when first used
            self._seen_upto = s.scalar(select(func.coalesce(func.max(Story.id), 0)))
            return
        for row in s.execute(select(Story.id, Story.first_seen, Story.simhash, Story.duplicate_of, Story.thread_id,
                                    Story.thread_sig, Story.tickers, Story.source)
                             .where(Story.id > self._seen_upto).order_by(Story.id)):
            if row.duplicate_of is None:
                if row.simhash is not None and self._window is not None:
                    self._window.append((row.id, row.first_seen, row.simhash))
                if row.thread_sig is not None:
                    self._threads.add(row.id, row.first_seen, row.thread_id, row.thread_sig, row.tickers, row.source)
            self._seen_upto = row.id

    def _insert(self, s: Session, new: NewStory, urls: list[str], text_hash: str, sim: int | None,
                now: datetime, window: timedelta, plan: Planner | None, thread_window: timedelta | None) -> Added:
        story_url = new.url
        if new.key:
            taken = set(s.scalars(select(StoryUrl.url).where(StoryUrl.url.in_(urls))))
            story_url = new.url if new.url not in taken else new.key
            urls = list(dict.fromkeys([new.key, *(u for u in urls if u not in taken)]))
        # A disclosure is never a syndicated copy: the exchange's id decides.
        original = None if new.origin == "disclosure" else self._find_copy(s, new, text_hash, sim, now - window)
        published, offset = now, None
        if new.published is not None and new.published.tzinfo is None:  # a naive page time is UTC (NewStory)
            published = new.published.replace(tzinfo=timezone.utc)
        elif new.published is not None:
            published = new.published.astimezone(timezone.utc)
            offset = int(new.published.utcoffset().total_seconds() // 60)
        first_seen = new.date_is_first_seen or new.published is None
        story = Story(
            url=story_url, source=new.source, title=new.title, text=new.text, lang=new.lang,
            published=published, published_offset=offset, date_is_first_seen=first_seen,
            date_source=new.date_source or ("first-seen" if first_seen else None), date_note=new.date_note,
            first_seen=now, content_hash=text_hash, simhash=sim,
            duplicate_of=original.id if original else None, origin=new.origin,
            tickers=list(new.tickers) if new.tickers else None, company=new.company,
            category=new.category, doc_url=new.doc_url,
        )
        s.add(story)
        s.flush()
        self._add_aliases(s, urls, story.id)
        added = Added("duplicate" if original else "new", story.id, original.id if original else None, story=story)
        thread = threads.assign(s, story, now - thread_window, self._threads) if thread_window is not None else None
        if plan is not None:
            already = set()
            if original is not None:
                already = set(s.scalars(select(Match.rule).where(Match.story_id == original.id)))
            matches, rows = plan(story, PlanContext(already, thread, s, now))
            s.add_all(matches)
            s.add_all(rows)
            s.flush()
            added.outbox_ids = [r.id for r in rows]
            added.not_alerted = story.not_alerted
        return added

    @staticmethod
    def _add_aliases(s: Session, urls: list[str], story_id: int) -> None:
        present = set(s.scalars(select(StoryUrl.url).where(StoryUrl.url.in_(urls))))
        s.add_all(StoryUrl(url=u, story_id=story_id) for u in urls if u not in present)

    def _find_copy(self, s: Session, new: NewStory, text_hash: str, sim: int | None,
                   since: datetime) -> Story | None:
        """The first story of the window with the same text (exactly, or within SimHash distance) that is the same
        story (fingerprint.same_story: briefs differing only in a figure or a ticker are not)."""
        recent = select(Story).where(Story.first_seen >= since, Story.duplicate_of.is_(None))
        for exact in s.scalars(recent.where(Story.content_hash == text_hash).order_by(Story.id).limit(20)):
            if fingerprint.same_story(new.title, new.text, exact.title, exact.text):
                return exact
        if sim is None:
            return None
        if self._window is None or since < self._window_since:  # first use, or a longer dedupe_window
            self._window_since = since
            self._window = deque(s.execute(
                select(Story.id, Story.first_seen, Story.simhash).where(
                    Story.first_seen >= since, Story.duplicate_of.is_(None), Story.simhash.is_not(None)
                ).order_by(Story.id)
            ))
        while self._window and self._window[0][1] < since:
            self._window.popleft()
        for story_id, _seen, other in self._window:  # rows unpack like tuples
            if fingerprint.is_near(sim, other):
                found = s.get(Story, story_id)  # None: a story rolled back after it was listed
                if found is not None and fingerprint.same_story(new.title, new.text, found.title, found.text):
                    return found
        return None

    def update_health(self, source: str, update: Callable[[SourceHealth], Any],
                      notices: Callable[[Any], list[Outbox]] | None = None) -> Any:
        """Apply `update` to the source's health record in one transaction and return what it returns. When that
        is a change (not None), the outbox rows `notices(change)` are written in the same transaction: a crash
        cannot record the change and lose the operator's notice of it."""
        with self._writing(source) as s:
            row = s.get(SourceHealth, source) or SourceHealth(source=source, state="ok", failures=0, polls=0, stories=0)
            s.add(row)
            change = update(row)
            if change is not None and notices is not None:
                s.add_all(notices(change))
            return change

    def health(self) -> dict[str, SourceHealth]:
        with self.session() as s:
            return {h.source: h for h in s.scalars(select(SourceHealth))}

    def shift_retry_times(self, delta: timedelta) -> int:
        """After the wall clock stepped by `delta`: alert retries and failed articles' next tries move with it,
        so they stay due after the same real time (crawler.run.steady). Digest and quiet-hour holds are local-time
        appointments and stay. Returns the rows moved."""
        moved = 0
        with self.session.begin() as s:
            for row in s.scalars(select(Outbox).where(Outbox.status == "pending", Outbox.held.is_(False))):
                row.next_attempt += delta
                moved += 1
            for failed in s.scalars(select(FailedUrl)):
                failed.next_try += delta
                moved += 1
        return moved


def _masked(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL has no password we could find either
        return url.split("@")[-1]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, busy_ms: int) -> None:
    # WAL lets the CLI read while the daemon writes; busy_timeout waits instead of failing on a held lock.
    # synchronous=NORMAL in WAL mode: a killed process loses no committed transaction (only a power cut can
    # lose the last few), and a commit costs no fsync. isolation_level=None: the driver issues no BEGIN of
    # its own, so _sqlite_begin decides how each transaction starts (SQLAlchemy's documented pysqlite recipe).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={busy_ms}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _pg_worker_session(dbapi_conn: Any, _record: Any, worker: str, idle_ms: int) -> None:
    # application_name: pg_stat_activity shows which worker a connection is (63 bytes at most)
    with dbapi_conn.cursor() as cur:
        cur.execute("SELECT set_config('application_name', %s, false)", (f"newsradar {worker}"[:63],))
        cur.execute("SELECT set_config('idle_in_transaction_session_timeout', %s, false)", (str(int(idle_ms)),))
    dbapi_conn.commit()


def _sqlite_begin(conn: Any) -> None:
    # a write transaction takes the write lock first (waiting up to busy_timeout); a read one never blocks
    write = conn.get_execution_options().get("newsradar_write")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
