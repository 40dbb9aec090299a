"""The daemon as a real subprocess, 1-second polls, against a local site and a local webhook receiver.

Every wait is a bounded loop on an observable outcome (a request at the receiver, a line in the log), never a
sleep-and-hope; every daemon is stopped at the end of its test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, items, newsradar
from tests.support.newssite import article, distinct_lead

BODY = "{} said its domestic computing power cluster is now training large models, a paragraph long enough to be main text."


class DaemonProcess:
    def __init__(self, config: Path, log: Path, env: dict | None = None):
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crawler", "run", "-c", str(config)],
            stdout=subprocess.DEVNULL, stderr=log.open("w"),
            env={**os.environ, "PYTHONPATH": f"{ROOT / 'tests' / 'support' / 'hooks'}:{ROOT}", **(env or {})},
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 40) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


def wait_for(predicate, timeout: float = 30, what: str = "condition", daemon: DaemonProcess | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if daemon is not None and daemon.proc.poll() is not None:
            raise AssertionError(f"daemon exited ({daemon.proc.returncode}) waiting for {what}:\n{daemon.text()}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (f":\n{daemon.text()[-4000:]}" if daemon else ""))


def _listing(site, paths: list[str]) -> None:
    links = "".join(f'<li><a class="headline" href="{p}">{p}</a></li>' for p in paths)
    site.add("/markets/", f"<html><body><ul>{links}</ul></body></html>")


def _story(site, path: str, title: str, who: str = "iFlytek") -> str:
    recent = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 600))
    site.add(path, article(title, [distinct_lead(path), *[BODY.format(who)] * 3], recent, lang="en"))
    return path


def _config(site, hook, tmp_path: Path, terms: str = "[iFlytek]", extra: str = "") -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
fetch: {{delay: 0s, timeout: 5s}}
daemon: {{reload_check: 0.5s, outbox_every: 1s, shutdown_grace: 10s}}
health: {{failing_after: 2}}
sources:
  - name: markets
    type: html
    url: {site.url('/markets/')}
    links: "a.headline"
    every: 1s
    jitter: 0s
    allow_private: true
{extra}
watchlists:
  watch: {terms}
rules:
  - name: watch
    any: ["@watch"]
    notify: [hook]
notifiers:
  hook:
    url: "json://127.0.0.1:{hook.port}/alerts"
  ops:
    url: "json://127.0.0.1:{hook.port}/ops"
ops: ops
""")
    return config


def _alerts(hook, path: str = "/alerts") -> list[dict]:
    return [r.json for r in hook.requests if r.path.startswith(path)]


@pytest.fixture
def daemon_factory(tmp_path):
    started: list[DaemonProcess] = []

    def start(config: Path, name: str = "daemon.log", env: dict | None = None) -> DaemonProcess:
        d = DaemonProcess(config, tmp_path / name, env)
        started.append(d)
        return d

    yield start
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(10)


def test_new_story_alerts_once_then_sigterm_exits_zero(site, http_receiver, tmp_path, daemon_factory):
    _listing(site, [_story(site, "/n/1.html", "iFlytek first story")])
    config = _config(site, http_receiver, tmp_path)
    d = daemon_factory(config)
    wait_for(lambda: len(_alerts(http_receiver)) >= 1, what="first alert", daemon=d)
    _listing(site, ["/n/1.html", _story(site, "/n/2.html", "iFlytek second story")])
    wait_for(lambda: len(_alerts(http_receiver)) >= 2, what="second alert", daemon=d)  # latency: bench/latency.py
    wait_for(lambda: d.text().count("source=markets") >= 6, what="more polls", daemon=d)
    titles = [a.get("title", "") for a in _alerts(http_receiver)]
    assert len(titles) == 2 and sum("first" in t for t in titles) == 1, titles
    assert d.stop() == 0
    assert "stopped" in d.text()


