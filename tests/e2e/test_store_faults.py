"""A store that fails (locked by another writer, disk full) loses no story: the poll is an error, nothing of it is
taken as done, and the next poll fetches the story again. Real SQLite files, a second connection holding the write
lock, `PRAGMA max_page_count` for a full disk."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from crawler.items import NewStory
from crawler.store.database import Match, Store, Validator
from tests.conftest import ROOT, items, newsradar
from tests.support.newssite import article

WINDOW = timedelta(days=7)


def _story(url: str, words: list[str]) -> NewStory:
    return NewStory(url, "s", " ".join(words[:6]), " ".join(words), "en", datetime.now(timezone.utc), False)


def _words(seed: int, n: int = 120) -> list[str]:
    rng = random.Random(seed)
    return [f"w{rng.randrange(10**9)}" for _ in range(n)]


def test_a_writer_waits_for_another_writers_lock_instead_of_failing(tmp_path):
    """BEGIN IMMEDIATE: the write lock is taken first and waited for; a deferred transaction that read first
    would fail at once (SQLITE_BUSY) when the other writer commits."""
    db = tmp_path / "store.db"
    store = Store(f"sqlite:///{db}", busy_timeout=30)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO validators (url, source, updated) VALUES ('http://x/', 'x', '2025-01-01')")
    outcome: dict = {}

    def write() -> None:
        try:
            outcome["added"] = store.add_story(_story("https://news.example/a", _words(1)), WINDOW)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            outcome["error"] = exc

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(0.3)  # let the writer reach the lock (if it were late, the test would pass anyway)
    other.execute("COMMIT")
    writer.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["added"].status == "new"


def test_a_write_past_the_busy_timeout_fails_whole(tmp_path):
    db = tmp_path / "store.db"
    store = Store(f"sqlite:///{db}", busy_timeout=0.1)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationalError, match="locked"):
        store.add_story(_story("https://news.example/a", _words(1)), WINDOW)
    other.execute("ROLLBACK")
    assert store.stories() == [] and store.known_urls(["https://news.example/a"]) == set()


def test_disk_full_then_refetch_marks_no_new_story_as_a_copy_of_an_unrelated_one(tmp_path):
    """The rolled-back stories' ids are reused by SQLite: the SimHash window must not remember them."""
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    limit = {"pages": 1_000_000}

    @event.listens_for(store.engine, "begin")
    def _cap(conn):  # the "disk": at most this many pages (per connection, so set on every transaction)
        conn.exec_driver_sql(f"PRAGMA max_page_count={limit['pages']}")

    def plan(story, already):  # the alerts written after the story, in its transaction, fill the disk
        return [Match(story_id=story.id, rule="r", terms=["x" * 300_000])], []

    assert store.add_story(_story("https://news.example/unrelated", _words(0)), WINDOW, plan).status == "new"
    with store.engine.connect() as conn:
        limit["pages"] = conn.exec_driver_sql("PRAGMA page_count").scalar()
    fresh = [_story(f"https://news.example/{i}", _words(i)) for i in range(1, 6)]
    for story in fresh:
        with pytest.raises(OperationalError, match="full"):
            store.add_story(story, WINDOW, plan)
    assert len(store.stories()) == 1, "nothing half-written"
    limit["pages"] = 1_000_000  # space again; the next poll fetches the same stories
    added = [store.add_story(story, WINDOW, plan) for story in fresh]
    assert [a.status for a in added] == ["new"] * 5, [(a.status, a.duplicate_of) for a in added]
    assert all(s.duplicate_of is None for s in store.stories(limit=None, duplicates=True))


def test_a_poll_whose_story_the_locked_store_cannot_take_is_an_error_and_is_fetched_again(site, tmp_path):
    body = ["Locked-store story: iFlytek said domestic computing power matters. " + " ".join(_words(7, 80))]
    site.add("/news/locked.html", article("Locked store story", body, "2025-06-11T09:30:00+08:00"), delay=2.5)
    site.add("/rss.xml", f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>T</title><link>{site.base}/</link><description>d</description>
<item><title>Locked store story</title><link>{site.url('/news/locked.html')}</link></item>
</channel></rss>""", "application/rss+xml")
    db = tmp_path / "store.db"
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
store_busy_timeout: 3s
max_age: 3650d
fetch:
  delay: 0s
sources:
  - name: feed
    type: feed
    url: {site.url('/rss.xml')}
    allow_private: true
""")
    Store(f"sqlite:///{db}").close()
    proc = subprocess.Popen([sys.executable, "-m", "crawler", "run", "--once", "-c", str(config)],
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        for _ in range(600):  # the article is being served (2.5 s): its story is stored after that
            if site.hits["/news/locked.html"] or proc.poll() is not None:
                break
            time.sleep(0.05)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the busy timeout
        poll_line = next((line for line in proc.stderr if "poll source=feed" in line), "")
    finally:
        holder.execute("ROLLBACK") if holder.in_transaction else None  # free: the health write can go on
        rest = proc.stderr.read()
        proc.wait(120)
    assert proc.returncode == 0, rest
    assert "status=error" in poll_line and "1 not stored" in poll_line and "locked" in poll_line, poll_line
    store = Store(f"sqlite:///{db}")
    health = store.health()["feed"]
    assert health.failures == 1 and "not stored" in health.last_error
    with store.session() as s:
        assert s.query(Validator).count() == 0, "the feed's validators are not saved after a poll that lost a story"
    assert items(config) == []

    newsradar("run", "--once", "-c", str(config))
    feed_requests = [h for _, path, h in site.requests if path == "/rss.xml"]
    assert len(feed_requests) == 2 and "If-None-Match" not in feed_requests[1], "refetched, not a 304"
    assert [r["title"] for r in items(config)] == ["Locked store story"]
    assert store.health()["feed"].failures == 0
