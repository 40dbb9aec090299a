"""Where the crawl half and the alert half of a pass meet. Only the CLI and the daemon import this module."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from crawler.config import Config, compile_rules
from crawler.items import NewStory
from crawler.store import Added, Store


def ingest_for(config: Config, store: Store) -> Callable[[NewStory], Added]:
    """Store a story, and in the same transaction its rule matches and one outbox row per notifier target."""
    from alerts.outbox import planner

    plan = planner(config, compile_rules(config))
    return lambda story: store.add_story(story, config.dedupe_window, plan)


class Delivery:
    """Sends due alerts on a thread of its own (apprise blocks), so neither the reactor nor the store waits."""

    def __init__(self, store: Store, config: Config):
        from alerts.outbox import Sender

        self._sender_cls = Sender
        self.store = store
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="newsradar-send")
        self.use(config)

    def use(self, config: Config) -> None:
        self.sender = self._sender_cls(self.store, config)

    async def recover(self) -> int:
        return await asyncio.get_running_loop().run_in_executor(self.thread, self.sender.recover)

    async def send_due(self):
        return await asyncio.get_running_loop().run_in_executor(self.thread, self.sender.send_due)

    def close(self) -> None:
        self.thread.shutdown(wait=True)
