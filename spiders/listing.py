"""News listing pages: the elements matched by the source's `links` CSS selector are the articles.

The selector may match the `<a>` elements themselves or elements that contain one (a headline `<h2>`, a card);
links resolve against the page. Order is kept, duplicates are dropped by the known-URL middleware.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrapy.http import Response, TextResponse

from spiders.base import ListingError, SourceSpider


class ListingSpider(SourceSpider):
    name = "newsradar-listing"

    def parse_listing(self, response: Response) -> Iterable[Any]:
        if not isinstance(response, TextResponse):
            raise ListingError("not an HTML page")
        found = 0
        for element in response.css(self.source["links"]):
            href = element.attrib.get("href") or element.css("a::attr(href)").get()
            if href and not href.startswith(("javascript:", "mailto:", "#")):
                found += 1
                yield self.article_request(response.urljoin(href.strip()))
        if not found:
            # Selector drift is the usual way a listing source dies quietly: say so every poll.
            raise ListingError(f"selector {self.source['links']!r} matched no links")
