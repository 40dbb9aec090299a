"""Scrapy's downloader, with the per-domain limit enforced when there is no download delay.

Scrapy 2.19 on the asyncio reactor dispatches queued requests as tasks and counts a request against its slot's
concurrency only when its task starts; with `DOWNLOAD_DELAY: 0` the dispatch loop therefore sends every queued
request at once (16 in flight to one host were measured with `per_domain: 2`). This subclass counts a request
as transferring the moment it is dispatched. With a delay configured, Scrapy's own loop already sends one at a
time, and this changes nothing.
"""

from __future__ import annotations

import asyncio
from time import monotonic
from typing import Any

from scrapy.core.downloader import Downloader

try:
    from scrapy.core.downloader import _schedule_coro
except ImportError:  # pragma: no cover - other Scrapy versions
    _schedule_coro = asyncio.ensure_future


class PoliteDownloader(Downloader):
    def _process_queue(self, slot: Any) -> None:
        if slot.latercall or slot.download_delay():
            super()._process_queue(slot)
            return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = monotonic()
            request, queue_dfd = slot.queue.popleft()
            slot.transferring.add(request)  # counted now, not when its task starts
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
