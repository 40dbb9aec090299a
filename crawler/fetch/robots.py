"""robots.txt obeyed per RFC 9309, and fetched once per host per TTL rather than on every poll.

Scrapy's RobotsTxtMiddleware keeps parsers per crawler, and the daemon runs one crawler per poll; this subclass
keeps them per process, so a source polled every 30 s does not fetch robots.txt every 30 s.

What a robots.txt answer means (RFC 9309 section 2.3.1):
- 2xx: the rules, of which the first 500 KiB are parsed (the RFC's minimum; the rest is ignored). Kept 6 h.
- 4xx (none published, forbidden, gone): everything allowed. Kept 6 h.
- 5xx, or unreachable (connection refused, DNS, timeout, refused by the fetch guard): everything disallowed,
  and asked again after `RETRY_SECONDS` (10 min), not 6 h, so a site back from an outage is polled again soon.
- Redirects are followed up to 5 hops (Scrapy's redirect middleware, `REDIRECT_MAX_TIMES`); more than 5 means
  "unavailable", which is allowed like a 4xx.
A disallowed request fails with the reason ("robots.txt answered HTTP 503: everything disallowed ...").
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler

TTL_SECONDS = 6 * 3600
RETRY_SECONDS = 10 * 60
MAX_BYTES = 500 * 1024
_shared: dict[str, tuple[float, Any]] = {}  # netloc -> (expires, parser or a future of it), monotonic time


class DisallowAll:
    """The parser for a robots.txt that could not be had (5xx, unreachable): nothing is allowed."""

    def __init__(self, reason: str, cause: BaseException | None = None):
        self.reason = reason
        self.cause = cause  # the host could not be reached at all: its requests fail with that, not "robots.txt"
        self.ttl = RETRY_SECONDS

    def allowed(self, url: Any, user_agent: Any) -> bool:
        return False


def ttl(parser: Any) -> float:
    """How long a parsed answer is kept: 6 h, or `RETRY_SECONDS` for a failure (disallow-all)."""
    return getattr(parser, "ttl", TTL_SECONDS)


class CachedRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def robot_parser(self, request: Any) -> Any:
        host = urlparse_cached(request).netloc
        expires, parser = _shared.get(host, (None, None))
        if expires is not None and time.monotonic() < expires:
            # Polls that start together share one fetch: the first stores a future, the others await it.
            return await asyncio.shield(parser) if isinstance(parser, asyncio.Future) else parser
        pending = asyncio.get_running_loop().create_future()
        _shared[host] = (time.monotonic() + TTL_SECONDS, pending)
        parser = None
        try:
            parser = await super().robot_parser(request)
        finally:
            _shared[host] = (time.monotonic() + ttl(parser), parser)
            pending.set_result(parser)
        return parser

    def process_request_2(self, rp: Any, request: Any) -> None:
        if isinstance(rp, DisallowAll):
            self._stats.inc_value("robotstxt/forbidden")
            if rp.cause is not None:
                # The host is down (refused, DNS, timeout): say that, as its own fetch would have, not "robots.txt".
                raise rp.cause.with_traceback(None)  # one cached cause: do not grow its traceback per request
            raise IgnoreRequest(f"Forbidden by robots.txt: {rp.reason}")
        super().process_request_2(rp, request)

    async def _parse_robots(self, response: Any, netloc: str, request: Any) -> None:
        if response.status >= 500:
            self._settle(netloc, DisallowAll(
                f"robots.txt answered HTTP {response.status}: everything disallowed until it is asked again"))
            return
        if response.status >= 400:
            body = b""  # none published: everything allowed
        else:
            body = response.body[:MAX_BYTES]
        self._stats.inc_value("robotstxt/response_count")
        self._settle(netloc, build_from_crawler(self._parserimpl, self.crawler, body))

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest) and "max redirections" in str(exc):
            # More than 5 redirects: the file is unavailable, which RFC 9309 treats like a 4xx.
            self._settle(netloc, build_from_crawler(self._parserimpl, self.crawler, b""))
            return
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        network = not isinstance(exc, IgnoreRequest)  # IgnoreRequest: refused by the fetch guard, not a down host
        self._settle(netloc, DisallowAll(
            f"robots.txt unreachable ({type(exc).__name__}: {exc}): everything disallowed until it is asked again",
            cause=exc if network else None))

    def _settle(self, netloc: str, parser: Any) -> None:
        pending = self._parsers[netloc]
        self._parsers[netloc] = parser
        if hasattr(pending, "callback"):
            pending.callback(parser)


def forget() -> None:
    """Drop every cached robots.txt (tests, and a config reload that changes fetch settings)."""
    _shared.clear()


_settings: list[Any] = []  # what the cached answers were fetched under (see `use`)


def use(config: Any) -> None:
    """A new config: the cached answers are forgotten when what they were fetched under changed (the `fetch:`
    section, e.g. the User-Agent a site may answer differently, or which sources may reach internal hosts, which
    decides whether an internal host's robots.txt was refused), so the next poll asks again."""
    wanted = (config.fetch, frozenset(s.name for s in config.sources if s.allow_private))
    if _settings and _settings[0] != wanted:
        forget()
    _settings[:] = [wanted]