def test_second_instance_is_refused_and_sighup_reloads(site, http_receiver, tmp_path, daemon_factory):
    _listing(site, [_story(site, "/n/1.html", "iFlytek story")])
    config = _config(site, http_receiver, tmp_path)
    d = daemon_factory(config)
    wait_for(lambda: "source=markets" in d.text(), what="first poll", daemon=d)
    second = newsradar("run", "-c", str(config), check=False, timeout=60)
    assert second.returncode != 0 and "already running" in second.stderr
    once = newsradar("run", "--once", "-c", str(config), check=False, timeout=60)
    assert once.returncode != 0 and "already running" in once.stderr
    d.proc.send_signal(signal.SIGHUP)  # systemctl reload: validate and switch even when the file is unchanged
    wait_for(lambda: "config reloaded" in d.text(), what="SIGHUP reload", daemon=d)
    assert d.stop() == 0


def test_live_edit_new_term_applies_to_next_story_and_broken_edit_is_refused(site, http_receiver, tmp_path,
                                                                             daemon_factory):
    _listing(site, [_story(site, "/n/1.html", "iFlytek story"), _story(site, "/n/2.html", "Cambricon story", "Cambricon")])
    config = _config(site, http_receiver, tmp_path)
    d = daemon_factory(config)
    wait_for(lambda: len(_alerts(http_receiver)) >= 1, what="first alert", daemon=d)
    wait_for(lambda: d.text().count("source=markets") >= 2, what="another poll", daemon=d)

    # a broken edit: refused with file and line, the daemon keeps running on the last good config
    good = config.read_text()
    config.write_text(good.replace("    every: 1s", "    evry: 1s"))
    wait_for(lambda: "config.yaml:10: unknown key 'evry'" in d.text(), what="refusal", daemon=d)
    assert "keeping the last good config" in d.text()
    _listing(site, ["/n/1.html", "/n/2.html", _story(site, "/n/3.html", "iFlytek third")])
    wait_for(lambda: len(_alerts(http_receiver)) >= 2, what="alert under the old config", daemon=d)

    # a good edit: a new watchlist term applies from the next story on; the old Cambricon story stays quiet
    config.write_text(good.replace("terms_placeholder", "").replace("watch: [iFlytek]", "watch: [iFlytek, Cambricon]"))
    wait_for(lambda: "config reloaded" in d.text(), what="reload", daemon=d)
    _listing(site, ["/n/1.html", "/n/2.html", "/n/3.html", _story(site, "/n/4.html", "Cambricon news", "Cambricon")])
    wait_for(lambda: len(_alerts(http_receiver)) >= 3, what="alert for the new term", daemon=d)
    wait_for(lambda: d.text().count("source=markets") >= d.text().count("config reloaded") + 6, what="polls", daemon=d)
    titles = [a.get("title", "") for a in _alerts(http_receiver)]
    assert len(titles) == 3 and not any("Cambricon story" in t for t in titles), titles
    assert d.stop() == 0


def test_a_failing_source_gives_one_ops_alert_and_one_recovery(site, http_receiver, tmp_path, daemon_factory):
    _listing(site, [_story(site, "/n/1.html", "iFlytek story")])
    config = _config(site, http_receiver, tmp_path)
    d = daemon_factory(config)
    wait_for(lambda: "source=markets status=ok" in d.text(), what="a good poll", daemon=d)
    site.add("/markets/", "down", "text/plain", status=503, conditional=False)
    wait_for(lambda: d.text().count("source=markets status=error") >= 5, what="several failed polls", daemon=d)
    ops = _alerts(http_receiver, "/ops")
    assert len(ops) == 1 and "failing" in ops[0]["message"], ops
    _listing(site, ["/n/1.html"])
    wait_for(lambda: len(_alerts(http_receiver, "/ops")) >= 2, what="recovery message", daemon=d)
    wait_for(lambda: d.text().count("source=markets status=") >= d.text().count("status=error") + 4, what="polls", daemon=d)
    ops = _alerts(http_receiver, "/ops")
    assert len(ops) == 2 and "recovered" in ops[1]["message"], ops
    assert d.stop() == 0
    assert len(items(config)) == 1


