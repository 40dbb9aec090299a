"""News listing pages: the elements matched by the source's `links` CSS selector are the articles.

The selector may match the `<a>` elements themselves or elements that contain one (a headline `<h2>`, a card);
links resolve against the page. Order is kept, duplicates are dropped by the known-URL middleware. An empty,
whitespace-only, fragment-only (`#top`), `javascript:` or `mailto:` link, and a link back to the listing page
itself, is not an article: it is skipped (counted as the poll's `links_ignored`), so a listing page never becomes
a story (its "hot stocks" box would match rules).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urldefrag

from scrapy.http import Response, TextResponse

from crawler.items import PollTally
from spiders.base import ListingError, SourceSpider


_NOT_PAGES = ("javascript:", "mailto:", "tel:")


class ListingSpider(SourceSpider):
    name = "newsradar-listing"

    def parse_listing(self, response: Response) -> Iterable[Any]:
        if not isinstance(response, TextResponse):
            raise ListingError("not an HTML page")
        found = ignored = 0
        itself = {urldefrag(response.url)[0], urldefrag(self.source.url)[0]}
        for element in response.css(self.source.links):
            href = (element.attrib.get("href") or element.css("a::attr(href)").get() or "").strip()
            link = urldefrag(response.urljoin(href))[0] if href else ""
            if not href or href.startswith("#") or href.lower().startswith(_NOT_PAGES) or link in itself:
                ignored += 1
                continue
            found += 1
            yield self.article_request(response.urljoin(href))
        if ignored and getattr(self, "crawler", None):
            PollTally.of(self.crawler).links_ignored += ignored
        if not found:
            # Selector drift is the usual way a listing source dies quietly: say so every poll.
            raise ListingError(f"selector {self.source.links!r} matched no links")
