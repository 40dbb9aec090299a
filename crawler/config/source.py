"""A source of config.yaml (`sources:` list): what to fetch, how often, and how to read it.

Each key carries its README meaning (`description`) and, where the default is decided at run time or reads
differently from the value, the README's default text (`default_text`); `crawler.config.reference` makes the
README's *Sources* table from them. What a type needs beyond the schema (required keys per type, keys that do not
apply, JMESPath) is `crawler.config.source_types.check_source`, run with the config's cross-checks.
"""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from crawler.config.fields import Duration, StrictModel, Terms, check_zone
from crawler.config.source_types import JSON_FIELDS, PRESETS, Tickers


def _shown(text: str) -> dict[str, str]:
    """The README's default column where the value alone would mislead."""
    return {"default_text": text}


class Source(StrictModel):
    name: str = Field(min_length=1, description="unique")
    type: Literal["feed", "html", "sitemap", "json", "cninfo", "szse", "sse", "hkex", "edgar"] = Field(
        description="`feed` (RSS/Atom), `html` (a listing page), `sitemap` (index, plain or Google News sitemap), "
                    "`json` (a JSON document mapped with JMESPath), or a disclosure preset: `cninfo`, `szse`, `sse`, "
                    "`hkex`, `edgar` (see *JSON sources and exchange disclosures*)")
    # required, except for the presets (their endpoint under base_url, filled in by _preset_url)
    url: str | None = Field(None, description="the page, feed, sitemap or JSON document to fetch",
                            json_schema_extra=_shown("required (presets: their endpoint under `base_url`)"))
    every: Duration = Field(timedelta(minutes=5), description="polling interval")
    cron: str | None = Field(None, description="a crontab line instead of `every`, in `timezone`")
    jitter: Duration | None = Field(None, description="random delay added to each run",
                                    json_schema_extra=_shown("10 % of `every`, at most 30 s"))
    links: str | None = Field(
        None, description="CSS selector for the article links (the `<a>` itself or an element containing one)",
        json_schema_extra=_shown("required for `html`"))
    follow: bool | None = Field(  # None: the type's default (crawler.fetch.poll)
        None, description="feeds: fetch each entry's page; `false` takes the feed's own content. `json`: fetch each "
                          "item's `url` for main text",
        json_schema_extra=_shown("`true` (`json`: `false`)"))
    max_age: Duration | None = Field(
        None, description="per-source freshness (also skips older sitemap entries; presets: the query's date window, "
                          "at most 30 days)",
        json_schema_extra=_shown("the global one"))
    enabled: bool = Field(True, description="`false` keeps the source in the file but never polls it")
    # Opt-in to fetch loopback/private/link-local addresses (intranet feeds); refused otherwise (issue 9).
    allow_private: bool = Field(
        False, description="fetch this source's pages (and its redirects) even when they resolve to a loopback, "
                           "private, link-local or otherwise internal address (intranet feeds); without it such a "
                           "target is refused, naming the address")
    timezone: str | None = Field(
        None, description="IANA zone in which this source's times without an offset are read (`Asia/Shanghai` for a "
                          "Chinese site whose `<meta name=\"pubdate\">` says `2026-12-02 14:30:00`: 14:30+08:00)",
        json_schema_extra=_shown("the global one"))
    # rendering (issue 16; crawler.config.rendering checks the combination)
    render: bool | Literal["all"] = Field(
        False, description="`html`: `true` renders the listing page in Chromium before `links` is applied; `all` "
                           "renders the listing and its articles (see *Pages built by JavaScript*)")
    wait_for: str | None = Field(
        None, description="CSS selector the rendered page must show before it is read (a selector list such as "
                          "`\"a.headline, #story p\"` serves listing and articles); not shown within "
                          "`render_timeout`: the page is an error",
        json_schema_extra=_shown("required with `render`"))
    render_timeout: Duration = Field(timedelta(seconds=20),
                                     description="for loading a rendered page and for `wait_for` (each)")
    # type: json
    method: Literal["GET", "POST"] = Field("GET", description="`json`: `GET` or `POST`")
    form: dict[str, Any] | None = Field(None, description="`json`: a mapping sent as a urlencoded POST body")
    body: Any = Field(None, description="`json`: any YAML value sent as a JSON POST body")
    headers: dict[str, str] = Field({}, description="extra request headers, e.g. `{Referer: \"https://example.com/\"}`")
    items: str | None = Field(None, description="JMESPath to the list of items (a string holding JSON is parsed)",
                              json_schema_extra=_shown("required for `json`"))
    fields: dict[str, str] = Field(
        {}, description="JMESPath per field: `id` (the dedupe key), `title`, `url`, `published`, `summary`, `tickers`, "
                        "`company`, `category`, `doc_url`; `url`/`doc_url` may be a template such as `/news/{id}.html`",
        json_schema_extra=_shown("`title` and `id` or `url` required for `json`"))
    time_format: str = Field(
        "auto", description="`json`: `epoch_s`, `epoch_ms`, `iso`, a strptime format (`%d/%m/%Y %H:%M`), or `auto` "
                            "(numbers epoch s or ms, strings ISO 8601)")
    # presets (cninfo, szse, sse, hkex, edgar)
    base_url: str | None = Field(None, description="presets: scheme and host of the endpoint (and of its documents)",
                                 json_schema_extra=_shown("the real host"))
    tickers: Tickers = Field(
        (), description="presets: the companies to follow, in any spelling (`002230`, `002230.SZ`, `9988.HK`, "
                        "`AAPL`)",
        json_schema_extra=_shown("whole market"))
    categories: Terms = Field(
        (), description="presets: the exchange's own category codes (CNINFO `category`, SZSE `bigCategoryId`, SSE "
                        "`reportType`, HKEX `t1code`, EDGAR form types)",
        json_schema_extra=_shown("all"))
    contact: str | None = Field(None, description="an e-mail address for the SEC's User-Agent rule",
                                json_schema_extra=_shown("required for `edgar`"))
    max_pages: int = Field(3, ge=1, le=50, description="presets: pages of a paged answer read per poll")

    @field_validator("url", "base_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://", v, re.I):
            raise ValueError(f"'{v}' is not an http(s) URL")
        return v

    @field_validator("timezone")
    @classmethod
    def _source_zone(cls, v: str | None) -> str | None:
        return None if v is None else check_zone(v)

    @field_validator("fields")
    @classmethod
    def _field_names(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = [k for k in v if k not in JSON_FIELDS]
        if unknown:
            close = difflib.get_close_matches(unknown[0], JSON_FIELDS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known fields: {', '.join(JSON_FIELDS)}"
            raise ValueError(f"unknown field '{unknown[0]}'{hint}")
        return v

    @model_validator(mode="after")
    def _preset_url(self) -> Source:
        if self.type in PRESETS and self.url is None:
            host, path = PRESETS[self.type]
            object.__setattr__(self, "url", (self.base_url or host).rstrip("/") + path)
        return self
