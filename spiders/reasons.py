"""Why a request failed, in the words a user needs: `DNS lookup failed for www.cnbc.com`, `connection refused by
127.0.0.1:8080`, `HTTP 503`, `timed out after 30s`. One line, no traceback; the exception's own class and text
only for failures without a known shape."""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.exceptions import CannotResolveHostError, DownloadConnectionRefusedError, DownloadTimeoutError
from twisted.internet import error as tx


def describe(exc: BaseException, url: str | None = None) -> str:
    """The cause of one failed request to `url` (the host is named for network failures)."""
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "status", None) is not None:
        return f"HTTP {response.status}"
    parts = urlsplit(url or "")
    host = parts.hostname or "the host"
    if isinstance(exc, (CannotResolveHostError, tx.DNSLookupError)):
        return f"DNS lookup failed for {host}"
    if isinstance(exc, (DownloadConnectionRefusedError, tx.ConnectionRefusedError)):
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme, "")
        return f"connection refused by {host}:{port}" if port else f"connection refused by {host}"
    if isinstance(exc, (DownloadTimeoutError, tx.TimeoutError, TimeoutError)):
        detail = str(exc).strip()
        return f"no answer from {host} in time" + (f" ({detail})" if detail else "")
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
