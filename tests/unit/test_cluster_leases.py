"""Leases on the machine's PostgreSQL (crawler.store.cluster), in process: claims are exclusive, a taken-over poll
is fenced out of every write, dead workers' alerts are put back, clocks are the database's, and the dedupe
windows of two workers see each other's stories."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text

from crawler.config.model import ConfigError, parse_config
from crawler.items import NewStory
from crawler.run.cluster import ClusterRefused, ClusterWorker, config_digest, next_due
from crawler.run.lock import InstanceLock, InstanceLocked
from crawler.store.cluster import Fenced, Leases, cluster_hash
from crawler.store.database import Outbox, SourceHealth, Store, Story, Validator, utcnow
from tests.conftest import pg_schema

WINDOW = timedelta(days=7)
NAMES = [f"s{i}" for i in range(6)]
BODY = " ".join(f"word{i} sentence about chips and iFlytek models {i % 7}" for i in range(60))


@pytest.fixture
def pg():
    with pg_schema() as url:
        stores = []

        def open_store() -> Store:
            stores.append(Store(url))
            return stores[-1]

        yield open_store
        for s in stores:
            s.close()


def _leases(store: Store, name: str, lease: float = 60) -> Leases:
    leases = Leases(store, name, timedelta(seconds=lease))
    leases.register("h")
    leases.sync({n: "every 60" for n in NAMES})
    return leases


def _expire(store: Store, source: str) -> None:
    """The lease ran out (by the database's clock) without waiting for it."""
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE source_schedule SET lease_until = (now() AT TIME ZONE 'UTC') - interval '1 second' "
                          "WHERE source = :s"), {"s": source})


CLUSTER = "store: postgresql+psycopg://x@127.0.0.1/test\ncluster: {}\n"


def cfg(text_: str):
    return parse_config(text_, Path("config.yaml"))


def story(url: str, source: str = "s0", text_: str = BODY) -> NewStory:
    return NewStory(url=url, source=source, title="T", text=text_, lang="en", published=None, date_is_first_seen=True)


def test_two_workers_never_claim_one_source(pg):
    store = pg()
    a, b = _leases(store, "a"), _leases(store, "b")
    got_a = a.claim(NAMES, 4)
    got_b = b.claim(NAMES, 4)
    assert len(got_a) == 4 and len(got_b) == 2
    assert not {x.source for x in got_a} & {x.source for x in got_b}
    assert a.claim(NAMES, 4) == [] and b.claim(NAMES, 4) == []  # all leased


def test_a_released_source_is_not_due_again_before_its_next_poll(pg):
    store = pg()
    a, b = _leases(store, "a"), _leases(store, "b")
    lease = a.claim(["s0"], 1)[0]
    assert a.release(lease, lease.claimed_at + timedelta(minutes=5))
    assert b.claim(["s0"], 1) == []  # not due
    assert [x.source for x in b.claim(["s0"], 1, due_only=False)] == ["s0"]  # `due_only=False` ignores next_due
    workers, schedule, _ = b.state()
    assert schedule["s0"]["owner"] == "b" and schedule["s0"]["last_owner"] == "a"


def test_an_expired_lease_is_taken_over_and_the_old_poll_is_fenced_out_of_every_write(pg):
    store_a, store_b = pg(), pg()
    a, b = _leases(store_a, "a"), _leases(store_b, "b")
    store_a.share("a", a.check)
    store_b.share("b", b.check)
    lease_a = a.claim(["s0"], 1)[0]
    store_a.save_validators("s0", {"https://x.example/feed": ('"v1"', None)})  # held: written
    _expire(store_a, "s0")
    lease_b = b.claim(["s0"], 1)[0]
    assert lease_b.epoch == lease_a.epoch + 1
    store_b.save_validators("s0", {"https://x.example/feed": ('"v2"', None)})

    # a resumes: every write of its poll is refused, and nothing of it is stored
    with pytest.raises(Fenced):
        store_a.save_validators("s0", {"https://x.example/feed": ('"v1-late"', None)})
    with pytest.raises(Fenced):
        store_a.add_story(story("https://x.example/late"), WINDOW)
    with pytest.raises(Fenced):
        store_a.record_failure("https://x.example/broken", "s0", "boom")
    with pytest.raises(Fenced):
        store_a.update_health("s0", lambda h: None)
    assert a.heartbeat("hash", 0, 0) == {"s0"}  # the heartbeat says the lease is lost
    assert not a.release(lease_a, None)
    with store_b.session() as s:
        assert s.scalar(select(Validator.etag)) == '"v2"'
        assert s.scalar(select(Story.id)) is None
        assert s.scalar(select(SourceHealth.source)) is None
    assert b.release(lease_b, None)


def test_a_write_for_a_source_this_worker_does_not_lease_is_refused(pg):
    store = pg()
    a = _leases(store, "a")
    store.share("a", a.check)
    with pytest.raises(Fenced):
        store.save_validators("s1", {"https://x.example/feed": ('"v"', None)})


def test_a_workers_clock_does_not_move_leases(pg):
    """One worker's clock is 30 s (and 10 min) ahead: it still cannot take a lease before the database says it
    has expired, and the next poll is planned from the database's time of the claim."""
    store = pg()
    a = _leases(store, "a")
    config = cfg(CLUSTER)
    ahead = ClusterWorker(store, config, clock=lambda: utcnow() + timedelta(seconds=30))
    b = ahead.leases = _leases(store, "b")
    [lease] = a.claim(["s0"], 1)
    for offset in (30, 600):
        ahead.clock = lambda offset=offset: utcnow() + timedelta(seconds=offset)
        assert b.claim(["s0"], 1) == []
    src = cfg("sources: [{name: s0, type: feed, url: 'https://x.example/f', every: 60s, jitter: 0s}]\n").sources[0]
    due = next_due(src, config, lease.claimed_at, random.Random(1))
    assert due == lease.claimed_at + timedelta(seconds=60)
    assert a.release(lease, due)
    assert b.claim(["s0"], 1) == []  # due in 60 s by the database's clock, whatever b's says


