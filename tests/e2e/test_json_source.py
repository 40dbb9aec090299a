"""`type: json` against a local live wire (127.0.0.1): a nested JMESPath mapping, relative URLs, epoch times in
the source's zone, tickers as fields; stored once, nothing new on a second poll (a conditional GET), a `tickers`
rule alerts, and a malformed response is a source error that stores nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import cli, items, newsradar
from tests.support.exchanges import exchanges  # noqa: F401  (fixture)


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


def test_a_tickers_rule_alerts_on_a_json_story(exchanges, tmp_path, http_receiver):
    rules = """rules:
  - name: iflytek
    tickers: [002230.SZ]
    notify: [hook]
"""
    notifiers = f"notifiers:\n  hook:\n    url: \"json://127.0.0.1:{http_receiver.port}/hook\"\n"
    config = write_config(tmp_path, wire_source(exchanges.base), rules, notifiers)
    newsradar("run", "--once", "-c", str(config))
    posts = [r.json for r in http_receiver.requests if r.path.startswith("/hook")]
    assert len(posts) == 1 and "科大讯飞(002230)公告设立全资子公司" in json.dumps(posts, ensure_ascii=False)
    row = next(r for r in items(config) if r["tickers"])
    assert row["rules"] == [{"rule": "iflytek", "terms": ["002230.SZ"]}]


def test_follow_fetches_each_items_page_for_main_text(exchanges, tmp_path):
    config = write_config(tmp_path, wire_source(exchanges.base, extra="    follow: true\n"))
    newsradar("run", "--once", "-c", str(config))
    row = next(r for r in items(config) if r["url"].endswith("/roll/9001.html"))
    assert "注册资本为人民币五亿元" in row["text"] and "免责声明" not in row["text"]
    assert row["tickers"] == ["002230.SZ"], "the item's fields travel with the page"
    assert row["published"] == "2024-06-11T10:30:00+08:00"


def test_post_form_and_json_body_and_jsonp(exchanges, tmp_path):
    """The generic type speaks the presets' shapes: a POST form (CNINFO), a JSON body (SZSE), JSONP (SSE)."""
    base = exchanges.base
    sources = f"""  - name: form
    type: json
    url: {base}/new/hisAnnouncement/query
    allow_private: true
    method: POST
    form: {{pageNum: 1, pageSize: 30, column: szse, tabName: fulltext, stock: "", seDate: "2024-06-01~2024-06-11"}}
    items: announcements
    fields: {{id: announcementId, title: announcementTitle, published: announcementTime, doc_url: "/static/{{adjunctUrl}}"}}
    time_format: epoch_ms
  - name: body
    type: json
    url: {base}/api/disc/announcement/annList
    allow_private: true
    method: POST
    body: {{seDate: ["2024-06-01", "2024-06-11"], pageNum: 1, pageSize: 50}}
    items: data
    fields: {{id: id, title: title, published: publishTime, tickers: secCode}}
    time_format: "%Y-%m-%d %H:%M:%S"
    timezone: Asia/Shanghai
  - name: jsonp
    type: json
    url: "{base}/security/stock/queryCompanyBulletin.do?jsonCallBack=jsonpCallback99"
    allow_private: true
    headers: {{Referer: "http://www.sse.com.cn/disclosure/"}}
    items: result
    fields: {{url: URL, title: TITLE, published: ADDDATE, tickers: SECURITY_CODE}}
    time_format: iso
    timezone: Asia/Shanghai
"""
    config = write_config(tmp_path, sources)
    newsradar("run", "--once", "-c", str(config))
    rows: dict[str, list[dict]] = {}
    for r in items(config):
        rows.setdefault(r["source"], []).append(r)
    assert len(rows["form"]) == 1, "the replica pages by 1: one page is one story"
    assert rows["form"][0]["doc_url"].startswith(f"{base}/static/finalpage/")
    assert rows["body"][0]["published"] == "2024-06-11T00:00:00+08:00" and rows["body"][0]["tickers"] == ["002230.SZ"]
    assert rows["jsonp"][0]["title"] == "寒武纪关于股票交易异常波动的公告"
    assert rows["jsonp"][0]["url"] == f"{base}/disclosure/listedinfo/announcement/c/new/2024-06-11/688256_1.pdf"
    assert rows["jsonp"][0]["tickers"] == ["688256.SH"]


