"""What the store answers to readers: stories, matches, threads and the outbox as the CLI, the dashboard and the
report read them, and the CLI's replays (`outbox retry`). A mixin of `crawler.store.database.Store` (it uses
only `self.session`), kept apart from the write path (dedupe, threads, planning) that `database` holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update

from crawler.dedupe.urls import canonical_url
from crawler.store import threads
from crawler.store.tables import Match, Outbox, Story, StoryUrl, utcnow


class StoreReads:
    session: object  # crawler.store.database.Sessions

    def stories(self, limit: int | None = 50, duplicates: bool = False) -> list[Story]:
        """Newest first (by publication time, then first seen)."""
        q = select(Story).order_by(Story.published.desc(), Story.id.desc())
        if not duplicates:
            q = q.where(Story.duplicate_of.is_(None))
        if limit:
            q = q.limit(limit)
        with self.session() as s:
            return list(s.scalars(q))

    def matches_for(self, story_ids: Sequence[int]) -> dict[int, list[Match]]:
        out: dict[int, list[Match]] = {}
        if not story_ids:
            return out
        with self.session() as s:
            for m in s.scalars(select(Match).where(Match.story_id.in_(list(story_ids)))):
                out.setdefault(m.story_id, []).append(m)
        return out

    def thread_sizes(self, thread_ids: set[int]) -> dict[int, int]:
        """Originals per event thread (crawler.store.threads)."""
        with self.session() as s:
            return threads.sizes(s, thread_ids)

    def outbox_counts(self) -> dict[str, int]:
        with self.session() as s:
            return dict(s.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all())

    # -- what the CLI reads and replays (`outbox`, `status`, `rules test URL`) -----------------------------------
    def outbox_rows(self, ids: Sequence[int] = (), *, include_sent: bool = False,
                    limit: int = 500) -> list[tuple[Outbox, str | None]]:
        """Outbox rows with their story's title (an operator notice: its own title), newest first: those named by
        `ids`, else every row not yet sent (every row with `include_sent`)."""
        q = select(Outbox, Story.title).outerjoin(Story, Story.id == Outbox.story_id).order_by(Outbox.id.desc())
        if ids:
            q = q.where(Outbox.id.in_(ids))
        elif not include_sent:
            q = q.where(Outbox.status != "sent")
        with self.session() as s:
            return [(row, title if row.story_id is not None else (row.payload or {}).get("title"))
                    for row, title in s.execute(q.limit(limit))]

    def requeue(self, ids: Sequence[int] = (), *, dead: bool = False,
                now: datetime | None = None) -> tuple[int, list[int]]:
        """Queue alerts again as new (attempts, age and the dead report reset): every dead row with `dead`, else
        the rows named by `ids`, all or none. Returns (rows queued, ids not in the outbox)."""
        now = now or utcnow()
        with self.session.begin() as s:
            if not dead:
                known = set(s.scalars(select(Outbox.id).where(Outbox.id.in_(ids))))
                unknown = [i for i in dict.fromkeys(ids) if i not in known]
                if unknown:
                    return 0, unknown
            q = update(Outbox).where(Outbox.status == "dead" if dead else Outbox.id.in_(ids))
            result = s.execute(q.values(status="pending", attempts=0, next_attempt=now, created=now, reported=False))
            return result.rowcount or 0, []

    def outbox_for_story(self, story_id: int) -> list[Outbox]:
        """The alert rows of a story (one per notifier target), oldest first."""
        with self.session() as s:
            return list(s.scalars(select(Outbox).where(Outbox.story_id == story_id).order_by(Outbox.id)))

    def alerted_by_rule(self, since: datetime) -> dict[str, int]:
        """Stories first seen since `since` that were alerted, counted per rule."""
        with self.session() as s:
            return dict(s.execute(
                select(Match.rule, func.count()).join(Story, Story.id == Match.story_id)
                .where(Match.alerted.is_(True), Story.first_seen >= since).group_by(Match.rule)).all())

    def story_for_url(self, url: str) -> tuple[Story, dict[str, bool]] | None:
        """The story seen under `url` (compared canonically, over every URL it was seen under) and, per rule it
        matched when stored, whether that rule was alerted; None when the store has no such story."""
        with self.session() as s:
            story_id = s.scalar(select(StoryUrl.story_id).where(StoryUrl.url == canonical_url(url)))
            story = s.get(Story, story_id) if story_id is not None else None
            if story is None:
                return None
            return story, {m.rule: m.alerted for m in s.scalars(select(Match).where(Match.story_id == story.id))}

