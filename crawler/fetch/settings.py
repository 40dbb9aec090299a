"""Scrapy settings for a poll, derived from the config's `fetch:` section. Scrapy's defaults (1 GiB downloads,
180 s timeouts, no robots.txt, a telnet console per crawler, Scrapy's own User-Agent) are not what a daemon
polling other people's sites for months should use."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from crawler.config.model import Config

try:
    VERSION = metadata.version("newsradar")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0.0.0+unknown"
HOMEPAGE = "https://github.com/newsradar/newsradar"
USER_AGENT = f"newsradar/{VERSION} (+{HOMEPAGE})"


def scrapy_settings(config: Config) -> dict[str, Any]:
    fetch = config.fetch
    return {
        "USER_AGENT": fetch.user_agent or USER_AGENT,
        "ROBOTSTXT_OBEY": fetch.robots,
        "DOWNLOAD_MAXSIZE": fetch.max_bytes,
        "DOWNLOAD_WARNSIZE": fetch.max_bytes // 2,
        "DOWNLOAD_TIMEOUT": fetch.timeout.total_seconds(),
        "CONCURRENT_REQUESTS": fetch.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": fetch.per_domain,
        "DOWNLOAD_DELAY": fetch.delay.total_seconds(),
        "DOWNLOAD_DELAY_JITTER": 0.5,
        "RETRY_TIMES": fetch.retries,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,  # Scrapy 2.19 would start a code-running HTTP server per crawler
        "DOWNLOADER": "crawler.fetch.downloader.PoliteDownloader",
        "LOG_LEVEL": "WARNING",
        "HTTPCACHE_ENABLED": False,
        "DNS_TIMEOUT": 15,
        "REDIRECT_MAX_TIMES": 5,
        "ITEM_PIPELINES": {
            "crawler.fetch.pipelines.ExtractPipeline": 100,
            "crawler.fetch.pipelines.StorePipeline": 200,
        },
        "SPIDER_MIDDLEWARES": {"crawler.fetch.middlewares.KnownUrlMiddleware": 900},
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.fetch.robots.CachedRobotsTxtMiddleware": 100,
            "crawler.fetch.middlewares.ConditionalGetMiddleware": 560,
        },
        "EXTENSIONS": {"scrapy.extensions.logstats.LogStats": None, "scrapy.extensions.memusage.MemoryUsage": None},
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    }
