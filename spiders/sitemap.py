"""Sitemap sources: sitemap index files, plain sitemaps and Google News sitemaps (gzip or not).

An index's child sitemaps are fetched (conditionally, like the source itself) unless their `lastmod` is older
than the source's `max_age`; a sitemap's URLs are articles unless their `news:publication_date` / `lastmod` is
older than that, so an archive of 50,000 URLs is not fetched on the first poll. `news:title` and
`news:publication_date` travel with the request as a `Hint`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from lxml import etree
from scrapy.http import Response
from scrapy.utils._compression import _DecompressionMaxSizeExceeded  # what gunzip raises past max_size
from scrapy.utils.gz import gunzip

from crawler.items import Hint
from spiders.base import ListingError, SizeLimitExceeded, SourceSpider


class SitemapSpider(SourceSpider):
    name = "newsradar-sitemap"

    def parse_listing(self, response: Response) -> Iterable[Any]:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            limit = self.source.max_bytes
            try:
                body = gunzip(body, max_size=limit)
            except _DecompressionMaxSizeExceeded:
                raise SizeLimitExceeded(f"over the size limit: more than {limit} bytes once decompressed") from None
        try:
            root = etree.fromstring(body, etree.XMLParser(recover=True, resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            raise ListingError(f"not a sitemap ({exc})") from None
        if root is None or _local(root.tag) not in {"urlset", "sitemapindex"}:
            raise ListingError("not a sitemap (no <urlset> or <sitemapindex>)")
        index = _local(root.tag) == "sitemapindex"
        for entry in root:
            fields = _fields(entry)
            loc = fields.get("loc")
            if not loc or self._too_old(fields.get("publication_date") or fields.get("lastmod")):
                continue
            url = response.urljoin(loc)
            if index:
                yield self.listing_request(url)
            else:
                hint = Hint(title=fields.get("title"), published=fields.get("publication_date"), kind="sitemap")
                yield self.article_request(url, hint)

    def _too_old(self, when: str | None) -> bool:
        max_age = self.source.max_age_seconds
        stamp = _w3c_datetime(when) if when else None
        if not max_age or stamp is None:
            return False
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        return stamp < self.clock() - timedelta(seconds=max_age)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _fields(entry: Any) -> dict[str, str]:
    """Child texts by local name, one level into <news:news> and <news:publication> too."""
    out: dict[str, str] = {}
    for el in entry.iter():
        name = _local(el.tag)
        if name and el is not entry and el.text and el.text.strip() and name not in out:
            out[name] = el.text.strip()
    return out


def _w3c_datetime(value: str) -> datetime | None:
    """Sitemaps use W3C datetimes (a profile of ISO 8601); anything else is not a reason to skip a URL."""
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None
