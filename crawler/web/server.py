"""The daemon's read-only dashboard (`web: {port: 8765}`): a stdlib threading HTTP server beside the reactor.

Pages are rendered on the server's own threads (one per request), so store reads never block the daemon's
asyncio loop. GET and HEAD only; there are no write endpoints. With `web.token`, every page but `/healthz` needs
`Authorization: Bearer TOKEN` (compared in constant time); `/healthz` stays open for systemd and load balancers
and says only whether polls and the outbox are going.

Routes: `/` status, today's alerts and the last 24 h; `/report?since=7d` the mentions report, live;
`/stories?q=TERM` stored stories containing TERM, highlighted; `/healthz` 200 or 503 with the reasons;
`/metrics` Prometheus (the daemon's registry).
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

try:  # optional (`pip install 'newsradar[metrics]'`): without it there is no registry, so no /metrics
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
except ImportError:
    CONTENT_TYPE_LATEST, generate_latest = "", None

from crawler.config.model import Config, parse_duration
from crawler.store.database import Store, utcnow
from crawler.web import health, pages

log = logging.getLogger("newsradar.web")
MAX_SINCE = timedelta(days=92)


class Dashboard:
    """Serve the dashboard for `store`; `config()` gives the live config (it changes on reload); `now()` is
    injectable for tests; `registry` is the Prometheus registry behind `/metrics` (None: 404)."""

    def __init__(self, store: Store, config: Callable[[], Config], *, registry: Any = None,
                 now: Callable[[], datetime] = utcnow, started: datetime | None = None):
        self.store = store
        self.config = config
        self.registry = registry
        self.now = now
        self.started = started or now()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------------------------------
    def start(self, host: str, port: int) -> Dashboard:
        dashboard = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "newsradar"

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("%s " + fmt, self.address_string(), *args)

            def do_GET(self) -> None:
                dashboard._handle(self, body=True)

            def do_HEAD(self) -> None:
                dashboard._handle(self, body=False)

            def _refuse(self) -> None:
                self._send(405, "text/plain; charset=utf-8", b"read-only: GET and HEAD only\n", {"Allow": "GET, HEAD"})

            do_POST = do_PUT = do_DELETE = do_PATCH = _refuse

            def _send(self, code: int, ctype: str, data: bytes, headers: dict[str, str] | None = None,
                      body: bool = True) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                # nothing on a page may load from anywhere (inline styles and SVG only, no script at all)
                self.send_header("Content-Security-Policy",
                                 "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if body:
                    self.wfile.write(data)

        self.bound = (host, port)  # as configured (port 0: any free one)
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="newsradar-web", daemon=True)
        self._thread.start()
        log.info("dashboard on http://%s:%d/", host, self.port)
        return self

    def use(self, config: Config) -> None:
        """A reloaded config: pages read it live (a new `web.token` holds from the next request); the address is
        bound once, so a changed `web.host`/`web.port` (or a removed `web:`) is said and takes effect on restart."""
        wanted = (config.web.host, config.web.port) if config.web else None
        if wanted != self.bound:
            log.warning("config: web.host/web.port changed; the dashboard stays on %s:%d until newsradar restarts",
                        self.bound[0], self.port)
            self.bound = wanted

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else 0

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- requests ---------------------------------------------------------------------------------------------
    def _authorised(self, header: str | None, config: Config) -> bool:
        token = config.web.token if config.web else None
        if not token:
            return True
        given = (header or "").encode()
        return hmac.compare_digest(given, f"Bearer {token}".encode())

    def _handle(self, req: BaseHTTPRequestHandler, body: bool) -> None:
        url = urlsplit(req.path)
        query = parse_qs(url.query)
        config = self.config()
        html = "text/html; charset=utf-8"
        try:
            if url.path == "/healthz":
                problems = health.check(self.store, config, self.now(), self.started)
                data = json.dumps({"ok": not problems, "problems": problems}).encode()
                return req._send(503 if problems else 200, "application/json", data, body=body)
            if not self._authorised(req.headers.get("Authorization"), config):
                return req._send(401, "text/plain; charset=utf-8", b"a bearer token is required\n",
                                 {"WWW-Authenticate": 'Bearer realm="newsradar"'}, body=body)
            if url.path == "/":
                problems = health.check(self.store, config, self.now(), self.started)
                page = pages.status_page(self.store, config, self.now(), problems)
            elif url.path == "/report":
                try:
                    since = parse_duration(query.get("since", ["7d"])[0])
                except ValueError as exc:
                    return req._send(400, "text/plain; charset=utf-8", f"{exc}\n".encode(), body=body)
                page = pages.report_page(self.store, config, self.now(), min(since, MAX_SINCE))
            elif url.path == "/stories":
                page = pages.stories_page(self.store, config, query.get("q", [""])[0])
            elif url.path == "/metrics" and self.registry is not None:
                return req._send(200, CONTENT_TYPE_LATEST, generate_latest(self.registry), body=body)
            else:
                return req._send(404, "text/plain; charset=utf-8", b"not found\n", body=body)
        except Exception:  # a page failing must not take the server (or the daemon) down
            log.exception("dashboard: %s failed", url.path)
            return req._send(500, "text/plain; charset=utf-8", b"internal error (see the daemon's log)\n", body=body)
        req._send(200, html, page.encode("utf-8"), body=body)


def start_for(daemon: Any) -> Dashboard | None:
    """The daemon's hook: start the dashboard when its config has `web:`; None otherwise."""
    settings = daemon.config.web
    if settings is None:
        return None
    return Dashboard(daemon.store, lambda: daemon.config, registry=daemon.metrics.registry).start(
        settings.host, settings.port)
