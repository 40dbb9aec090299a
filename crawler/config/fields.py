"""The value types config keys are made of: durations, sizes, term lists, time zones, and the strict base model.

`parse_duration` reads '30s', '5m', '1h', '2d', '1w' or a number of seconds; `parse_size` reads '10MB', '512KB'
or a number of bytes. A watchlist or a rule's any/all/none must be a YAML list (`TermList`); other term keys
(`Terms`) also take a single string. Every config model is a `StrictModel`: unknown keys are errors, and a
loaded config is frozen.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_SIZES = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.I)


def parse_duration(value: Any) -> timedelta:
    """'30s', '5m', '1h', '2d', '1w' or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"'{value}' is not a duration (use e.g. 30s, 5m, 1h, 2d)")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def parse_size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"'{value}' is not a size (use e.g. 10MB, 512KB)")
    return int(float(m.group(1)) * _SIZES[(m.group(2) or "b").lower()])


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
Terms = Annotated[tuple[str, ...], BeforeValidator(lambda v: (v,) if isinstance(v, str) else v)]


def check_zone(v: str) -> str:
    """`v` if it is an IANA time zone, else ValueError."""
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{v}' (use an IANA name such as Asia/Shanghai)") from None
    return v


def _term_list(value: Any) -> Any:
    """A watchlist or a rule's any/all/none is a YAML list: `iflytek: iFlytek, 科大讯飞` would be ONE term that
    never matches, so a string is an error that shows the list it probably meant."""
    if isinstance(value, str):
        terms = [t.strip() for t in re.split(r"[,，、;]", value) if t.strip()]
        shown = ", ".join(f'"{t}"' if re.search(r"[:#,\[\]{}]|^[@&*!|>%]", t) else t for t in terms)
        raise ValueError(f"needs a list of terms, not the string '{value}'; write [{shown}]")
    return value


TermList = Annotated[tuple[str, ...], BeforeValidator(_term_list)]


class StrictModel(BaseModel):
    """Unknown keys are errors (with a did-you-mean hint, see `crawler.config.model`); a loaded config is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
