"""The disclosure presets against local replicas of their endpoints (tests/exchanges.py, 127.0.0.1 only): every
announcement stored once with its fields; a second poll stores nothing new; a `tickers` rule alerts; a malformed
answer (an HTML error page, truncated JSON, a renamed field) is a source error with a clear message that stores
nothing of that page."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import items, newsradar
from tests.support.exchanges import exchanges  # noqa: F401  (fixture)
from tests.e2e.test_json_source import wire_source, write_config

CONTACT = "desk@example.com"


def presets(base: str, **extra: str) -> str:
    out = ""
    for name, body in {
        "cninfo-watch": "type: cninfo\n    tickers: [002230.SZ, 688256.SH]",
        "szse-all": "type: szse",
        "sse-watch": "type: sse\n    tickers: [688256.SH]",
        "hkex-watch": "type: hkex\n    tickers: [9988.HK]",
        "edgar-8k": f"type: edgar\n    contact: {CONTACT}\n    tickers: [AAPL, MSFT]\n    categories: [8-K]",
    }.items():
        out += f"  - name: {name}\n    {body}\n    base_url: {base}\n    allow_private: true\n{extra.get(name, '')}"
    return out


def rules(hook_port: int) -> str:
    return f"""rules:
  - name: iflytek-filings
    tickers: [002230.SZ]
    sources: [cninfo-watch]
    notify: [hook]
  - name: alibaba
    tickers: [9988.HK]
    notify: [hook]
notifiers:
  hook:
    url: "json://127.0.0.1:{hook_port}/hook"
