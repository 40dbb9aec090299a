"""robots.txt obeyed, and fetched once per host per TTL rather than on every poll.

Scrapy's RobotsTxtMiddleware keeps parsers per crawler, and the daemon runs one crawler per poll; this subclass
keeps them per process, so a source polled every 30 s does not fetch robots.txt every 30 s.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.httpobj import urlparse_cached

TTL_SECONDS = 6 * 3600
_shared: dict[str, tuple[float, Any]] = {}


class CachedRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def robot_parser(self, request: Any) -> Any:
        host = urlparse_cached(request).netloc
        at, parser = _shared.get(host, (None, None))
        if at is not None and time.monotonic() - at < TTL_SECONDS:
            # Polls that start together share one fetch: the first stores a future, the others await it.
            return await asyncio.shield(parser) if isinstance(parser, asyncio.Future) else parser
        pending = asyncio.get_running_loop().create_future()
        _shared[host] = (time.monotonic(), pending)
        parser = None
        try:
            parser = await super().robot_parser(request)
        finally:
            _shared[host] = (time.monotonic(), parser)
            pending.set_result(parser)
        return parser


def forget() -> None:
    """Drop every cached robots.txt (tests, and a config reload that changes fetch settings)."""
    _shared.clear()