def test_the_worker_says_when_its_clock_is_off_the_databases(pg, caplog):
    store = pg()
    config = cfg("store: postgresql+psycopg://x@127.0.0.1/test\ncluster: {}\nsources: []\n")
    worker = ClusterWorker(store, config, clock=lambda: utcnow() + timedelta(seconds=30))
    asyncio.run(worker.join())
    assert worker.skew is not None and timedelta(seconds=25) < worker.skew < timedelta(seconds=35)
    assert "clock is +30 s off the database's" in caplog.text
    asyncio.run(worker.leave())


def test_only_dead_workers_alerts_are_put_back(pg):
    store = pg()
    live = _leases(store, "live")
    _leases(store, "dead")  # registered, then silent
    now = utcnow()
    with store.session.begin() as s:
        for owner in ("live", "dead", None):
            s.add(Outbox.message("ops", "desk", 0, {"title": "t", "body": "b"}, now))
        s.flush()
        for row, owner in zip(s.scalars(select(Outbox).order_by(Outbox.id)), ("live", "dead", None)):
            row.status, row.claimed_by = "sending", owner
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE workers SET heartbeat = heartbeat - interval '2 minutes' WHERE id = 'dead'"))
    assert live.reap() == 2  # the dead worker's row and one claimed outside any cluster worker
    with store.session() as s:
        assert dict(s.execute(select(Outbox.claimed_by, Outbox.status)).all()) == {"live": "sending", None: "pending"}
    workers, _, _ = live.state()
    assert {w["id"]: w["alive"] for w in workers} == {"live": True, "dead": False}


def test_a_worker_that_left_gives_its_leases_back(pg):
    store = pg()
    a, b = _leases(store, "a"), _leases(store, "b")
    a.claim(NAMES[:2], 2)
    a.leave()
    assert {x.source for x in b.claim(NAMES[:2], 2)} == set(NAMES[:2])
    workers, _, _ = b.state()
    assert [w["id"] for w in workers] == ["b"]


def test_a_story_another_worker_stored_is_seen_by_the_dedupe_window(pg):
    """Worker 2's SimHash window was read before worker 1 stored the original: it catches up under the cluster's
    story lock, so the syndicated copy is a duplicate, not a second alert."""
    one, two = pg(), pg()
    l1, l2 = _leases(one, "w1"), _leases(two, "w2")
    one.share("w1", l1.check)
    two.share("w2", l2.check)
    l1.claim(["s0"], 1)
    l2.claim(["s1"], 1)
    other = " ".join(f"entirely different report number {i} on bonds" for i in range(60))
    assert two.add_story(story("https://b.example/first", "s1", other), WINDOW).status == "new"  # window read
    original = one.add_story(story("https://a.example/1", "s0"), WINDOW)
    copy = two.add_story(story("https://b.example/copy", "s1", BODY + " Originally published by A."), WINDOW)
    assert copy.status == "duplicate" and copy.duplicate_of == original.story_id


def test_the_cluster_runs_the_config_most_workers_run():
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    w = lambda h, i, alive=True: {"config_hash": h, "since": t0 + timedelta(minutes=i), "alive": alive}  # noqa: E731
    assert cluster_hash([w("x", 0), w("y", 1), w("y", 2)]) == "y"
    assert cluster_hash([w("x", 0), w("y", 1)]) == "x"  # a tie: the oldest worker's
    assert cluster_hash([w("x", 0, alive=False), w("y", 1)]) == "y"
    assert cluster_hash([]) is None


def test_strict_config_refuses_a_worker_whose_config_differs(pg, caplog):
    store = pg()
    base = "store: postgresql+psycopg://x@127.0.0.1/test\ncluster: {strict_config: true}\nsources: []\n"
    running = ClusterWorker(store, cfg(base))
    asyncio.run(running.join())
    edited = cfg(base + "max_age: 3d\n")
    assert config_digest(edited) != running.digest
    with pytest.raises(ClusterRefused, match="differs from the one the cluster runs"):
        asyncio.run(ClusterWorker(store, edited).join())
    lenient = cfg(base.replace("strict_config: true", "strict_config: false") + "max_age: 3d\n")
    joined = ClusterWorker(store, lenient)
    asyncio.run(joined.join())
    assert joined.differs is not None and "CONFIG MISMATCH" in caplog.text
    # what may differ per host does not count
    assert config_digest(cfg(base + "metrics: {port: 9999}\n")) == running.digest


def test_cluster_needs_postgresql():
    with pytest.raises(ConfigError, match="several workers need a PostgreSQL store"):
        cfg("store: sqlite:///x.db\ncluster: {}\n")


def test_cluster_workers_and_a_single_instance_never_share_a_store(pg):
    one, two = InstanceLock(pg(), shared=True).acquire(), InstanceLock(pg(), shared=True).acquire()
    with pytest.raises(InstanceLocked, match="start this one with their `cluster:` section"):
        InstanceLock(pg()).acquire()  # `run --once`, or a daemon without `cluster:`
    one.release()
    two.release()
    single = InstanceLock(pg()).acquire()
    with pytest.raises(InstanceLocked, match="a single newsradar"):
        InstanceLock(pg(), shared=True).acquire()
    single.release()


def test_a_lease_shorter_than_two_claims_is_refused():
    with pytest.raises(ConfigError, match="twice claim_every"):
        cfg(CLUSTER.replace("cluster: {}", "cluster: {lease: 1s, claim_every: 1s}"))
