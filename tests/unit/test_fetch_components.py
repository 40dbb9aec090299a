"""Each Scrapy component of a poll on its own, built through Scrapy's test crawler (`get_crawler`).

End-to-end tests cover them together; these pin each component's contract: what it reads from the poll context,
what it changes on a request or response, and that it switches off (`NotConfigured`) outside a newsradar poll.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

import pytest
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from crawler.config.model import Config, Source
from crawler.fetch.middlewares import ConditionalGetMiddleware, KnownUrlMiddleware
from crawler.fetch.pipelines import ExtractPipeline, StorePipeline
from crawler.fetch.poll import PollContext, _result
from crawler.items import PollTally
from crawler.store.database import Store

SOURCE = Source(name="s", type="html", url="http://127.0.0.1/list/", links="a")


@pytest.fixture
def ctx(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    io = ThreadPoolExecutor(1)
    crawler = get_crawler()
    context = PollContext(config=Config(), source=SOURCE, store=store, io=io, cpu=None, ingest=None,
                          validators={"http://127.0.0.1/list/": ('"v1"', "Mon, 01 Jun 2026 00:00:00 GMT")},
                          crawler=crawler)
    crawler.newsradar = context
    yield context
    io.shutdown()
    store.close()


@pytest.mark.parametrize("component", [ConditionalGetMiddleware, KnownUrlMiddleware, ExtractPipeline, StorePipeline])
def test_components_switch_off_outside_a_poll(component):
    with pytest.raises(NotConfigured):
        component.from_crawler(get_crawler())


def test_conditional_get_sends_stored_validators_on_listings_only(ctx):
    mw = ConditionalGetMiddleware.from_crawler(ctx.crawler)
    listing = Request("http://127.0.0.1/list/", meta={"newsradar_listing": True})
    article = Request("http://127.0.0.1/a.html", meta={"newsradar_article": True})
    unknown = Request("http://127.0.0.1/other/", meta={"newsradar_listing": True})
    for r in (listing, article, unknown):
        assert mw.process_request(r) is None
    assert listing.headers[b"If-None-Match"] == b'"v1"'
    assert listing.headers[b"If-Modified-Since"] == b"Mon, 01 Jun 2026 00:00:00 GMT"
    assert b"If-None-Match" not in article.headers and b"If-None-Match" not in unknown.headers


def test_conditional_get_collects_fresh_validators_but_never_saves_them(ctx):
    mw = ConditionalGetMiddleware.from_crawler(ctx.crawler)
    listing = Request("http://127.0.0.1/list/", meta={"newsradar_listing": True})
    fresh = Response(listing.url, status=200, headers={"ETag": '"v2"'}, request=listing)
    assert mw.process_response(listing, fresh) is fresh
    not_modified = Request("http://127.0.0.1/other/", meta={"newsradar_listing": True})
    mw.process_response(not_modified, Response(not_modified.url, status=304, headers={"ETag": '"x"'}))
    article = Request("http://127.0.0.1/a.html", meta={"newsradar_article": True})
    mw.process_response(article, Response(article.url, status=200, headers={"ETag": '"a"'}))
    assert ctx.fresh_validators == {"http://127.0.0.1/list/": ('"v2"', None)}
    assert ctx.store.load_validators("s") == {}, "saving is the poll's job, after a clean poll"


def test_known_url_filter_drops_stored_failed_and_repeated_articles(ctx):
    ctx.store.record_failure("http://127.0.0.1/failed.html", "s", "HTTP 500")
    mw = KnownUrlMiddleware.from_crawler(ctx.crawler)
    page = HtmlResponse("http://127.0.0.1/list/", body=b"<html></html>", encoding="utf-8")
    out = [
        Request("http://127.0.0.1/new.html?utm_source=x", meta={"newsradar_article": True}),
        Request("http://127.0.0.1/new.html", meta={"newsradar_article": True}),  # same canonical URL
        Request("http://127.0.0.1/failed.html", meta={"newsradar_article": True}),  # failed, not due yet
        Request("http://127.0.0.1/next-page/", meta={"newsradar_listing": True}),  # not an article: kept
    ]

    async def run():
        async def result():
            for r in out:
                yield r
        return [r async for r in mw.process_spider_output(page, result())]

    kept = asyncio.run(run())
    assert [r.url for r in kept] == ["http://127.0.0.1/new.html?utm_source=x", "http://127.0.0.1/next-page/"]
    assert PollTally.of(ctx.crawler).known_skipped == 2


ARTICLE = ("<html><head><title>iFlytek opens a lab</title></head><body><article><h1>iFlytek opens a lab</h1>"
           + "<p>iFlytek said on Tuesday it would open a research lab in Hefei for speech models and chips.</p>" * 6
           + "</article></body></html>").encode()


class _Pool(ThreadPoolExecutor):
    """The extraction pool's interface (submit) without processes: the pipeline's contract, not the pool's."""


class _CrashedPool:
    """A pool whose worker died (what a segfault in a parser looks like from the reactor)."""

    def submit(self, fn, *args):
        from concurrent.futures import Future
        from concurrent.futures.process import BrokenProcessPool

        future: Future = Future()
        future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
        return future


