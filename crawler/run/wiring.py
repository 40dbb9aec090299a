"""Where the crawl half and the alert half of a pass meet. Only the entry points (pass_once, daemon) import this module."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from alerts.delivery.outbox import Sender, planner
from crawler.config.model import Config, Source, compile_rules
from crawler.fetch.poll import PollResult
from crawler.items import NewStory
from crawler.run.health import record
from crawler.store.database import Added, Store

log = logging.getLogger("newsradar.health")


def ingest_for(config: Config, store: Store) -> Callable[[NewStory], Added]:
    """Store a story, and in the same transaction its rule matches and one outbox row per notifier target."""
    plan = planner(config, compile_rules(config))
    return lambda story: store.add_story(story, config.dedupe_window, plan, thread_window=config.threads.window)


class Dispatcher:
    """Sends due alerts on a thread of its own (apprise blocks), so neither the reactor nor the store waits."""

    def __init__(self, store: Store, config: Config):
        self._sender_cls = Sender
        self.store = store
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="newsradar-send")
        self.use(config)

    def use(self, config: Config) -> None:
        self.config = config
        self.sender = self._sender_cls(self.store, config)

    async def record_poll(self, io: ThreadPoolExecutor, source: Source, result: PollResult) -> None:
        """Source health after a poll; one operator notice (an outbox row, sent with the alerts) when it turns
        failing or silent, one when it recovers."""
        loop = asyncio.get_running_loop()
        found = result.new + result.duplicates  # a source that yields syndicated copies is not silent
        try:
            change = await loop.run_in_executor(io, partial(record, self.store, self.config, source, result.ok,
                                                            result.error, found, result.throttled))
        except Exception as exc:  # the store locked or full: the poll line already said what the poll did
            log.error("health of %s not recorded: %s: %s", source.name, type(exc).__name__, exc)
            return
        if change is not None:
            log.warning("health: %s", change.message)

    async def recover(self) -> int:
        return await asyncio.get_running_loop().run_in_executor(self.thread, self.sender.recover)

    async def send_due(self):
        """Queue the scheduled reports that are due, then send everything due (on the delivery thread)."""
        return await asyncio.get_running_loop().run_in_executor(self.thread, self._send_due)

    def _send_due(self):
        if any(n.report for n in self.config.notifiers.values()):
            # lazy: the report stack (matplotlib, ~0.3 s and ~30 MB) loads only for a notifier with a schedule
            from crawler.report.schedule import queue_due

            queue_due(self.store, self.config)
        return self.sender.send_due()

    def close(self) -> None:
        self.thread.shutdown(wait=True)
