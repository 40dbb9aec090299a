"""Logging set up once, by the CLI: human lines or one JSON object per line (`--log-format json`).

Log times are in the config's `timezone` (the zone alerts, quiet hours and cron use) with its offset shown, so a
log line and an alert about the same moment read the same; before a config is loaded they are in UTC.

At the default level a user sees newsradar's own lines: a source that cannot be reached is one WARNING poll line
with its cause. What Scrapy and APScheduler say about the same events (a retry given up, a robots.txt that could
not be fetched with its traceback, the daemon's own jobs skipped or late) is demoted to DEBUG, where it is shown
in full with `--log-level DEBUG`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone, tzinfo

from crawler.fetch.identity import VERSION

_zone: tzinfo = timezone.utc

# (logger name prefix, message start or None for every message): said again, better, by a newsradar line.
DEMOTED = (
    ("scrapy.downloadermiddlewares.retry", None),      # "Gave up retrying ...": the poll line says it
    ("scrapy.downloadermiddlewares.robotstxt", None),  # robots.txt fetch errors, with a traceback
    ("scrapy.core.scraper", "Error downloading"),      # the spider's errback records it
    ("apscheduler", "Execution of job"),                # "... skipped: maximum number of running instances"
    ("apscheduler", "Run time of job"),                 # "... was missed by 0:00:04"
)


def use_timezone(zone: tzinfo) -> None:
    """Stamp log lines in `zone` from now on (the CLI calls it once the config is loaded)."""
    global _zone
    _zone = zone


def starting(path: str, config, once: bool = False) -> None:
    """The first line of `run`: what it reads, where it writes, how much it watches, which zone times are in."""
    # lazy: every command imports this module; sqlalchemy.engine, measured: +140 ms CPU on `newsradar --help`
    # (median of 5), and as much on `check`, `schema`, `rules test`
    from sqlalchemy.engine import make_url

    try:
        store = make_url(config.store).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a bad URL is reported when the store opens
        store = config.store
    enabled = sum(1 for s in config.sources if s.enabled)
    logging.getLogger("newsradar").info(
        "newsradar %s%s: config %s, store %s, %d sources (%d enabled), %d rules, %d notifiers; times in %s",
        VERSION, " (one pass)" if once else "", path, store, len(config.sources), enabled, len(config.rules),
        len(config.notifiers), config.timezone)


def stamp(created: float) -> datetime:
    return datetime.fromtimestamp(created, _zone)


class Demote(logging.Filter):
    """Lowers the records in DEMOTED to DEBUG and drops them unless DEBUG is on."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG or not _demoted(record):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().getEffectiveLevel() <= logging.DEBUG


def _demoted(record: logging.LogRecord) -> bool:
    for prefix, start in DEMOTED:
        if record.name == prefix or record.name.startswith(prefix + "."):
            if start is None or str(record.msg).startswith(start):
                return True
    return False


class TextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return stamp(record.created).strftime("%Y-%m-%d %H:%M:%S") + f",{int(record.msecs):03d}" \
            + stamp(record.created).strftime("%z")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": stamp(record.created).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("poll", "event"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def setup(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Demote())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Scrapy and apprise talk a lot at INFO; newsradar's own poll lines say what a user needs.
    for noisy in ("scrapy", "twisted", "apprise", "apscheduler", "trafilatura", "htmldate", "charset_normalizer", "filelock"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # scrapy-playwright logs a traceback for every page that failed; the poll line already says why
    logging.getLogger("scrapy-playwright").setLevel(max(logging.ERROR, root.level))
