"""Rendering keys (issue 16): validation with file:line errors, what `check` says is missing, and the policy for
what the browser itself requests (classified, never sent)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from crawler.config import rendering
from crawler.config.model import ConfigError, parse_config

BASE = """store: sqlite:///newsradar.db
sources:
  - name: js-markets
    type: html
    url: https://example.com/markets/
    links: "a.headline"
"""


def _parse(extra: str, head: str = ""):
    return parse_config(head + BASE + extra, Path("config.yaml"), {})  # errors name the path as given


def _problems(extra: str, head: str = "") -> list[str]:
    with pytest.raises(ConfigError) as exc:
        _parse(extra, head)
    return exc.value.problems


@pytest.fixture
def installed(monkeypatch, tmp_path):
    """The extra and a browser present, whatever this machine has."""
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    monkeypatch.setattr(rendering, "extra_installed", lambda: True)
    monkeypatch.setenv("PATH", str(tmp_path))
    return browser


def test_render_keys_and_their_defaults(installed):
    config = _parse('    render: all\n    wait_for: "#story p"\n')
    source = config.sources[0]
    assert source.render == "all" and source.wait_for == "#story p"
    assert source.render_timeout == timedelta(seconds=20)
    assert config.fetch.render_concurrency == 2 and config.fetch.render_restart_after == 500
    assert _parse("    render: true\n    wait_for: a\n    render_timeout: 5s\n").sources[0].render is True
    assert _parse("").sources[0].render is False


def test_render_needs_wait_for_and_a_valid_selector(installed):
    assert _problems("    render: true\n") == [
        "config.yaml:7: source 'js-markets': render needs wait_for (a CSS selector the rendered page shows when its "
        "scripts are done, e.g. wait_for: 'a.headline'): without it the page is read before its scripts have run"]
    assert _problems('    render: true\n    wait_for: "a[["\n')[0].startswith("config.yaml:8: invalid CSS selector 'a[['")
    assert _problems("    wait_for: a\n") == [
        "config.yaml:7: source 'js-markets': wait_for applies only with render: true or render: all"]
    assert "sources[0].render" in _problems("    render: sometimes\n    wait_for: a\n")[0]


def test_render_applies_to_listing_pages_only(installed):
    text = "store: sqlite:///x.db\nsources:\n  - name: f\n    type: feed\n    url: https://example.com/rss\n" \
           "    render: true\n    wait_for: a\n"
    with pytest.raises(ConfigError) as exc:
        parse_config(text, Path("config.yaml"), {})
    assert exc.value.problems == ["config.yaml:6: source 'f': render applies to type html (listing pages), not feed"]


def test_check_says_to_install_the_extra(installed, monkeypatch):
    monkeypatch.setattr(rendering, "extra_installed", lambda: False)
    assert _problems("    render: true\n    wait_for: a\n") == [
        "config.yaml:7: source 'js-markets' renders pages, which needs scrapy-playwright: pip install 'newsradar[js]'"]


def test_check_says_to_install_a_browser(installed, monkeypatch, tmp_path):
    installed.unlink()
    problems = _problems("    render: true\n    wait_for: a\n")
    assert len(problems) == 1 and problems[0].startswith("config.yaml:7: source 'js-markets' renders pages")
    assert "apt-get install chromium" in problems[0] and "fetch.render_browser" in problems[0]
    head = "fetch:\n  render_browser: /nowhere/chromium\n"
    assert _problems("    render: true\n    wait_for: a\n", head) == [
        "config.yaml:2: fetch.render_browser '/nowhere/chromium' is not an executable file"]


def test_browser_found_on_path_or_configured(installed):
    assert rendering.find_browser() == str(installed)
    assert rendering.find_browser(str(installed)) == str(installed)
    assert rendering.find_browser("chromium") == str(installed)
    assert rendering.find_browser("/nowhere/chromium") is None
    assert _parse("    render: true\n    wait_for: a\n").sources[0].render is True


def test_without_a_rendering_source_nothing_is_required(monkeypatch):
    monkeypatch.setattr(rendering, "extra_installed", lambda: False)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert _parse("").sources[0].name == "js-markets"
    assert _parse("    render: true\n    wait_for: a\n    enabled: false\n").sources[0].enabled is False


def test_what_the_browser_may_load():
    pytest.importorskip("scrapy_playwright", reason="scrapy-playwright is not installed (pip install 'newsradar[js]')")
    from crawler.fetch.render import _refuse

    def refuse(url: str, allow_private: bool = False, kind: str = "script") -> str | None:
        return asyncio.run(_refuse(url, allow_private, kind))

    assert refuse("https://93.184.216.34/app.js") is None  # a public literal: nothing resolved, nothing sent
    assert "10.0.0.7" in refuse("http://10.0.0.7/api", kind="xhr")
    assert "loopback" in refuse("http://[::ffff:127.0.0.1]/x")
    assert refuse("http://169.254.169.254/latest/meta-data/", kind="fetch") is not None
    assert refuse("http://10.0.0.7/api", allow_private=True) is None
    assert refuse("file:///etc/passwd", allow_private=True) == "only http and https are fetched, not file:"
    assert refuse("https://93.184.216.34/logo.png", kind="image") == "image not loaded"
    assert refuse("https://93.184.216.34/f.woff2", allow_private=True, kind="font") == "font not loaded"
    assert refuse("https://93.184.216.34/v.mp4", kind="media") == "media not loaded"


def _middleware(render, allow_private: bool = False):
    pytest.importorskip("scrapy_playwright", reason="scrapy-playwright is not installed (pip install 'newsradar[js]')")
    from crawler.config.model import Source
    from crawler.fetch.render import RenderMiddleware

    source = Source(name="js", type="html", url="https://93.184.216.34/", links="a", render=render, wait_for="a.x",
                    render_timeout="3s", allow_private=allow_private)
    return RenderMiddleware(source)


def test_which_requests_go_to_the_browser():
    from scrapy import Request

    def rendered(render, **meta) -> bool:
        request = Request("https://93.184.216.34/p", meta=meta)
        _middleware(render).process_request(request)
        return bool(request.meta.get("playwright"))

    assert rendered(True, newsradar_listing=True) and not rendered(True, newsradar_article=True)
    assert rendered("all", newsradar_listing=True) and rendered("all", newsradar_article=True)
    assert not rendered("all"), "robots.txt and other requests keep Scrapy's handler"
    request = Request("https://93.184.216.34/p", meta={"newsradar_listing": True})
    _middleware(True).process_request(request)
    method = request.meta["playwright_page_methods"][0]
    assert (method.method, method.args, method.kwargs["timeout"]) == ("wait_for_selector", ("a.x",), 3000)


def test_a_rendered_page_redirected_to_an_internal_address_is_not_read():
    from scrapy import Request
    from scrapy.http import HtmlResponse

    from crawler.fetch.guard import FetchRefused

    request = Request("https://93.184.216.34/p", meta={"playwright": True})
    landed = HtmlResponse("http://127.0.0.2/admin", body=b"<html></html>", request=request)
    with pytest.raises(FetchRefused, match="redirected to http://127.0.0.2/admin"):
        asyncio.run(_middleware(True).process_response(request, landed))
    assert asyncio.run(_middleware(True, allow_private=True).process_response(request, landed)) is landed
    public = HtmlResponse("https://93.184.216.34/p2", body=b"", request=request)
    assert asyncio.run(_middleware(True).process_response(request, public)) is public


def test_a_finished_crawl_leaves_the_shared_browser_open_and_without_its_listeners():
    pytest.importorskip("scrapy_playwright", reason="scrapy-playwright is not installed (pip install 'newsradar[js]')")
    from crawler.fetch.render import _Borrowed

    class Browser:  # the event side of Playwright's Browser: on, remove_listener
        closed = False

        def __init__(self) -> None:
            self.registered: dict[str, list] = {}

        def on(self, event, callback) -> None:
            self.registered.setdefault(event, []).append(callback)

        def remove_listener(self, event, callback) -> None:
            self.registered[event].remove(callback)

        def listeners(self, event) -> list:
            return self.registered.get(event, [])

        async def close(self) -> None:
            self.closed = True

    async def crawl_ends() -> Browser:
        browser = Browser()
        borrowed = _Borrowed(browser)
        borrowed.on("disconnected", lambda: None)
        assert len(browser.listeners("disconnected")) == 1
        await borrowed.close()
        return browser

    browser = asyncio.run(crawl_ends())
    assert not browser.closed, "one poll's handler does not close the browser of every poll"
    assert browser.listeners("disconnected") == [], "nor keeps the handler (and its crawler) alive through it"