def test_a_spider_calling_sys_exit_does_not_take_the_daemon_down(site, http_receiver, tmp_path, daemon_factory):
    _listing(site, [_story(site, "/n/1.html", "iFlytek story")])
    extra = f"""  - name: rogue
    type: html
    allow_private: true
    url: {site.url('/markets/')}
    links: "a.headline"
    every: 1s
    jitter: 0s
"""
    config = _config(site, http_receiver, tmp_path, extra=extra)
    d = daemon_factory(config, env={"NEWSRADAR_TEST_SPIDER_EXIT": "rogue"})
    wait_for(lambda: d.text().count("source=rogue status=error") >= 2, what="rogue polls fail", daemon=d)
    wait_for(lambda: len(_alerts(http_receiver)) >= 1, what="the other source still alerts", daemon=d)
    assert d.stop() == 0, "still answers SIGTERM"


def test_sigterm_stops_a_long_poll_after_the_grace_period(site, http_receiver, tmp_path, daemon_factory):
    links = "".join(f'<a class="headline" href="/slow/{i}.html">{i}</a>' for i in range(12))
    site.add("/slow/", f"<html><body>{links}</body></html>")
    for i in range(12):  # 12 articles at 1.5 s, one at a time: an 18 s poll
        site.add(f"/slow/{i}.html", article(f"iFlytek slow {i}", [BODY.format(f"iFlytek {i}")] * 3,
                                            "2026-11-29T00:00:00+00:00", lang="en"), delay=1.5)
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
fetch: {{delay: 0s, per_domain: 1}}
daemon: {{shutdown_grace: 2s}}
sources:
  - {{name: slow, type: html, allow_private: true, url: "{site.url('/slow/')}", links: a.headline, every: 1h}}
rules: [{{name: r, any: [iFlytek], notify: [hook]}}]
notifiers: {{hook: {{url: "json://127.0.0.1:{http_receiver.port}/alerts"}}}}
""")
    d = daemon_factory(config)
    slow_hits = lambda: sum(site.hits[f"/slow/{i}.html"] for i in range(12))  # noqa: E731
    wait_for(lambda: slow_hits() >= 1, what="the slow poll under way", daemon=d)
    assert d.stop() == 0
    assert "outlived the grace period" in d.text()
    assert slow_hits() < 12, "stopped after the grace period, not after the whole poll"


def test_the_seed_story_behind_a_feed_dated_today_alerts(site, http_receiver, tmp_path, daemon_factory):
    """The page this project started from: a byline "06/11" and no structured date, behind a feed whose
    pubDate is now (relative to the test's run). Its date is the feed's, so it is fresh and it alerts."""
    from email.utils import formatdate

    from tests.unit.test_dates import seed_page

    site.add("/news/seed", seed_page())
    site.add("/rss.xml", f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Deep News</title>
<item><title>Liu Qingfeng on iFlytek</title><link>{site.url('/news/seed')}?utm_source=rss</link>
<pubDate>{formatdate(time.time() - 300, usegmt=True)}</pubDate></item></channel></rss>""", "application/rss+xml")
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
fetch: {{delay: 0s, timeout: 5s}}
daemon: {{reload_check: 0.5s, outbox_every: 1s, shutdown_grace: 10s}}
sources:
  - {{name: wire, type: feed, url: "{site.url('/rss.xml')}", every: 1s, jitter: 0s, allow_private: true}}
rules:
  - {{name: iflytek, any: [iFlytek], notify: [hook]}}
  - {{name: domestic-compute, any: ["domestic computing power"], notify: [hook]}}
notifiers: {{hook: {{url: "json://127.0.0.1:{http_receiver.port}/alerts"}}}}
""")
    d = daemon_factory(config)
    wait_for(lambda: _alerts(http_receiver), what="the seed story's alert", daemon=d)
    assert d.stop() == 0
    alerts = _alerts(http_receiver)
    assert len(alerts) == 1 and "Liu Qingfeng" in str(alerts[0]), alerts
    assert "poll source=wire status=ok new=1 duplicates=0 alerts=1 stale=0" in d.text()
    (row,) = items(config)
    assert row["date_source"] == "feed" and row["not_alerted"] is None
    assert sorted(r["rule"] for r in row["rules"]) == ["domestic-compute", "iflytek"]