"""


def by_source(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["source"], []).append(r)
    return out


def test_presets_store_each_announcement_once_with_fields_and_a_tickers_rule_alerts(exchanges, tmp_path,
                                                                                   http_receiver):
    config = write_config(tmp_path, presets(exchanges.base) + wire_source(exchanges.base), rules(http_receiver.port))
    newsradar("run", "--once", "-c", str(config))
    rows = by_source(items(config))
    base = exchanges.base

    cninfo = {r["title"]: r for r in rows["cninfo-watch"]}
    assert set(cninfo) == {"关于设立全资子公司的公告", "第六届董事会第十次会议决议公告", "关于股票交易异常波动的公告"}, \
        "three announcements, paged (pageSize 1, hasMore); <em> dropped from the title"
    sub = cninfo["关于设立全资子公司的公告"]
    assert sub["tickers"] == ["002230.SZ"] and sub["company"] == "科大讯飞" and sub["category"] == "01010503"
    assert sub["published"] == "2024-06-11T10:30:00+08:00", "epoch ms in Asia/Shanghai"
    assert sub["doc_url"] == f"{base}/finalpage/2024-06-11/1220000001.PDF"
    assert sub["url"] == f"{base}/new/disclosure/detail?announcementId=1220000001&orgId=gssz0002230&stockCode=002230"
    assert cninfo["关于股票交易异常波动的公告"]["tickers"] == ["688256.SH"]
    queries = [parse_qs(r[3].decode()) for r in exchanges.hits("/new/hisAnnouncement/query")]
    assert all(q["tabName"] == ["fulltext"] and "~" in q["seDate"][0] for q in queries)
    stocks = {q["stock"][0] for q in queries}
    assert stocks == {"002230,gssz0002230", "688256,9900042137"}, "SZ and SH companies, by code and orgId"
    assert sorted(q["pageNum"][0] for q in queries if q["stock"] == ["002230,gssz0002230"]) == ["1", "2"]

    (szse,) = rows["szse-all"]
    assert szse["title"] == "科大讯飞：关于回购股份的进展公告" and szse["tickers"] == ["002230.SZ"]
    assert szse["doc_url"] == f"{base}/download/disc/disk03/finalpage/2024-06-11/a1.PDF"
    assert szse["published"] == "2024-06-11T00:00:00+08:00"
    (szse_req,) = exchanges.hits("/api/disc/announcement/annList")
    body = json.loads(szse_req[3])
    assert szse_req[0] == "POST" and body["pageNum"] == 1 and len(body["seDate"]) == 2, "a JSON body"

    (sse,) = rows["sse-watch"]
    assert sse["tickers"] == ["688256.SH"] and sse["company"] == "寒武纪" and sse["category"] == "其他"
    assert sse["published"] == "2024-06-11T16:30:00+08:00"
    assert sse["doc_url"] == f"{base}/disclosure/listedinfo/announcement/c/new/2024-06-11/688256_1.pdf"
    (sse_req,) = exchanges.hits("/security/stock/queryCompanyBulletin.do")
    assert sse_req[2]["Referer"] == "http://www.sse.com.cn/"

    (hkex,) = rows["hkex-watch"]  # Tencent is not selected
    assert hkex["title"] == "VOLUNTARY ANNOUNCEMENT" and hkex["tickers"] == ["9988.HK"]
    assert hkex["published"] == "2024-06-11T19:32:00+08:00", "dd/mm/yyyy HH:MM, Hong Kong time"
    assert hkex["category"] == "Announcements and Notices - [Voluntary Announcements]"

    edgar = rows["edgar-8k"]
    assert len(edgar) == 1, "one filing, seen in two per-company feeds, is one story (its accession number)"
    assert edgar[0]["category"] == "8-K" and edgar[0]["company"] == "Apple Inc."
    assert edgar[0]["doc_url"].endswith("/0000320193-24-000069-index.htm")
    feeds = exchanges.hits("/cgi-bin/browse-edgar")
    assert len(feeds) == 2 and all(CONTACT in h["User-Agent"] for _, _, h, _ in feeds)
    (first, second) = [t for p, t in exchanges.arrived if p == "/cgi-bin/browse-edgar"]
    assert second - first >= 0.1, "SEC: at most 10 requests a second"
    assert {parse_qs(urlsplit(p).query)["CIK"][0] for _, p, _, _ in feeds} == {"AAPL", "MSFT"}

    alerts = [r.json for r in http_receiver.requests if r.path.startswith("/hook")]
    text = json.dumps(alerts, ensure_ascii=False)
    assert "关于设立全资子公司的公告" in text and "VOLUNTARY ANNOUNCEMENT" in text
    assert "科大讯飞：关于回购股份的进展公告" not in text, "iflytek-filings only looks at cninfo-watch"
    count = len(alerts)
    assert count == 3, text  # two iFlytek announcements on CNINFO, one Alibaba on HKEX

    newsradar("run", "--once", "-c", str(config))
    assert len(items(config)) == sum(len(v) for v in rows.values()), "a second poll stores nothing new"
    assert len([r for r in http_receiver.requests if r.path.startswith("/hook")]) == count, "and alerts nothing"


def test_a_correction_under_a_new_id_is_a_new_story(exchanges, tmp_path, monkeypatch):
    config = write_config(tmp_path, presets(exchanges.base).split("  - name: szse-all")[0])
    newsradar("run", "--once", "-c", str(config))
    import tests.support.exchanges as ex

    corrected = dict(ex.CNINFO[0], announcementId="1220000009")  # same title, same PDF, a new id
    monkeypatch.setattr(ex, "CNINFO", [corrected, *ex.CNINFO])
    exchanges.page_size = 10
    newsradar("run", "--once", "-c", str(config))
    titles = [r["title"] for r in items(config)]
    assert titles.count("关于设立全资子公司的公告") == 2, "not a syndicated copy, not a known URL: a new story"


def test_referer_and_contact_are_required_by_the_replicas(exchanges):
    """The replicas refuse what the real endpoints refuse, so the tests above prove the headers are sent."""
    import urllib.error
    import urllib.request

    for path in ("/security/stock/queryCompanyBulletin.do?productId=", "/cgi-bin/browse-edgar?action=getcurrent"):
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(urllib.request.Request(exchanges.base + path, headers={"User-Agent": "x"}))
        assert info.value.code == 403


def test_sse_without_referer_is_a_source_error(exchanges, tmp_path):
    """A JSONP endpoint that wants a Referer: without it the replica answers 403 and the poll says so."""
    source = (f"  - name: sse-no-referer\n    type: json\n    url: {exchanges.base}/security/stock/"
              f"queryCompanyBulletin.do?jsonCallBack=cb\n    allow_private: true\n    items: result\n"
              f"    fields: {{id: URL, title: TITLE}}\n")
    config = write_config(tmp_path, source)
    proc = newsradar("run", "--once", "-c", str(config))
    assert "source=sse-no-referer status=error" in proc.stderr and "HTTP 403" in proc.stderr, proc.stderr
    assert items(config) == []


def test_edgar_crawls_stay_under_ten_requests_a_second():
    from scrapy.settings import Settings

    from spiders.edgar import EdgarSpider

    settings = Settings({"DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS_PER_DOMAIN": 8})
    EdgarSpider.update_settings(settings)
    assert settings.getfloat("DOWNLOAD_DELAY") * 0.5 >= 0.1, "with Scrapy's ±50 % jitter, never under 0.1 s"
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    settings = Settings({"DOWNLOAD_DELAY": 2})
    EdgarSpider.update_settings(settings)
    assert settings.getfloat("DOWNLOAD_DELAY") == 2, "a slower configured delay is kept"


ROUNDS = [  # each endpoint broken one way per round: (endpoint, source, mode, message)
    [("cninfo", "cninfo-watch", "html", "an HTML page"), ("szse", "szse-all", "renamed", "fields.title 'title' is empty"),
     ("sse", "sse-watch", "truncated", "not valid JSON"), ("hkex", "hkex-watch", "renamed", "fields.title 'TITLE' is empty"),
     ("edgar", "edgar-8k", "html", "not an EDGAR Atom feed")],
    [("cninfo", "cninfo-watch", "truncated", "not valid JSON"), ("hkex", "hkex-watch", "html", "an HTML page"),
     ("wire", "live-wire", "renamed", "fields.title 'title || content' is empty")],
    [("cninfo", "cninfo-watch", "renamed", "fields.title 'announcementTitle' is empty"),
     ("wire", "live-wire", "truncated", "not valid JSON")],
]


@pytest.mark.parametrize("broken", ROUNDS, ids=["round1", "round2", "round3"])
def test_malformed_answer_is_a_source_error_that_stores_nothing(exchanges, tmp_path, broken):
    for endpoint, _source, mode, _message in broken:
        exchanges.broken[endpoint] = mode
    config = write_config(tmp_path, presets(exchanges.base) + wire_source(exchanges.base))
    proc = newsradar("run", "--once", "-c", str(config))
    rows = by_source(items(config))
    for _endpoint, source, mode, message in broken:
        line = next((ln for ln in proc.stderr.splitlines() if f"source={source} " in ln), "")
        assert "status=error" in line and message in line, (mode, proc.stderr)
        assert source not in rows, f"nothing of a malformed page is stored ({source}, {mode})"
    healthy = {"cninfo-watch", "szse-all", "sse-watch", "hkex-watch", "edgar-8k", "live-wire"} - {b[1] for b in broken}
    assert set(rows) == healthy, "the other sources are unaffected"


def test_cninfo_whole_market_with_categories(exchanges, tmp_path):
    source = (f"  - name: market\n    type: cninfo\n    categories: ['01010503']\n    base_url: {exchanges.base}\n"
              f"    allow_private: true\n")
    config = write_config(tmp_path, source)
    newsradar("run", "--once", "-c", str(config))
    titles = sorted(r["title"] for r in items(config))
    assert titles == ["关于股票交易异常波动的公告", "关于设立全资子公司的公告"], "the category's announcements, once each"
    queries = [parse_qs(r[3].decode(), keep_blank_values=True) for r in exchanges.hits("/new/hisAnnouncement/query")]
    assert {q["column"][0] for q in queries} == {"szse", "sse"} and all(q["stock"] == [""] for q in queries)
    assert all(q["category"] == ["01010503"] for q in queries)
    assert not exchanges.hits("/new/information/topSearch/query"), "no orgId lookup without tickers"
