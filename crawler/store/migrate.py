"""Bringing a store created by an older newsradar up to today's tables, when it is opened.

`create_all` creates missing tables but never alters one that exists, so `upgrade(engine)` does the rest, each
step idempotent and in one transaction, detected from the columns the store has (no version table to drift):

1. `stories` gains the columns added since it was first created (all nullable): `ALTER TABLE ... ADD COLUMN`.
2. `outbox` gains `kind` (existing rows are `alert`), `payload` and `key` (unique), and its `story_id` becomes
   nullable so an operator notice or a scheduled report can be a row like any alert. PostgreSQL alters the
   table in place; SQLite cannot drop a NOT NULL constraint, so it rebuilds the table (SQLite's documented 12-step procedure: new table, copy every row
   with its id, drop the old one) inside the same transaction: a failure leaves the old table untouched.
3. `outbox` gains `claimed_by` (nullable: the cluster worker sending a row).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect

from crawler.store.tables import Base, Outbox, Story

# Columns of `stories` added after its first release.
STORY_COLUMNS = ("date_source", "date_note", "not_alerted", "tickers", "company", "category", "doc_url",
                 "thread_id", "thread_sig")


def upgrade(engine: Any) -> None:
    """Apply every step the store still needs (a no-op on a current store)."""
    _story_columns(engine)
    _outbox_notices(engine)
    _outbox_claims(engine)


def _story_columns(engine: Any) -> None:
    present = {c["name"] for c in inspect(engine).get_columns("stories")}
    missing = [name for name in STORY_COLUMNS if name not in present]
    if not missing:
        return
    with engine.begin() as conn:
        for name in missing:
            kind = Story.__table__.c[name].type.compile(dialect=engine.dialect)
            conn.exec_driver_sql(f"ALTER TABLE stories ADD COLUMN {name} {kind}")
        if "thread_id" in missing:
            conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_stories_thread_id ON stories (thread_id)")


def _outbox_notices(engine: Any) -> None:
    columns = {c["name"]: c for c in inspect(engine).get_columns("outbox")}
    if {"kind", "payload", "key"} <= set(columns) and columns["story_id"]["nullable"]:
        return
    if engine.dialect.name != "sqlite":
        added = {"kind": "VARCHAR(16) DEFAULT 'alert' NOT NULL", "key": "VARCHAR(200) UNIQUE",
                 "payload": Outbox.__table__.c.payload.type.compile(dialect=engine.dialect)}
        with engine.begin() as conn:
            for name, kind in added.items():
                if name not in columns:
                    conn.exec_driver_sql(f"ALTER TABLE outbox ADD COLUMN {name} {kind}")
            conn.exec_driver_sql("ALTER TABLE outbox ALTER COLUMN story_id DROP NOT NULL")
        return
    old = [name for name in columns if name in Outbox.__table__.c]
    with engine.begin() as conn:
        # Index names are global in SQLite and a renamed table keeps its indexes: drop them before re-creating.
        for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                                            "tbl_name = 'outbox' AND sql IS NOT NULL").all():
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        conn.exec_driver_sql("ALTER TABLE outbox RENAME TO outbox_before_notices")
        Base.metadata.create_all(conn, tables=[Outbox.__table__])
        listed = ", ".join(old)
        conn.exec_driver_sql(f"INSERT INTO outbox ({listed}) SELECT {listed} FROM outbox_before_notices")
        conn.exec_driver_sql("DROP TABLE outbox_before_notices")


def _outbox_claims(engine: Any) -> None:
    if "claimed_by" in {c["name"] for c in inspect(engine).get_columns("outbox")}:
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE outbox ADD COLUMN claimed_by VARCHAR(200)")
