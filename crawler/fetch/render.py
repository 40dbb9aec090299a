"""Rendering sources (issue 16): pages that only exist after JavaScript, fetched through scrapy-playwright and the
system Chromium. Imported only for polls of a source with `render:` set (scrapy-playwright is the optional extra
`newsradar[js]`; `newsradar check` says what to install when it or the browser is missing).

- `render_settings(config, source)`: added to the crawler settings of a rendering source's poll only. The http(s)
  download handler becomes `RenderHandler` (scrapy-playwright's), which downloads a request in the browser only
  when it carries `meta["playwright"]` and hands every other request (robots.txt, plain articles of
  `render: true`) to Scrapy's own HTTP handler. Polls of other sources never load scrapy-playwright.
- `RenderMiddleware` (downloader, after the fetch guard, throttle and robots.txt) marks the listing request
  (`render: true`) or the listing and article requests (`render: all`) for the browser: navigate, wait until
  `wait_for` matches (within `render_timeout`), read the page's DOM. The guard has already checked the page
  URL's scheme and address. A page that never shows `wait_for` fails with `RenderTimeout`: for the listing
  that is the source's error, for an article a recorded failure. Rendered requests carry no conditional-GET
  validators (a 304 has nothing to render).
- One browser per process (`POOL`), shared by every poll: started on first use, reused, started again when it
  has died (disconnected) or after `fetch.render_restart_after` pages; at most `fetch.render_concurrency` pages
  open at once across all polls; each page is closed after use (scrapy-playwright closes it, also on failure).
  Each poll gets its own browser context (cookies and storage do not outlive the poll).
- What the browser itself requests (scripts, XHR, frames) passes `_refuse()` first: images, fonts and media are
  aborted; a scheme other than http(s) is aborted; unless the source has `allow_private`, a host that is or
  resolves to an internal address is aborted (resolved through the reactor's caching resolver; Chromium then
  resolves again on its own, so this is a best effort against DNS rebinding, unlike the guard). Redirect hops
  inside the browser are not routed by Playwright: the final URL is checked when the response arrives, and a
  rendered page that ended on a refused address is dropped (`FetchRefused`) rather than read.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright
from scrapy import Request
from scrapy.exceptions import NotSupported
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from scrapy_playwright.page import PageMethod

from crawler.config.model import Config, Source
from crawler.config.rendering import find_browser
from crawler.fetch.addresses import literal_address, refusal
from crawler.fetch.guard import FetchRefused, _resolve
from crawler.fetch.poll import PollContext

log = logging.getLogger("newsradar.render")

# Subresources never loaded: the text is in the DOM, not in pictures, fonts or video.
BLOCKED_TYPES = frozenset({"image", "font", "media"})
HANDLER = "crawler.fetch.render.RenderHandler"


class RenderTimeout(Exception):
    """A rendered page that did not show `wait_for` within `render_timeout` (or did not load within it)."""


def render_settings(config: Config, source: Source, middlewares: dict[str, int]) -> dict[str, Any]:
    """Settings added to the crawler of a rendering source's poll (crawler.fetch.poll); `middlewares` are the
    poll's downloader middlewares, to which `RenderMiddleware` is added."""
    timeout_ms = int(source.render_timeout.total_seconds() * 1000)
    return {
        "DOWNLOAD_HANDLERS": {"file": None, "data": None, "ftp": None, "s3": None, "http": HANDLER, "https": HANDLER},
        "PLAYWRIGHT_BROWSER_PROVIDER": "crawler.fetch.render.SharedBrowserProvider",
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": find_browser(config.fetch.render_browser), "headless": True},
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout_ms,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": config.fetch.render_concurrency,
        "NEWSRADAR_RENDER_CONCURRENCY": config.fetch.render_concurrency,
        "NEWSRADAR_RENDER_RESTART_AFTER": config.fetch.render_restart_after,
        "DOWNLOADER_MIDDLEWARES": {
            **middlewares,
            "crawler.fetch.render.RenderMiddleware": 500,  # before conditional GET (560), which skips its requests
        },
    }


