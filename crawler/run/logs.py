"""Logging set up once, by the CLI: human lines or one JSON object per line (`--log-format json`)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
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
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Scrapy and apprise talk a lot at INFO; newsradar's own poll lines say what a user needs.
    for noisy in ("scrapy", "twisted", "apprise", "apscheduler", "trafilatura", "htmldate", "charset_normalizer", "filelock"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # scrapy-playwright logs a traceback for every page that failed; the poll line already says why
    logging.getLogger("scrapy-playwright").setLevel(max(logging.ERROR, root.level))
