"""Benchmark: several workers on one PostgreSQL store (issue 14) against one worker on SQLite, same run.

Run: ``python bench/cluster.py [--sources 2000] [--workers 1,2,4] [--json]`` (needs the PostgreSQL of
``NEWSRADAR_TEST_PG_URL``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``; each run uses a schema
of its own and drops it).

``--sources`` feed sources spread over 20 loopback hosts (127.0.0.1-127.0.0.20; a process polls at most two
sources of one host at once), every feed listing one article of its host, ``every: 1h``, default
``fetch.parallel_sources`` (8 per worker). For each configuration:

1. warm-up: every source is polled once (its feed answers 200, the validators are stored, each host's article
   is stored once);
2. the measured phase: every source is made due at once, and every feed answers 304. Cluster: ``UPDATE
   source_schedule SET next_due = now()`` with the workers running. SQLite: the warm-up is a ``run --once`` and
   the phase is a daemon started afterwards (which polls everything at start). The phase's rate is the feeds'
   requests at the sites (n - 1) / (last - first), on one clock; every source must be polled again, and a feed
   requested more than once in the phase is a duplicated poll.
3. cluster only: the coordination each poll cost, from the workers' own counters (``workers.coord_queries``,
   ``coord_ms``: claims, heartbeats, lease extensions, releases and the fence checks of every write, timed
   around each statement), their change over the phase divided by its polls.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.exc import ProgrammingError  # noqa: E402

from bench.cost import feed, new_site  # noqa: E402
from bench.procs import stop  # noqa: E402
from tests.support.pg import fresh_schema  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
PG = os.environ.get("NEWSRADAR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HOSTS = 20
ARTICLE = ("<html><head><title>Host story</title></head><body><article><h1>Host story</h1>"
           + "<p>{}</p>" * 3 + "</article></body></html>")


def wait(predicate, what: str, timeout: float = 600, procs: list | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        for p in procs or []:
            if p.poll() is not None:
                sys.exit(f"a worker exited ({p.returncode}) waiting for {what}")
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {what}")


class World:
    def __init__(self, sources: int):
        self.sites = [new_site(f"127.0.0.{h}") for h in range(1, HOSTS + 1)]
        self.feeds: list[tuple[int, str]] = []  # (site index, path)
        for h, site in enumerate(self.sites):
            body = " ".join(f"word{h}x{k} about the host's own news" for k in range(40)) + "."
            site.add("/a/story.html", ARTICLE.format(body, body, body))
        for i in range(sources):
            h = i % HOSTS
            feed(self.sites[h], f"/f{i}.xml", [("Host story", "/a/story.html")])
            self.feeds.append((h, f"/f{i}.xml"))

    def urls(self) -> list[str]:
        return [self.sites[h].url(p) for h, p in self.feeds]

    def mark(self) -> list[int]:
        return [len(s.times) for s in self.sites]

    def feed_times(self, since: list[int]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for h, site in enumerate(self.sites):
            for t, path in site.times[since[h]:]:
                if path.startswith("/f"):
                    out.setdefault(f"{h}{path}", []).append(t)
        return out

    def close(self) -> None:
        for s in self.sites:
            s.close()


def config(store: str, urls: list[str], cluster: bool) -> str:
    sources = "".join(f"  - {{name: s{i}, type: feed, url: '{u}', every: 1h, jitter: 0s, allow_private: true}}\n"
                      for i, u in enumerate(urls))
    section = "cluster: {lease: 8s, claim_every: 0.2s}\n" if cluster else ""
    return (f'store: "{store}"\nfetch: {{delay: 0s, robots: false}}\n'
            f"daemon: {{reload_check: 30s, outbox_every: 5s, shutdown_grace: 10s}}\n{section}sources:\n{sources}")


def start(cfg: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "crawler", "run", "-c", str(cfg)], cwd=cfg.parent, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))


def phase_figures(world: World, mark: list[int], expected: int) -> dict:
    times = world.feed_times(mark)
    stamps = sorted(t for ts in times.values() for t in ts)
    return {"polled": len(times), "duplicated_polls": sum(len(ts) - 1 for ts in times.values()),
            "polls_per_s": (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0,
            "expected": expected}


def bench_sqlite(world: World, tmp: Path) -> dict:
    cfg = tmp / "sqlite.yaml"
    cfg.write_text(config(f"sqlite:///{tmp / 'single.db'}", world.urls(), cluster=False))
    cfg.chmod(0o600)
    subprocess.run([sys.executable, "-m", "crawler", "run", "--once", "-c", str(cfg)], cwd=tmp, env=ENV, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
    n = len(world.feeds)
    mark = world.mark()
    proc = start(cfg, tmp / "sqlite.log")
    try:
        wait(lambda: len(world.feed_times(mark)) >= n, "every source polled by the single worker", procs=[proc])
        time.sleep(1)  # a second request would show here
    finally:
        stop(proc)
    return {"config": "SQLite, 1 worker (no cluster)", **phase_figures(world, mark, n)}


def bench_cluster(world: World, tmp: Path, workers: int) -> dict:
    with fresh_schema(PG, prefix="nr_bench_") as url:
        return _bench_cluster(world, tmp, workers, url)


def _bench_cluster(world: World, tmp: Path, workers: int, url: str) -> dict:
    store = create_engine(url)
    n = len(world.feeds)
    cfg = tmp / f"cluster{workers}.yaml"
    cfg.write_text(config(url, world.urls(), cluster=True))
    cfg.chmod(0o600)
    procs = [start(cfg, tmp / f"cluster{workers}-{k}.log") for k in range(workers)]

    def scalar(sql: str):
        try:
            with store.connect() as conn:
                return conn.execute(text(sql)).scalar()
        except ProgrammingError:  # the workers have not created the tables yet
            return 0

    def counters() -> tuple[int, int, float]:
        try:
            with store.connect() as conn:
                return tuple(conn.execute(text("SELECT COALESCE(SUM(polls), 0), COALESCE(SUM(coord_queries), 0), "
                                               "COALESCE(SUM(coord_ms), 0) FROM workers")).one())
        except ProgrammingError:
            return (0, 0, 0.0)

    try:
        wait(lambda: scalar("SELECT COUNT(*) FROM source_schedule WHERE last_polled IS NOT NULL") == n,
             f"the warm-up of {workers} workers", procs=procs)
        wait(lambda: counters()[0] >= n, "the warm-up's counters written", timeout=60, procs=procs)
        before = counters()
        mark = world.mark()
        with store.begin() as conn:
            reset = conn.execute(text("UPDATE source_schedule SET next_due = (now() AT TIME ZONE 'UTC') "
                                      "RETURNING (now() AT TIME ZONE 'UTC')")).scalar()
        wait(lambda: scalar(f"SELECT COUNT(*) FROM source_schedule WHERE last_polled > '{reset}'") == n,
             f"the phase of {workers} workers", procs=procs)
        wait(lambda: counters()[0] >= before[0] + n, "the phase's counters written", timeout=60, procs=procs)
        after = counters()
        time.sleep(1)
    finally:
        for p in procs:
            stop(p)
        store.dispose()
    polls = after[0] - before[0]
    return {"config": f"PostgreSQL, {workers} worker{'s' if workers > 1 else ''}", **phase_figures(world, mark, n),
            "coord_queries_per_poll": (after[1] - before[1]) / polls, "coord_ms_per_poll": (after[2] - before[2]) / polls}


def _fmt(value: float | None, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    world = World(args.sources)
    try:
        with tempfile.TemporaryDirectory(prefix="newsradar-cluster-") as tmp:
            rows = [bench_sqlite(world, Path(tmp))]
            rows += [bench_cluster(world, Path(tmp), int(w)) for w in args.workers.split(",")]
    finally:
        world.close()
    base = rows[0]["polls_per_s"]
    pg1 = next((r["polls_per_s"] for r in rows if r["config"] == "PostgreSQL, 1 worker"), None)
    for r in rows:
        r["vs_sqlite"] = r["polls_per_s"] / base if base else None
        r["vs_pg_1_worker"] = r["polls_per_s"] / pg1 if pg1 and r["config"].startswith("PostgreSQL") else None
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print("| configuration | polls/s | vs SQLite | vs 1 PG worker | polled | duplicated polls | coordination "
              "queries/poll | coordination ms/poll |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['config']} | {r['polls_per_s']:.0f} | {_fmt(r['vs_sqlite'], '.2f', '×')} | "
                  f"{_fmt(r['vs_pg_1_worker'], '.2f', '×')} | {r['polled']}/{r['expected']} | {r['duplicated_polls']} | "
                  f"{_fmt(r.get('coord_queries_per_poll'), '.1f')} | {_fmt(r.get('coord_ms_per_poll'), '.2f')} |")
    bad = [r for r in rows if r["duplicated_polls"] or r["polled"] != r["expected"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