class RenderMiddleware:
    def __init__(self, source: Source):
        self.source = source

    @classmethod
    def from_crawler(cls, crawler: Any) -> RenderMiddleware:
        return cls(PollContext.of(crawler).source)

    def wants(self, request: Request) -> bool:
        if request.meta.get("newsradar_listing"):
            return bool(self.source.render)
        return bool(request.meta.get("newsradar_article")) and self.source.render == "all"

    def process_request(self, request: Request, spider: Any = None) -> None:
        if not self.wants(request) or request.meta.get("playwright"):
            return None
        timeout_ms = int(self.source.render_timeout.total_seconds() * 1000)
        request.meta["playwright"] = True
        request.meta["playwright_page_goto_kwargs"] = {"wait_until": "domcontentloaded", "timeout": timeout_ms}
        request.meta["playwright_page_methods"] = [
            PageMethod("wait_for_selector", self.source.wait_for, state="attached", timeout=timeout_ms)]
        return None

    async def process_response(self, request: Request, response: Any, spider: Any = None) -> Any:
        if request.meta.get("playwright") and not self.source.allow_private and response.url != request.url:
            why = await _refuse(response.url, allow_private=False)
            if why:  # the browser followed a redirect there: do not read what it found
                raise FetchRefused(f"{request.url}: the browser was redirected to {response.url}: {why}; set "
                                   f"allow_private: true on source '{self.source.name}' to fetch internal addresses")
        return response


async def _refuse(url: str, allow_private: bool, resource_type: str = "document") -> str | None:
    """Why the browser must not load `url` (a reason), or None."""
    if resource_type in BLOCKED_TYPES:
        return f"{resource_type} not loaded"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"only http and https are fetched, not {parts.scheme}:"
    if allow_private:
        return None
    host = parts.hostname
    address = literal_address(host)
    if address is None and host:
        address = await _resolve(host)
    return refusal(address) if address is not None else None


class BrowserPool:
    """The one Chromium of this process, shared by every poll (see the module docstring)."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browser: Any = None
        self._lock: asyncio.Lock | None = None
        self._slots: asyncio.Semaphore | None = None
        self._slots_size = 0
        self.launches = 0  # browsers started by this process
        self.pages = 0  # pages rendered by the current browser
        self.in_flight = 0
        self.peak = 0  # most pages open at once

    async def browser(self, launch_options: dict[str, Any]) -> Any:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._browser is None or not self._browser.is_connected():
                if self._playwright is None:
                    self._playwright = await async_playwright().start()
                if self._browser is not None:
                    log.warning("the browser has gone away: starting it again")
                    self._browser = None
                self._browser = await self._playwright.chromium.launch(**{"timeout": 60_000, **launch_options})
                self.launches += 1
                self.pages = 0
                log.info("browser started: %s", launch_options.get("executable_path"))
            return self._browser

    def slots(self, size: int) -> asyncio.Semaphore:
        """At most `size` pages at once across all polls (a new size applies once the pages open now are done)."""
        if self._slots is None or (size != self._slots_size and self.in_flight == 0):
            self._slots, self._slots_size = asyncio.Semaphore(size), size
        return self._slots

    async def page_done(self, restart_after: int) -> None:
        self.pages += 1
        if self.pages >= restart_after and self.in_flight == 0 and self._browser is not None:
            log.info("browser rendered %d pages: starting it afresh on the next page", self.pages)
            browser, self._browser = self._browser, None
            await _quietly(browser.close())

    async def discard(self, why: str) -> None:
        """Drop the current browser now (it seems wedged); the next rendered page starts another one."""
        browser, self._browser = self._browser, None
        if browser is not None:
            log.warning("replacing the browser: %s", why)
            try:
                await asyncio.wait_for(_quietly(browser.close()), 10)
            except asyncio.TimeoutError:
                log.warning("the old browser did not close within 10s")

    async def close(self) -> None:
        """Close the browser and Playwright (at shutdown); the next rendered page starts them again."""
        browser, self._browser = self._browser, None
        if browser is not None:
            await _quietly(browser.close())
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            await _quietly(playwright.stop())


async def _quietly(coro: Any) -> None:
    try:
        await coro
    except Exception as exc:  # a browser that already died
        log.debug("closing the browser: %s", exc)


POOL = BrowserPool()


class _Borrowed:
    """The shared browser as one crawler's handler sees it: closing it when the crawl ends must not close it for
    every other poll (the handler closes its own contexts, and so its pages, first)."""

    def __init__(self, browser: Any):
        self._browser = browser
        self._listeners: list[tuple[str, Any]] = []

    def on(self, event: str, callback: Any) -> None:
        self._browser.on(event, callback)
        self._listeners.append((event, callback))

    async def close(self) -> None:
        # The handler's listeners would keep it, and its crawler, alive as long as the browser: one per poll.
        for event, callback in self._listeners:
            try:
                self._browser.remove_listener(event, callback)
            except Exception:  # not registered any more
                pass
        self._listeners.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


class SharedBrowserProvider:
    """scrapy-playwright's browser provider, backed by `POOL` rather than a browser per crawler."""

    def __init__(self, config: Any) -> None:
        self.config = config

    async def start(self) -> None:
        return None  # the browser starts on the first rendered page, not when a crawl starts

    async def launch_browser(self) -> Any:
        return _Borrowed(await POOL.browser(self.config.launch_options))

    async def launch_persistent_context(self, context_kwargs: dict) -> Any:
        raise NotSupported("newsradar renders in fresh contexts of its shared browser")

    async def close(self) -> None:
        return None  # the browser outlives the crawl (POOL.close at shutdown)


class RenderHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler with the process-wide page limit, restarts, blocked subresources and the
    address policy for what the browser loads; requests without `meta["playwright"]` go to Scrapy's handler."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        ctx = getattr(crawler, "newsradar", None)
        self.allow_private = bool(ctx and ctx.source.allow_private)
        self.concurrency = crawler.settings.getint("NEWSRADAR_RENDER_CONCURRENCY", 2)
        self.restart_after = crawler.settings.getint("NEWSRADAR_RENDER_RESTART_AFTER", 500)
        self.abort_request = self._abort

    async def _abort(self, playwright_request: Any) -> bool:
        why = await _refuse(playwright_request.url, self.allow_private, playwright_request.resource_type)
        if why and playwright_request.resource_type not in BLOCKED_TYPES:
            log.info("browser request %s refused: %s", playwright_request.url, why)
        return why is not None

    async def download_request(self, request: Request, spider: Any = None) -> Any:
        if not request.meta.get("playwright"):
            return await super().download_request(request)
        async with POOL.slots(self.concurrency):
            POOL.in_flight += 1
            POOL.peak = max(POOL.peak, POOL.in_flight)
            # Past this, something is wedged (a browser killed mid-page can leave a navigation without an answer):
            # the page fails and the browser is replaced, rather than the poll hanging until fetch.poll_timeout.
            limit = 2 * request.meta["playwright_page_goto_kwargs"]["timeout"] / 1000 + 10
            try:
                return await asyncio.wait_for(super().download_request(request), limit)
            except asyncio.TimeoutError:
                await POOL.discard(f"a page took over {limit:.0f}s ({request.url})")
                raise RenderTimeout(f"the browser did not answer within {limit:.0f}s (2 × render_timeout + 10s): "
                                    "it is started afresh") from None
            except PlaywrightTimeout as exc:
                selector = request.meta["playwright_page_methods"][0].args[0]
                raise RenderTimeout(f"the rendered page did not show wait_for {selector!r} within render_timeout "
                                    f"({_first_line(exc)})") from None
            finally:
                POOL.in_flight -= 1
                await POOL.page_done(self.restart_after)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
