"""SEC EDGAR (`type: edgar`): the "current filings" Atom feed, or one per-company feed per ticker.

The SEC answers 403 to a request whose User-Agent carries no contact e-mail and allows at most 10 requests a
second: the source needs `contact:` (config check), every request carries `newsradar/VERSION (+URL) CONTACT`,
and this spider's crawl keeps one request in flight to the host with at least 0.2 s between requests (Scrapy's
±50 % jitter keeps it above 0.1 s: under 10 a second). `categories:` are form types (`8-K`, `10-Q`); `tickers:`
(`AAPL`) select per-company feeds (`action=getcompany&CIK=AAPL`), else the current filings of every company.
A filing's title and fields are the story: the accession number is its key, the filing index its `doc_url`,
the form type its `category`, the filer its `company`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlencode

import feedparser
import scrapy
from scrapy.http import Response

from crawler.items import ArticlePage, Fields, Hint
from spiders.base import ListingError, SourceSpider

MIN_DELAY = 0.2  # seconds between requests; with ±50 % jitter never under 0.1 s
_ACCESSION = re.compile(r"accession-number=([\d-]+)")
_FILER = re.compile(r"^\s*(?P<form>.+?) - (?P<company>.+?) \((?P<cik>\d{10})\)")


class EdgarSpider(SourceSpider):
    name = "newsradar-edgar"

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        super().update_settings(settings)
        settings.set("DOWNLOAD_DELAY", max(settings.getfloat("DOWNLOAD_DELAY"), MIN_DELAY), priority="spider")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", 1, priority="spider")
        settings.set("RANDOMIZE_DOWNLOAD_DELAY", True, priority="spider")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self.feed_requests():
            yield request

    def feed_requests(self) -> Iterable[scrapy.Request]:
        user_agent = f"{self.settings.get('USER_AGENT')} {self.source.contact}"
        forms = list(self.source.categories) or [""]
        tickers = list(self.source.tickers) or [None]
        for ticker in tickers:
            for form in forms:
                if ticker:
                    params = {"action": "getcompany", "CIK": ticker, "type": form, "dateb": "", "owner": "include",
                              "start": 0, "count": 40, "output": "atom"}
                else:
                    params = {"action": "getcurrent", "type": form, "company": "", "dateb": "", "owner": "include",
                              "start": 0, "count": 40, "output": "atom"}
                request = self.listing_request(f"{self.source.url}?{urlencode(params)}")
                yield request.replace(headers={"User-Agent": user_agent},
                                      meta={**request.meta, "newsradar_ticker": ticker})

    def parse_listing(self, response: Response) -> Iterable[Any]:
        feed = feedparser.parse(response.body, response_headers={"content-location": response.url})
        if not feed.get("version", "").startswith("atom") and not feed.entries:
            raise ListingError(f"not an EDGAR Atom feed (HTTP {response.status}, starts "
                               f"{' '.join(response.body[:60].decode('latin-1').split())!r})")
        ticker = response.meta.get("newsradar_ticker")
        feed_company = (feed.feed.get("conformed-name") or feed.feed.get("title") or "") if ticker else ""
        out = []
        for i, entry in enumerate(feed.entries):
            found = _ACCESSION.search(entry.get("id", "")) or _ACCESSION.search(entry.get("summary", ""))
            title = (entry.get("title") or "").strip()
            if not found or not title:
                raise ListingError(f"entry {i}: no accession number or title in the EDGAR feed")
            filer = _FILER.match(title)
            form = (entry.get("tags") or [{}])[0].get("term") or (filer.group("form") if filer else None)
            link = response.urljoin(entry.get("link") or "")
            fields = Fields(
                tickers=(ticker,) if ticker else (), market="US",
                company=filer.group("company") if filer else (feed_company or None),
                category=form, doc_url=link, key=f"edgar:{found.group(1)}", disclosure=True,
            )
            hint = Hint(title=title, summary=entry.get("summary"), published=entry.get("updated"))
            out.append(ArticlePage(self.source.name, link, link, None, None, hint, None, fields))
        return out
