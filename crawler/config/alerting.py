"""What config.yaml alerts on and where it sends: a rule (`rules:` list) and a notifier (`notifiers:` mapping).

Each key carries its README meaning (`description`); `crawler.config.reference` makes the README's *Rules* and
*Notifiers* tables from them. Rules are compiled and notifier URLs and templates test-rendered with the config's
cross-checks (`crawler.config.model`), so a broken one is a config error, not a failure at send time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

import re

from pydantic import BeforeValidator, ConfigDict, Field, field_validator

from crawler.config.fields import Duration, StrictModel, Terms, TermList
from crawler.config.source_types import Tickers


def _places(value: object) -> object:
    """A rule's `in:` (salience) is a non-empty list of places; `in: title` reads as `[title]`, like `notify: mail`."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and not value:
        raise ValueError("names no place: write [title] or [title, lead], or leave `in` out to look everywhere")
    return value


Places = Annotated[tuple[Literal["title", "lead"], ...], BeforeValidator(_places)]


class BurstSpec(StrictModel):
    """A burst (alerts.delivery.bursts): `stories` distinct event threads matching the rule within `within`."""

    stories: int = Field(ge=2, description="distinct threads (not copies) that make a burst")
    within: Duration = Field(description="the window they fall in, e.g. `30m`")


class Rule(StrictModel):
    """A rule needs at least one of `any`, `all`, `tickers`, `categories` (alerts.rules.matcher checks it).
    `in` is a Python keyword, so its field is `in_` (the config key, schema and README say `in`)."""

    model_config = ConfigDict(serialize_by_alias=True)  # merged with StrictModel's

    name: str = Field(min_length=1, description="unique")
    any: TermList = Field((), description="at least one term")
    all: TermList = Field((), description="every term")
    none: TermList = Field((), description="no term")
    tickers: Tickers = Field((), description="one of these tickers is the story's: a field, or mentioned in any "
                                             "spelling")
    categories: Terms = Field((), description="the story's category is one of these")
    sources: Terms = Field((), description="only stories of these sources")
    notify: Terms = Field((), description="notifier names")
    urgent: bool = Field(False, description="goes through quiet hours")
    in_: Places | None = Field(None, alias="in", json_schema_extra={"default_text": "anywhere"}, description=(
        "salience: `[title]` or `[title, lead]` (lead: the first 300 characters of the text); the `any`/`all` terms "
        "must be found there"))
    min_mentions: int = Field(1, ge=1, description="salience: at least N mentions of the `any`/`all` terms in title "
                                                  "+ text (synonyms add up)")

    burst: BurstSpec | None = Field(None, description="`{stories: 5, within: 30m}`: one urgent burst alert when that "
                                                      "many threads match within the window (see *Bursts*)")


class ReportSchedule(StrictModel):
    """A notifier's scheduled mentions report (crawler.report.schedule): the `report` command's numbers for the
    period that ends at each slot, queued in the outbox (retried like an alert) once per slot."""

    every: Duration = Field(timedelta(days=1), description="how often: `1d` daily, `7d` weekly (Mondays), `6h` ...")
    at: str = Field("08:00", description="`HH:MM` in `timezone`: the day's first slot; slots follow every `every` "
                                         "from it (a daily report stays at 08:00 across daylight-saving changes)")
    since: Duration | None = Field(None, description="the period each report covers", json_schema_extra={
        "default_text": "`every`"})
    watchlists: Terms = Field((), description="only these watchlists (an unknown name is a config error)",
                             json_schema_extra={"default_text": "all"})

    @field_validator("at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
        if m is None:
            raise ValueError(f"at: {value!r} is not a time of day HH:MM (e.g. \"08:00\")")
        return f"{int(m.group(1)):02d}:{m.group(2)}"


class Notifier(StrictModel):
    url: Terms = Field(description="one apprise URL or a list (each delivered and retried on its own)")
    template: str | None = Field(None, description="a template file name (looked up in `templates:` first)",
                                 json_schema_extra={"default_text": "shipped per channel"})
    digest: Duration | None = Field(None, description="collect alerts and send one message per window, e.g. `15m`")
    quiet: str | None = Field(None, description="`\"22:00-07:00\"`: hold non-urgent alerts, send them as one digest "
                                                "at the end")
    max_per_hour: int | None = Field(None, ge=1, description="at most N messages an hour; the overflow becomes a "
                                                             "digest")
    backlog: int = Field(10, ge=1, description="more alerts than this due at once (after an outage, at the open) go "
                                               "out as one digest")
    max_attempts: int = Field(8, ge=1, description="after this many failed deliveries an alert is dead")
    max_age: Duration = Field(timedelta(days=1), description="an alert not delivered within this is dead")
    timeout: Duration = Field(timedelta(seconds=30), description="per delivery")
    report: ReportSchedule | None = Field(None, description="a scheduled mentions report to this notifier, e.g. "
                                                            "`{every: 1d, at: \"08:00\"}` (see *Scheduled reports*)")
