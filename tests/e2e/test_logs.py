"""What a user sees in the log: one WARNING line per failing poll with its cause, quiet starts and stops."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scrapy.exceptions import CannotResolveHostError, DownloadConnectionRefusedError
from twisted.internet.error import DNSLookupError

from crawler.run import logs
from spiders.reasons import describe
from tests.conftest import ROOT


def test_dns_failure_names_the_host():
    # What Twisted raises for a name that does not resolve, and what Scrapy 2.13+ wraps it in.
    twisted = DNSLookupError("no results for hostname lookup: www.cnbc.com")
    assert describe(twisted, "https://www.cnbc.com/id/1/rss.html") == "DNS lookup failed for www.cnbc.com"
    wrapped = CannotResolveHostError(str(twisted))
    assert describe(wrapped, "https://www.cnbc.com/id/1/rss.html") == "DNS lookup failed for www.cnbc.com"


def test_refused_and_unknown_failures_are_one_line():
    assert describe(DownloadConnectionRefusedError("111"), "http://127.0.0.1:9/x") == "connection refused by 127.0.0.1:9"
    assert describe(ValueError("bad\n  thing"), "http://h/") == "ValueError: bad thing"


def _record(name: str, level: int, msg: str) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, None, None)


@pytest.mark.parametrize("name,msg", [
    ("scrapy.downloadermiddlewares.robotstxt", "Error downloading <GET http://h/robots.txt>"),
    ("scrapy.downloadermiddlewares.retry", "Gave up retrying <GET http://h/robots.txt>"),
    ("apscheduler.scheduler", "Execution of job \"x\" skipped: maximum number of running instances reached (1)"),
    ("apscheduler.executors.default", "Run time of job \"x\" was missed by 0:00:04"),
])
def test_what_newsradar_says_better_is_debug_only(name, msg):
    root = logging.getLogger()
    old = root.level
    try:
        root.setLevel(logging.INFO)
        assert not logs.Demote().filter(_record(name, logging.ERROR, msg))
        root.setLevel(logging.DEBUG)
        record = _record(name, logging.ERROR, msg)
        assert logs.Demote().filter(record) and record.levelname == "DEBUG"
    finally:
        root.setLevel(old)
    assert logs.Demote().filter(_record("newsradar.poll", logging.WARNING, "poll source=x status=error"))


def _config(tmp_path: Path, port: int) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
timezone: Asia/Shanghai
fetch: {{delay: 0s, timeout: 5s}}
daemon: {{reload_check: 0.5s, outbox_every: 1s, shutdown_grace: 10s}}
sources:
  - name: unreachable
    type: feed
    allow_private: true
    url: http://127.0.0.1:{port}/rss.xml
    every: 1s
    jitter: 0s
watchlists:
  watch: [iFlytek]
rules:
  - name: watch
    any: ["@watch"]
    notify: [out]
notifiers:
  out:
    url: "json://127.0.0.1:{port}/hook"
""")
    return config


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_unreachable_source_is_one_warning_per_poll_and_stops_quietly(tmp_path, closed_port, sig):
    config = _config(tmp_path, closed_port)
    log = tmp_path / "run.log"
    # Its own process group, as a terminal's: Ctrl-C (and systemd's SIGTERM) reach the extraction workers too.
    proc = subprocess.Popen([sys.executable, "-m", "crawler", "run", "-c", str(config)], stdout=subprocess.DEVNULL,
                            stderr=log.open("w"), env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while log.read_text().count("poll source=unreachable") < 2:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        os.killpg(proc.pid, sig)
        assert proc.wait(40) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    lines = log.read_text().splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\+0800 (INFO|WARNING) newsradar", line) for line in lines), lines
    first = lines[0]
    assert f"config {config}" in first and f"store sqlite:///{tmp_path / 'store.db'}" in first and "1 sources" in first
    assert "times in Asia/Shanghai" in first
    assert any(line.endswith("next polls: unreachable " + line.split("unreachable ")[-1]) for line in lines[1:3]), lines
    polls = [line for line in lines if "poll source=unreachable" in line]
    warnings = [line for line in lines if " WARNING " in line]
    assert polls == warnings, lines  # one line per poll, nothing else warns
    assert all(f"error='connection refused by 127.0.0.1:{closed_port}'" in line for line in polls), polls
    assert lines[-1].endswith("newsradar.daemon: stopped")
