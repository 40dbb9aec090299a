"""Local replicas (127.0.0.1) of the JSON live wire and the exchange disclosure endpoints newsradar reads.

Each endpoint answers with the request and response shapes of the real one (issue 12): CNINFO's POST form with
`hasMore` paging and `<em>` in titles and epoch-ms times; SZSE's JSON body; SSE's JSONP that answers 403 without
an SSE `Referer`; HKEX's `result` that is a JSON string; EDGAR's Atom feed that answers 403 without a contact
e-mail in the User-Agent; and a live wire with a nested mapping and ETags. `ex.broken[name] = "html" | "truncated"
| "renamed"` makes one endpoint answer malformed; `ex.requests` keeps (method, path, headers, body).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.site import send

MS = 1718073000000  # 2024-06-11 10:30:00 +08:00

WIRE = [
    {"id": 9001, "title": "", "content": "科大讯飞(002230)公告设立全资子公司", "shareurl": "/roll/9001.html",
     "ctime": 1718073000, "stocks": [{"code": "sz002230", "name": "科大讯飞"}]},
    {"id": 9002, "title": "Cambricon lifts capex", "content": "Cambricon lifts capex on domestic compute",
     "shareurl": "https://wire.example/roll/9002.html", "ctime": 1718073060, "stocks": []},
]

ARTICLE = """<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>科大讯飞设立全资子公司</title></head>
<body><nav>首页 | 快讯</nav><article><h1>科大讯飞设立全资子公司</h1>
<p>科大讯飞股份有限公司今日公告，公司拟以自有资金出资设立全资子公司，注册资本为人民币五亿元，主要从事人工智能
算力基础设施的建设与运营。公司表示，此举有助于进一步完善产业布局，提升公司在国产算力领域的综合竞争力。</p>
<p>公告显示，新公司将位于合肥，设立完成后将纳入公司合并报表范围。本次投资不构成关联交易，也不构成重大资产重组。</p>
</article><footer>免责声明</footer></body></html>"""

CNINFO = [
    {"secCode": "002230", "secName": "科大讯飞", "orgId": "gssz0002230", "announcementId": "1220000001",
     "announcementTitle": "关于设立<em>全资子公司</em>的公告", "announcementTime": MS,
     "adjunctUrl": "finalpage/2024-06-11/1220000001.PDF", "announcementType": "01010503"},
    {"secCode": "002230", "secName": "科大讯飞", "orgId": "gssz0002230", "announcementId": "1220000002",
     "announcementTitle": "第六届董事会第十次会议决议公告", "announcementTime": MS - 60000,
     "adjunctUrl": "finalpage/2024-06-11/1220000002.PDF", "announcementType": "01010501"},
    {"secCode": "688256", "secName": "寒武纪", "orgId": "9900042137", "announcementId": "1220000003",
     "announcementTitle": "关于股票交易异常波动的公告", "announcementTime": MS - 120000,
     "adjunctUrl": "finalpage/2024-06-11/1220000003.PDF", "announcementType": "01010503"},
]
ORG_IDS = {"002230": "gssz0002230", "688256": "9900042137"}

SZSE = [
    {"id": "a1b2c3d4-0001", "title": "科大讯飞：关于回购股份的进展公告", "publishTime": "2024-06-11 00:00:00",
     "secCode": ["002230"], "secName": ["科大讯飞"], "attachPath": "/disc/disk03/finalpage/2024-06-11/a1.PDF",
     "bigCategoryId": ["0129"]},
]

SSE = [
    {"TITLE": "寒武纪关于股票交易异常波动的公告", "URL": "/disclosure/listedinfo/announcement/c/new/2024-06-11/688256_1.pdf",
     "ADDDATE": "2024-06-11 16:30:00", "SSEDATE": "2024-06-11", "SECURITY_CODE": "688256", "SECURITY_NAME": "寒武纪",
     "BULLETIN_TYPE": "其他"},
]

HKEX = [
    {"NEWS_ID": "11223344", "STOCK_CODE": "09988", "STOCK_NAME": "BABA-W", "TITLE": "VOLUNTARY ANNOUNCEMENT",
     "DATE_TIME": "11/06/2024 19:32", "FILE_LINK": "/listedco/listconews/sehk/2024/0611/2024061100999.pdf",
     "LONG_TEXT": "Announcements and Notices - [Voluntary Announcements]"},
    {"NEWS_ID": "11223345", "STOCK_CODE": "00700", "STOCK_NAME": "TENCENT", "TITLE": "DATE OF BOARD MEETING",
     "DATE_TIME": "11/06/2024 18:00", "FILE_LINK": "/listedco/listconews/sehk/2024/0611/2024061100888.pdf",
     "LONG_TEXT": "Announcements and Notices - [Date of Board Meeting]"},
]

EDGAR_ENTRIES = [
    ("0000320193-24-000069", "8-K", "8-K - Apple Inc. (0000320193) (Filer)", "2024-06-11T16:30:12-04:00"),
]


def edgar_atom(entries=EDGAR_ENTRIES) -> str:
    out = ['<?xml version="1.0" encoding="ISO-8859-1" ?>',
           '<feed xmlns="http://www.w3.org/2005/Atom"><title>Latest Filings</title>']
    for accession, form, title, updated in entries:
        cik = accession.split("-")[0]
        out.append(
            f"<entry><title>{title}</title>"
            f'<link rel="alternate" type="text/html" href="/Archives/edgar/data/{int(cik)}/'
            f'{accession.replace("-", "")}/{accession}-index.htm"/>'
            f"<summary type=\"html\"> &lt;b&gt;Filed:&lt;/b&gt; 2024-06-11 &lt;b&gt;AccNo:&lt;/b&gt; {accession}"
            f"</summary><updated>{updated}</updated>"
            f'<category scheme="https://www.sec.gov/" label="form type" term="{form}"/>'
            f"<id>urn:tag:sec.gov,2008:accession-number={accession}</id></entry>")
    out.append("</feed>")
    return "".join(out)


class Exchanges:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.arrived: list[tuple[str, float]] = []  # (path, time.monotonic()) of each request
        self.broken: dict[str, str] = {}
        self.page_size = 1  # CNINFO pages of 1: two announcements of one company need paging
        self.lock = threading.Lock()
        ex = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                ex._serve(self, b"")

            def do_POST(self) -> None:
                ex._serve(self, self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def hits(self, path: str) -> list[tuple[str, str, dict[str, str], bytes]]:
        return [r for r in self.requests if urlsplit(r[1]).path == path]

    # -- endpoints --------------------------------------------------------------------------------------------
    def _serve(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        url = urlsplit(h.path)
        query = parse_qs(url.query)
        with self.lock:
            self.requests.append((h.command, h.path, dict(h.headers.items()), body))
            self.arrived.append((url.path, time.monotonic()))
        route = {
            "/api/roll": self._wire, "/new/hisAnnouncement/query": self._cninfo,
            "/new/information/topSearch/query": self._cninfo_search, "/api/disc/announcement/annList": self._szse,
            "/security/stock/queryCompanyBulletin.do": self._sse, "/search/titleSearchServlet.do": self._hkex,
            "/cgi-bin/browse-edgar": self._edgar,
        }.get(url.path)
        if route is None and url.path.startswith("/roll/"):
            return send(h, 200, ARTICLE.encode(), "text/html; charset=utf-8")
        if route is None:
            return send(h, 404, b"not found", "text/plain")
        status, payload, ctype = route(h, query, body)
        name = route.__name__.strip("_")
        mode = self.broken.get(name)
        if mode == "html":
            status, payload, ctype = 200, b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"
        elif mode == "truncated":
            payload = payload[: len(payload) // 2]
        if status == 200 and h.command == "GET" and name == "wire":
            etag = '"' + hashlib.sha1(payload).hexdigest()[:12] + '"'
            if h.headers.get("If-None-Match") == etag:
                return send(h, 304, b"", None, {"ETag": etag})
            return send(h, 200, payload, ctype, {"ETag": etag})
        send(h, status, payload, ctype)

    def _json(self, doc: object) -> tuple[int, bytes, str]:
        return 200, json.dumps(doc, ensure_ascii=False).encode(), "application/json;charset=UTF-8"

    def _renamed(self, name: str, items: list[dict], old: str, new: str) -> list[dict]:
        if self.broken.get(name) != "renamed":
            return items
        return [{(new if k == old else k): v for k, v in item.items()} for item in items]

    def _wire(self, h, query, body):
        items = self._renamed("wire", WIRE, "content", "body")
        items = self._renamed("wire", items, "title", "headline")
        return self._json({"result": {"status": {"code": 0}, "data": {"roll_data": items}}})

    def _cninfo(self, h, query, body):
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        if h.command != "POST" or form.get("tabName") != "fulltext" or "~" not in form.get("seDate", "~"):
            return 400, b'{"error": "bad query"}', "application/json"
        stock = form.get("stock", "")
        rows = CNINFO
        if stock:
            codes = {part.split(",")[0] for part in stock.split(";") if part}
            if any(f"{c},{ORG_IDS.get(c)}" not in stock for c in codes):
                return 200, *self._json({"announcements": None, "hasMore": False, "totalAnnouncement": 0})[1:]
            rows = [r for r in rows if r["secCode"] in codes]
        if form.get("category"):
            rows = [r for r in rows if r["announcementType"] in form["category"].split(";")]
        page, size = int(form.get("pageNum") or 1), min(int(form.get("pageSize") or 30), self.page_size)
        chunk = rows[(page - 1) * size: page * size]
        chunk = self._renamed("cninfo", chunk, "announcementTitle", "title")
        return self._json({"announcements": chunk, "hasMore": page * size < len(rows),
                           "totalAnnouncement": len(rows)})

    def _cninfo_search(self, h, query, body):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        code = form.get("keyWord", "")
        found = [{"code": code, "orgId": ORG_IDS[code], "zwjc": "x"}] if code in ORG_IDS else []
        return self._json(found)

    def _szse(self, h, query, body):
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return 400, b"{}", "application/json"
        if h.command != "POST" or not isinstance(req.get("seDate"), list):
            return 400, b"{}", "application/json"
        rows = [r for r in SZSE if not req.get("stock") or set(r["secCode"]) & set(req["stock"])]
        rows = self._renamed("szse", rows, "title", "annTitle")
        return self._json({"announceCount": len(rows), "data": rows})

    def _sse(self, h, query, body):
        if not (h.headers.get("Referer") or "").startswith("http://www.sse.com.cn"):
            return 403, b"<html><body>403 Forbidden</body></html>", "text/html"
        callback = query.get("jsonCallBack", ["jsonpCallback"])[0]
        product = query.get("productId", [""])[0]
        rows = [r for r in SSE if not product or r["SECURITY_CODE"] == product]
        rows = self._renamed("sse", rows, "TITLE", "BULLETIN_TITLE")
        doc = json.dumps({"result": rows, "pageHelp": {"pageNo": 1, "pageCount": 1}}, ensure_ascii=False)
        return 200, f"{callback}({doc})".encode(), "text/javascript;charset=UTF-8"

    def _hkex(self, h, query, body):
        rows = self._renamed("hkex", HKEX, "TITLE", "HEADLINE")
        return self._json({"result": json.dumps(rows), "hasNextRow": False, "rowRange": 100,
                           "recordCnt": len(rows)})

    def _edgar(self, h, query, body):
        if "@" not in (h.headers.get("User-Agent") or ""):
            return 403, b"<html><body>Your Request Originates from an Undeclared Automated Tool</body></html>", \
                "text/html"
        return 200, edgar_atom().encode("latin-1"), "application/atom+xml"

@pytest.fixture
def exchanges():
    ex = Exchanges()
    yield ex
    ex.close()
