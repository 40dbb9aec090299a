"""Local stand-ins for the services newsradar delivers to (127.0.0.1 only).

Fixtures (re-exported by tests/conftest.py)::

    smtp_server    a real aiosmtpd server on a free port; ``.messages`` holds
                   the decoded ``email.message.EmailMessage`` objects it
                   accepted.  Script a refusal with ``.rcpt_reply`` /
                   ``.data_reply`` (e.g. "550 5.1.1 no such user",
                   "451 4.3.0 try later"); ``.url(to=...)`` builds the
                   apprise mailto:// URL for a plain, no-auth, no-TLS server.
    http_receiver  a threaded HTTP server on a free port; ``.requests`` holds
                   every request (path, headers, raw body, ``.json`` /
                   ``.form``).  ``.script(Reply(...), ...)`` queues one
                   response per request (status, headers such as Retry-After,
                   body, a delay to simulate a hang); unscripted requests get
                   200 "ok" (what a Slack webhook answers).
    closed_port    a port on 127.0.0.1 with nothing listening (connection
                   refused).

Every wait is bounded; a delayed reply is cut short at teardown so a test
that simulates a hang never holds the suite.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote

import pytest
from aiosmtpd.controller import Controller

__all__ = [
    "smtp_server", "http_receiver", "closed_port",
    "SMTPReceiver", "HTTPReceiver", "Reply", "Request", "free_port",
]


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------- SMTP
class SMTPReceiver:
    """aiosmtpd handler + controller; collects decoded messages."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.rcpt_reply: str | None = None   # e.g. "550 5.1.1 no such user"
        self.data_reply: str | None = None   # e.g. "451 4.3.0 try later"
        self.data_delay: float = 0.0         # stall once in DATA for this long, then give up with 451
        self.host = "127.0.0.1"
        self.port = free_port()
        self._controller = Controller(self, hostname=self.host, port=self.port,
                                      ready_timeout=5.0)

    # aiosmtpd hooks: returning a reply string is what the server answers.
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:  # a server that stalls before answering the end of DATA
            delay, self.data_delay = self.data_delay, 0.0
            await asyncio.sleep(delay)
            return "451 4.4.2 timed out while stalled"
        if self.data_reply:
            return self.data_reply
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def url(self, to: str = "desk@example.com", sender: str = "radar@example.com") -> str:
        # mode=insecure: no STARTTLS/SSL; no user/password: no AUTH.
        return (f"mailto://{self.host}:{self.port}?from={quote(sender)}"
                f"&to={quote(to)}&mode=insecure")

    def start(self) -> "SMTPReceiver":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def restart(self) -> "SMTPReceiver":
        """Up again on the same port after stop() (a controller cannot be restarted: make a new one)."""
        self._controller = Controller(self, hostname=self.host, port=self.port, ready_timeout=5.0)
        return self.start()


@pytest.fixture
def smtp_server():
    server = SMTPReceiver().start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------- HTTP
@dataclass
class Reply:
    """One scripted HTTP response."""
    status: int = 200
    body: bytes | str = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0          # seconds to stall before answering (a hang)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.text, keep_blank_values=True)


class HTTPReceiver:
    """Threaded HTTP server answering from a script, recording requests."""

    MAX_DELAY = 10.0  # never stall a handler thread longer than this

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else Reply()

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    receiver.requests.append(Request(
                        self.command, self.path, dict(self.headers.items()), body))
                reply = receiver._next_reply()
                if reply.delay:
                    # Interruptible stall: teardown sets _closing.
                    receiver._closing.wait(min(reply.delay, receiver.MAX_DELAY))
                payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout test): nothing to do

            do_POST = do_PUT = do_GET = _handle

        return Handler

    def start(self) -> "HTTPReceiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def http_receiver():
    receiver = HTTPReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def closed_port() -> int:
    return free_port()
