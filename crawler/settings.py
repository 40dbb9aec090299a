"""Scrapy settings for a poll, derived from the config's `fetch:` section. Scrapy's defaults (1 GiB downloads,
180 s timeouts, no robots.txt, a telnet console per crawler, Scrapy's own User-Agent) are not what a daemon
polling other people's sites for months should use."""

from __future__ import annotations

from typing import Any

from crawler.config import Config

VERSION = "0.1.0"
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
        # No 429: a host that says "too many requests" is not asked again within the poll (crawler.throttle).
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408],
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,  # Scrapy 2.19 would start a code-running HTTP server per crawler
        "DOWNLOADER": "crawler.downloader.PoliteDownloader",
        "LOG_LEVEL": "WARNING",
        "HTTPCACHE_ENABLED": False,
        "DNS_TIMEOUT": 15,
        "REDIRECT_MAX_TIMES": 5,
        "DNSCACHE_ENABLED": True,  # the fetch guard checks the address the connection then takes from this cache
        # Only http(s) is ever fetched (crawler.fetchguard): no handler reads local files or other schemes.
        "DOWNLOAD_HANDLERS": {"file": None, "data": None, "ftp": None, "s3": None},
        "ITEM_PIPELINES": {
            "crawler.pipelines.ExtractPipeline": 100,
            "crawler.pipelines.StorePipeline": 200,
        },
        "SPIDER_MIDDLEWARES": {"crawler.middlewares.KnownUrlMiddleware": 900},
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.fetchguard.FetchGuardMiddleware": 50,
            "crawler.throttle.ThrottleMiddleware": 55,
            "crawler.throttle.RetryAfterMiddleware": 590,  # sees a 429/503 before the retry middleware (550)
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.robots.CachedRobotsTxtMiddleware": 100,
            "crawler.middlewares.ConditionalGetMiddleware": 560,
        },
        "EXTENSIONS": {"scrapy.extensions.logstats.LogStats": None, "scrapy.extensions.memusage.MemoryUsage": None},
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    }
