"""Benchmark: what one pass costs. CPU of an unchanged `run --once`, memory of a big first pass, RSS of workers.

Run: ``python bench/cost.py [--runs 5] [--sources 500] [--only once,first,daemon]``. Every figure is measured in
this run against a baseline measured in the same run, on local sites (tests.support.site.Site):

- ``once``: 5 feeds of 10 items each (and one rule, one notifier), stored by a first pass; then ``--runs`` unchanged passes (every feed a 304)
  of ``newsradar run --once``, of ``urlwatch`` (cron-style, its own cache; skipped if not installed) and of a
  bare ``requests`` + feedparser loop with its ETags in a JSON file (the floor of any Python poller), and of a
  process that only imports what such a pass loads from newsradar's libraries (``LIBRARIES``: Scrapy and its
  HTTP handler, Twisted's reactor, SQLAlchemy, apprise with its plugins, Jinja2, pydantic) and does nothing:
  the floor of any pass built on them; and of the same plus a bare Scrapy spider fetching the 5 feeds once
  (``BARE_SCRAPY``): what of newsradar's CPU is its own. CPU per run of each process with its children
  (RUSAGE_CHILDREN), and the ratios.
- ``first``: a first pass over ``--sources`` feed sources (one article each) spread over 20 loopback hosts
  (127.0.0.1-127.0.0.20), with the default ``parallel_sources: 8`` and with 128; the tree's RSS (main process
  and workers, summed) sampled every 50 ms, its peak; the most polls at once (from the pass summary) and the
  most requests in flight to one host (counted by the sites).
- ``daemon``: ``newsradar run`` on the 5 feeds with ``daemon.worker_idle: 5s``: RSS of the main process and of
  each worker once the first poll has extracted its articles, then the total once the idle workers are stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.procs import children, rss_kb, stop  # noqa: E402
from tests.support.site import Site  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
NEWSRADAR = [sys.executable, "-m", "crawler"]
PASS_LINE = re.compile(r"pass done: (\d+) sources, (\d+) failed, (\d+) new stories.* at most (\d+) polls at once, "
                       r"(\d+) extraction workers started")
BARE_LOOP = r'''
import json, sys
from pathlib import Path
import feedparser, requests
state_file = Path(sys.argv[1])
state = json.loads(state_file.read_text()) if state_file.exists() else {}
session = requests.Session()
for url in sys.argv[2:]:
    seen = state.setdefault(url, {"etag": None, "ids": []})
    headers = {"If-None-Match": seen["etag"]} if seen["etag"] else {}
    resp = session.get(url, headers=headers, timeout=30)
    if resp.status_code == 304:
        continue
    feed = feedparser.parse(resp.content)
    new = [e.get("id") or e.get("link") for e in feed.entries if (e.get("id") or e.get("link")) not in seen["ids"]]
    seen["ids"] += new
    seen["etag"] = resp.headers.get("ETag")
state_file.write_text(json.dumps(state))
'''

# Each of these is loaded by an unchanged `run --once` (python -X importtime shows them); apprise's plugins are loaded
# when the config's notifier URLs are checked.
LIBRARIES = ("import scrapy.crawler, scrapy.core.downloader.handlers.http11, twisted.internet.asyncioreactor, "
             "sqlalchemy.orm, jinja2, pydantic\n"
             "from apprise.manager_plugins import NotificationManager\n"
             "NotificationManager().schemas()")
# The same, plus a bare Scrapy spider (Scrapy's defaults, robots.txt obeyed, no telnet) fetching the feeds once:
# what a pass built on these libraries costs before any code of its own (the feeds are 200s here, not 304s).
BARE_SCRAPY = LIBRARIES + r'''
import sys
import scrapy
from scrapy.crawler import CrawlerProcess
class Feeds(scrapy.Spider):
    name = "feeds"
    async def start(self):
        for url in sys.argv[1:]:
            yield scrapy.Request(url)
    def parse(self, response):
        yield {"url": response.url, "bytes": len(response.body)}
process = CrawlerProcess({"LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False, "ROBOTSTXT_OBEY": True,
                          "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor"})
crawler = process.create_crawler(Feeds)
process.crawl(crawler)
process.start()
sys.exit(0 if crawler.stats.get_value("item_scraped_count") == len(sys.argv) - 1 else "not every feed fetched")
'''


def article(title: str, n: int) -> str:
    para = (f"<p>{title}: the company said demand for data centre power and domestic computing would keep growing, "
            f"and that revenue in quarter {n % 4 + 1} beat the forecasts of analysts polled before the results.</p>")
    return f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{para * 8}</article></body></html>"


def feed(site: Site, path: str, links: list[tuple[str, str]]) -> str:
    items = "".join(f"<item><title>{t}</title><link>{site.url(p)}</link><guid>{site.url(p)}</guid></item>"
                    for t, p in links)
    return site.add(path, f'<?xml version="1.0"?><rss version="2.0"><channel><title>{path}</title>'
                          f"<link>{site.base}/</link><description>d</description>{items}</channel></rss>",
                    "application/rss+xml")


def new_site(host: str = "127.0.0.1") -> Site:
    site = Site(host)
    site.server.socket.listen(128)
    site.add("/robots.txt", "User-agent: *\n", "text/plain")
    return site


def five_feeds(site: Site) -> list[str]:
    urls = []
    for i in range(5):
        links = [(f"Story {i}-{j}", f"/a/{i}-{j}.html") for j in range(10)]
        for title, path in links:
            site.add(path, article(title, i * 10))
        urls.append(feed(site, f"/feed/{i}.xml", links))
    return urls


def config_text(urls: list[str], extra: str = "") -> str:
    sources = "".join(f"  - {{name: s{i}, type: feed, url: '{u}', allow_private: true, every: 1s, jitter: 0s}}\n"
                      for i, u in enumerate(urls))
    # a rule and a notifier as in any real config (so apprise is loaded and the config's notifier check runs)
    alerts = "rules:\n  - {name: iflytek, any: [iFlytek], notify: [desk]}\nnotifiers:\n  desk: {url: 'console://'}\n"
    return f"store: sqlite:///store.db\nfetch: {{delay: 0s}}\n{extra}sources:\n{sources}{alerts}"


def cpu_of(cmd: list[str], runs: int, cwd: Path) -> float:
    """CPU seconds per run of `cmd` (the process and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(runs):
        proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            sys.exit(f"{cmd[:3]} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / runs


def bench_once(runs: int) -> dict:
    site = new_site()
    try:
        urls = five_feeds(site)
        with tempfile.TemporaryDirectory(prefix="newsradar-cost-") as tmp:
            tmp = Path(tmp)
            (tmp / "config.yaml").write_text(config_text(urls))
            once = [*NEWSRADAR, "run", "--once", "-c", str(tmp / "config.yaml")]
            first = subprocess.run(once, cwd=tmp, env=ENV, capture_output=True, text=True, timeout=300)
            m = PASS_LINE.search(first.stderr)
            if not m or m.group(3) != "50":
                sys.exit(f"first pass did not store 50 stories:\n{first.stderr[-4000:]}")
            last = subprocess.run(once, cwd=tmp, env=ENV, capture_output=True, text=True, timeout=300).stderr
            m = PASS_LINE.search(last)
            if not m or m.group(3) != "0" or last.count("status=not-modified") != 5:
                sys.exit(f"an unchanged pass was not 5 x 304:\n{last[-4000:]}")
            result = {"newsradar": cpu_of(once, runs, tmp), "workers_started": int(m.group(5))}
            bare = [sys.executable, "-c", BARE_LOOP, str(tmp / "bare.json"), *urls]
            cpu_of(bare, 1, tmp)
            result["requests+feedparser"] = cpu_of(bare, runs, tmp)
            result["libraries only"] = cpu_of([sys.executable, "-c", LIBRARIES], runs, tmp)
            result["libraries + bare Scrapy"] = cpu_of([sys.executable, "-c", BARE_SCRAPY, *urls], runs, tmp)
            if shutil.which("urlwatch"):
                (tmp / "urls.yaml").write_text("\n---\n".join(f"name: s{i}\nurl: {u}" for i, u in enumerate(urls)))
                uw = ["urlwatch", "--urls", str(tmp / "urls.yaml"), "--config", str(tmp / "urlwatch.yaml"),
                      "--cache", str(tmp / "urlwatch.db")]
                cpu_of(uw, 1, tmp)
                result["urlwatch"] = cpu_of(uw, runs, tmp)
            return result
    finally:
        site.close()


class TreeRss:
    """Samples the summed VmRSS of a process and its children every 50 ms; `peak` in kB."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.workers_peak = pid, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            kids = children(self.pid)
            self.peak = max(self.peak, rss_kb(self.pid) + sum(rss_kb(k) for k in kids))
            self.workers_peak = max(self.workers_peak, len(kids))
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def bench_first(sources: int, parallel: int) -> dict:
    sites = [new_site(f"127.0.0.{h}") for h in range(1, 21)]
    try:
        urls = []
        for i in range(sources):
            site = sites[i % len(sites)]
            site.add(f"/a/{i}.html", article(f"Story {i}", i))
            urls.append(feed(site, f"/feed/{i}.xml", [(f"Story {i}", f"/a/{i}.html")]))
        with tempfile.TemporaryDirectory(prefix="newsradar-cost-") as tmp:
            cfg = Path(tmp) / "config.yaml"
            cfg.write_text(config_text(urls).replace("fetch: {delay: 0s}",
                                                     f"fetch: {{delay: 0s, parallel_sources: {parallel}}}"))
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            proc = subprocess.Popen([*NEWSRADAR, "run", "--once", "-c", str(cfg)], cwd=tmp, env=ENV,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            rss = TreeRss(proc.pid)
            err = proc.communicate(timeout=1800)[1]
            rss.stop()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            m = PASS_LINE.search(err)
            if proc.returncode != 0 or not m:
                sys.exit(f"first pass failed ({proc.returncode}):\n{err[-4000:]}")
            return {"parallel_sources": parallel, "sources": int(m.group(1)), "failed": int(m.group(2)),
                    "new": int(m.group(3)), "polls_at_once": int(m.group(4)), "peak_rss_mb": rss.peak / 1024,
                    "per_host_in_flight": max(s.peak_in_flight for s in sites),
                    "cpu": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime}
    finally:
        for site in sites:
            site.close()


def bench_daemon() -> dict:
    site = new_site()
    try:
        urls = five_feeds(site)
        with tempfile.TemporaryDirectory(prefix="newsradar-cost-") as tmp:
            tmp = Path(tmp)
            (tmp / "config.yaml").write_text(config_text(urls, "daemon: {worker_idle: 5s}\n"))
            log = tmp / "daemon.log"
            proc = subprocess.Popen([*NEWSRADAR, "run", "-c", str(tmp / "config.yaml")], cwd=tmp, env=ENV,
                                    stdout=subprocess.DEVNULL, stderr=log.open("w"))
            try:
                def wait(predicate, what: str, timeout: float = 300):
                    deadline = time.monotonic() + timeout
                    while time.monotonic() < deadline:
                        if predicate():
                            return
                        if proc.poll() is not None:
                            break
                        time.sleep(0.1)
                    sys.exit(f"daemon: no {what}:\n{log.read_text()[-4000:]}")

                wait(lambda: log.read_text().count("new=10") >= 5, "first polls")
                workers = [k for k in children(proc.pid) if b"spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes()]
                busy = {"main_mb": rss_kb(proc.pid) / 1024, "workers_mb": [rss_kb(k) / 1024 for k in workers]}
                busy["total_mb"] = busy["main_mb"] + sum(busy["workers_mb"]) + sum(
                    rss_kb(k) / 1024 for k in children(proc.pid) if k not in workers)
                wait(lambda: "extraction workers stopped" in log.read_text(), "worker release")
                time.sleep(1)
                idle = (rss_kb(proc.pid) + sum(rss_kb(k) for k in children(proc.pid))) / 1024
                return {**busy, "idle_total_mb": idle}
            finally:
                stop(proc)
    finally:
        site.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--only", default="once,first,daemon")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    only = set(args.only.split(","))
    out: dict = {}
    if "once" in only:
        out["once"] = r = bench_once(args.runs)
        print(f"unchanged run --once of 5 feeds, CPU per run (mean of {args.runs}):")
        for name in ("newsradar", "libraries + bare Scrapy", "libraries only", "urlwatch", "requests+feedparser"):
            if name in r:
                print(f"  {name:<22}{r[name] * 1000:8.0f} ms")
        print(f"  extraction workers started by an unchanged pass: {r['workers_started']}")
        for base in ("urlwatch", "requests+feedparser"):
            if base in r:
                print(f"  newsradar / {base}: {r['newsradar'] / r[base]:.1f}x")
        if "urlwatch" in r:
            for floor in ("libraries only", "libraries + bare Scrapy"):
                print(f"  {floor} / urlwatch: {r[floor] / r['urlwatch']:.1f}x")
        print(f"  newsradar's own share: {(r['newsradar'] - r['libraries + bare Scrapy']) * 1000:.0f} ms "
              f"({1 - r['libraries + bare Scrapy'] / r['newsradar']:.0%} of its CPU) over the bare Scrapy pass")
    if "first" in only:
        out["first"] = rows = [bench_first(args.sources, p) for p in (8, 128)]
        print(f"first pass over {args.sources} sources on 20 hosts:")
        for r in rows:
            print(f"  parallel_sources {r['parallel_sources']:>3}: peak RSS {r['peak_rss_mb']:6.0f} MB, at most "
                  f"{r['polls_at_once']} polls at once, at most {r['per_host_in_flight']} requests in flight to one "
                  f"host, {r['new']} new, {r['failed']} failed sources, CPU {r['cpu']:.1f} s")
    if "daemon" in only:
        out["daemon"] = r = bench_daemon()
        print(f"daemon on 5 feeds: main {r['main_mb']:.0f} MB, workers "
              f"{' + '.join(f'{w:.0f}' for w in r['workers_mb'])} MB, total {r['total_mb']:.0f} MB while extracting;"
              f" {r['idle_total_mb']:.0f} MB once idle workers are stopped")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
