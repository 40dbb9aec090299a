"""Spiders, one per source type. Each is built from one source's settings and yields article requests and items."""

from spiders.feed import FeedSpider
from spiders.jsonapi import JsonSpider
from spiders.listing import ListingSpider
from spiders.sitemap import SitemapSpider

SPIDERS = {"feed": FeedSpider, "html": ListingSpider, "sitemap": SitemapSpider, "json": JsonSpider}

__all__ = ["SPIDERS", "FeedSpider", "JsonSpider", "ListingSpider", "SitemapSpider"]
