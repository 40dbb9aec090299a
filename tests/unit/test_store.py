"""The store, on SQLite in a temp dir and (where NEWSRADAR_TEST_PG_URL is set) on the machine's PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crawler.items import NewStory
from crawler.store.database import Match, Outbox, Store, StoreError

WINDOW = timedelta(days=7)
BODY = " ".join(f"word{i} sentence about chips and iFlytek models {i % 7}" for i in range(60))


def story(url: str, text: str = BODY, **kw) -> NewStory:
    base = dict(url=url, source="s", title="T", text=text, lang="en", published=None, date_is_first_seen=True)
    base.update(kw)
    return NewStory(**base)


def test_a_url_is_one_story_whatever_alias_it_comes_under(store):
    first = store.add_story(story("https://a.example/1", aliases=("https://a.example/1?x",)), WINDOW)
    again = store.add_story(story("https://a.example/1?x", text="other text"), WINDOW)
    assert first.status == "new" and again.status == "known" and again.story_id == first.story_id
    assert len(store.stories()) == 1


def test_a_syndicated_copy_is_a_duplicate_of_the_first(store):
    first = store.add_story(story("https://a.example/1"), WINDOW)
    copy = store.add_story(story("https://b.example/x", text=BODY + " Originally published by A."), WINDOW)
    assert copy.status == "duplicate" and copy.duplicate_of == first.story_id
    assert [s.url for s in store.stories()] == ["https://a.example/1"]
    assert len(store.stories(duplicates=True)) == 2


def test_different_stories_are_not_duplicates(store):
    store.add_story(story("https://a.example/1"), WINDOW)
    other = " ".join(f"entirely different report number {i} on bonds" for i in range(60))
    assert store.add_story(story("https://a.example/2", text=other), WINDOW).status == "new"


def test_empty_texts_do_not_make_two_stories_one(store):
    assert store.add_story(story("https://a.example/1", text="", title="A"), WINDOW).status == "new"
    assert store.add_story(story("https://a.example/2", text="", title="B"), WINDOW).status == "new"


def test_publication_time_is_utc_and_keeps_the_page_offset(store):
    when = datetime(2025, 6, 11, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    store.add_story(story("https://a.example/1", published=when, date_is_first_seen=False), WINDOW)
    row = store.stories()[0]
    assert row.published == datetime(2025, 6, 11, 1, 30, tzinfo=timezone.utc)
    assert row.published_local().isoformat() == "2025-06-11T09:30:00+08:00"
    assert not row.date_is_first_seen


def test_no_date_means_first_seen_marked_as_such(store):
    store.add_story(story("https://a.example/1"), WINDOW)
    row = store.stories()[0]
    assert row.date_is_first_seen and row.published is not None


def test_known_urls_is_one_query_over_stories_and_recent_failures(store):
    store.add_story(story("https://a.example/1", aliases=("https://a.example/alias",)), WINDOW)
    store.record_failure("https://a.example/broken", "s", "HTTP 500")
    urls = ["https://a.example/1", "https://a.example/alias", "https://a.example/broken", "https://a.example/new"]
    assert store.known_urls(urls) == set(urls[:3])
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    assert "https://a.example/broken" not in store.known_urls(urls, now=later), "failures back off, then retry"


def test_validators_round_trip_per_source(store):
    store.save_validators("feed", {"https://a.example/rss": ('"abc"', "Wed, 11 Jun 2025 01:00:00 GMT")})
    assert store.load_validators("feed") == {"https://a.example/rss": ('"abc"', "Wed, 11 Jun 2025 01:00:00 GMT")}
    assert store.load_validators("other") == {}


def test_a_store_that_cannot_be_opened_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="cannot open store"):
        Store(f"sqlite:///{tmp_path}/no/such/dir/x.db")


def test_store_errors_hide_passwords():
    with pytest.raises(StoreError) as exc:
        Store("postgresql+psycopg://user:s3cret@127.0.0.1:1/none?connect_timeout=2")
    assert "s3cret" not in str(exc.value)


def test_a_copy_is_found_in_the_window_index_after_earlier_inserts(store):
    """The in-memory SimHash window sees stories added after it was first loaded, and forgets none."""
    for i in range(5):
        other = " ".join(f"unrelated report {i} number {j} about bonds and rates" for j in range(40))
        store.add_story(story(f"https://a.example/o{i}", text=other), WINDOW)
    first = store.add_story(story("https://a.example/1"), WINDOW)
    copy = store.add_story(story("https://b.example/1", text=BODY + " Republished with permission."), WINDOW)
    assert copy.duplicate_of == first.story_id


def test_a_store_from_before_date_source_gets_the_new_columns(tmp_path):
    """Stores created before `date_source`, `date_note` and `not_alerted` existed gain them when opened."""
    import sqlite3

    path = tmp_path / "old.db"
    Store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:  # the stories table as an older newsradar created it
        for column in ("date_source", "date_note", "not_alerted"):
            conn.execute(f"ALTER TABLE stories DROP COLUMN {column}")
    reopened = Store(f"sqlite:///{path}")
    added = reopened.add_story(story("https://a.example/old-store"), WINDOW)
    row = reopened.stories()[0]
    assert added.status == "new" and row.date_source == "first-seen" and row.not_alerted is None
def test_a_keyed_story_is_known_by_its_key_and_a_new_key_is_a_new_story(store):
    """Disclosures (issue 12): the exchange's id decides; a correction under a new id with the same link and
    title is a new story, not a duplicate; the fields are stored."""
    kw = dict(origin="disclosure", tickers=("002230.SZ",), company="科大讯飞", category="01010503",
              doc_url="https://static.example/1.PDF")
    first = store.add_story(story("https://x.example/detail?id=1", key="cninfo:1", **kw), WINDOW)
    again = store.add_story(story("https://x.example/detail?id=1", key="cninfo:1", **kw), WINDOW)
    assert first.status == "new" and again.status == "known"
    fixed = store.add_story(story("https://x.example/detail?id=1", key="cninfo:2", **kw), WINDOW)
    assert fixed.status == "new" and fixed.duplicate_of is None
    rows = {s.id: s for s in store.stories()}
    assert rows[fixed.story_id].url == "cninfo:2", "the link is taken: stored under its key"
    row = rows[first.story_id]
    assert (row.tickers, row.company, row.category, row.doc_url) == (["002230.SZ"], "科大讯飞", "01010503",
                                                                     "https://static.example/1.PDF")


def test_an_older_store_gets_the_field_columns(tmp_path):
    from sqlalchemy import create_engine, inspect, text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    Store(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:  # a store from before issue 12
        for name in ("tickers", "company", "category", "doc_url"):
            conn.execute(text(f"ALTER TABLE stories DROP COLUMN {name}"))
    assert "tickers" not in {c["name"] for c in inspect(engine).get_columns("stories")}
    engine.dispose()
    reopened = Store(url)
    reopened.add_story(story("https://a.example/1", tickers=("AAPL",)), WINDOW)
    assert reopened.stories()[0].tickers == ["AAPL"]
    reopened.close()


# -- what the CLI reads and replays -------------------------------------------------------------------------------
def _outbox_row(s, story_id: int, notifier: str, status: str, now: datetime) -> Outbox:
    row = Outbox(story_id=story_id, notifier=notifier, target=0, rules=[["r", ["t"]]], status=status, attempts=3,
                 next_attempt=now, created=now, reported=True)
    s.add(row)
    s.flush()
    return row


def test_outbox_rows_requeue_and_alert_counts_are_store_methods(store):
    now = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    added = store.add_story(story("https://news.test/a"), timedelta(days=1))
    with store.session.begin() as s:
        sent, dead, pending = (_outbox_row(s, added.story_id, n, st, now).id
                               for n, st in (("desk", "sent"), ("slack", "dead"), ("ops", "pending")))
        s.add(Match(story_id=added.story_id, rule="iflytek", terms=["iflytek"], alerted=True))
    assert [r.id for r, _ in store.outbox_rows()] == [pending, dead]
    assert [r.id for r, _ in store.outbox_rows(include_sent=True)] == [pending, dead, sent]
    assert [(r.id, title) for r, title in store.outbox_rows([sent])] == [(sent, "T")]

    assert store.requeue([dead, 999_999], now=now) == (0, [999_999])  # all or none
    assert store.requeue(dead=True, now=now + timedelta(hours=1)) == (1, [])
    (row, _), = store.outbox_rows([dead])
    assert (row.status, row.attempts, row.reported, row.created) == ("pending", 0, False, now + timedelta(hours=1))

    first_seen = store.stories(limit=1)[0].first_seen
    assert store.alerted_by_rule(first_seen) == {"iflytek": 1}
    assert store.alerted_by_rule(first_seen + timedelta(seconds=1)) == {}

    found = store.story_for_url("https://NEWS.test/a?utm_source=x")  # compared canonically
    assert found is not None and found[0].id == added.story_id and found[1] == {"iflytek": True}
    assert store.story_for_url("https://news.test/other") is None
