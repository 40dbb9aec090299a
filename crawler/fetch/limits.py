"""How many polls run at once: at most `fetch.parallel_sources` in all, and at most PER_HOST to one host.

`PollLimits.slot(url)` is the one gate every poll passes (`crawler.fetch.poll.Poller.poll`), so `run --once`, which
starts every source at once, and the daemon, which starts them on a schedule, are bounded the same way. Within
a poll, Scrapy's `fetch.concurrency` and `fetch.per_domain` bound its requests; so requests in flight to one
host are at most PER_HOST x `fetch.per_domain` whatever the number of sources, and the memory of a pass is that
of `parallel_sources` crawls, not one per source.

A config reload with another `parallel_sources` takes effect for polls that start after it; polls already
running or waiting keep the gate they entered.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

PER_HOST = 2


class PollLimits:
    def __init__(self, parallel: int, per_host: int = PER_HOST):
        self.parallel = parallel
        self.per_host = per_host
        self._all = asyncio.Semaphore(parallel)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self.running = 0
        self.peak = 0  # most polls that ran at once (for tests and `status`-like reporting)

    def resized(self, parallel: int) -> PollLimits:
        """The gate for a config with `parallel` polls at once: this one when unchanged, else a new one."""
        return self if parallel == self.parallel else PollLimits(parallel, self.per_host)

    @contextlib.asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        """Hold one poll slot for the host of `url` (per host first, so a busy host never holds a global slot
        while it waits for its own)."""
        host = (urlsplit(url).hostname or "").lower()
        per_host = self._hosts.setdefault(host, asyncio.Semaphore(self.per_host))
        async with per_host, self._all:
            self.running += 1
            self.peak = max(self.peak, self.running)
            try:
                yield
            finally:
                self.running -= 1
