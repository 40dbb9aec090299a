"""Exchange disclosure presets over the JSON machinery (spiders/jsonapi.py): `cninfo`, `szse`, `sse`, `hkex`.

Each preset fixes the request shape and the JMESPath mapping of one public disclosure endpoint, with its host
from the source's `base_url` (default: the real one, crawler.config.PRESETS). `tickers:` selects companies
(absent or empty: the whole market where the endpoint allows it), `categories:` the exchange's own category
codes, `max_pages` how many pages of a paged answer one poll reads. An announcement's title and fields are the
story (the PDF is linked as `doc_url`, never fetched); its dedupe key is the exchange's id, so a correction
re-published under a new id is a new story. The query window (`seDate`, `fromDate`/`toDate`) is the source's
`max_age` (at most 30 days) up to today in the exchange's time zone.

| type | request | items | id | time |
|---|---|---|---|---|
| cninfo | POST form `/new/hisAnnouncement/query` (`stock` "code,orgId;..." from `/new/information/topSearch/query`) | `announcements` | `announcementId` | `announcementTime`, epoch ms |
| szse | POST JSON `/api/disc/announcement/annList` | `data` | `id` | `publishTime`, Asia/Shanghai |
| sse | GET JSONP `/security/stock/queryCompanyBulletin.do`, `Referer: http://www.sse.com.cn/` | `result` | `URL` | `ADDDATE`, Asia/Shanghai |
| hkex | GET `/search/titleSearchServlet.do` | `result` (a JSON string) | `NEWS_ID` | `DATE_TIME` dd/mm/yyyy HH:MM, Asia/Hong_Kong |
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import scrapy
from scrapy.http import Response

from crawler.items import Fields
from spiders.base import ListingError
from spiders.jsonapi import JsonSpider, load_json


class PresetSpider(JsonSpider):
    disclosure = True
    market = "CN"
    real_host = ""
    doc_host = ""  # where the documents live, when not under base_url

    @property
    def base(self) -> str:
        return (self.source.base_url or self.real_host).rstrip("/")

    @property
    def docs(self) -> str:
        return self.base if self.source.base_url else self.doc_host

    def codes(self) -> list[str]:
        """The selected tickers as the exchange writes them (six digits; HKEX five)."""
        return [str(t).split(".")[0].strip().upper().removeprefix("SZ").removeprefix("SH") for t in
                self.source.tickers]

    def window(self) -> tuple[datetime, datetime]:
        now = datetime.now(ZoneInfo(self.source.timezone))
        days = min(30.0, max(1.0, self.source.max_age_seconds / 86400))
        return now - timedelta(days=days), now

    def page_of(self, response: Response) -> int:
        return response.meta.get("newsradar_page", 1)


class CninfoSpider(PresetSpider):
    name = "newsradar-cninfo"
    real_host = "http://www.cninfo.com.cn"
    doc_host = "http://static.cninfo.com.cn"
    _org_ids: dict[str, str] = {}  # code -> orgId, for the life of the process (they do not change)

    def spec(self) -> dict[str, Any]:
        return {
            "items": "announcements || `[]`",
            "fields": {
                "id": "announcementId", "title": "announcementTitle", "published": "announcementTime",
                "tickers": "secCode", "company": "secName", "category": "announcementType",
                "url": "/new/disclosure/detail?stockCode={secCode}&announcementId={announcementId}&orgId={orgId}",
                "doc_url": f"{self.docs}/{{adjunctUrl}}",
            },
            "time_format": "epoch_ms", "key_prefix": "cninfo",
        }

    def first_requests(self) -> Iterable[scrapy.Request]:
        missing = [c for c in self.codes() if c not in self._org_ids]
        self._pending = set(missing)
        if not missing:
            yield from self.queries()
            return
        for code in missing:  # orgIds first: the query names each company as "code,orgId"
            yield scrapy.Request(
                f"{self.base}/new/information/topSearch/query", method="POST",
                body=urlencode({"keyWord": code, "maxNum": 10}).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
                callback=self._org_found, errback=self._listing_failed, dont_filter=True,
                cb_kwargs={"code": code},
            )

    def _org_found(self, response: Response, code: str) -> Iterable[scrapy.Request]:
        try:
            found = load_json(response)
        except ListingError as exc:
            self.source_error(f"{response.url}: orgId of {code}: {exc}")
            return
        org = next((f.get("orgId") for f in found or () if isinstance(f, dict) and f.get("code") == code), None)
        if not org:
            self.source_error(f"{response.url}: CNINFO knows no company with code {code}")
            return
        self._org_ids[code] = org
        self._pending.discard(code)
        if not self._pending:
            yield from self.queries()

    def queries(self) -> Iterable[scrapy.Request]:
        start, end = self.window()
        columns: dict[str, list[str]] = {}
        for code in self.codes():
            column = {"SH": "sse", "BJ": "bj"}.get(_cn_exchange(code), "szse")
            columns.setdefault(column, []).append(f"{code},{self._org_ids[code]}")
        if not columns:
            columns = {"szse": [], "sse": []}  # the whole market
        for column, stocks in columns.items():
            yield self.cninfo_page(column, ";".join(stocks), f"{start:%Y-%m-%d}~{end:%Y-%m-%d}", 1)

    def cninfo_page(self, column: str, stock: str, se_date: str, page: int) -> scrapy.Request:
        form = {"pageNum": page, "pageSize": 30, "column": column, "tabName": "fulltext", "plate": "",
                "stock": stock, "searchkey": "", "secid": "", "category": ";".join(self.source.categories),
                "trade": "", "seDate": se_date, "sortName": "", "sortType": "", "isHLtitle": "true"}
        return self.query(self.source.url, "POST", form=form, page=page,
                          newsradar_query=(column, stock, se_date))

    def next_requests(self, doc: Any, response: Response, entries: list[Any]) -> Iterable[scrapy.Request]:
        page = self.page_of(response)
        if isinstance(doc, dict) and doc.get("hasMore") and page < self.source.max_pages:
            yield self.cninfo_page(*response.meta["newsradar_query"], page + 1)


class SzseSpider(PresetSpider):
    name = "newsradar-szse"
    real_host = "http://www.szse.cn"
    doc_host = "http://disc.static.szse.cn"

    def spec(self) -> dict[str, Any]:
        return {
            "items": "data",
            "fields": {
                "id": "id", "title": "title", "published": "publishTime", "tickers": "secCode",
                "company": "secName", "category": "bigCategoryId[0]",
                "url": "/disclosure/listed/bulletinDetail/index.html?{id}",
                "doc_url": f"{self.docs}/download{{attachPath}}",
            },
            "time_format": "auto", "key_prefix": "szse",
        }

    def first_requests(self) -> Iterable[scrapy.Request]:
        yield self.szse_page(1)

    def szse_page(self, page: int) -> scrapy.Request:
        start, end = self.window()
        body: dict[str, Any] = {"seDate": [f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"], "channelCode": ["listedNotice_disc"],
                                "pageSize": 50, "pageNum": page}
        if self.codes():
            body["stock"] = self.codes()
        if self.source.categories:
            body["bigCategoryId"] = list(self.source.categories)
        return self.query(self.source.url, "POST", body=body, page=page,
                          headers={"Referer": f"{self.base}/disclosure/listed/notice/index.html"})

    def next_requests(self, doc: Any, response: Response, entries: list[Any]) -> Iterable[scrapy.Request]:
        page = self.page_of(response)
        count = doc.get("announceCount") if isinstance(doc, dict) else None
        if isinstance(count, int) and count > page * 50 and page < self.source.max_pages:
            yield self.szse_page(page + 1)


class SseSpider(PresetSpider):
    name = "newsradar-sse"
    real_host = "http://query.sse.com.cn"
    doc_host = "http://static.sse.com.cn"
    referer = "http://www.sse.com.cn/"

    def spec(self) -> dict[str, Any]:
        return {
            "items": "result",
            "fields": {
                "id": "URL", "title": "TITLE", "published": "ADDDATE || SSEDATE", "tickers": "SECURITY_CODE",
                "company": "SECURITY_NAME", "category": "BULLETIN_TYPE",
                "url": f"{self.docs}{{URL}}", "doc_url": f"{self.docs}{{URL}}",
            },
            "time_format": "auto", "key_prefix": "sse",
        }

    def first_requests(self) -> Iterable[scrapy.Request]:
        start, end = self.window()
        for code in self.codes() or [""]:
            for category in self.source.categories or ["ALL"]:
                params = {
                    "jsonCallBack": "jsonpCallback", "isPagination": "true", "productId": code, "keyWord": "",
                    "securityType": "0101,120100,020100,020200,120200", "reportType2": "", "reportType": category,
                    "beginDate": f"{start:%Y-%m-%d}", "endDate": f"{end:%Y-%m-%d}", "pageHelp.pageSize": 25,
                    "pageHelp.pageNo": 1, "pageHelp.beginPage": 1, "pageHelp.cacheSize": 1, "pageHelp.endPage": 1,
                }
                yield self.query(f"{self.source.url}?{urlencode(params)}", headers={"Referer": self.referer})


class HkexSpider(PresetSpider):
    name = "newsradar-hkex"
    market = "HK"
    real_host = "https://www1.hkexnews.hk"
    doc_host = "https://www1.hkexnews.hk"

    def spec(self) -> dict[str, Any]:
        return {
            "items": "result",  # a JSON string holding the list
            "fields": {
                "id": "NEWS_ID", "title": "TITLE", "published": "DATE_TIME", "tickers": "STOCK_CODE",
                "company": "STOCK_NAME", "category": "LONG_TEXT",
                "url": f"{self.docs}{{FILE_LINK}}", "doc_url": f"{self.docs}{{FILE_LINK}}",
            },
            "time_format": "%d/%m/%Y %H:%M", "key_prefix": "hkex",
        }

    def codes(self) -> list[str]:
        return [f"{int(str(t).upper().removesuffix('.HK').removeprefix('HK')):05d}" for t in
                self.source.tickers]

    def first_requests(self) -> Iterable[scrapy.Request]:
        start, end = self.window()
        for t1code in self.source.categories or ["-2"]:
            params = {
                "sortDir": 0, "sortByOptions": "DateTime", "category": 0, "market": "SEHK", "stockId": -1,
                "documentType": -1, "fromDate": f"{start:%Y%m%d}", "toDate": f"{end:%Y%m%d}", "title": "",
                "searchType": 0, "t1code": t1code, "t2Gcode": -2, "t2code": -2, "rowRange": 100, "lang": "E",
            }
            yield self.query(f"{self.source.url}?{urlencode(params)}")

    def keep(self, item: Any, fields: Fields) -> bool:
        """The endpoint selects by its internal stockId, not by code: select the tickers here."""
        wanted = set(self.codes())
        return not wanted or any(f"{int(c):05d}" in wanted for c in fields.tickers if str(c).isdigit())


def _cn_exchange(code: str) -> str:
    return "SH" if code.startswith(("60", "68", "90")) else ("BJ" if code.startswith(("4", "8", "92")) else "SZ")


__all__ = ["CninfoSpider", "SzseSpider", "SseSpider", "HkexSpider"]
