"""What the renderer takes and gives: an alert (`Alert`, with its `Snippet`) and a rendered `Message`.

Plain frozen records with no behaviour, so the outbox, the renderer, the template safety check and the notifier
share one shape without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Snippet:
    before: str
    match: str
    after: str


@dataclass(frozen=True)
class Alert:
    id: str
    title: str
    url: str
    source: str
    published: datetime | None  # aware (the store's UTC)
    published_is_first_seen: bool
    matches: tuple[tuple[str, tuple[str, ...]], ...]
    snippet: Snippet | None
    urgent: bool = False
    tickers: tuple[str, ...] = ()
    company: str | None = None
    category: str | None = None
    doc_url: str | None = None
    also_reported_by: tuple[str, ...] = ()  # the other sources of the story's event thread


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    body_format: str
