"""Benchmark: crawl throughput (items/s) of newsradar against bare Scrapy, in one run, on the same pages.

Run: ``python bench/crawl.py [--rounds 3] [--limit N] [--json] [--stock-site]``.

The 181 real pages of ``../shared/corpora/article-extraction-benchmark`` (or ``$NEWSRADAR_CORPORA/...``) are
served gunzipped as ``text/html`` with no charset (they declare it in <meta>) by ``tests.support.site.Site`` on 127.0.0.1:
``/robots.txt``, ``/index.html`` linking each as ``<a class="headline">``, and ``/a/<id>.html``. Every run gets a
new server (new port), temp dir and Python process (a reactor runs once per process). Each round runs, in turn:

- bare: a minimal Scrapy spider, fetch and parse only (listing, follow links, yield url + <title>), with
  newsradar's ``scrapy_settings`` minus its middlewares and pipelines (same concurrency, robots.txt obeyed, no
  telnet, delay 0), timed on the reactor around ``runner.crawl`` exactly as ``Poller.poll`` times a poll: start-up
  and imports are outside both figures.
- cold: the real ``python -m crawler run --once``; time and count from its ``poll ... new=N ... ms=MS`` log line.
  ``run --once`` does not warm the extraction pool: spawning workers and their first page are inside.
- warm: the same with ``Poller.warm_up()`` awaited before the poll (the workers started before the first article).
- primed: the same with every worker having extracted one article first (trafilatura, py3langid's model and
  dateparser's locale tables loaded), as in a daemon after its first polls: the steady state, the final line's
  figure.
Each newsradar run's SQLite store is checked to hold all N pages.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = Path(os.environ.get("NEWSRADAR_CORPORA", ROOT.parent / "shared" / "corpora")) / "article-extraction-benchmark"
TARGET = 0.45
MODES = ("bare", "cold", "warm", "primed")
POLL_LINE = re.compile(r"poll source=bench status=(\S+) new=(\d+) duplicates=(\d+) alerts=\d+ stale=\d+ failures=(\d+) ms=(\d+)")
CONFIG = """store: sqlite:///store.db
fetch: {{delay: 0s, concurrency: {concurrency}, per_domain: {per_domain}}}
sources:
  - name: bench
    type: html
    allow_private: true
    url: {base}/index.html
    links: "a.headline"
