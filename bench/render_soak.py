"""Soak of rendering sources (issue 16): memory of the daemon and its browser over many rendered polls.

`newsradar run` (a real subprocess) polls one `render: true` source every second: a local listing page whose
links a script builds after 100 ms (`tests/support/jssite.py`). The first poll stores its two articles; every
later poll renders the listing in the shared Chromium (a rendered page is never a 304) and finds nothing new.
Once a second the bench samples the RSS of the daemon and the PSS of its whole process tree (the Playwright driver,
Chromium's browser, renderer, GPU and zygote processes; extraction workers; PSS, so shared pages count once) and counts poll lines. After
`--warmup` polls, `--polls` are measured: the daemon's RSS and the tree's PSS at the start and the end, their
maximum, and how many browsers were started (`fetch.render_restart_after` applies).

    python bench/render_soak.py                       # 50 + 1,000 polls, about 18 minutes
    python bench/render_soak.py --polls 300           # shorter
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.procs import children, rss_kb, stop  # noqa: E402
from tests.support import jssite  # noqa: E402
from tests.support.site import Site  # noqa: E402

POLL = re.compile(rb"poll source=rendered status=(\S+)")


def pss_kb(pid: int) -> int:
    """Proportional set size in kB (shared pages split between the processes sharing them, so Chromium's many
    processes are not counted many times over); 0 if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:")), 0)


def tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children(current))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--polls", type=int, default=1000)
    parser.add_argument("--restart-after", type=int, default=500)
    args = parser.parse_args()

    site = Site()
    site.add("/robots.txt", "User-agent: *\n", "text/plain")
    urls = jssite.publish(site)
    site.add("/js/", jssite.listing(["/js/story-1.html", "/js/story-2.html"], delay_ms=100))
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        text = jssite.config(urls, "sqlite:///store.db", render="true", extra="    every: 1s\n    jitter: 0s\n")
        config.write_text(text.replace("fetch:\n", f"fetch:\n  render_restart_after: {args.restart_after}\n"))
        config.chmod(0o600)
        log = Path(tmp) / "daemon.log"
        proc = subprocess.Popen([sys.executable, "-m", "crawler", "run", "-c", str(config)], stdout=subprocess.DEVNULL,
                                stderr=log.open("wb"), env={**os.environ, "PYTHONPATH": str(ROOT)})
        start: tuple[int, int] | None = None
        peak_daemon = peak_tree = 0
        errors = 0
        try:
            while True:
                time.sleep(1)
                if proc.poll() is not None:
                    print(log.read_text()[-3000:])
                    return 1
                data = log.read_bytes()
                statuses = POLL.findall(data)
                polls = len(statuses)
                daemon_kb = rss_kb(proc.pid)
                tree_kb = sum(pss_kb(p) for p in tree(proc.pid))
                if polls >= args.warmup and start is None:
                    start = (daemon_kb, tree_kb)
                    started_at, polls_at = time.monotonic(), polls
                    print(f"warm-up done ({polls} polls): daemon {daemon_kb / 1024:.1f} MB, tree {tree_kb / 1024:.1f} MB",
                          flush=True)
                if start is not None:
                    peak_daemon, peak_tree = max(peak_daemon, daemon_kb), max(peak_tree, tree_kb)
                    if polls - polls_at >= args.polls:
                        errors = sum(1 for s in statuses[polls_at:] if s != b"ok")
                        break
                    if (polls - polls_at) % 100 == 0:
                        print(f"  {polls - polls_at} polls: daemon {daemon_kb / 1024:.1f} MB, tree "
                              f"{tree_kb / 1024:.1f} MB", flush=True)
        finally:
            code = stop(proc)
            site.close()
        text = log.read_text(errors="replace")
        minutes = (time.monotonic() - started_at) / 60
        print(f"{args.polls} rendered polls after {args.warmup} of warm-up in {minutes:.1f} min "
              f"({errors} not ok); browsers started: {text.count('browser started')} "
              f"(render_restart_after {args.restart_after})")
        print(f"daemon RSS {start[0] / 1024:.1f} -> {daemon_kb / 1024:.1f} MB "
              f"({(daemon_kb - start[0]) / start[0] * 100:+.1f} %), max {peak_daemon / 1024:.1f} MB")
        print(f"tree PSS (daemon + driver + Chromium + workers) {start[1] / 1024:.1f} -> {tree_kb / 1024:.1f} MB "
              f"({(tree_kb - start[1]) / start[1] * 100:+.1f} %), max {peak_tree / 1024:.1f} MB; SIGTERM exit {code}")
        return 0 if code == 0 and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
