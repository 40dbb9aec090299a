"""`type: json` against a local live wire (127.0.0.1): a nested JMESPath mapping, relative URLs, epoch times in
the source's zone, tickers as fields; stored once, nothing new on a second poll (a conditional GET), a `tickers`
rule alerts, and a malformed response is a source error that stores nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import items, newsradar
from tests.exchanges import exchanges  # noqa: F401  (fixture)


def wire_source(base: str, name: str = "live-wire", extra: str = "") -> str:
    return f"""  - name: {name}
    type: json
    url: {base}/api/roll?limit=50
    allow_private: true
    headers: {{Referer: "https://wire.example/"}}
    items: "result.data.roll_data"
    fields: {{id: "id", title: "title || content", url: "shareurl", published: "ctime", summary: "content",
              tickers: "stocks[].code", company: "stocks[0].name"}}
    time_format: epoch_s
    timezone: Asia/Shanghai
{extra}"""


def write_config(tmp_path: Path, sources: str, rules: str = "", notifiers: str = "") -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(f"store: sqlite:///store.db\nmax_age: 100000d\nfetch: {{robots: false, delay: 0s}}\n"
                      f"sources:\n{sources}{rules}{notifiers}")
    return config


def test_live_wire_is_mapped_stored_once_and_revalidated(exchanges, tmp_path):
    config = write_config(tmp_path, wire_source(exchanges.base))
    newsradar("run", "--once", "-c", str(config))
    rows = {r["title"]: r for r in items(config)}
    assert set(rows) == {"科大讯飞(002230)公告设立全资子公司", "Cambricon lifts capex"}
    first = rows["科大讯飞(002230)公告设立全资子公司"]
    assert first["url"] == f"{exchanges.base}/roll/9001.html", "relative url resolved against the source URL"
    assert first["published"] == "2024-06-11T10:30:00+08:00", "epoch seconds shown in the source's zone"
    assert first["tickers"] == ["002230.SZ"] and first["company"] == "科大讯飞"
    assert first["category"] is None and first["doc_url"] is None
    assert rows["Cambricon lifts capex"]["tickers"] == []
    (req,) = exchanges.hits("/api/roll")
    assert req[2]["Referer"] == "https://wire.example/"
    proc = newsradar("run", "--once", "-c", str(config))
    assert "status=not-modified" in proc.stderr, proc.stderr
    assert "If-None-Match" in exchanges.hits("/api/roll")[-1][2]
    assert len(items(config)) == 2
