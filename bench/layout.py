"""Why the daemon is one long-lived process: CPU per poll of the layout we run vs a process per poll.

Both layouts poll the same unchanged feed on a local site (each poll a conditional GET answered 304: the common
case of a daemon polling every few minutes):
- `daemon`: `newsradar run` with the source every 1 s; CPU of the daemon and its workers over N polls, per poll
  (after a warm-up of 10 polls);
- `process-per-poll`: `newsradar run --once` started N times (what a cron job or a naive
  `CrawlerProcess().start()` per poll amounts to, since Scrapy's reactor cannot be restarted in one process);
  CPU of each run with its children, per poll.

    python bench/layout.py [--polls 30]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.procs import stop, tree_cpu_ms  # noqa: E402
from tests.support.site import Site  # noqa: E402

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>One</title><link>/a/1.html</link></item></channel></rss>"""
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def daemon_cpu_per_poll(config: Path, polls: int, log: Path) -> float:
    proc = subprocess.Popen([sys.executable, "-m", "crawler", "run", "-c", str(config)], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        def count() -> int:
            return log.read_text().count("poll source=")

        deadline = time.monotonic() + 120
        while count() < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        start_polls, start_cpu = count(), tree_cpu_ms(proc.pid) / 1000
        while count() < start_polls + polls and time.monotonic() < deadline + polls * 3:
            time.sleep(0.05)
        return (tree_cpu_ms(proc.pid) / 1000 - start_cpu) / max(1, count() - start_polls)
    finally:
        stop(proc)


def process_cpu_per_poll(config: Path, polls: int) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(polls):
        subprocess.run([sys.executable, "-m", "crawler", "run", "--once", "-c", str(config)], env=ENV,
                       capture_output=True, check=True, timeout=120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / polls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=30)
    args = parser.parse_args()
    site = Site()
    site.add("/robots.txt", "User-agent: *\n", "text/plain")
    site.add("/rss.xml", FEED, "application/rss+xml")
    site.add("/a/1.html", "<html><head><title>One</title></head><body><p>" + "text " * 100 + "</p></body></html>")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.yaml"
            config.write_text(f"""store: sqlite:///store.db
fetch: {{delay: 0s}}
sources:
  - {{name: feed, type: feed, allow_private: true, url: "{site.url('/rss.xml')}", every: 1s, jitter: 0s}}
""")
            subprocess.run([sys.executable, "-m", "crawler", "run", "--once", "-c", str(config)], env=ENV,
                           capture_output=True, check=True)  # stores the article: later polls are 304s
            once = process_cpu_per_poll(config, max(3, args.polls // 3))
            daemon = daemon_cpu_per_poll(config, args.polls, Path(tmp) / "daemon.log")
    finally:
        site.close()
    print(f"{'layout':<18} {'CPU ms per unchanged poll':>26}")
    print(f"{'daemon (one loop)':<18} {daemon * 1000:>26.1f}")
    print(f"{'process per poll':<18} {once * 1000:>26.1f}")
    print(f"process-per-poll / daemon: {once / daemon:.0f}x more CPU per poll")
    return 0


if __name__ == "__main__":
    sys.exit(main())
