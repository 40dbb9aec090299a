"""The report and every dashboard page opened in a real headless Chromium (Debian's `chromium`, driven through
the DevTools protocol by playwright): a screenshot per page, no console error, no request leaving 127.0.0.1,
chart SVGs carrying the JSON counts, CJK text in the DOM, hostile titles inert.

Skipped with a message where no chromium (or playwright) is installed; `.ci/run` installs both, so CI runs them.
Set NEWSRADAR_DOCS_SCREENSHOTS=1 to also write docs/report.png and docs/dashboard.png (the README's pictures).
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from crawler.config.model import load_config
from crawler.report.html import render_html
from crawler.report.queries import build_report
from crawler.web.server import Dashboard
from tests.conftest import ROOT
from tests.support.reportsite import DASH_NOW, NOW

pytestmark = pytest.mark.browser
CHROMIUM = os.environ.get("NEWSRADAR_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")

# every chart's counts and the CJK text, read from the live DOM
READ_PAGE = """() => ({
  charts: [...document.querySelectorAll('section.group')].flatMap(s =>
    [...s.querySelectorAll('figure.chart')].map(f => ({
      kind: s.dataset.kind, name: s.dataset.name, chart: f.dataset.chart,
      counts: f.querySelector('svg.nr-chart').dataset.counts.split(',').map(Number),
      bars: [...f.querySelectorAll('g.nr-bar')].map(g => Number(g.dataset.count)),
      width: f.querySelector('svg').getBoundingClientRect().width }))),
  text: document.body.innerText,
  pwned: window.pwned === undefined ? null : window.pwned,
  scripts: document.querySelectorAll('script').length,
})"""


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        pytest.skip("no chromium found (apt-get install chromium; .ci/run installs it): browser tests skipped")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def open_page(browser, url: str, shot: Path, height: int = 1400) -> dict:
    """Load `url`, take a screenshot, and return what the page showed and requested."""
    page = browser.new_page(viewport={"width": 1000, "height": height})
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    page.screenshot(path=str(shot), full_page=False)
    info = page.evaluate(READ_PAGE)
    page.close()
    assert shot.stat().st_size > 10_000
    assert errors == [], errors
    for r in requests:
        parts = urlsplit(r)
        assert parts.scheme == "file" or parts.hostname == "127.0.0.1", f"request off the machine: {r}"
    assert info["scripts"] == 0 and info["pwned"] is None, "no script ran: hostile titles are inert"
    return {**info, "requests": requests}


def docs_copy(shot: Path, name: str) -> None:
    if os.environ.get("NEWSRADAR_DOCS_SCREENSHOTS"):
        shutil.copyfile(shot, ROOT / "docs" / name)


def test_report_file_in_chromium(browser, filled, tmp_path):
    config = load_config(filled.config)
    store = filled.store()
    report = build_report(store, config, now=datetime.fromisoformat(NOW))
    store.close()
    out = tmp_path / "report.html"
    out.write_text(render_html(report), encoding="utf-8")
    info = open_page(browser, out.as_uri(), tmp_path / "report.png")
    docs_copy(tmp_path / "report.png", "report.png")
    assert info["requests"] == [out.as_uri()], "the file loads nothing else"
    charts = {(c["kind"], c["name"], c["chart"]): c for c in info["charts"]}
    for g in report["groups"]:
        day, hour = charts[(g["kind"], g["name"], "day")], charts[(g["kind"], g["name"], "hour")]
        assert day["counts"] == [d["count"] for d in g["per_day"]]
        assert hour["counts"] == [h["count"] for h in g["per_hour"]]
        assert day["bars"] == [c for c in day["counts"] if c] and day["width"] > 300
    assert "@人工智能" in info["text"] and "劉慶峰：全面基於國產算力訓練大模型" in info["text"]
    assert "<script>window.pwned=1</script></svg>{{7*7}} iFlytek" in info["text"], "shown as text"


@pytest.fixture
def dashboard(filled):
    store = filled.store()
    config = load_config(filled.config)
    d = Dashboard(store, lambda: config, now=lambda: DASH_NOW, started=DASH_NOW).start("127.0.0.1", 0)
    yield f"http://127.0.0.1:{d.port}", config, store
    d.stop()
    store.close()


def test_dashboard_pages_in_chromium(browser, dashboard, tmp_path):
    base, config, store = dashboard
    info = open_page(browser, base + "/", tmp_path / "dashboard.png")
    docs_copy(tmp_path / "dashboard.png", "dashboard.png")
    day = build_report(store, config, now=DASH_NOW, since=timedelta(hours=24))
    want = {g["name"]: [h["count"] for h in g["per_hour"]] for g in day["groups"] if g["kind"] == "watchlist"}
    assert {c["name"]: c["counts"] for c in info["charts"]} == want
    assert "Healthy" in info["text"] and "人工智能" in info["text"] and "科大讯飞" in info["text"]

    info = open_page(browser, base + "/report", tmp_path / "live-report.png")
    week = build_report(store, config, now=DASH_NOW)
    assert [c["counts"] for c in info["charts"] if c["chart"] == "day"] == \
        [[d["count"] for d in g["per_day"]] for g in week["groups"]]

    info = open_page(browser, base + "/stories?q=" + quote("国产算力"), tmp_path / "stories.png", height=900)
    assert "劉慶峰：全面基於國產算力訓練大模型" in info["text"] and "科大讯飞发布星火大模型" in info["text"]
    info = open_page(browser, base + "/stories?q=" + quote("{{7*7}}"), tmp_path / "hostile.png", height=900)
    assert "{{7*7}}" in info["text"] and "49" not in info["text"]
