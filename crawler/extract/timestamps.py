"""Timestamps as pages and feeds write them, and the value a found date travels in.

Contract: ``parse_datetime(value) -> datetime | None``; it never raises. ``Dated(when, source)`` is a time
and where it was read; ``source`` is one of the ``date_source`` names below (``STRUCTURED``, ``LISTED``,
``GUESSED``, ``FIRST_SEEN``), which crawler.extract.dates (the page) and crawler.extract.settle (the
story) share. Pure: no lxml, no htmldate, so feed code parses dates cheaply.

Accepted forms, tried in this order:

1. ISO 8601 / RFC 3339, with or without an offset ('2024-06-11T10:30:00+08:00', '...Z', '...+0800',
   '2024-06-11 10:30', '2024-06-11', '20240611T103000Z', fractional seconds of any length).
2. RFC 822 / 2822 as in RSS ('Tue, 11 Jun 2024 10:30:00 GMT', '... +0800', '... EST').
3. Common CJK forms ('2024年06月11日 10:30', '2024年6月11日10:30:15', '2024/06/11 10:30', '2024.06.11').

The offset the input gave is kept. The result is naive only when the input had no offset (callers
treat naive as UTC); a date without a time gives midnight. Years outside 1900..2100 are refused:
they are a parse of something that was not a date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

__all__ = ["FIRST_SEEN", "GUESSED", "LISTED", "PM_WORDS", "STRUCTURED", "Dated", "build_datetime", "parse_datetime"]

STRUCTURED = ("jsonld", "meta", "time")
LISTED = ("feed", "sitemap")
GUESSED = ("text", "url")
FIRST_SEEN = "first-seen"


@dataclass(frozen=True)
class Dated:
    """A time and where it was read (``date_source``: jsonld, meta, time, feed, sitemap, text, url)."""

    when: datetime  # naive when the source gave no offset
    source: str


_MIN_YEAR, _MAX_YEAR = 1900, 2100

_ISO_RE = re.compile(
    r"""^(?P<y>\d{4})-?(?P<mo>\d{2})-?(?P<d>\d{2})
        (?:[T\s]+(?P<h>\d{1,2}):?(?P<mi>\d{2})(?::?(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?)?
        \s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$""",
    re.VERBOSE | re.IGNORECASE,
)

# Year-first numeric dates with '/', '.', or CJK 年月日 as separators, optionally followed by a time.
_LOOSE_RE = re.compile(
    r"""(?P<y>\d{4})\s*[年/.\-]\s*(?P<mo>\d{1,2})\s*[月/.\-]\s*(?P<d>\d{1,2})\s*[日号]?
        (?:[\sT,]*(?:(?P<ampm>上午|下午|晚上|凌晨|中午|早上))?\s*
           (?P<h>\d{1,2})\s*[:：时時点點]\s*(?P<mi>\d{1,2})\s*分?
           (?:\s*[:：]?\s*(?P<s>\d{1,2})\s*秒?)?)?
        (?:\s*(?:\(?\s*(?:UTC|GMT)?\s*(?P<tz>[+-]\d{2}:?\d{2})\s*\)?|(?P<utc>\s*(?:UTC|GMT|Z)\b)))?""",
    re.VERBOSE | re.IGNORECASE,
)

# CJK words that put an hour before 12 in the afternoon or evening (also read by crawler.extract.dates).
PM_WORDS = {"下午", "晚上"}


def _offset(tz: str | None) -> timezone | None:
    if not tz:
        return None
    if tz.upper() in {"Z", "UTC", "GMT"}:
        return timezone.utc
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        raise ValueError("offset out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def build_datetime(y, mo, d, h=None, mi=None, s=None, f=None, tz=None) -> datetime | None:
    """A datetime from written parts (strings or ints); None outside 1900..2100, ValueError if impossible."""
    year = int(y)
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    micro = int((f or "0")[:6].ljust(6, "0"))
    return datetime(year, int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micro, tzinfo=tz)


def _parse_iso(value: str) -> datetime | None:
    m = _ISO_RE.match(value)
    if not m:
        return None
    g = m.groupdict()
    return build_datetime(g["y"], g["mo"], g["d"], g["h"], g["mi"], g["s"], g["f"], _offset(g["tz"]))


def _parse_rfc822(value: str) -> datetime | None:
    # parsedate_to_datetime happily parses a bare date-less string into nonsense; require a month name.
    if not re.search(r"[A-Za-z]{3}", value):
        return None
    dt = parsedate_to_datetime(value)
    if dt is None or not _MIN_YEAR <= dt.year <= _MAX_YEAR:
        return None
    return dt


def _parse_loose(value: str) -> datetime | None:
    m = _LOOSE_RE.search(value)
    if not m:
        return None
    g = m.groupdict()
    hour = g["h"]
    if hour is not None and g["ampm"] in PM_WORDS and int(hour) < 12:
        hour = str(int(hour) + 12)
    tz = _offset(g["tz"]) if g["tz"] else (timezone.utc if g["utc"] else None)
    return build_datetime(g["y"], g["mo"], g["d"], hour, g["mi"], g["s"], None, tz)


def parse_datetime(value: str | None) -> datetime | None:
    """Parse a timestamp string; see the module docstring. Never raises."""
    if not value or not isinstance(value, str):
        return None
    value = " ".join(value.split())
    if not value or len(value) > 200:
        return None
    for parse in (_parse_iso, _parse_rfc822, _parse_loose):
        try:
            dt = parse(value)
        except (ValueError, TypeError, OverflowError, IndexError):
            dt = None
        if dt is not None:
            return dt
    return None
