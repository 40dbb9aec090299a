"""Soak: the daemon's RSS stays flat over many short polls (target: growth < 5 % over 1,000 polls after warm-up),
and what an unchanged poll costs in CPU.

`newsradar run` (a real subprocess) polls three local sources every `--every` s (1 s, no jitter): an RSS feed, a
listing page and a sitemap, each listing its 30 newest stories. Most polls are answered 304; every
`--publish-every` polls (20) a matching story goes up on one of them in turn, so article fetch, extraction
(process pool), store, rule match and delivery (json:// to a local receiver) run too. Once a second the bench
samples the daemon's RSS (/proc/PID/status) and CPU (/proc/PID/stat utime+stime), the same summed over its children
(workers, resource tracker: ppid in /proc/*/stat), and counts `poll source=...` log lines. After `--warmup` polls
(100), `--polls` (1,000) are measured: RSS growth, max and trend, CPU ms per poll (unchanged polls alone: sampling
windows where every poll was a 304), polls/min, workers' RSS, machine load. Exit 0 when the growth is under
`--target` % and SIGTERM stopped the daemon with exit 0, else 1.

    python bench/soak.py                     # 1,100 polls, about 6-7 minutes
    python bench/soak.py --polls 200         # a quick look
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.procs import children, machine_busy_ms, proc_stat, rss_kb, stop  # noqa: E402
from tests.support.newssite import article  # noqa: E402
from tests.support.receivers import HTTPReceiver  # noqa: E402
from tests.support.site import Site  # noqa: E402

POLL = re.compile(rb"poll source=(\S+) status=(\S+) new=(\d+)")
KINDS = ("feed", "listing", "sitemap")


@dataclass
class Sample:
    t: float
    polls: int
    unchanged: int
    rss_kb: int
    anon_kb: int
    cpu_ms: float
    kids_rss_kb: int
    kids_cpu_ms: float
    kids: int
    busy_ms: float  # the whole machine's CPU time (all CPUs), to tell other load from the daemon's


class NewsSite:
    """Three sources on one local site; `publish(n)` adds story n to one of them (in turn)."""

    def __init__(self) -> None:
        self.site = Site()
        self.site.add("/robots.txt", "User-agent: *\n", "text/plain")
        self.stories: dict[str, list[str]] = {kind: [] for kind in KINDS}
        for n in range(len(KINDS)):
            self.publish(n)

    def publish(self, n: int) -> str:
        kind = KINDS[n % len(KINDS)]
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - 60))
        path = f"/{kind}/story-{n:05d}.html"
        body = [f"Zephyrtech story {n} from the {kind}: the company said its computing cluster trains large models, "
                f"a paragraph long enough to be main text, with figures {n * 7919 % 10007} that differ."] * 3
        self.site.add(path, article(f"Zephyrtech news {n:05d} ({kind})", body, stamp, lang="en"))
        paths = self.stories[kind] = (self.stories[kind] + [path])[-30:]
        if kind == "feed":
            rfc = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now - 60))
            items = "".join(f"<item><title>Zephyrtech {p}</title><link>{self.site.url(p)}</link>"
                            f"<pubDate>{rfc}</pubDate></item>" for p in reversed(paths))
            self.site.add("/rss.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
                          f"<link>{self.site.base}/</link><description>x</description>{items}</channel></rss>",
                          "application/rss+xml")
        elif kind == "listing":
            links = "".join(f'<li><a class="headline" href="{p}">{p}</a></li>' for p in reversed(paths))
            self.site.add("/markets/", f"<html><body><ul>{links}</ul></body></html>")
        else:
            urls = "".join(f"<url><loc>{self.site.url(p)}</loc><lastmod>{stamp}</lastmod></url>" for p in paths)
            self.site.add("/sitemap.xml", '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns='
                          f'"http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>', "application/xml")
        return path


def write_config(workdir: Path, site: Site, hook: HTTPReceiver, every: float) -> Path:
    sources = {"feed": ("feed", "/rss.xml", ""), "listing": ("html", "/markets/", '\n    links: "a.headline"'),
               "sitemap": ("sitemap", "/sitemap.xml", "")}
    text = "".join(f"\n  - name: {name}\n    type: {kind}\n    allow_private: true\n    url: {site.url(path)}\n"
                   f"    every: {every:g}s\n    jitter: 0s{extra}" for name, (kind, path, extra) in sources.items())
    config = workdir / "config.yaml"
    config.write_text(f"""store: sqlite:///{workdir / 'store.db'}
