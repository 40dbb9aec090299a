"""Retry-After per host, across polls: a host that answers 429 or 503 with `Retry-After` is left alone that long.

`HostPauses` is process-wide (the daemon runs every poll in one process), keyed by host:port, on an injectable
monotonic clock. `retry_after(value, now)` reads the header: delay-seconds or an HTTP date, capped at
`MAX_PAUSE` (6 h), garbage ignored (no pause). Two downloader middlewares use it:
- `RetryAfterMiddleware` (after Scrapy's retry middleware in the response chain, so it sees the answer first)
  records the pause and marks the poll throttled.
- `ThrottleMiddleware` (first in the request chain) refuses any request to a paused host with `HostThrottled`,
  so neither a retry within the poll nor a later poll sends anything before the pause ends.
429 is not in Scrapy's retry codes (crawler.fetch.settings): a 429 without Retry-After is not retried at once either.
A poll whose source was throttled is `throttled` in its poll line and in the source's health, not failing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

from crawler.items import PollTally

MAX_PAUSE = 6 * 3600.0
STATUSES = (429, 503)


def retry_after(value: str | bytes | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP date), capped; None for garbage."""
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - now
    return max(0.0, min(seconds, MAX_PAUSE))


class HostPauses:
    """Hosts asked to be left alone until a monotonic time. Thread-safe; `clock` can be replaced in tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def pause(self, host: str, seconds: float) -> None:
        with self._lock:
            self._until[host] = max(self._until.get(host, 0.0), self.clock() + seconds)

    def remaining(self, host: str) -> float:
        """Seconds left of the host's pause (0 when it may be fetched)."""
        with self._lock:
            until = self._until.get(host)
            if until is None:
                return 0.0
            left = until - self.clock()
            if left <= 0:
                del self._until[host]
                return 0.0
            return left

    def clear(self) -> None:
        with self._lock:
            self._until.clear()


PAUSES = HostPauses()


class HostThrottled(IgnoreRequest):
    """Not sent: the host asked (Retry-After) to be left alone for a while. Not a failure of the URL."""

    retry_next_poll = True  # spiders.base: an article is fetched by a later poll, not recorded as failed


class ThrottleMiddleware:
    def __init__(self, crawler: Any):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> ThrottleMiddleware:
        return cls(crawler)

    def process_request(self, request: Any, spider: Any = None) -> None:
        host = urlparse_cached(request).netloc
        left = PAUSES.remaining(host)
        if left:
            message = f"{host} asked to wait (Retry-After): paused for {left:.0f} s more, {request.url} not fetched"
            tally = PollTally.of(self.crawler)
            tally.throttled = message
            tally.throttled_requests += 1  # the poll keeps its old validators
            raise HostThrottled(message)


class RetryAfterMiddleware:
    def __init__(self, crawler: Any):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> RetryAfterMiddleware:
        return cls(crawler)

    def process_response(self, request: Any, response: Any, spider: Any = None) -> Any:
        if response.status in STATUSES:
            seconds = retry_after(response.headers.get(b"Retry-After"), time.time())
            if seconds:
                host = urlparse_cached(request).netloc
                PAUSES.pause(host, seconds)
                PollTally.of(self.crawler).throttled = (f"{host} answered HTTP {response.status} with Retry-After: "
                                                        f"{seconds:.0f} s")
        return response
