"""Scrapy settings for a poll, derived from the config's `fetch:` section. Scrapy's defaults (1 GiB downloads,
180 s timeouts, no robots.txt, a telnet console per crawler, Scrapy's own User-Agent) are not what a daemon
polling other people's sites for months should use."""

from __future__ import annotations

from typing import Any

from scrapy.settings import default_settings

from crawler.config.model import Config
from crawler.fetch.identity import USER_AGENT, VERSION  # noqa: F401 - VERSION: also read from here (tests)

# Scrapy components a poll never uses. Scrapy imports every component listed in its *_BASE settings, even one
# disabled with None, so they are left out of the base lists: their imports (aiohttp for remote control,
# tldextract for cookies, the feed exporters ...) were a tenth of a second of CPU per `run --once`.
UNUSED = frozenset(f"scrapy.{name}" for name in """
    extensions.telnet.TelnetConsole extensions.memusage.MemoryUsage extensions.memdebug.MemoryDebugger
    extensions.feedexport.FeedExporter extensions.logstats.LogStats extensions.spiderstate.SpiderState
    extensions.throttle.AutoThrottle extensions.remote_control.RemoteControl
    downloadermiddlewares.robotstxt.RobotsTxtMiddleware downloadermiddlewares.cookies.CookiesMiddleware
    downloadermiddlewares.httpcache.HttpCacheMiddleware""".split())


def _base(name: str) -> dict[str, int]:
    return {k: v for k, v in getattr(default_settings, name).items() if k not in UNUSED}


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
        # No 429: a host that says "too many requests" is not asked again within the poll (crawler.fetch.throttle).
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408],
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,  # Scrapy 2.19 would start a code-running HTTP server per crawler
        "DOWNLOADER": "crawler.fetch.downloader.PoliteDownloader",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMATTER": "crawler.fetch.logformat.ReasonOnly",  # a dropped item is logged without its page
        "HTTPCACHE_ENABLED": False,
        "DNS_TIMEOUT": 15,
        "REDIRECT_MAX_TIMES": 5,
        "DNSCACHE_ENABLED": True,  # the fetch guard checks the address the connection then takes from this cache
        # Only http(s) is ever fetched (crawler.fetch.guard): no handler reads local files or other schemes.
        "DOWNLOAD_HANDLERS": {"file": None, "data": None, "ftp": None, "s3": None},
        "ITEM_PIPELINES": {
            "crawler.fetch.pipelines.ExtractPipeline": 100,
            "crawler.fetch.pipelines.StorePipeline": 200,
        },
        "SPIDER_MIDDLEWARES": {"crawler.fetch.middlewares.KnownUrlMiddleware": 900},
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.fetch.guard.FetchGuardMiddleware": 50,
            "crawler.fetch.throttle.ThrottleMiddleware": 55,
            "crawler.fetch.throttle.RetryAfterMiddleware": 590,  # sees a 429/503 before the retry middleware (550)
            "crawler.fetch.robots.CachedRobotsTxtMiddleware": 100,
            "crawler.fetch.middlewares.ConditionalGetMiddleware": 560,
        },
        "DOWNLOADER_MIDDLEWARES_BASE": _base("DOWNLOADER_MIDDLEWARES_BASE"),  # without Scrapy's robots.txt (ours)
        "EXTENSIONS_BASE": _base("EXTENSIONS_BASE"),
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    }
