"""What a pass costs: polls within `fetch.parallel_sources` and two per host in `run --once` as in the daemon (one
gate, crawler.fetch.limits), and extraction workers only while there is work (crawler.extract.pool.WorkerPool).

Counts, never durations: the local site records how many requests were in flight at once, and worker processes
are looked for in /proc.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from crawler.fetch.limits import PollLimits
from crawler.extract.pool import WorkerPool
from tests.conftest import newsradar
from tests.e2e.test_daemon import _config, _listing, _story, daemon_factory, wait_for  # noqa: F401  (fixture)

EMPTY_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire {n}</title><link>http://127.0.0.1/</link><description>d</description>
</channel></rss>"""


def test_the_poll_gate_holds_parallel_sources_and_two_per_host():
    async def main() -> tuple[int, Counter, Counter, int]:
        limits = PollLimits(parallel=3)
        release = asyncio.Event()
        running: Counter[str] = Counter()
        worst: Counter[str] = Counter()
        done = 0

        async def poll(url: str) -> None:
            nonlocal done
            async with limits.slot(url):
                host = url.split("/")[2]
                running[host] += 1
                worst[host] = max(worst[host], running[host])
                await release.wait()
                running[host] -= 1
                done += 1

        urls = [f"http://{h}.example/feed/{i}" for h in "aaaab" for i in range(3)]  # 12 on a, 3 on b
        tasks = [asyncio.ensure_future(poll(u)) for u in urls]
        for _ in range(20):
            await asyncio.sleep(0)
        at_once, snapshot = limits.running, Counter(running)
        release.set()
        await asyncio.gather(*tasks)
        return at_once, snapshot, worst, done

    at_once, snapshot, worst, done = asyncio.run(main())
    assert at_once == 3 and snapshot == {"a.example": 2, "b.example": 1}, "a's 12 polls do not take b's slot"
    assert max(worst.values()) == 2
    assert done == 15


def test_a_config_reload_resizes_the_gate_for_later_polls():
    limits = PollLimits(parallel=4)
    assert limits.resized(4) is limits
    assert limits.resized(2).parallel == 2


