"""Several `newsradar run` workers on the machine's PostgreSQL (issue 14), as real processes against a local site,
a webhook receiver and an SMTP receiver: each source polled by one worker at a time and never twice within its
interval, every story stored once and alerted once per notifier, and nothing lost when a worker is killed with
SIGKILL or paused with SIGSTOP past its lease.

Each wait is a bounded loop on an observable outcome (a request at the site or a receiver, a row in the store).
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import cli, pg_schema
from tests.e2e.test_daemon import DaemonProcess, wait_for
from tests.support.newssite import article, distinct_lead

EVERY = 2.0  # seconds between polls of a source
LEASE = 3.0


class World:
    """`sources` feeds on the local site, each listing its own articles; `add` publishes one more story."""

    def __init__(self, site, sources: int):
        self.site = site
        self.stories: dict[int, list[str]] = {i: [] for i in range(sources)}
        for i in self.stories:
            self.add(i)

    def feed_path(self, i: int) -> str:
        return f"/f{i}.xml"

    def add(self, i: int, delay: float = 0.0) -> str:
        n = len(self.stories[i])
        path, title = f"/a/{i}-{n}.html", f"iFlytek update {i}-{n}"
        published = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 60))
        body = [distinct_lead(f"{path}-a"), distinct_lead(f"{path}-b"),
                f"iFlytek said its domestic computing power cluster {i}-{n} is training models, at length."]
        self.site.add(path, article(title, body, published, lang="en"), delay=delay)
        self.stories[i].append(title)
        items = "".join(f"<item><title>{t}</title><link>{self.site.url(f'/a/{i}-{k}.html')}</link></item>"
                        for k, t in enumerate(self.stories[i]))
        self.site.add(self.feed_path(i), f'<?xml version="1.0"?><rss version="2.0"><channel><title>f{i}</title>'
                                         f"<link>{self.site.base}/</link><description>d</description>{items}"
                                         f"</channel></rss>", "application/rss+xml")
        return path

    def titles(self) -> set[str]:
        return {t for ts in self.stories.values() for t in ts}


def _config(tmp_path: Path, url: str, world: World, hook, smtp, extra: str = "") -> Path:
    sources = "\n".join(f"  - {{name: f{i}, type: feed, url: '{world.site.url(world.feed_path(i))}', every: {EVERY}s, "
                        f"jitter: 0s, allow_private: true}}" for i in world.stories)
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: "{url}"
fetch: {{delay: 0s, timeout: 10s, robots: false}}
daemon: {{reload_check: 1s, outbox_every: 0.5s, shutdown_grace: 10s}}
cluster: {{lease: {LEASE}s, claim_every: 0.2s}}
{extra}
sources:
{sources}
rules:
  - {{name: watch, any: [iFlytek], notify: [hook, mail]}}
notifiers:
  hook: {{url: "json://127.0.0.1:{hook.port}/alerts"}}
  mail: {{url: "{smtp.url()}"}}
""")
    return config


class Cluster:
    def __init__(self, url: str, tmp_path: Path):
        self.engine = create_engine(url)
        self.tmp_path = tmp_path
        self.workers: list[DaemonProcess] = []

    def start(self, config: Path, n: int) -> None:
        for _ in range(n):
            self.workers.append(DaemonProcess(config, self.tmp_path / f"worker{len(self.workers)}.log"))

    def query(self, sql: str, **params) -> list:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def owner_pid(self, source: str) -> int | None:
        rows = self.query("SELECT w.pid FROM source_schedule s JOIN workers w ON w.id = s.lease_owner "
                          "WHERE s.source = :s AND s.lease_until > (now() AT TIME ZONE 'UTC')", s=source)
        return rows[0][0] if rows else None

    def worker_of(self, pid: int) -> DaemonProcess:
        return next(w for w in self.workers if w.proc.pid == pid)

    def stories(self) -> list[tuple]:
        return self.query("SELECT title, duplicate_of FROM stories")

    def logs(self) -> str:
        return "\n".join(f"--- {w.log.name}\n{w.text()[-3000:]}" for w in self.workers)

    def close(self) -> None:
        for w in self.workers:
            if w.proc.poll() is None:
                w.proc.kill()
            w.proc.wait(10)
        self.engine.dispose()


