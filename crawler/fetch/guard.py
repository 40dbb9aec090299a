"""The fetch guard: only http(s), and no internal address unless the source opts in (`allow_private: true`).

A downloader middleware, first in the chain, so it sees every request a poll makes: the source's URL, each
article link, robots.txt, and every redirect hop (Scrapy's redirect middleware schedules each hop as a new
request, which passes through the whole chain again).

- A scheme other than `http`/`https` (`file:`, `ftp:`, `data:`, `s3:` ...) is refused for every source; Scrapy's
  handlers for them are switched off too (crawler.fetch.settings), so nothing reads a local file.
- Without `allow_private`, a host that is an IP literal in any spelling, or that resolves to an address that is
  loopback, private, link-local, multicast, reserved or otherwise not public (crawler.fetch.addresses), is refused
  before anything is sent; the refusal names the address. The host is resolved through the reactor's resolver,
  which is Scrapy's caching resolver: the connection that follows takes the address from the same cache, so a
  name that re-binds to an internal address between the check and the connect (DNS rebinding) still connects
  to the address that was checked.

A refusal is a `FetchRefused` (an `IgnoreRequest`): the request's errback runs, so a refused source is a poll
error naming the address and a refused article is a recorded failure, never silently dropped.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached

from crawler.fetch.addresses import literal_address, refusal
from crawler.fetch.poll import PollContext

SCHEMES = ("http", "https")


class FetchRefused(IgnoreRequest):
    """A request the fetch policy does not allow (scheme or address); the message says which and why."""


class FetchGuardMiddleware:
    def __init__(self, source_name: str, allow_private: bool):
        self.source_name = source_name
        self.allow_private = allow_private

    @classmethod
    def from_crawler(cls, crawler: Any) -> FetchGuardMiddleware:
        ctx = PollContext.of(crawler)
        return cls(ctx.source.name, ctx.source.allow_private)

    async def process_request(self, request: Request, spider: Any = None) -> None:
        parts = urlparse_cached(request)
        if parts.scheme not in SCHEMES:
            raise FetchRefused(f"{request.url}: only http and https URLs are fetched, not {parts.scheme or 'this'}:")
        if self.allow_private:
            return None
        host = parts.hostname
        address = literal_address(host)
        if address is None and host:
            address = await _resolve(host)
            if address is None:
                return None  # the download reports the DNS error itself
        why = refusal(address) if address is not None else None
        if why:
            resolved = "" if str(address) == host else f" ({host} resolves to {address})"
            raise FetchRefused(
                f"{request.url}: refused{resolved}: {why}; "
                f"set allow_private: true on source '{self.source_name}' to fetch internal addresses"
            )
        return None


async def _resolve(host: str) -> Any:
    """The address the connection will use: the reactor's (Scrapy's caching) resolver; None if it fails."""
    # Imported here, not for speed: importing the reactor at module load would install Twisted's default one
    # before crawler.fetch.poll.run_reactor installs the asyncio reactor.
    from twisted.internet import reactor

    try:
        return literal_address(await maybe_deferred_to_future(reactor.resolve(host)))
    except Exception:  # DNS failure, timeout: not this guard's business
        return None
