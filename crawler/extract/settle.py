"""Settling a story's date from its page's date and its listing's (feed/sitemap entry).

Contract: ``settle(page, listed, now=..., zone=..., max_age=...) -> Settled`` decides a story's date
(crawler.extract.story); it never raises on the values crawler.extract.dates and the spiders produce.
``format_duration(timedelta) -> str`` writes a duration as the config does (2d, 6h, 30m, 45s).

**Date precedence** (the one place it is stated; ``settle`` implements it):

1. the article's own structured metadata (``date_source`` ``jsonld``, ``meta``, ``time``): JSON-LD
   ``datePublished``, ``article:published_time`` and the other ``<meta>`` names below, ``itemprop=
   "datePublished"``, a ``<time datetime>`` of the article itself (never one in a sidebar, a footer, a
   navigation block or a list of other posts);
2. the feed's or sitemap's date for this entry (``feed``, ``sitemap``);
3. a heuristic guess (``text``: a date written in the page text, htmldate's guess; ``url``: the URL path).
   A guess never overrides a feed or sitemap date. A guess more than ``max_age`` older than first-seen is
   dropped (the story is dated first-seen and the dropped guess is noted), and so is a guess of January 1st
   (htmldate's reading of a lone year, a copyright line). A date without a year is not a date.
4. nothing: the first-seen time (``first-seen``).

A time without an offset (naive) is read in the source's time zone (``timezone`` of the source, else the
global one), except that a feed/sitemap date with an offset that agrees with the naive page time to the
minute, a whole number of hours apart (at most 14), gives the offset: a page's "14:30" and a feed's "06:30
GMT" make 14:30+08:00. A date more than 1 h after first-seen is clamped to first-seen, and noted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from crawler.extract.timestamps import FIRST_SEEN, STRUCTURED, Dated

__all__ = ["FUTURE_SLACK", "Settled", "format_duration", "settle"]

FUTURE_SLACK = timedelta(hours=1)


@dataclass(frozen=True)
class Settled:
    """A story's date: ``published`` aware, or None for first-seen; ``note`` says what was dropped or clamped."""

    published: datetime | None
    source: str
    note: str | None = None


def _localize(when: datetime, zone: tzinfo) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=zone)


def _offset_from(listed: datetime, page: datetime) -> timezone | None:
    """The offset that makes a naive page time the same instant as an aware listing time, if whole hours."""
    utc = listed.astimezone(timezone.utc).replace(tzinfo=None)
    hours, rest = divmod(round((page - utc).total_seconds() / 60), 60)
    if rest == 0 and abs(hours) <= 14:
        return timezone(timedelta(hours=hours))
    return None


def format_duration(value: timedelta) -> str:
    """A duration as the config writes it: 2d, 6h, 30m, 45s."""
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def settle(page: Dated | None, listed: Dated | None, *, now: datetime, zone: tzinfo,
           max_age: timedelta) -> Settled:
    """A story's date from its page's and its listing's (feed/sitemap entry); ``now`` (aware) is first-seen.

    Structured page date > listing date > guess > first-seen, as the module docstring states."""
    listed_when = _localize(listed.when, zone) if listed else None
    if page is not None and page.source in STRUCTURED:
        when = page.when
        if when.tzinfo is None:
            offset = _offset_from(listed.when, when) if listed and listed.when.tzinfo else None
            when = when.replace(tzinfo=offset if offset is not None else zone)
        chosen = Dated(when, page.source)
    elif listed_when is not None:
        chosen = Dated(listed_when, listed.source)
    elif page is not None:
        when = _localize(page.when, zone)
        chosen = Dated(when, page.source)
        if when < now - max_age:
            return Settled(None, FIRST_SEEN, f"guessed date {when.isoformat()} ({page.source}) dropped: more than "
                                             f"max_age {format_duration(max_age)} before first seen")
    else:
        return Settled(None, FIRST_SEEN)
    if chosen.when > now + FUTURE_SLACK:
        return Settled(None, FIRST_SEEN, f"date {chosen.when.isoformat()} ({chosen.source}) is in the future: "
                                         f"clamped to first seen")
    return Settled(chosen.when, chosen.source)
