"""The single sections of config.yaml: `fetch`, `metrics`, `web`, `health`, `daemon`, `threads`.

Each key carries its README meaning (`description`) and, where the default is decided at run time or reads
differently from the value, the README's default text (`default_text`); `crawler.config.reference` flattens these
sections into the README's top table (`fetch.timeout`, `web.port`, ...).
"""

from __future__ import annotations

from datetime import timedelta

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from crawler.config.fields import Duration, Size, StrictModel, parse_duration


def _off_or_duration(value: Any) -> timedelta | None:
    return None if value in ("off", False, None) else parse_duration(value)


class Fetch(StrictModel):
    timeout: Duration = Field(timedelta(seconds=30), description="per request")
    max_bytes: Size = Field(10 * 1024 * 1024, description="a larger response (as sent, or once decompressed) is "
                                                           "dropped and is a failure of its URL and of the poll")
    concurrency: int = Field(16, ge=1, le=256, description="requests in flight per poll")
    per_domain: int = Field(2, ge=1, le=32, description="requests in flight per host")
    delay: Duration = Field(timedelta(seconds=0.25), description="between requests to one host (±50 % jitter)")
    retries: int = Field(1, ge=0, le=5, description="retries of a failed request within a poll")
    robots: bool = Field(True, description="obey robots.txt per RFC 9309 (fetched once per host per 6 h, not per "
                                           "poll; see *What holds*)")
    # None: crawler.fetch.identity.USER_AGENT, which names the installed version
    user_agent: str | None = Field(None, description="the User-Agent header of every request",
                                   json_schema_extra={"default_text": "`newsradar/VERSION (+URL)`"})
    poll_timeout: Duration = Field(
        timedelta(minutes=10), description="a poll still running after this is stopped and counted as an error; the "
                                           "articles it had not fetched yet are fetched by the next poll")
    parallel_sources: int = Field(
        8, ge=1, le=128, description="polls running at once (and at most 2 per host), in the daemon and in `run "
                                     "--once` alike: a first pass over 500 sources runs 8 crawls at a time, never 500")
    # rendering sources (issue 16; crawler.config.rendering, crawler.fetch.render): the one browser of a process
    render_browser: str | None = Field(  # None: the first of rendering.BROWSER_NAMES on PATH
        None, description="the Chromium executable rendering sources use (a path or a name on PATH; tried in order: "
                          "`chromium`, `chromium-headless-shell`, `chromium-browser`); newsradar never downloads a "
                          "browser",
        json_schema_extra={"default_text": "`chromium` on PATH"})
    render_concurrency: int = Field(2, ge=1, le=16, description="pages open in the browser at once, across all polls "
                                                                "of the process")
    render_restart_after: int = Field(500, ge=1, description="the browser is started afresh after this many rendered "
                                                             "pages (and whenever it has died)")


class Metrics(StrictModel):
    """Prometheus metrics, off unless the section is there."""

    port: int = Field(ge=1, le=65535, description="serve Prometheus metrics on this port (`pip install "
                                                  "'newsradar[metrics]'`)",
                      json_schema_extra={"default_text": "off"})
    host: str = Field("127.0.0.1", description="the address the metrics server binds")


class Web(StrictModel):
    """The daemon's read-only dashboard (crawler.web): /, /report, /stories, /healthz, /metrics."""

    port: int = Field(ge=1, le=65535, description="the daemon serves the read-only dashboard here: `/`, `/report`, "
                                                  "`/stories`, `/healthz`, `/metrics` (see *Dashboard*)",
                      json_schema_extra={"default_text": "off"})
    host: str = Field("127.0.0.1", description="the address the dashboard binds; set it (e.g. `0.0.0.0`) only behind "
                                               "a token or a proxy")
    url: str | None = Field(None, description="the address people open the dashboard at (e.g. "
                                              "`https://radar.example.com` behind a proxy), for the link in "
                                              "scheduled reports to chat services",
                            json_schema_extra={"default_text": "`http://HOST:PORT`"})
    token: str | None = Field(None, min_length=8, description="when set (8+ characters), every page but `/healthz` "
                                                              "needs `Authorization: Bearer TOKEN` (constant-time "
                                                              "compare)")


class Health(StrictModel):
    failing_after: int = Field(3, ge=1, description="consecutive failed polls before a source is `failing`")
    silent_after: Duration | None = Field(  # None: crawler.run.health.silent_after computes it per source
        None, description="no new story for this long makes a source `silent`",
        json_schema_extra={"default_text": "20 × `every`, at least 1 day"})


class Daemon(StrictModel):
    reload_check: Duration = Field(timedelta(seconds=1), description="how often the daemon looks at config.yaml for "
                                                                     "edits")
    outbox_every: Duration = Field(timedelta(seconds=5), description="how often due retries and digests are sent")
    shutdown_grace: Duration = Field(timedelta(seconds=30), description="how long SIGTERM waits for running polls")
    worker_idle: Duration = Field(
        timedelta(minutes=5), description="extraction workers start on the first article to extract and are stopped "
                                          "after this long with nothing to extract (they start again on the next one)")


class Threads(StrictModel):
    """Event threads (crawler.store.threads): stories of different sources about one event alert once per notifier."""

    window: Duration = Field(timedelta(hours=6), description="how far back a story looks for the thread of its "
                                                             "event (stories first seen within it)")
    followup: Annotated[timedelta | None, BeforeValidator(_off_or_duration)] = Field(
        timedelta(hours=1), description="later stories of an alerted thread go out as one short follow-up per "
                                        "thread and notifier at most this often (\"+3 more sources: ...\"); `off`: "
                                        "none (a notifier with a `digest` lists them in its next digest)")


class Cluster(StrictModel):
    """Several workers on one PostgreSQL store (crawler.run.cluster); off without this section."""

    lease: Duration = Field(timedelta(seconds=60), description="how long a worker's claim on a source's poll lasts "
                                                               "without a heartbeat: a worker that died is replaced "
                                                               "within this (heartbeats come every quarter of it)")
    strict_config: bool = Field(False, description="refuse to start when this worker's config differs from the one "
                                                   "the running workers share (otherwise it is logged and shown by "
                                                   "`status`)")
    claim_every: Duration = Field(timedelta(seconds=1), description="how often a worker looks for sources that are "
                                                                    "due and not leased")