@pytest.mark.parametrize("source, message", [
    ("items: 'data[?'\n    fields: {id: id, title: title}", "config.yaml:5: source 'bad': invalid JMESPath expression 'data[?'"),
    ("items: data\n    fields: {id: id, title: 'a ||'}", "invalid JMESPath expression 'a ||'"),
    ("items: data\n    fields: {id: id}", "type json needs fields.title"),
    ("items: data\n    fields: {title: t}", "type json needs fields.id or fields.url"),
    ("fields: {id: id, title: t}", "type json needs 'items'"),
    ("items: data\n    fields: {id: id, titel: t}", "unknown field 'titel'; did you mean 'title'?"),
    ("items: data\n    fields: {id: id, title: t, url: '/n/{a[}.html'}", "invalid JMESPath expression 'a['"),
    ("items: data\n    fields: {id: id, title: t}\n    timezone: Mars/Base", "unknown time zone 'Mars/Base'"),
])
def test_check_validates_jmespath_and_required_keys(tmp_path, source, message):
    config = tmp_path / "config.yaml"
    config.write_text(f"sources:\n  - name: bad\n    type: json\n    url: https://example.com/api\n    {source}\n")
    proc = cli("check", "-c", str(config), check=False)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "config.yaml:" in proc.stderr


def test_check_wants_a_contact_for_edgar_and_real_tickers(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("sources:\n  - name: sec\n    type: edgar\n  - name: c\n    type: cninfo\n"
                      "    tickers: [abc.XY, '002230']\nrules:\n  - name: r\n    tickers: [bogus!]\n    sources: [cninfo]\n")
    proc = cli("check", "-c", str(config), check=False)
    assert proc.returncode == 2
    assert "config.yaml:2: source 'sec': type edgar needs 'contact'" in proc.stderr, proc.stderr
    assert "config.yaml:6: source 'c': 'abc.XY' is not a ticker of cninfo" in proc.stderr
    assert "'bogus!' is not a ticker" in proc.stderr
    assert "rule 'r' names unknown source 'cninfo'" in proc.stderr
    config.write_text("sources:\n  - name: c\n    type: cninfo\n    tickers: [002230]\n")
    proc = cli("check", "-c", str(config), check=False)
    assert "config.yaml:4: sources[0].tickers: ticker 1176 is a number to YAML" in proc.stderr, proc.stderr


def test_the_readme_examples_pass_check(tmp_path):
    import re

    from tests.conftest import ROOT

    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)
    for kind in ("type: cninfo", "type: json"):
        (block,) = [b for b in blocks if kind in b and "sources:" in b and "cnbc" not in b]
        config = tmp_path / "config.yaml"
        config.write_text(block + "notifiers:\n  desk-mail:\n    url: console://\n")
        cli("check", "-c", str(config))


def test_check_names_keys_that_do_not_apply_to_the_type(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("sources:\n  - name: f\n    type: feed\n    url: https://example.com/rss\n    items: data\n"
                      "    tickers: [AAPL]\n  - name: c\n    type: cninfo\n    time_format: epoch_ms\n")
    proc = cli("check", "-c", str(config), check=False)
    assert proc.returncode == 2
    assert "config.yaml:5: source 'f': 'items' applies to type json only" in proc.stderr, proc.stderr
    assert "config.yaml:6: source 'f': 'tickers' applies to the presets" in proc.stderr
    assert "config.yaml:9: source 'c': 'time_format' applies to type json only" in proc.stderr
