"""Retry-After per host, across polls: parsing, the pause on an injected clock, health, and the daemon."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from crawler.run.health import assess
from crawler.store.database import SourceHealth
from crawler.fetch.throttle import MAX_PAUSE, HostPauses, retry_after
from tests.conftest import cli, items, newsradar
from tests.support.newssite import article
from tests.support.site import Site
from tests.e2e.test_daemon import daemon_factory, wait_for  # noqa: F401  (fixture)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, expected", [
    ("60", 60), (b" 120 ", 120), ("0", 0), ("99999999", MAX_PAUSE),
    (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90),
    (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0),
    (format_datetime(NOW + timedelta(days=30), usegmt=True), MAX_PAUSE),
    ("soon", None), ("-5", None), ("1.5", None), ("", None), (None, None), ("Mon, 99 Foo 2026 99:99:99 GMT", None),
])
def test_retry_after_is_seconds_or_an_http_date_capped_and_garbage_is_ignored(value, expected):
    assert retry_after(value, NOW.timestamp()) == expected


def test_a_pause_lasts_as_long_as_asked_on_the_injected_clock():
    now = [100.0]
    pauses = HostPauses(clock=lambda: now[0])
    pauses.pause("a.example:80", 60)
    assert pauses.remaining("a.example:80") == 60 and pauses.remaining("b.example:80") == 0
    now[0] += 59
    assert pauses.remaining("a.example:80") == 1
    pauses.pause("a.example:80", 0.5)  # a shorter answer never shortens a pause
    assert pauses.remaining("a.example:80") == 1
    now[0] += 1
    assert pauses.remaining("a.example:80") == 0


def test_a_throttled_poll_is_not_a_failure_and_alerts_nobody():
    h = SourceHealth(source="s", state="ok", failures=0, polls=0, stories=0)
    for _ in range(5):
        assert assess(h, False, "HTTP 429", 0, NOW, 2, timedelta(days=1), throttled=True) is None
    assert h.state == "throttled" and h.failures == 0 and "429" in h.last_error
    assert assess(h, True, None, 1, NOW, 2, timedelta(days=1)) is None, "no 'recovered' alert"
    assert h.state == "ok"


def test_a_429_with_retry_after_pauses_the_host_across_polls(site, tmp_path, daemon_factory):  # noqa: F811
    site.add("/rss.xml", "slow down", "text/plain", status=429, headers={"Retry-After": "60"})
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
fetch: {{delay: 0s, timeout: 5s, retries: 2}}
health: {{failing_after: 2}}
sources:
  - {{name: busy, type: feed, url: "{site.url('/rss.xml')}", every: 1s, jitter: 0s, allow_private: true}}
""")
    d = daemon_factory(config, env={"NEWSRADAR_TEST_FROZEN_PAUSE_CLOCK": "1"})
    wait_for(lambda: d.text().count("source=busy status=throttled") >= 4, what="four throttled polls", daemon=d)
    assert d.stop() == 0
    assert site.hits["/rss.xml"] == 1, f"{site.hits['/rss.xml']} requests: the pause was not kept across polls"
    assert "status=error" not in d.text()
    status = json.loads(cli("status", "--json", "-c", str(config)).stdout)
    busy = status["sources"][0]
    assert busy["health"] == "throttled" and busy["failures"] == 0, busy
    assert "Retry-After" in busy["last_error"]


def test_articles_held_back_by_a_pause_are_fetched_by_a_later_poll_not_hidden_by_a_304(site, tmp_path):
    other = Site()  # the articles' host, paused; the listing's host is not
    try:
        other.add("/a.html", "busy", "text/plain", status=503, headers={"Retry-After": "120"})
        site.add("/markets/", f'<a class="headline" href="{other.url("/a.html")}">a</a>')
        config = tmp_path / "config.yaml"
        config.write_text(f"""store: sqlite:///store.db
max_age: 3650d
fetch: {{delay: 0s, retries: 1, robots: false}}
sources:
  - {{name: m, type: html, url: "{site.url('/markets/')}", links: a.headline, allow_private: true}}
""")
        newsradar("run", "--once", "-c", str(config))
        assert other.hits["/a.html"] == 1, "the retry waits for the pause"
        other.add("/a.html", article("Held back story", ["a story held back by a pause " * 20],
                                     "2025-06-11T09:30:00Z", lang="en"))
        site.requests.clear()
        newsradar("run", "--once", "-c", str(config))  # a new process: the pause has ended
        assert all("If-None-Match" not in h for _, p, h in site.requests if p == "/markets/"), "old validators kept"
        assert [r["title"] for r in items(config)] == ["Held back story"]
    finally:
        other.close()
