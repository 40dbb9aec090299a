"""Event threads in the store: which thread a new story joins, decided in the transaction that stores it.

A thread is the set of stories about one event across outlets; its id is the id of its first story. When a story
is stored (crawler.store.Store.add_story):
1. a syndicated copy joins its original's thread (it is the same article);
2. an original gets the signature of its folded title + lead (crawler.dedupe.threads: the method and its
   thresholds are stated there; folding is the rules' own, alerts.rules.normalize, so "科大訊飛" and "科大讯飞"
   compare equal) and is compared with every original of ANOTHER source first seen within `threads.window`
   (default 6 h): one outlet's own stories are its items, never merged (a wire's templated briefs, a filing
   notice per company, stay stories that alert on their own); it joins the thread of the most similar story
   that is the same event (shared tickers lower the bar), else it starts a thread of its own;
3. the planner learns the thread (`ThreadInfo`): its id and which notifiers it has already alerted, so a later
   story of the thread does not alert there again (alerts.delivery.outbox: it goes out as a follow-up instead).
"""

from __future__ import annotations

from collections import deque
from itertools import islice
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.rules.normalize import fold
from crawler.dedupe import threads as method
from crawler.store.tables import Outbox, Story

CANDIDATES = 5000  # originals of the window compared at most (newest first): bounds a flood's cost
LEAD_CHARS = 1000  # of the text folded for the signature (which reads its own, shorter lead)


@dataclass
class ThreadInfo:
    thread_id: int
    notified: set[str] = field(default_factory=set)  # notifiers an alert of the thread was queued for


class Recent(NamedTuple):
    story_id: int
    first_seen: datetime
    thread_id: int
    sig: list[int]
    tickers: frozenset[str]
    source: str


class Window:
    """The originals first seen within the thread window, with their signatures, kept in memory like the
    SimHash window (one process writes a store, crawler.run.lock; in a cluster each worker's window catches up
    with the others', Store._catch_up): read from the store once, then appended to
    as stories commit, so a new story costs no query and no JSON decoding of its candidates."""

    def __init__(self) -> None:
        self.rows: deque[Recent] = deque()
        self.since: datetime | None = None

    def recent(self, s: Session, since: datetime) -> deque[Recent]:
        if self.since is None or since < self.since:  # first use, or a longer window after a reload
            self.since = since
            self.rows = deque(Recent(i, seen, thread or i, sig, frozenset(tickers or ()), source)
                              for i, seen, thread, sig, tickers, source in s.execute(
                select(Story.id, Story.first_seen, Story.thread_id, Story.thread_sig, Story.tickers, Story.source)
                .where(Story.first_seen >= since, Story.duplicate_of.is_(None), Story.thread_sig.is_not(None))
                .order_by(Story.id)))
        while self.rows and self.rows[0].first_seen < since:
            self.rows.popleft()
        return self.rows

    def committed(self, story: Story) -> None:
        """A story that started or joined a thread was committed: later stories compare with it."""
        if story.thread_sig is not None:
            self.add(story.id, story.first_seen, story.thread_id, story.thread_sig, story.tickers, story.source)

    def add(self, story_id: int, first_seen: datetime, thread_id: int | None, sig: list[int], tickers: list | None,
            source: str) -> None:
        """A committed original with a signature (this process's, or another cluster worker's)."""
        if self.since is not None:
            self.rows.append(Recent(story_id, first_seen, thread_id or story_id, sig, frozenset(tickers or ()),
                                    source))


def signature_of(title: str | None, text: str | None) -> list[int]:
    return method.signature(fold(title or "").text, fold((text or "")[:LEAD_CHARS]).text)


def assign(s: Session, story: Story, since: datetime, window: Window) -> ThreadInfo:
    """Put `story` (flushed, with its id) in a thread: its original's, the most similar of the window's, or its
    own; sets `story.thread_id` and `story.thread_sig` and returns what the planner needs."""
    if story.duplicate_of is not None:
        original = s.get(Story, story.duplicate_of)
        story.thread_id = original.thread_id or original.id if original is not None else story.id
        return describe(s, story)
    story.thread_sig = signature_of(story.title, story.text)
    tickers = set(story.tickers or ())
    best, best_score = None, 0.0
    recent = window.recent(s, since)
    for other in islice(recent, max(0, len(recent) - CANDIDATES), None):  # the newest, oldest first
        if other.story_id == story.id or other.source == story.source:
            continue
        shared = len(tickers & other.tickers)
        if not method.same_event(story.thread_sig, other.sig, shared_tickers=shared):
            continue
        score = method.similarity(story.thread_sig, other.sig)
        if score > best_score:
            best, best_score = other.thread_id, score
    story.thread_id = best if best is not None else story.id
    return describe(s, story)


def describe(s: Session, story: Story) -> ThreadInfo:
    """The thread `story` is in, as the planner sees it (before this story's own outbox rows exist)."""
    notified = set(s.scalars(
        select(Outbox.notifier).join(Story, Story.id == Outbox.story_id)
        .where(Story.thread_id == story.thread_id, Outbox.kind == "alert", Story.id != story.id).distinct()))
    return ThreadInfo(story.thread_id, notified)


def sizes(s: Session, thread_ids: set[int]) -> dict[int, int]:
    """Originals per thread (for `items --json`'s `thread_size`)."""
    if not thread_ids:
        return {}
    return dict(s.execute(select(Story.thread_id, func.count()).where(
        Story.thread_id.in_(thread_ids), Story.duplicate_of.is_(None)).group_by(Story.thread_id)).all())


def also_reported_by(s: Session, stories: list[Story]) -> dict[int, list[str]]:
    """Per story id, the other sources of its thread, first seen first (for templates): one query for all."""
    threads = {st.thread_id for st in stories if st.thread_id is not None}
    if not threads:
        return {}
    members: dict[int, list[str]] = {}
    for thread, source in s.execute(select(Story.thread_id, Story.source).where(Story.thread_id.in_(threads))
                                    .order_by(Story.id)):
        members.setdefault(thread, []).append(source)
    return {st.id: list(dict.fromkeys(src for src in members.get(st.thread_id, ()) if src != st.source))
            for st in stories}
