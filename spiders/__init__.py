"""Spiders, one per source type. Each is built from one source's settings and yields article requests and items."""

from spiders.edgar import EdgarSpider
from spiders.feed import FeedSpider
from spiders.jsonapi import JsonSpider
from spiders.listing import ListingSpider
from spiders.presets import CninfoSpider, HkexSpider, SseSpider, SzseSpider
from spiders.sitemap import SitemapSpider

SPIDERS = {
    "feed": FeedSpider, "html": ListingSpider, "sitemap": SitemapSpider, "json": JsonSpider,
    "cninfo": CninfoSpider, "szse": SzseSpider, "sse": SseSpider, "hkex": HkexSpider, "edgar": EdgarSpider,
}

__all__ = ["SPIDERS", "CninfoSpider", "EdgarSpider", "FeedSpider", "HkexSpider", "JsonSpider", "ListingSpider",
           "SitemapSpider", "SseSpider", "SzseSpider"]