@pytest.fixture
def cluster(tmp_path):
    with pg_schema() as url:
        c = Cluster(url, tmp_path)
        c.url = url
        try:
            yield c
        finally:
            c.close()


TITLE = re.compile(r"iFlytek update \d+-\d+")


def _hook_titles(hook) -> Counter:
    """Alerts per story title at the webhook (one alert names one story)."""
    return Counter(m for r in hook.requests if r.path.startswith("/alerts")
                   for m in set(TITLE.findall(r.json.get("title", "") + r.json.get("message", ""))))


def _mail_titles(smtp) -> Counter:
    return Counter(m for msg in smtp.messages for m in set(TITLE.findall(str(msg["subject"]))))


def _all_alerted(world: World, hook, smtp):
    return lambda: world.titles() <= set(_hook_titles(hook)) and world.titles() <= set(_mail_titles(smtp))


def _kill_mid_poll(cluster: Cluster, world: World, source: int) -> tuple[int, list[tuple]]:
    """Publish a slow story on `source`, wait until its article is being fetched, then SIGKILL the worker that
    holds the source's lease. Returns the pid and the leases it held (source, lease_until by the database)."""
    slow = world.add(source, delay=2.0)
    wait_for(lambda: world.site.hits[slow] >= 1, timeout=30, what=f"the slow article of f{source} fetched")
    pid = wait_for(lambda: cluster.owner_pid(f"f{source}"), timeout=10, what=f"the owner of f{source}")
    held = cluster.query("SELECT s.source, s.lease_until FROM source_schedule s JOIN workers w ON w.id = s.lease_owner "
                         "WHERE w.pid = :p", p=pid)
    os.kill(pid, signal.SIGKILL)
    cluster.worker_of(pid).proc.wait(10)
    return pid, held


def test_three_workers_share_sixty_sources_and_two_kills_lose_nothing(site, http_receiver, smtp_server, cluster,
                                                                     tmp_path):
    world = World(site, 60)
    config = _config(tmp_path, cluster.url, world, http_receiver, smtp_server)
    cluster.start(config, 3)
    wait_for(_all_alerted(world, http_receiver, smtp_server), timeout=120, what=f"the first 60 alerts\n{cluster.logs()}")
    assert len(cluster.query("SELECT id FROM workers WHERE polls > 0")) >= 2, "the polls are shared"
    status = json.loads(cli("status", "--json", "-c", str(config)).stdout)
    assert [w["alive"] for w in status["workers"]] == [True] * 3 and status["daemon"]["running"]
    assert {w["pid"] for w in status["workers"]} == {w.proc.pid for w in cluster.workers}
    for w in status["workers"]:
        assert {"id", "host", "since", "heartbeat", "sources_leased", "config_matches"} <= set(w) and w["config_matches"]
    owners = {s["owner"] for s in status["sources"]} - {None}
    assert owners <= {w["id"] for w in status["workers"]}
    assert "cluster: 3 of 3 workers alive" in cli("status", "-c", str(config)).stdout

    kills = []
    for victim_source in (7, 31):
        kills.append(_kill_mid_poll(cluster, world, victim_source))
        for i in range(victim_source % 10, 60, 6):  # more news while a worker is down
            world.add(i)
        wait_for(_all_alerted(world, http_receiver, smtp_server), timeout=120,
                 what=f"every alert after killing a worker\n{cluster.logs()}")

    # every story stored once: no second row for any title, and no story recorded as a copy of another
    rows = cluster.stories()
    assert sorted(t for t, _ in rows) == sorted(world.titles())
    assert all(dup is None for _, dup in rows)
    # alerted once per notifier, at most one duplicate per kill
    for got in (_hook_titles(http_receiver), _mail_titles(smtp_server)):
        assert set(world.titles()) <= set(got)
        assert sum(n - 1 for n in got.values()) <= len(kills), got
    # no source polled twice within its interval (its feed requests, at the site), whichever worker polled it
    for i in world.stories:
        times = [t for t, path in site.times if path == world.feed_path(i)]
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert not gaps or min(gaps) >= EVERY * 0.75, (i, gaps)
    # the killed workers' sources were taken over once their leases ran out (database times)
    for pid, held in kills:
        assert held, "the killed worker held the slow source's lease"
        for source, until in held:
            took = cluster.query("SELECT last_polled FROM source_schedule WHERE source = :s AND last_polled > :u",
                                 s=source, u=until)
            assert took, f"{source} was polled again after the lease of the killed worker {pid} ran out"
    alive = [w for w in cluster.workers if w.proc.poll() is None]
    assert len(alive) == 1
    status = json.loads(cli("status", "--json", "-c", str(config)).stdout)
    assert sorted(w["alive"] for w in status["workers"]) == [False, False, True]  # the killed ones: LOST
    assert alive[0].stop() == 0