fetch: {{timeout: 5s}}
sources:{text}
rules:
  - name: watch
    any: [Zephyrtech]
    notify: [hook]
notifiers:
  hook:
    url: "json://127.0.0.1:{hook.port}/alerts"
""")
    return config


def sample(pid: int, polls: int, unchanged: int) -> Sample:
    kids = children(pid)
    return Sample(time.monotonic(), polls, unchanged, rss_kb(pid), rss_kb(pid, "RssAnon"), proc_stat(pid)[1],
                  sum(map(rss_kb, kids)), sum(proc_stat(k)[1] for k in kids), len(kids), machine_busy_ms())


def slope_per_1000(points: list[tuple[float, float]]) -> float:
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return 1000 * sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def soak(args: argparse.Namespace, workdir: Path) -> tuple[list[Sample], dict[str, int], int | None]:
    news, hook = NewsSite(), HTTPReceiver().start()
    counts, samples, proc, code = dict.fromkeys(("polls", "unchanged", "new", "errors"), 0), [], None, None
    total, published, next_publish, next_sample = args.warmup + args.polls, len(KINDS), args.publish_every, 0.0
    log, pending = workdir / "daemon.log", b""
    deadline = time.monotonic() + 120 + 3 * total * args.every / len(KINDS)
    # An outer PYTHONPATH stays after ROOT: a probe (a sitecustomize with tracemalloc) can ride along.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        config = write_config(workdir, news.site, hook, args.every)
        with log.open("w") as err, log.open("rb") as reader:
            proc = subprocess.Popen([sys.executable, "-m", "crawler", "run", "-c", str(config)], cwd=workdir, env=env,
                                    stdout=subprocess.DEVNULL, stderr=err)
            while counts["polls"] < total:
                if proc.poll() is not None:
                    raise RuntimeError(f"daemon exited {proc.returncode}:\n{log.read_text('utf-8', 'replace')[-3000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {counts['polls']} of {total} polls before the deadline")
                *lines, pending = (pending + reader.read()).split(b"\n")
                for m in filter(None, map(POLL.search, lines)):
                    counts["polls"] += 1
                    counts["unchanged"] += m[2] == b"not-modified"
                    counts["errors"] += m[2] == b"error"
                    counts["new"] += int(m[3])
                if counts["polls"] >= next_publish:
                    news.publish(published)
                    published, next_publish = published + 1, next_publish + args.publish_every
                if time.monotonic() >= next_sample:
                    samples.append(s := sample(proc.pid, counts["polls"], counts["unchanged"]))
                    next_sample = time.monotonic() + 1
                    if args.verbose and len(samples) % 30 == 0:
                        print(f"  polls={s.polls:5d} rss={s.rss_kb / 1024:6.1f}MB cpu={s.cpu_ms / 1000:6.1f}s "
                              f"workers={s.kids} rss={s.kids_rss_kb / 1024:6.1f}MB", flush=True)
                time.sleep(0.05)
        samples.append(sample(proc.pid, counts["polls"], counts["unchanged"]))
    finally:
        code = stop(proc) if proc is not None else None
        news.site.close()
        hook.stop()
    alerted = {n for r in hook.requests for n in re.findall(r"(?:news |story-)(\d{5})", r.text)}
    counts.update(published=published, alerts=len(hook.requests), alerted_stories=len(alerted))
    return samples, counts, code


def report(args: argparse.Namespace, samples: list[Sample], counts: dict[str, int], code: int | None) -> bool:
    base = next(s for s in samples if s.polls >= args.warmup)
    after = [s for s in samples if s.t >= base.t]
    end, mb, polls, ms = after[-1], 1 / 1024, after[-1].polls - base.polls, (after[-1].t - base.t) * 1000
    growth = 100 * (end.rss_kb - base.rss_kb) / base.rss_kb
    pure = [(b.cpu_ms - a.cpu_ms, b.polls - a.polls) for a, b in zip(after, after[1:])
            if b.polls > a.polls and b.unchanged - a.unchanged == b.polls - a.polls]
    pure_polls, trend = sum(p for _, p in pure), slope_per_1000([(s.polls, s.rss_kb * mb) for s in after])
    print(f"polls={counts['polls']} (warm-up {args.warmup}) unchanged={counts['unchanged']} errors={counts['errors']} "
          f"stories published={counts['published']} new={counts['new']} alerted={counts['alerted_stories']} "
          f"alert requests={counts['alerts']}")
    print(f"daemon RSS after warm-up {base.rss_kb * mb:.1f} MB, at the end {end.rss_kb * mb:.1f} MB, max "
          f"{max(s.rss_kb for s in after) * mb:.1f} MB; trend {trend:+.2f} MB per 1,000 polls; anonymous (heap) part "
          f"{base.anon_kb * mb:.1f} -> {end.anon_kb * mb:.1f} MB")
    print(f"workers ({end.kids} child processes) RSS after warm-up {base.kids_rss_kb * mb:.1f} MB, at the end "
          f"{end.kids_rss_kb * mb:.1f} MB, max {max(s.kids_rss_kb for s in after) * mb:.1f} MB; "
          f"CPU {(end.kids_cpu_ms - base.kids_cpu_ms) / 1000:.1f} s after warm-up")
    print(f"daemon CPU per poll {(end.cpu_ms - base.cpu_ms) / max(1, polls):.1f} ms over all {polls} polls; per "
          f"unchanged poll {sum(c for c, _ in pure) / max(1, pure_polls):.1f} ms ({pure_polls} polls in "
          f"all-304 windows; both include the scheduler, reload check and outbox jobs)")
    print(f"polls/min {polls * 60000 / ms:.0f} over {ms / 60000:.1f} min after warm-up; machine: "
          f"{(end.busy_ms - base.busy_ms) / ms:.2f} CPUs busy of {os.cpu_count()}, the daemon and its workers "
          f"{(end.cpu_ms + end.kids_cpu_ms - base.cpu_ms - base.kids_cpu_ms) / ms:.2f} of them")
    missing = counts["published"] - counts["alerted_stories"]
    print(f"daemon stop on SIGTERM: exit {code if code is not None else 'none (killed after 30 s)'}; "
          f"{missing} stories without an alert (the last one may still be in flight)")
    print(f"RSS growth {growth:.1f}% (target < {args.target:g}%)")
    ok = growth < args.target and code == 0
    print("PASS" if ok else "FAIL")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=1000, help="polls measured after warm-up (default 1000)")
    parser.add_argument("--warmup", type=int, default=100, help="warm-up polls, not measured (default 100)")
    parser.add_argument("--every", type=float, default=1.0, help="each source's poll interval, seconds (default 1)")
    parser.add_argument("--publish-every", type=int, default=20, help="publish a new story every N polls (20)")
    parser.add_argument("--target", type=float, default=5.0, help="max RSS growth, percent (default 5)")
    parser.add_argument("--verbose", action="store_true", help="a progress line every 30 samples")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the daemon and the servers
    if args.polls < 10 or args.warmup < 1 or args.every <= 0 or args.publish_every < 1:
        parser.error("need --polls >= 10, --warmup >= 1, --every > 0, --publish-every >= 1")
    with tempfile.TemporaryDirectory(prefix="newsradar-soak-") as tmp:
        samples, counts, code = soak(args, Path(tmp))
    return 0 if report(args, samples, counts, code) else 1


if __name__ == "__main__":
    sys.exit(main())
