"""Ticker normalisation (crawler.tickers) and the JSON mapping's time and document handling (spiders.jsonapi)."""

from __future__ import annotations

import pytest

from crawler.tickers import normalize, spellings
from spiders.jsonapi import to_time


@pytest.mark.parametrize("raw, market, want", [
    ("002230", None, "002230.SZ"), ("SZ002230", None, "002230.SZ"), ("sz.002230", None, "002230.SZ"),
    ("002230.SZ", None, "002230.SZ"), ("002230.sz", None, "002230.SZ"), ("科大讯飞(002230)", None, "002230.SZ"),
    ("科大讯飞（002230）", None, "002230.SZ"), ("688256", None, "688256.SH"), ("SH688256", None, "688256.SH"),
    ("600519.SS", None, "600519.SH"), ("830799", None, "830799.BJ"), ("300750", "CN", "300750.SZ"),
    ("9988.HK", None, "9988.HK"), ("09988.HK", None, "9988.HK"), ("HK9988", None, "9988.HK"),
    ("09988", "HK", "9988.HK"), ("00700", "HK", "0700.HK"), ("700.HK", None, "0700.HK"),
    ("AAPL", None, "AAPL"), ("aapl", None, "AAPL"), ("$AAPL", None, "AAPL"), ("NASDAQ:AAPL", None, "AAPL"),
    ("brk.b", None, "BRK.B"), ("BRK-B", "US", "BRK.B"),
    ("9988", None, None), ("123456", None, None), ("", None, None), (None, None, None), ("not a ticker", None, None),
])
def test_normalize(raw, market, want):
    assert normalize(raw, market) == want


def test_spellings():
    assert spellings("002230.SZ") == ("002230", "SZ002230")
    assert "09988" in spellings("9988.HK") and "9988 HK" in spellings("9988.HK")
    assert "AAPL" not in spellings("AAPL") and "$AAPL" in spellings("AAPL")


@pytest.mark.parametrize("value, fmt, zone, want", [
    (1718073000, "epoch_s", "Asia/Shanghai", "2024-06-11T10:30:00+08:00"),
    (1718073000000, "epoch_ms", "Asia/Shanghai", "2024-06-11T10:30:00+08:00"),
    ("1718073000000", "auto", "UTC", "2024-06-11T02:30:00+00:00"),
    (1718073000, "auto", "UTC", "2024-06-11T02:30:00+00:00"),
    ("2024-06-11 10:30:00", "auto", "Asia/Shanghai", "2024-06-11T10:30:00+08:00"),
    ("2024-06-11T02:30:00Z", "iso", "Asia/Shanghai", "2024-06-11T02:30:00+00:00"),
    ("11/06/2024 19:32", "%d/%m/%Y %H:%M", "Asia/Hong_Kong", "2024-06-11T19:32:00+08:00"),
    (None, "epoch_s", "UTC", None),
])
def test_to_time(value, fmt, zone, want):
    assert to_time(value, fmt, zone) == want


@pytest.mark.parametrize("value, fmt", [("yesterday", "iso"), ("2024-06-11", "epoch_ms"), ("11/06/2024", "%Y")])
def test_to_time_refuses_what_it_cannot_read(value, fmt):
    with pytest.raises(ValueError):
        to_time(value, fmt, "UTC")


def test_field_map_parses_json_strings_and_fills_templates():
    from spiders.jsonapi import FieldMap

    doc = {"payload": '{"list": [{"t": "A", "m": "{\\"id\\": 7, \\"code\\": \\"sz002230\\"}", "p": "x/1"}]}'}
    fm = FieldMap("json_parse(payload).list", {"title": "t", "id": "json_parse(m).id", "url": "/n/{json_parse(m).id}.html"})
    (item,) = fm.item_list(doc)
    assert fm.value("title", item) == "A" and fm.value("id", item) == 7
    assert fm.value("url", item) == "/n/7.html"
    assert fm.value("summary", item) is None, "an unmapped field is None"
    assert FieldMap("result", {}).item_list({"result": "[1, 2]"}) == [1, 2], "items that are a JSON string"