def _feeds_config(site, tmp_path: Path, n: int, parallel: int) -> Path:
    sources = "".join(
        f"""  - name: wire-{i}
    type: feed
    url: {site.add(f'/wire/{i}.xml', EMPTY_FEED.format(n=i), 'application/rss+xml', delay=0.3)}
    allow_private: true
""" for i in range(n))
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
fetch: {{delay: 0s, timeout: 10s, robots: false, parallel_sources: {parallel}}}
sources:
{sources}""")
    return config


def test_run_once_keeps_two_polls_per_host_in_flight(site, tmp_path):
    config = _feeds_config(site, tmp_path, n=10, parallel=8)
    proc = newsradar("run", "--once", "-c", str(config))
    assert sum(site.hits[f"/wire/{i}.xml"] for i in range(10)) == 10
    assert site.peak_in_flight == 2, f"10 sources on one host: {site.peak_in_flight} feeds fetched at once"
    assert "at most 2 polls at once" in proc.stderr


def test_run_once_keeps_parallel_sources(site, tmp_path):
    config = _feeds_config(site, tmp_path, n=4, parallel=1)
    proc = newsradar("run", "--once", "-c", str(config))
    assert sum(site.hits[f"/wire/{i}.xml"] for i in range(4)) == 4
    assert site.peak_in_flight == 1
    assert "at most 1 polls at once" in proc.stderr


def _double(x: int) -> int:
    return 2 * x


def _workers_of(pid: int) -> list[int]:
    """Live extraction workers (spawned pool processes, not multiprocessing's resource tracker) of a process."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == pid and stat[0] != "Z" and b"spawn_main" in cmd:
            found.append(int(entry))
    return found


def test_worker_pool_starts_on_first_task_and_stops_after_idle():
    now = [1000.0]
    pool = WorkerPool(2, idle=60, clock=lambda: now[0])
    try:
        assert pool.pids() == [] and _workers_of(os.getpid()) == [], "no process before there is work"
        assert pool.release_idle() is False
        assert pool.submit(_double, 21).result(timeout=120) == 42
        assert pool.started >= 1 and set(pool.pids()) <= set(_workers_of(os.getpid())) and pool.pids()
        now[0] += 59
        assert pool.release_idle() is False, "not idle long enough"
        assert pool.pids()
        now[0] += 1
        assert pool.release_idle() is True
        assert pool.pids() == [] and _workers_of(os.getpid()) == []
        started = pool.started
        assert pool.submit(_double, 2).result(timeout=120) == 4, "work after a release starts workers again"
        assert pool.started > started
    finally:
        pool.shutdown()
    assert _workers_of(os.getpid()) == []


def test_worker_pool_is_not_released_while_a_task_runs():
    now = [0.0]
    pool = WorkerPool(1, idle=1, clock=lambda: now[0])
    try:
        future = pool.submit(time.sleep, 1.0)
        now[0] += 100
        assert pool.release_idle() is False, "a task is running"
        future.result(timeout=120)
        assert pool.release_idle() is False, "idle is counted from the end of the last task"
        now[0] += 1
        assert pool.release_idle() is True
    finally:
        pool.shutdown()


def _die() -> None:
    os._exit(3)  # a worker killed by a parser segfault, as far as the pool can tell


def test_a_pool_whose_worker_died_is_replaced_on_the_next_submit():
    from concurrent.futures.process import BrokenProcessPool

    pool = WorkerPool(1, idle=60)
    try:
        with pytest.raises(BrokenProcessPool):
            pool.submit(_die).result(timeout=120)
        assert pool.submit(_double, 5).result(timeout=120) == 10
    finally:
        pool.shutdown()
    assert _workers_of(os.getpid()) == []


def test_unchanged_run_once_starts_no_worker(site, tmp_path):
    site.add("/markets/", '<html><body><a class="headline" href="/n/1.html">one</a></body></html>')
    _story(site, "/n/1.html", "iFlytek story")
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
fetch: {{delay: 0s, timeout: 10s}}
sources:
  - name: markets
    type: html
    url: {site.url('/markets/')}
    links: "a.headline"
    allow_private: true
""")
    first = newsradar("run", "--once", "-c", str(config))
    assert re.search(r"new stories.* [12] extraction workers started", first.stderr), first.stderr[-2000:]
    second = newsradar("run", "--once", "-c", str(config), env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert "status=not-modified" in second.stderr
    assert " 0 extraction workers started" in second.stderr, second.stderr[-2000:]
    imported = {line.rsplit("|", 1)[1].strip() for line in second.stderr.splitlines() if line.startswith("import time:")}
    assert "scrapy" in imported, "the import log is read"
    # extraction is imported in workers only; Scrapy components switched off by settings are not imported at all
    assert not imported & {"trafilatura", "numpy", "py3langid", "aiohttp", "tldextract"}, imported & {
        "trafilatura", "numpy", "py3langid", "aiohttp", "tldextract"}


def test_daemon_starts_workers_on_work_and_stops_them_when_idle(site, http_receiver, tmp_path, daemon_factory):
    _listing(site, [])
    config = _config(site, http_receiver, tmp_path)
    text = config.read_text().replace("shutdown_grace: 10s}", "shutdown_grace: 10s, worker_idle: 1s}")
    config.write_text(text)
    d = daemon_factory(config)
    wait_for(lambda: d.text().count("source=markets") >= 2, what="two polls", daemon=d)
    assert _workers_of(d.proc.pid) == [], "no article yet: no worker"
    _listing(site, [_story(site, "/n/1.html", "iFlytek first story")])
    wait_for(lambda: "new=1" in d.text(), what="the story", daemon=d)
    wait_for(lambda: "extraction workers stopped" in d.text(), what="workers released", daemon=d)
    wait_for(lambda: _workers_of(d.proc.pid) == [], what="no worker process", daemon=d)
    _listing(site, ["/n/1.html", _story(site, "/n/2.html", "iFlytek second story")])
    wait_for(lambda: d.text().count("new=1") >= 2, what="a story after the release", daemon=d)
    assert d.stop() == 0
