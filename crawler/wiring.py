"""Where the crawl half and the alert half of a pass meet. Only the CLI and the daemon import this module."""

from __future__ import annotations

from collections.abc import Callable

from crawler.config import Config
from crawler.store import Added, NewStory, Store


def ingest_for(config: Config, store: Store) -> Callable[[NewStory], Added]:
    """Store a story, and in the same transaction its rule matches and one outbox row per notifier target."""
    return lambda story: store.add_story(story, config.dedupe_window)


async def deliver_due(poller, config: Config) -> None:
    """Send what is due in the outbox (issue: rules and alerts)."""
    return None
