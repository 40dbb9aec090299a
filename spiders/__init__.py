"""Spiders, one per source type. Each is built from one source's settings and yields article requests and items."""

from spiders.feed import FeedSpider
from spiders.listing import ListingSpider
from spiders.sitemap import SitemapSpider

SPIDERS = {"feed": FeedSpider, "html": ListingSpider, "sitemap": SitemapSpider}

__all__ = ["SPIDERS", "FeedSpider", "ListingSpider", "SitemapSpider"]
