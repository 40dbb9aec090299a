"""The store's time columns (`UtcDateTime`) on SQLite and PostgreSQL: aware UTC in and out, the same naive UTC in
the table as stores written before the type existed, and SQL comparisons against aware values in any zone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, select, text

from crawler.store.tables import FailedUrl, utcnow

SHANGHAI = timezone(timedelta(hours=8))
NOON_UTC = datetime(2026, 3, 2, 12, 0, 30, 123456, tzinfo=timezone.utc)

# failed_urls as the store before UtcDateTime declared it: a plain DateTime written with naive UTC values
OLD = Table("failed_urls", MetaData(), Column("url", String(2048), primary_key=True), Column("source", String(200)),
            Column("attempts", Integer), Column("error", String), Column("next_try", DateTime))


def _put(store, url: str, when: datetime) -> None:
    with store.session.begin() as s:
        s.add(FailedUrl(url=url, source="s", attempts=1, next_try=when))


def _read(store, url: str) -> datetime:
    with store.session() as s:
        return s.scalar(select(FailedUrl.next_try).where(FailedUrl.url == url))


def _raw(store, url: str) -> datetime:
    """What the table holds, read past the type (as the old code would have)."""
    with store.engine.connect() as conn:
        return conn.execute(select(OLD.c.next_try).where(OLD.c.url == url)).scalar()


def test_utcnow_is_aware_utc():
    assert utcnow().utcoffset() == timedelta(0)


def test_an_aware_utc_time_round_trips_aware(store):
    _put(store, "https://a.example/1", NOON_UTC)
    got = _read(store, "https://a.example/1")
    assert got == NOON_UTC and got.tzinfo == timezone.utc
    assert _raw(store, "https://a.example/1") == NOON_UTC.replace(tzinfo=None), "stored as naive UTC, as before"


def test_a_time_in_another_zone_is_stored_as_the_same_instant(store):
    _put(store, "https://a.example/1", NOON_UTC.astimezone(SHANGHAI))
    got = _read(store, "https://a.example/1")
    assert got.tzinfo == timezone.utc and got.isoformat() == "2026-03-02T12:00:30.123456+00:00"
    assert _raw(store, "https://a.example/1") == datetime(2026, 3, 2, 12, 0, 30, 123456)


def test_a_naive_time_given_to_the_store_is_utc(store):
    _put(store, "https://a.example/1", NOON_UTC.replace(tzinfo=None))
    assert _read(store, "https://a.example/1") == NOON_UTC


def test_a_store_written_by_the_old_code_reads_back_aware(store):
    with store.engine.begin() as conn:
        conn.execute(OLD.insert().values(url="https://a.example/old", source="s", attempts=1,
                                         next_try=datetime(2025, 1, 5, 8, 0)))
    got = _read(store, "https://a.example/old")
    assert got == datetime(2025, 1, 5, 8, 0, tzinfo=timezone.utc) and got.tzinfo == timezone.utc


def test_sql_comparisons_take_aware_values_in_any_zone(store):
    _put(store, "https://a.example/1", NOON_UTC)
    urls = ["https://a.example/1"]
    just_before = (NOON_UTC - timedelta(seconds=1)).astimezone(SHANGHAI)  # 20:00:29 local, the day's UTC noon
    assert store.known_urls(urls, now=just_before) == set(urls)
    assert store.known_urls(urls, now=NOON_UTC.astimezone(SHANGHAI)) == set(), "next_try > now: due again"
    with store.session() as s:
        if store.engine.dialect.name == "postgresql":  # a session zone must not shift stored or compared times
            s.execute(text("SET TIME ZONE 'America/New_York'"))
        assert s.scalar(select(FailedUrl.next_try).where(FailedUrl.next_try > just_before)) == NOON_UTC
        assert s.scalar(select(FailedUrl.next_try).where(FailedUrl.next_try > NOON_UTC)) is None
