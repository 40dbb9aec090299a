"""RSS/Atom sources: each entry's link is an article (the feed often carries only a summary).

The feed's bytes are decoded the way pages are (``crawler.extract.decode.decode_feed``: BOM, strict UTF-8, the declared
charset widened, the detector) before feedparser sees them as UTF-8, so a feed declared UTF-8 but sent in GBK
still gives the right titles, with or without `follow`; feedparser gets the response headers to resolve
relative links against the feed's URL. An entry's title, summary and date travel with the request as a `Hint`:
the article page wins where it speaks, the feed fills in where it does not or cannot be fetched. With
`follow: false` the feed's own content is the story and no page is fetched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import feedparser
from scrapy.http import Response

from crawler.extract.decode import decode_feed
from crawler.items import ArticlePage, Hint
from spiders.base import ListingError, SourceSpider


class FeedSpider(SourceSpider):
    name = "newsradar-feed"

    def parse_listing(self, response: Response) -> Iterable[Any]:
        headers = {k.decode("latin-1").lower(): v[0].decode("latin-1") for k, v in response.headers.items() if v}
        headers["content-location"] = response.url
        body, _ = decode_feed(response.body, headers.get("content-type"))
        media_type = (headers.get("content-type") or "application/xml").split(";")[0].strip() or "application/xml"
        headers["content-type"] = f"{media_type}; charset=utf-8"
        feed = feedparser.parse(body, response_headers=headers)
        if not feed.entries and (feed.bozo or not feed.get("version")):
            reason = getattr(feed, "bozo_exception", None) or "no entries"
            raise ListingError(f"not a feed ({type(reason).__name__ if not isinstance(reason, str) else reason})")
        for entry in feed.entries:
            link = entry.get("link") or (entry.get("id") if str(entry.get("id", "")).startswith("http") else None)
            if not link:
                continue
            hint = Hint(
                title=entry.get("title"),
                summary=_content(entry),
                published=entry.get("published") or entry.get("updated") or entry.get("created"),
            )
            if self.source.follow:
                yield self.article_request(response.urljoin(link), hint)
            else:
                yield ArticlePage(self.source.name, link, response.urljoin(link), None, None, hint)


def _content(entry: Any) -> str | None:
    """The fullest text the entry has: content:encoded over summary."""
    for content in entry.get("content") or ():
        if content.get("value"):
            return content["value"]
    return entry.get("summary")
