"""The daemon's read-only dashboard over the store a real `run --once` filled: pages, search, token, /healthz,
/metrics, and the real daemon serving it on `web.port`. All traffic goes to 127.0.0.1."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from crawler.config.model import Web, load_config
from crawler.report.queries import build_report
from crawler.store.database import Outbox, SourceHealth, Story
from crawler.web.server import Dashboard
from tests.e2e.test_daemon import DaemonProcess, wait_for
from tests.support.receivers import free_port
from tests.support.reportsite import DASH_NOW


def get(url: str, headers: dict | None = None, method: str = "GET") -> tuple[int, str, dict]:
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode("utf-8"), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8"), dict(exc.headers)


@pytest.fixture
def serve(filled):
    """Start a Dashboard on a free 127.0.0.1 port; returns a function(now=..., config=...) -> base URL."""
    running = []

    def start(now=DASH_NOW, config=None, registry=None, started=None):
        config = config or load_config(filled.config)
        store = filled.store()
        d = Dashboard(store, lambda: config, registry=registry, now=lambda: now, started=started or now)
        running.append((d.start("127.0.0.1", 0), store))
        return f"http://127.0.0.1:{d.port}"

    yield start
    for d, store in running:
        d.stop()
        store.close()


def test_status_page_shows_health_todays_alerts_and_last_24h_charts(filled, serve):
    code, html, headers = get(serve() + "/")
    assert code == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert 'id="health"' in html and "Healthy" in html
    rows = re.findall(r"<tr><td>\d\d:\d\d</td><td>desk</td>", html)
    assert len(rows) == 7, "every alert the pass sent was queued today (18:00 local)"
    store = filled.store()
    report = build_report(store, load_config(filled.config), now=DASH_NOW, since=timedelta(hours=24))
    store.close()
    for g in (g for g in report["groups"] if g["kind"] == "watchlist"):
        section = re.search(rf'data-name="{re.escape(g["name"])}" data-mentions="{g["mentions"]}">(.*?)</section>',
                            html, re.S)
        assert section, g["name"]
        counts = re.search(r'data-counts="([\d,]*)"', section.group(1)).group(1)
        assert counts == ",".join(str(h["count"]) for h in g["per_hour"])
    assert "&lt;script&gt;window.pwned" in html and "<script" not in html
    assert "人工智能" in html


def test_report_page_is_the_live_report(filled, serve):
    code, html, _ = get(serve() + "/report?since=7d")
    assert code == 200 and "<nav>" in html and "Watchlist @人工智能" in html
    assert re.search(r'data-kind="watchlist" data-name="人工智能" data-mentions="5"', html)
    assert get(serve() + "/report?since=later")[0] == 400


def test_story_search_highlights_matches_and_escapes_the_query(filled, serve):
    base = serve()
    code, html, _ = get(base + "/stories?q=" + urllib.request.quote("国产算力"))
    assert code == 200
    assert "科大讯飞发布星火大模型 <mark>国产算力</mark>再获突破" in html
    assert "劉慶峰：全面基於<mark>國產算力</mark>訓練大模型" in html, "the Traditional spelling is found too"
    assert html.count("<li>") == 2
    code, html, _ = get(base + "/stories?q=" + urllib.request.quote("<script>"))
    assert code == 200 and "<mark>&lt;script&gt;</mark>window.pwned" in html and "<script>" not in html
    code, html, _ = get(base + "/stories?q=%25")
    assert code == 200 and "<li>" not in html, "% is a literal, not a LIKE wildcard"
    assert "<li>" not in get(base + "/stories")[1]


def test_token_required_in_constant_time_except_for_healthz(filled, serve):
    config = load_config(filled.config)
    config = config.model_copy(update={"web": Web(port=8765, token="s3cret-token-1")})
    base = serve(config=config)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token-1"}):
        code, _, h = get(base + "/", headers)
        assert code == 401 and h["WWW-Authenticate"].startswith("Bearer"), headers
    assert get(base + "/stories?q=x", {"Authorization": "Bearer s3cret-token-1"})[0] == 200
    assert get(base + "/healthz")[0] == 200


def test_no_write_endpoints(serve):
    base = serve()
    for method in ("POST", "PUT", "DELETE"):
        assert get(base + "/", method=method)[0] == 405
    assert get(base + "/nope")[0] == 404


def test_healthz_turns_503_when_no_poll_finished_in_three_intervals_or_the_outbox_is_stuck(filled, serve):
    store = filled.store()
    with store.session() as s:
        last_poll = s.execute(select(func.max(SourceHealth.last_poll))).scalar()
    every = timedelta(minutes=5)  # the sources' default interval
    started = last_poll - timedelta(seconds=30)  # the daemon started, then its polls finished
    code, body, _ = get(serve(now=last_poll + 3 * every, started=started) + "/healthz")
    assert code == 200 and json.loads(body) == {"ok": True, "problems": []}
    code, body, _ = get(serve(now=last_poll + 3 * every + timedelta(seconds=1), started=started) + "/healthz")
    assert code == 503 and "no poll finished since" in json.loads(body)["problems"][0]
    # a due alert nobody sends: the outbox is stuck
    now = last_poll + timedelta(seconds=5)
    with store.session.begin() as s:
        story_id = s.execute(select(Story.id).limit(1)).scalar()
        s.add(Outbox(story_id=story_id, notifier="stuck", target=0, rules=[["ai-desk", ["iFlytek"]]],
                     next_attempt=now - timedelta(minutes=2), created=now - timedelta(minutes=2)))
    try:
        code, body, _ = get(serve(now=now) + "/healthz")
        assert code == 503 and json.loads(body)["problems"][0].startswith("outbox stuck")
        code, html, _ = get(serve(now=now) + "/")
        assert code == 200 and "Unhealthy: outbox stuck" in html
        assert get(serve(now=now - timedelta(minutes=1, seconds=30)) + "/healthz")[0] == 200, "due 30 s: sending"
    finally:
        with store.session.begin() as s:
            s.execute(delete(Outbox).where(Outbox.notifier == "stuck"))
        store.close()


def test_daemon_serves_the_dashboard_and_metrics_on_web_port(filled, tmp_path):
    port = free_port()
    config = tmp_path / "config.yaml"
    with sqlite3.connect(filled.config.parent / "store.db") as src, sqlite3.connect(tmp_path / "store.db") as dst:
        src.backup(dst)  # its own copy: the daemon's polls must not change the shared store
    text = filled.config.read_text(encoding="utf-8")
    # a long interval: the pass that starts with the daemon is all it does during the test
    text = text.replace("    type: ", "    every: 1h\n    type: ")
    config.write_text(text + f"\nweb:\n  port: {port}\n", encoding="utf-8")
    d = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: "dashboard on" in d.text(), what="dashboard start", daemon=d)
        # a sample line ("name{labels} value"), not just the metric's HELP line: a poll has really finished
        wait_for(lambda: get(base + "/metrics")[0] == 200 and "newsradar_polls_total{" in get(base + "/metrics")[1],
                 timeout=60, what="a poll in /metrics", daemon=d)
        # 200 once polls and the outbox are going: the copied store's due alerts go out on the daemon's first send
        wait_for(lambda: get(base + "/healthz")[0] == 200, timeout=60, what="/healthz 200", daemon=d)
        code, html, _ = get(base + "/stories?q=iFlytek")
        assert code == 200 and "<mark>iFlytek</mark>" in html
    finally:
        assert d.stop() == 0
    assert "stopped" in d.text()
