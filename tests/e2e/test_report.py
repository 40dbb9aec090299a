"""`newsradar report` over a store filled by a real `run --once` (English, Simplified and Traditional Chinese
stories and one with a hostile title): the JSON numbers, the self-contained HTML with its SVG charts, PNGs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import cli as run_cli
from tests.support.reportsite import HOSTILE, NOW


@pytest.fixture
def cli():
    """The real `newsradar` entry point, in process (the report needs no reactor; a subprocess costs seconds)."""
    return run_cli


def report_json(cli, filled, *extra: str) -> dict:
    return json.loads(cli("report", "--format", "json", "--now", NOW, "-c", str(filled.config), *extra).stdout)


def group(report: dict, kind: str, name: str) -> dict:
    return next(g for g in report["groups"] if g["kind"] == kind and g["name"] == name)


def test_json_counts_mentions_per_local_day_and_hour_with_baseline(cli, filled):
    report = report_json(cli, filled)
    assert report["period"]["start"] == "2025-06-08T00:00:00+08:00" and report["period"]["end"] == NOW
    ai = group(report, "watchlist", "人工智能")
    per_day = {d["day"]: d["count"] for d in ai["per_day"]}
    # feed-only story 10 Jun 07:00Z = 15:00 local; iFlytek 11 Jun; GBK (简) and Big5 (繁, folded t2s) on 12 Jun;
    # the hostile story on 13 Jun
    assert per_day == {"2025-06-08": 0, "2025-06-09": 0, "2025-06-10": 1, "2025-06-11": 1, "2025-06-12": 2,
                       "2025-06-13": 1, "2025-06-14": 0}
    assert ai["mentions"] == 5 and ai["baseline_per_day"] == round(5 / 7, 3)
    assert len(ai["per_hour"]) == 7 * 24 and sum(h["count"] for h in ai["per_hour"]) == 5
    assert {h["hour"] for h in ai["per_hour"] if h["count"]} >= {"2025-06-12T10:00", "2025-06-12T08:00"}
    chips = group(report, "watchlist", "chips")
    assert {d["day"]: d["count"] for d in chips["per_day"] if d["count"]} == {"2025-06-13": 1, "2025-06-14": 1}
    assert group(report, "rule", "ai-desk")["mentions"] == 5 and ai["rules"] == ["ai-desk"]
    titles = {s["title"]: s for s in ai["top"]}
    assert titles["劉慶峰：全面基於國產算力訓練大模型"]["terms"] == ["国产算力", "科大讯飞"]
    assert all(s["source"] and s["published"].endswith("+08:00") for s in ai["top"])
    sent = {a["notifier"]: a for a in report["alerts"]}
    assert sent["desk"]["sent"] == 7 and sent["desk"]["dead"] == 0  # one per matching story
    health = {s["source"]: s for s in report["sources"]}
    assert set(health) == {"deep-feed", "markets", "news-sitemap", "hostile"}
    assert all(h["state"] == "ok" and h["last_success"] for h in health.values())


def test_watchlist_filter_and_unknown_watchlist(cli, filled):
    report = report_json(cli, filled, "--watchlist", "chips")
    assert [(g["kind"], g["name"]) for g in report["groups"]] == [("watchlist", "chips"), ("rule", "chip-desk")]
    bad = cli("report", "--watchlist", "nope", "-c", str(filled.config), check=False)
    assert bad.returncode == 2 and "unknown watchlist nope" in bad.stderr and "chips" in bad.stderr
    bad = cli("report", "--since", "soon", "-c", str(filled.config), check=False)
    assert bad.returncode == 2 and "not a duration" in bad.stderr


def svg_counts(html: str) -> dict[str, list[int]]:
    """{'<kind>:<name>/<day|hour>': [count per bucket]} read from the inline SVGs; every non-empty bucket must
    also be drawn as a bar labelled with the same count."""
    out = {}
    for section in re.finditer(r'<section id="g\d+" class="group" data-kind="(\w+)" data-name="([^"]*)"(.*?)</section>',
                               html, re.S):
        for fig in re.finditer(r'<figure class="chart" data-chart="(\w+)">(.*?)</figure>', section.group(3), re.S):
            counts = [int(n) for n in re.search(r'<svg class="nr-chart" data-counts="([\d,]*)"', fig.group(2))
                      .group(1).split(",")]
            bars = [int(n) for n in re.findall(r'class="nr-bar" data-label="[^"]*" data-count="(\d+)"', fig.group(2))]
            assert bars == [c for c in counts if c], "each non-empty bucket is one bar with its count"
            out[f"{section.group(1)}:{section.group(2)}/{fig.group(1)}"] = counts
    return out


def test_html_is_self_contained_with_charts_carrying_the_json_counts(cli, filled, tmp_path):
    out = tmp_path / "report.html"
    cli("report", "--out", str(out), "--now", NOW, "-c", str(filled.config))
    html = out.read_text(encoding="utf-8")
    report = report_json(cli, filled)
    counts = svg_counts(html)
    for g in report["groups"]:
        assert counts[f"{g['kind']}:{g['name']}/day"] == [d["count"] for d in g["per_day"]], g["name"]
        assert counts[f"{g['kind']}:{g['name']}/hour"] == [h["count"] for h in g["per_hour"]], g["name"]
        assert f'data-baseline="{g["baseline_per_day"]}"' in html
    # nothing to fetch: no script, no stylesheet or font link, no remote src/url() (story links are plain <a>)
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html
    assert not re.search(r'\ssrc=|url\((?!#)', html), "only in-page references"
    assert "<text" not in html, "glyphs are paths: no font needed to read the charts"
    # hostile title: escaped text, not markup; the template syntax is not evaluated
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;/svg&gt;{{7*7}} iFlytek" in html
    assert HOSTILE not in html
    assert "科大讯飞发布星火大模型" in html and "劉慶峰" in html and "@人工智能" in html
    assert "Generated 2025-06-15T00:00:00+08:00" in html and "Period 2025-06-08" in html


def test_png_format_writes_one_chart_per_watchlist(cli, filled, tmp_path):
    out = cli("report", "--format", "png", "--out", str(tmp_path / "png"), "--now", NOW,
                    "-c", str(filled.config)).stdout.split()
    assert sorted(Path(p).name for p in out) == ["chips.png", "人工智能.png"]
    for p in out:
        assert Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
