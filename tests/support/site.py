"""A real local news site for tests: an HTTP server on 127.0.0.1 with pages that tests change while it runs.

`Site.add(path, body, content_type=..., status=..., headers=...)` publishes a page. Every page gets an ETag and a
Last-Modified and answers conditional requests with 304, as a well-behaved news site does. `site.hits[path]`
counts requests; `site.requests` keeps (method, path, headers) for assertions (User-Agent, If-None-Match), and
`site.times` when each came.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    conditional: bool = True
    modified: float = field(default_factory=time.time)


class Site:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.pages: dict[str, Page] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.times: list[tuple[float, str]] = []  # (time.monotonic(), path) of every request, in arrival order
        self.in_flight = 0
        self.peak_in_flight = 0
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else ~40 ms stalls on small responses (delayed ACK)

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site._serve(self)

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default 5 drops connections under a crawl's burst

        self.server = Server((host, 0), Handler)  # host: another loopback address for benchmarks with many hosts
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8", **kw: object) -> str:
        if isinstance(body, str):
            body = body.encode("utf-8")
        with self.lock:
            self.pages[path] = Page(body, content_type, **kw)  # type: ignore[arg-type]
        return self.url(path)

    def remove(self, path: str) -> None:
        with self.lock:
            self.pages.pop(path, None)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        with self.lock:
            self.hits[path] += 1
            self.requests.append(("GET", path, dict(handler.headers.items())))
            self.times.append((time.monotonic(), path))
            page = self.pages.get(path) or self.pages.get(path.split("?", 1)[0])
        if page is None:
            send(handler, 404, b"not found", "text/plain", {})
            return
        with self.lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if page.delay:
                time.sleep(page.delay)
            self._answer(handler, page)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _answer(self, handler: BaseHTTPRequestHandler, page: Page) -> None:
        etag = '"' + hashlib.sha1(page.body).hexdigest()[:16] + '"'
        modified = formatdate(page.modified, usegmt=True)
        headers = dict(page.headers)
        if page.conditional and page.status == 200:
            headers.update({"ETag": etag, "Last-Modified": modified})
            if handler.headers.get("If-None-Match") == etag:
                send(handler, 304, b"", None, headers)
                return
        send(handler, page.status, page.body, page.content_type, headers)


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str | None,
         headers: dict | None = None) -> None:
    """Answer one request (the local test servers share this); a client that hung up is not an error."""
    handler.send_response(status)
    if ctype:
        handler.send_header("Content-Type", ctype)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if body:
        try:
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def site():
    s = Site()
    s.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    yield s
    s.close()
