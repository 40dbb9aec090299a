"""A store created by an older newsradar opens under today's code (crawler.store.migrate), losing nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Column, MetaData, Table, UniqueConstraint, create_engine, insert, inspect, select

from crawler.items import NewStory
from crawler.store.database import Outbox, Store


def _old_outbox(url: str, story_id: int) -> None:
    """Replace the outbox by the table as newsradar created it before operator notices: no `kind`, no
    `payload`, no `claimed_by`, `story_id` NOT NULL; and put one alert row in it."""
    engine = create_engine(url)
    old = MetaData()
    columns = [Column(c.name, c.type, primary_key=c.primary_key, index=c.index,
                      nullable=False if c.name == "story_id" else c.nullable)
               for c in Outbox.__table__.c if c.name not in ("kind", "payload", "key", "claimed_by")]
    table = Table("outbox", old, *columns, UniqueConstraint("story_id", "notifier", "target"))
    with engine.begin() as conn:
        Outbox.__table__.drop(conn)
        old.create_all(conn)
        now = datetime(2026, 1, 5, 8, 0)
        conn.execute(insert(table).values(id=41, story_id=story_id, notifier="desk", target=0, rules=[["r", ["t"]]],
                                          urgent=False, status="dead", attempts=8, next_attempt=now, created=now,
                                          held=False, reported=True))
    engine.dispose()


def test_an_old_outbox_gains_kind_payload_and_a_nullable_story(store):
    url = store.url
    story_id = store.add_story(NewStory("https://a.example/1", "s", "T", "text", "en", None, True),
                               timedelta(days=1)).story_id
    store.close()
    _old_outbox(url, story_id)
    reopened = Store(url)
    try:
        columns = {c["name"]: c for c in inspect(reopened.engine).get_columns("outbox")}
        assert {"kind", "payload", "key", "claimed_by"} <= set(columns) and columns["story_id"]["nullable"]
        (row, _title), = reopened.outbox_rows()
        assert row.claimed_by is None
        assert (row.id, row.kind, row.status, row.attempts, row.rules) == (41, "alert", "dead", 8, [["r", ["t"]]])
        with reopened.session.begin() as s:  # a notice needs no story
            s.add(Outbox(story_id=None, kind="ops", payload={"title": "t", "body": "b"}, notifier="ops", target=0,
                         rules=[], status="pending", next_attempt=row.created, created=row.created))
        with reopened.session() as s:
            assert sorted(s.scalars(select(Outbox.kind))) == ["alert", "ops"]
        indexes = {i["name"] for i in inspect(reopened.engine).get_indexes("outbox")}
        assert {"ix_outbox_status", "ix_outbox_next_attempt", "ix_outbox_story_id"} <= indexes
    finally:
        reopened.close()
    Store(url).close()  # opening a current store again changes nothing
