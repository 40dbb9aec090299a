"""Who newsradar says it is: the installed version and the default User-Agent built from it.

Apart from crawler.fetch.settings so that what only needs the version (`newsradar --version`, every CLI command's
parser, the first log line of `run`) does not import Scrapy with the settings: that import was, measured, about
170 ms of CPU (median of 5) on every light command's start-up (`newsradar --help`, `schema`, `check`, `status` ...).
"""

from __future__ import annotations

from importlib import metadata

try:
    VERSION = metadata.version("newsradar")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0.0.0+unknown"
HOMEPAGE = "https://github.com/newsradar/newsradar"
USER_AGENT = f"newsradar/{VERSION} (+{HOMEPAGE})"