"""
PRIME_PAGE = ("<html><head><title>Chip maker lifts forecast - Example News</title></head><body><article>"
              "<h1>Chip maker lifts forecast</h1><p>March 3, 2021</p>"
              # a byline htmldate hands to dateparser, which then builds the tables of all its locales (2 of the
              # 181 pages do that; a worker pays it once, ~2 s, and a primed worker must have paid it)
              '<span class="date">By Tom Davies, Associated Press. Published 11:34</span>'
              + "<p>Shares of the chip maker rose after quarterly revenue beat forecasts, and the company said demand "
                 "for data centre power and domestic computing would keep growing through the year.</p>" * 12
              + "</article></body></html>").encode()


def serve(pages: dict[str, bytes], stock: bool):
    from tests.support.site import Site

    site = Site()
    if not stock:
        # Site writes headers and body in two send()s on a keep-alive connection: without TCP_NODELAY, Nagle plus
        # delayed ACK stall ~40 ms on many responses. And socketserver listens with a backlog of 5: Scrapy opens
        # bursts of new connections, SYNs beyond the backlog are dropped and retried after TCP's 1 s timeout.
        # Either way the crawlers would measure the server's stalls, not themselves (see --stock-site).
        site.server.RequestHandlerClass.disable_nagle_algorithm = True
        site.server.socket.listen(128)
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    links = "\n".join(f'<li><a class="headline" href="/a/{pid}.html">{pid[:12]}</a></li>' for pid in pages)
    site.add("/index.html", f"<html><head><title>bench</title></head><body><ul>\n{links}\n</ul></body></html>")
    for pid, body in pages.items():
        site.add(f"/a/{pid}.html", body, "text/html")
    return site


def cpu_seconds() -> tuple[float, float, float]:
    """CPU seconds used so far by the machine, by this process (the server) and by its reaped descendants."""
    fields = Path("/proc/stat").read_text().split("\n")[0].split()[1:]
    busy = sum(int(fields[i]) for i in (0, 1, 2, 5, 6, 7)) / os.sysconf("SC_CLK_TCK")  # user nice system irq...
    me, kids = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return busy, me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def run_once(mode: str, pages: dict[str, bytes], stock: bool) -> dict:
    from crawler.config.model import Fetch

    fetch = Fetch()  # newsradar's default concurrency, for both sides
    site = serve(pages, stock)
    try:
        with tempfile.TemporaryDirectory(prefix="newsradar-bench-") as tmp:
            cfg = Path(tmp) / "config.yaml"
            cfg.write_text(CONFIG.format(base=site.base, concurrency=fetch.concurrency, per_domain=fetch.per_domain))
            cmd = [sys.executable, "-m", "crawler", "run", "--once", "-c", str(cfg)] if mode == "cold" else \
                [sys.executable, __file__, f"--_{mode}", str(cfg)]
            cpu0, started = cpu_seconds(), time.monotonic()
            proc = subprocess.run(cmd, cwd=tmp, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                                  text=True, timeout=900, check=False)
            wall = time.monotonic() - started
            busy, server, cpu = (after - before for before, after in zip(cpu0, cpu_seconds()))
            # cpu: the crawl's process tree (workers included); others: what the rest of the machine used, in cores
            r = {"mode": mode, "wall": wall, "cpu": cpu, "server": server, "others": max(0.0, busy - server - cpu) / wall}
            if proc.returncode != 0:
                sys.exit(f"{mode} run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
            if mode == "bare":
                return {**r, **json.loads(proc.stdout.strip().splitlines()[-1])}
            m = POLL_LINE.search(proc.stderr)
            if not m or m.group(1) != "ok":
                sys.exit(f"{mode}: no ok poll line on stderr:\n{proc.stderr}")
            with sqlite3.connect(Path(tmp) / "store.db") as db:
                stored = db.execute("SELECT count(*) FROM stories").fetchone()[0]
                errors = db.execute("SELECT error, count(*) FROM failed_urls GROUP BY error ORDER BY 2 DESC").fetchall()
            warm = re.search(r"bench warm_up ms=(\d+)", proc.stderr)
            return {**r, "items": int(m.group(2)), "seconds": int(m.group(5)) / 1000, "duplicates": int(m.group(3)),
                    "failures": int(m.group(4)), "stored": stored, "errors": errors[:3],
                    "warm_up": int(warm.group(1)) / 1000 if warm else None}
    finally:
        site.close()


# -- the subprocess sides ------------------------------------------------------------------------------------

def bare_crawl(cfg: str) -> int:
    """Fetch and parse only, on the reactor and runner class newsradar uses, timed the same way."""
    import scrapy
    from scrapy.crawler import AsyncCrawlerRunner

    from crawler.config.model import load_config
    from crawler.fetch.poll import run_reactor
    from crawler.fetch.settings import scrapy_settings

    config = load_config(cfg)
    settings = scrapy_settings(config)
    for key in ("ITEM_PIPELINES", "SPIDER_MIDDLEWARES", "DOWNLOADER_MIDDLEWARES"):  # need a poll context
        settings.pop(key)  # (and without the override, Scrapy's own RobotsTxtMiddleware obeys robots.txt)

    class BareSpider(scrapy.Spider):
        name = "bare"

        async def start(self):
            yield scrapy.Request(config.sources[0].url, callback=self.parse_listing)

        def parse_listing(self, response):
            for href in response.css(config.sources[0].links + "::attr(href)").getall():
                yield response.follow(href, callback=self.parse)

        def parse(self, response):
            yield {"url": response.url, "title": response.css("title::text").get()}

    async def main() -> int:
        runner = AsyncCrawlerRunner(settings)
        started = time.monotonic()
        crawler = runner.create_crawler(BareSpider)
        await runner.crawl(crawler)
        seconds = time.monotonic() - started
        print(json.dumps({"items": crawler.stats.get_value("item_scraped_count", 0), "seconds": seconds}))
        return 0

    return run_reactor(main)


def prime(body: bytes) -> None:
    """Runs in an extraction worker: one real extraction, then hold the worker so the next task goes to another."""
    from crawler.extract.article import extract_page

    extract_page(body, "http://127.0.0.1/prime.html", "text/html")
    time.sleep(0.3)


def newsradar_warmed(cfg: str, how: str) -> int:
    """The real CLI `run --once`, with the extraction pool warmed before the poll (outside the poll's ms)."""
    import asyncio
    import logging

    from crawler.cli.main import main
    from crawler.fetch.poll import Poller

    poll_all = Poller.poll_all

    async def warmed(self, sources=None):
        started = time.monotonic()
        if how == "warm":
            await self.warm_up()
        else:
            jobs = [asyncio.wrap_future(self.cpu.submit(prime, PRIME_PAGE)) for _ in range(self._workers)]
            await asyncio.gather(*jobs)
        logging.getLogger("newsradar.bench").info("bench warm_up ms=%d", (time.monotonic() - started) * 1000)
        return await poll_all(self, sources)

    Poller.poll_all = warmed
    return main(["run", "--once", "-c", cfg])


# -- the report ----------------------------------------------------------------------------------------------

def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="runs of each mode, alternating (default 3)")
    p.add_argument("--limit", type=int, default=None, help="crawl only the first N pages")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--stock-site", action="store_true", help="tests.support.site.Site as is (Nagle, backlog 5): see serve()")
    for mode in ("bare", "warm", "primed"):
        p.add_argument(f"--_{mode}", metavar="CONFIG", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args._bare:
        return bare_crawl(args._bare)
    if args._warm or args._primed:
        return newsradar_warmed(args._warm or args._primed, "warm" if args._warm else "primed")
    if not (CORPUS / "html").is_dir():
        print(f"skipped: {CORPUS} is absent (set NEWSRADAR_CORPORA to the folder that holds it)")
        return 0

    files = sorted((CORPUS / "html").glob("*.html.gz"))[: args.limit]
    pages = {f.name.removesuffix(".html.gz"): gzip.decompress(f.read_bytes()) for f in files}
    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    for rnd in range(args.rounds):
        for mode in MODES:  # alternating, so a busy patch of the machine hits every mode alike
            r = run_once(mode, pages, args.stock_site)
            r["rate"] = r["items"] / r["seconds"] if r["seconds"] else 0.0
            runs[mode].append(r)
            if not args.json:
                extra = f" stored={r['stored']}/{len(pages)} failures={r['failures']}" if "stored" in r else ""
                extra += f" warm_up={r['warm_up']:.2f}s" if r.get("warm_up") is not None else ""
                extra += f" errors={r['errors']}" if r.get("errors") else ""
                print(f"round {rnd + 1} {mode:<6} items={r['items']:<4} {r['seconds']:6.2f}s {r['rate']:6.1f} items/s |"
                      f" process {r['wall']:5.2f}s, cpu {r['cpu']:5.2f}s, server cpu {r['server']:.2f}s,"
                      f" others' load {r['others']:.2f} cores{extra}", flush=True)
    med = {m: {k: statistics.median(r[k] for r in rs) for k in ("rate", "cpu", "others")} for m, rs in runs.items()}
    best = {m: max(r["rate"] for r in rs) for m, rs in runs.items()}  # least disturbed by other processes
    ratio = {m: med[m]["rate"] / med["bare"]["rate"] for m in MODES}
    stored = {m: min(r["stored"] for r in runs[m]) for m in MODES[1:]}
    result = {"pages": len(pages), "rounds": args.rounds, "cpus": os.cpu_count(), "stock_site": args.stock_site,
              "items_per_s": {m: med[m]["rate"] for m in MODES}, "best_items_per_s": best, "ratio": ratio,
              "target": TARGET, "stored_min": stored, "median": med, "runs": runs}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"\n{len(pages)} pages, {args.rounds} rounds, {os.cpu_count()} CPUs; medians:")
    print(f"{'mode':<8}{'items/s':>9}{'ratio':>8}{'best items/s':>14}{'stored':>8}{'tree cpu s':>12}{'others':>8}")
    for m in MODES:
        print(f"{m:<8}{med[m]['rate']:>9.1f}{ratio[m]:>7.2f}x{best[m]:>14.1f}{stored.get(m, '-'):>8}"
              f"{med[m]['cpu']:>12.2f}{med[m]['others']:>8.2f}")
    if max(med[m]["others"] for m in MODES) > 0.25:
        print("caveat: other processes used CPU during the runs ('others', in cores): the machine was not idle")
    if min(stored.values()) < len(pages):
        print(f"WARNING: some newsradar runs stored fewer than {len(pages)} stories (see errors= above)")
    print(f"ratio newsradar/bare-scrapy: {ratio['primed']:.2f}x (target >= {TARGET}x; primed = steady state;"
          f" cold run --once {ratio['cold']:.2f}x, warm_up() {ratio['warm']:.2f}x; best-of-rounds primed"
          f" {best['primed'] / best['bare']:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