def test_a_worker_paused_past_its_lease_writes_nothing_when_it_resumes(site, http_receiver, smtp_server, cluster,
                                                                       tmp_path):
    world = World(site, 1)
    first = world.stories[0][0]
    site.add("/a/0-0.html", site.pages["/a/0-0.html"].body, delay=3.0)  # the first poll is slow
    config = _config(tmp_path, cluster.url, world, http_receiver, smtp_server)
    cluster.start(config, 2)
    wait_for(lambda: site.hits["/a/0-0.html"] >= 1, timeout=60, what="the slow article fetched")
    pid = wait_for(lambda: cluster.owner_pid("f0"), timeout=10, what="the owner of f0")
    paused = cluster.worker_of(pid)
    os.kill(pid, signal.SIGSTOP)
    try:
        second = world.add(0)  # the feed changes: its ETag too
        # the other worker takes the source over once the lease runs out, and stores both stories
        wait_for(lambda: (o := cluster.owner_pid("f0")) is not None and o != pid or len(cluster.stories()) == 2,
                 timeout=30, what="the takeover")
        wait_for(lambda: len(cluster.stories()) == 2, timeout=60, what=f"both stories stored\n{cluster.logs()}")
        wait_for(_all_alerted(world, http_receiver, smtp_server), timeout=60, what="both alerts")
        [(etag_after_takeover,)] = cluster.query("SELECT etag FROM validators WHERE url LIKE '%/f0.xml'")
    finally:
        os.kill(pid, signal.SIGCONT)
    # the paused worker resumes its poll: it is fenced out, and says so in its row
    wait_for(lambda: cluster.query("SELECT fenced FROM workers WHERE pid = :p", p=pid)[0][0] >= 1, timeout=30,
             what=f"the resumed worker fenced out\n{cluster.logs()}")
    assert cluster.query("SELECT etag FROM validators WHERE url LIKE '%/f0.xml'") == [(etag_after_takeover,)]
    rows = cluster.stories()
    assert sorted(t for t, _ in rows) == sorted([first, "iFlytek update 0-1"]) and all(d is None for _, d in rows)
    assert second.endswith("0-1.html")
    for got in (_hook_titles(http_receiver), _mail_titles(smtp_server)):
        assert all(got[t] == 1 for t in world.titles()), got
    assert "fenced out" in paused.text()
    assert paused.stop() == 0


def test_a_worker_whose_database_connections_are_cut_carries_on(site, http_receiver, smtp_server, cluster, tmp_path):
    """What a PostgreSQL restart does to a worker, without restarting the machine's server: every connection the
    worker's store opened is terminated; it reconnects and goes on, and the next stories still arrive once."""
    world = World(site, 2)
    config = _config(tmp_path, cluster.url, world, http_receiver, smtp_server)
    cluster.start(config, 1)
    wait_for(_all_alerted(world, http_receiver, smtp_server), timeout=60, what=f"the first alerts\n{cluster.logs()}")
    [(worker,)] = cluster.query("SELECT id FROM workers")
    cut = cluster.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n",
                        n=f"newsradar {worker}"[:63])
    assert cut, "the worker's connections are named after it (pg_stat_activity)"
    world.add(0)
    world.add(1)
    wait_for(_all_alerted(world, http_receiver, smtp_server), timeout=60, what=f"alerts after the cut\n{cluster.logs()}")
    for got in (_hook_titles(http_receiver), _mail_titles(smtp_server)):
        assert all(got[t] == 1 for t in world.titles()), got
    assert cluster.workers[0].proc.poll() is None
    assert cluster.workers[0].stop() == 0