def test_extract_pipeline_turns_a_page_into_a_story_and_a_broken_one_into_a_failure(ctx):
    from crawler.items import ArticlePage, FetchFailure, NewStory

    ctx.cpu = _Pool(1)
    pipe = ExtractPipeline.from_crawler(ctx.crawler)
    good = ArticlePage("s", "/a.html", "http://127.0.0.1/a.html?utm_source=rss", ARTICLE, "text/html; charset=utf-8")
    empty = ArticlePage("s", "/e.html", "http://127.0.0.1/e.html", b"<html><body></body></html>", "text/html")

    async def run():
        return [await pipe.process_item(good), await pipe.process_item(empty), await pipe.process_item("other")]

    story, nothing, other = asyncio.run(run())
    ctx.cpu.shutdown()
    ctx.cpu = _CrashedPool()
    failure = asyncio.run(pipe.process_item(good))
    assert isinstance(story, NewStory) and story.title == "iFlytek opens a lab"
    assert story.url == "http://127.0.0.1/a.html", "canonicalised in the worker"
    assert isinstance(nothing, FetchFailure) and nothing.error == "no title and no text on the page"
    assert isinstance(failure, FetchFailure) and "BrokenProcessPool" in failure.error, "a crash is a result"
    assert other == "other", "items that are not pages pass through"


def test_an_article_url_is_canonicalised_once_on_the_reactor_and_never_again_in_the_worker(ctx, monkeypatch):
    import crawler.extract.story as story_module
    import crawler.fetch.middlewares as middlewares
    from crawler.extract.story import build_story
    from crawler.items import ArticlePage

    calls: list[str] = []

    def counting(real):
        def canonical_url(url):
            calls.append(url)
            return real(url)
        return canonical_url

    monkeypatch.setattr(middlewares, "canonical_url", counting(middlewares.canonical_url))
    monkeypatch.setattr(story_module, "canonical_url", counting(story_module.canonical_url))
    mw = KnownUrlMiddleware.from_crawler(ctx.crawler)
    fetched = "http://127.0.0.1/a.html?utm_source=rss"
    listing = HtmlResponse("http://127.0.0.1/list/", body=b"<html></html>", encoding="utf-8")

    async def through(response, items):
        async def result():
            for item in items:
                yield item
        return [x async for x in mw.process_spider_output(response, result())]

    (request,) = asyncio.run(through(listing, [Request(fetched, meta={"newsradar_article": True})]))
    assert request.meta["newsradar_canonical"] == (fetched, "http://127.0.0.1/a.html")
    # The article's response carries its request's meta; the spider's page gets the canonical URL from it.
    response = HtmlResponse(fetched, body=ARTICLE, encoding="utf-8", request=request)
    (page,) = asyncio.run(through(response, [ArticlePage("s", fetched, fetched, ARTICLE, "text/html")]))
    assert page.canonical == {fetched: "http://127.0.0.1/a.html"}
    story = build_story(page)
    assert story.url == "http://127.0.0.1/a.html" and story.aliases == ()
    assert calls == [fetched], "canonicalised once, by the known-URL filter; the worker reused it"
    # A redirect: the new URL is the worker's to canonicalise, the request's is still reused.
    moved = ArticlePage("s", fetched, "http://127.0.0.1/b.html", ARTICLE, "text/html", canonical=page.canonical)
    assert build_story(moved).aliases == ("http://127.0.0.1/a.html",)
    assert calls == [fetched, "http://127.0.0.1/b.html"]


def test_store_pipeline_records_a_failure_and_drops_it_with_the_reason(ctx):
    from scrapy.exceptions import DropItem

    from crawler.items import FetchFailure

    pipe = StorePipeline.from_crawler(ctx.crawler)
    with pytest.raises(DropItem, match="HTTP 404"):
        asyncio.run(pipe.process_item(FetchFailure("s", "http://127.0.0.1/gone.html", "HTTP 404")))
    assert ctx.store.known_urls(["http://127.0.0.1/gone.html"]) == {"http://127.0.0.1/gone.html"}, "backed off"
    assert PollTally.of(ctx.crawler).failures == 1


@pytest.mark.parametrize("tally, status, error, known", [
    (PollTally(listings=1, new=2, known=1, known_skipped=3), "ok", None, 4),
    (PollTally(not_modified=1), "not-modified", None, 0),
    (PollTally(), "error", "no listing response (finish reason: shutdown)", 0),
    (PollTally(listings=1, new=1, store_errors=2, store_error="https://a.test/1: OperationalError: locked"),
     "error", "2 not stored (store error: https://a.test/1: OperationalError: locked)", 0),
    (PollTally(listings=1, size_limits=1, size_limit="https://a.test/big: 12 MB"), "error",
     "1 over the size limit (https://a.test/big: 12 MB)", 0),
    (PollTally(source_error="a.test asked to wait", throttled="a.test answered HTTP 429 with Retry-After: 60 s"),
     "throttled", "a.test asked to wait", 0),
])
def test_a_poll_result_is_built_from_what_the_poll_did(tally, status, error, known):
    result = _result("s", tally, "shutdown")
    assert (result.status, result.error, result.known) == (status, error, known)


def test_a_dropped_item_is_logged_by_its_reason_without_the_page_it_carries():
    from scrapy.exceptions import DropItem
    from scrapy.utils.misc import load_object

    from crawler.config.model import parse_config
    from crawler.fetch.settings import scrapy_settings
    from crawler.items import ArticlePage

    crawler = get_crawler(settings_dict=scrapy_settings(parse_config("sources: []\n", Path("c.yaml"))))
    formatter = load_object(crawler.settings["LOG_FORMATTER"]).from_crawler(crawler)
    page = ArticlePage("s", "https://x.example/a", "https://x.example/a", b"<html>" + b"x" * 5000, "text/html")
    reason = DropItem("story at https://x.example/a not stored: Fenced", log_level="ERROR")
    entry = formatter.dropped(page, reason, None, None)
    line = entry["msg"] % entry["args"]
    assert line == "Dropped: story at https://x.example/a not stored: Fenced" and "xxxx" not in line
