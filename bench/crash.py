"""Crash test: `newsradar run --once` killed (os._exit, as kill -9) at fault points, many passes in a row.

Each round publishes new matching stories on a local site and runs one pass with a fault point from
tests/hooks/sitecustomize.py: `after-store` (stories and outbox committed, nothing sent), `after-send` (a
message delivered, not marked sent), `mid-digest` (a burst that goes out as a digest, killed after its first
message). Then clean passes recover. Every story must arrive at the local webhook at least once (zero lost) and
the duplicate messages (messages repeating an alert already delivered) must number at most the crashes
injected: at most one per crash.

    python bench/crash.py --rounds 30        # the long run; tests/test_crash.py runs a handful of rounds
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.newssite import article, distinct_lead  # noqa: E402
from tests.support.receivers import HTTPReceiver  # noqa: E402
from tests.support.site import Site  # noqa: E402

FAULTS = ("after-store", "after-send", "mid-digest")
CRASH = 70


@dataclass
class Outcome:
    rounds: int
    crashes: int
    stories: int
    lost: list[str]
    duplicates: int
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.lost and self.duplicates <= self.crashes


def _pass(config: Path, fault: str | None) -> int:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'tests' / 'support' / 'hooks'}:{ROOT}"}
    env.pop("NEWSRADAR_TEST_FAULT", None)
    if fault:
        env["NEWSRADAR_TEST_FAULT"] = fault
    proc = subprocess.run([sys.executable, "-m", "crawler", "run", "--once", "-c", str(config)], env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode not in (0, CRASH):
        raise RuntimeError(f"pass exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc.returncode


def crash_rounds(rounds: int, workdir: Path) -> Outcome:
    started = time.monotonic()
    site, hook = Site(), HTTPReceiver().start()
    site.add("/robots.txt", "User-agent: *\n", "text/plain")
    config = workdir / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
fetch: {{delay: 0s}}
sources:
  - name: wire
    type: html
    allow_private: true
    url: {site.url('/wire/')}
    links: "a.headline"
rules:
  - name: iflytek
    any: [iFlytek]
    notify: [hook]
notifiers:
  hook:
    url: "json://127.0.0.1:{hook.port}/alerts"
""")
    published: list[str] = []
    crashes = 0
    recent = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 600))
    try:
        for r in range(rounds):
            fault = FAULTS[r % len(FAULTS)]
            for i in range(12 if fault == "mid-digest" else 2):  # > 10 at once goes out as one digest
                path = f"/wire/{r}-{i}.html"
                body = [distinct_lead(path)] + [f"Round {r} item {i}: iFlytek news number {r * 100 + i}, a paragraph "
                                                f"long enough to be main text, with details {'x' * (r % 7)} that make "
                                                f"each story distinct {r}-{i}."] * 3
                site.add(path, article(f"iFlytek update {r}-{i}", body, recent, lang="en"))
                published.append(site.url(path))
            links = "".join(f'<a class="headline" href="{u}">x</a>' for u in published[-30:])
            site.add("/wire/", f"<html><body>{links}</body></html>")
            crashes += _pass(config, fault) == CRASH
        for _ in range(2):  # recovery: the next clean passes send what the crashes left
            _pass(config, None)
    finally:
        site.close()
        hook.stop()
    # A duplicate is a message that repeats an alert already delivered (a digest re-sent whole is one).
    delivered: set[str] = set()
    duplicates = 0
    for request in hook.requests:
        inside = {url for url in published if url in request.text}  # every URL ends in .html: no prefix clash
        duplicates += bool(inside & delivered)
        delivered |= inside
    lost = [u for u in published if u not in delivered]
    return Outcome(rounds, crashes, len(published), lost, duplicates, time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = crash_rounds(args.rounds, Path(tmp))
    print(f"rounds={out.rounds} crashes={out.crashes} stories={out.stories} lost={len(out.lost)} "
          f"duplicates={out.duplicates} (allowed <= {out.crashes}) seconds={out.seconds:.0f}")
    print("PASS" if out.ok else f"FAIL: lost {out.lost[:5]}")
    return 0 if out.ok else 1


if __name__ == "__main__":
    sys.exit(main())
