"""Deliver a rendered Message through apprise; classify what went wrong.

Contract
--------
``deliver(url, message, timeout=30.0) -> Delivery`` never raises (any
``Exception`` becomes ``Delivery(ok=False)``).  It returns within about
``timeout + 1`` s: the plugin's socket timeouts are capped at ``timeout``
and apprise's own call deadline (``notify(timeout=...)``) is the backstop.
``mask_url(url)`` is apprise's privacy form (``url(privacy=True)``) with
webhook paths, header values and token-like query values masked as well;
``check_url(url)`` is None when apprise accepts the URL, else a message
without secrets.  Error texts are masked the same way.

How failures are read
---------------------
* Log records: apprise logs everything on the single ``apprise`` logger.
  While a delivery runs, that logger is lowered to DEBUG and a logger
  filter copies each record into the *current call's* list (a ContextVar;
  apprise runs plugins in worker threads under ``contextvars.copy_context``
  so records stay with their call even with concurrent deliveries).  The
  filter drops the extra DEBUG records for every other handler, so the
  application log sees what it saw before.  This replaces
  ``apprise.LogCapture``, whose one global StringIO and level swap mix up
  concurrent calls.
* HTTP status and Retry-After: apprise 2.3 does not expose response
  headers (only a few plugins - Fluxer, Trigv, Matrix - act on 429 hints
  themselves; Slack/JSON/Telegram just log ``error=429``).  A requests
  response hook (installed once into ``requests.sessions.default_hooks``,
  a no-op outside ``deliver``) records each response's status and
  ``Retry-After`` / ``X-RateLimit-Reset-After`` for the current call.
* Permanent: HTTP 4xx except 408/409/425/429, SMTP 5xx (``(550, b'...')``
  in apprise's DEBUG "Socket Exception" record), or a URL apprise rejects.
  Everything else (connection refused, timeouts, 5xx, 429, SMTP 4xx) is
  transient.
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

import difflib

import apprise
import requests.sessions as sessions
from apprise.manager_plugins import NotificationManager

import alerts.notify.console  # noqa: F401  (registers console:// with apprise)
from alerts.render.renderer import Message

__all__ = ["Delivery", "deliver", "mask_url", "check_url"]

_LOGGER = logging.getLogger("apprise")
_ASSET = dict(app_id="newsradar", app_desc="newsradar alerts", storage_mode="memory")


@dataclass(frozen=True)
class Delivery:
    ok: bool
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False


# ------------------------------------------------------------ per-call tap
@dataclass
class _Call:
    quiet: bool = False                    # hide even WARNINGs from other handlers
    records: list[tuple[int, str]] = field(default_factory=list)
    responses: list[tuple[int, str | None]] = field(default_factory=list)


_current: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("newsradar_delivery", default=None)
_state_lock = threading.Lock()
_active = 0                  # deliveries in flight (they share the lowered level)
_saved_level = logging.NOTSET  # the apprise logger's own level before we lowered it
_baseline = logging.WARNING  # ... and its effective level: what other handlers expect
_installed = False


class _Tap(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        call = _current.get()
        if call is not None:
            try:
                call.records.append((record.levelno, record.getMessage()))
            except Exception:  # a malformed record must not break delivery
                pass
            if call.quiet:
                return False
        # Only records the application would have seen anyway go on.
        return record.levelno >= _baseline if _active else True


def _response_hook(response, *args, **kwargs):
    call = _current.get()
    if call is not None:
        headers = response.headers
        call.responses.append((response.status_code,
                               headers.get("Retry-After") or headers.get("X-RateLimit-Reset-After")))
    return None  # keep the response unchanged


def _install() -> None:
    global _installed
    with _state_lock:
        if _installed:
            return
        _LOGGER.addFilter(_Tap())
        try:
            original = sessions.default_hooks

            def default_hooks():
                hooks = original()
                hooks.setdefault("response", []).append(_response_hook)
                return hooks
            sessions.default_hooks = default_hooks
        except Exception:  # requests internals moved: no Retry-After, still works
            pass
        _installed = True


class _Capture:
    """Context manager: DEBUG on the apprise logger (ref-counted) + this call's tap."""

    def __init__(self, quiet: bool = False) -> None:
        self.call = _Call(quiet=quiet)

    def __enter__(self) -> _Call:
        global _active, _baseline, _saved_level
        _install()
        with _state_lock:
            if _active == 0:
                _saved_level = _LOGGER.level
                _baseline = _LOGGER.getEffectiveLevel()
                _LOGGER.setLevel(logging.DEBUG)
            _active += 1
        self._token = _current.set(self.call)
        return self.call

    def __exit__(self, *exc) -> None:
        global _active
        _current.reset(self._token)
        with _state_lock:
            _active -= 1
            if _active == 0:
                _LOGGER.setLevel(_saved_level)


# ------------------------------------------------------------ masking
# Our own split, not apprise.utils.parse.parse_url: apprise's normalises what it reads (decodes the arguments,
# re-quotes path segments, folds "//", drops a "#channel" fragment, cuts a password at its first raw ":"), so
# the masked URL could not show the URL as written, and a "#room", "hook#frag" or a password "pa:ss" would no
# longer be masked or scrubbed. Tried on 47 URLs (the tests', typos, raw "@"/":"): 40 of 188 outputs changed.
_URL_RE = re.compile(r"^(?P<scheme>[A-Za-z][\w+.-]*)://(?P<rest>.*)$", re.S)
_HOSTLIKE = re.compile(r"^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[\da-f:.]+\]|([a-z\d-]+\.)+[a-z]{2,})$", re.I)
_EMAIL = re.compile(r"^[^@/\s]+@[^@/\s]+\.[a-z]{2,}$", re.I)
_SECRET_KEY = re.compile(r"pass|pwd|secret|token|key|auth|sig|hash|hook|bearer|cred|session", re.I)
_GENERIC = {"json", "jsons", "form", "forms", "xml", "xmls"}


def _split(url: str):
    """(scheme, userinfo, host, path segments, query pairs) or None."""
    m = _URL_RE.match(url.strip())
    if not m:
        return None
    rest, _, query = m.group("rest").partition("?")
    authority, _, path = rest.partition("/")
    userinfo, _, host = authority.rpartition("@")
    pairs = [tuple(p.split("=", 1)) if "=" in p else (p, None) for p in query.split("&") if p]
    return m.group("scheme").lower(), userinfo, host, path.split("/") if path else [], pairs


def _secret_query(key: str) -> bool:
    key = unquote(key)
    return key.startswith("+") or bool(_SECRET_KEY.search(key))


def _secrets(url: str) -> set[str]:
    """Fragments of ``url`` that must never be shown (password, tokens, paths)."""
    parts = _split(url)
    if parts is None:
        return {url} if len(url) >= 3 else set()
    scheme, userinfo, host, path, pairs = parts
    found = set()
    if ":" in userinfo:
        found.add(unquote(userinfo.split(":", 1)[1]))
    hostname = host.rsplit(":", 1)[0] if re.search(r":\d+$", host) else host
    if hostname and not _HOSTLIKE.match(unquote(hostname)):
        found.add(unquote(hostname))
        found.update(unquote(p) for p in hostname.split(":"))
    found.update(unquote(s) for s in path if s and not _EMAIL.match(unquote(s)))
    found.update(unquote(v) for k, v in pairs if v and _secret_query(k))
    return {s for s in found if len(s) >= 3}


def _scrub(text: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            text = text.replace(form, "***")
    return text


def _mask_structure(url: str, secrets: set[str], original_scheme: str) -> str:
    parts = _split(url)
    if parts is None:
        return "***"
    scheme, userinfo, host, path, pairs = parts
    if ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":****"
    if unquote(host.rsplit(":", 1)[0]) in secrets or unquote(host) in secrets:
        host = "***"
    generic = original_scheme in _GENERIC  # a webhook path is the secret
    path = ["***" if s and (generic or unquote(s) in secrets) else s for s in path]
    query = "&".join(k if v is None else f"{k}={'***' if _secret_query(k) or unquote(v) in secrets else v}"
                     for k, v in pairs)
    out = f"{scheme}://{userinfo + '@' if userinfo else ''}{host}"
    out += "/" + "/".join(path) if path else ""
    return out + (f"?{query}" if query else "")


def _instantiate(url: str):
    return apprise.Apprise.instantiate(url, asset=apprise.AppriseAsset(**_ASSET))


def mask_url(url: str) -> str:
    """apprise's privacy form, plus masked webhook paths/headers; never raises."""
    try:
        secrets = _secrets(url)
        scheme = (_split(url) or ("",))[0]
        with _Capture(quiet=True):
            server = _instantiate(url)
        shown = server.url(privacy=True) if server is not None else url
        return _scrub(_mask_structure(shown, secrets, scheme), {s for s in secrets if len(s) >= 6})
    except Exception:
        return "***"


def check_url(url: str) -> str | None:
    """None if apprise accepts ``url``; otherwise a reason without secrets."""
    try:
        with _Capture(quiet=True) as call:
            server = _instantiate(url)
        if server is not None:
            return None
        unknown = _unknown_scheme(url)
        if unknown:
            return f"apprise cannot use {mask_url(url)}: {unknown}"[:500]
        secrets = _secrets(url)
        reasons = [_scrub(msg, secrets) for level, msg in call.records if level >= logging.WARNING]
        why = "; ".join(dict.fromkeys(reasons)) or "unsupported or malformed URL"
        return f"apprise cannot use {mask_url(url)}: {why}"[:500]
    except Exception as e:
        return f"apprise cannot use {mask_url(url)}: {type(e).__name__}"


def known_schemes() -> set[str]:
    """Every URL scheme apprise has a notifier for (its plugins and ones registered with @notify)."""
    return {str(s).lower() for s in NotificationManager().schemas()}


def _unknown_scheme(url: str) -> str | None:
    """'unknown scheme slak://; did you mean slack://?' when no apprise notifier has the URL's scheme."""
    parts = _split(url)
    if parts is None:
        return None
    scheme, known = parts[0], known_schemes()
    if scheme in known or scheme in ("http", "https"):  # webhooks given as https:// URLs are parsed natively
        return None
    close = difflib.get_close_matches(scheme, sorted(known), n=1, cutoff=0.6)
    return f"unknown scheme {scheme}://" + (f"; did you mean {close[0]}://?" if close else
                                            " (see https://github.com/caronc/apprise/wiki for the schemes)")


# ------------------------------------------------------------ delivery
_HTTP_CODE = re.compile(r"error=(\d{3})\b")
_SMTP_CODE = re.compile(r"\((\d{3}), b['\"]|refused: (\d{3})")
_LOG_RETRY = re.compile(r"(?:retry after|blocking for)\s+([\d.]+)\s*second", re.I)
_TRANSIENT_4XX = {408, 409, 425, 429}


def _retry_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # HTTP-date form
        when = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _classify(call: _Call) -> tuple[bool, float | None]:
    """(permanent, retry_after) from responses seen and apprise's records."""
    text = "\n".join(msg for _, msg in call.records)
    failed = [(status, hint) for status, hint in call.responses if status >= 400]
    retry_after = next((s for s in (_retry_seconds(h) for _, h in reversed(failed)) if s is not None), None)
    if retry_after is None:
        m = _LOG_RETRY.findall(text)
        retry_after = float(m[-1]) if m else None
    http = [status for status, _ in failed] or [int(c) for c in _HTTP_CODE.findall(text)]
    if http:
        code = http[-1]
        return 400 <= code < 500 and code not in _TRANSIENT_4XX, retry_after
    smtp = [int(a or b) for a, b in _SMTP_CODE.findall(text)]
    if smtp:
        return smtp[-1] >= 500, retry_after
    return False, retry_after


def _error_text(call: _Call, secrets: set[str], prefix: str = "") -> str:
    lines = [msg for level, msg in call.records
             if level >= logging.WARNING or msg.startswith("Socket Exception")]
    text = "; ".join(dict.fromkeys(line.replace("\r", " ").replace("\n", " ") for line in lines))
    return _scrub((prefix + text) or "delivery failed (apprise gave no reason)", secrets)[:1000]


def deliver(url: str, message: Message, *, timeout: float = 30.0) -> Delivery:
    """Send ``message`` to one apprise ``url``; never raises."""
    secrets: set[str] = set()
    try:
        timeout = max(float(timeout), 0.1)
        secrets = _secrets(url)
        with _Capture() as call:
            server = _instantiate(url)
            if server is None:
                return Delivery(ok=False, permanent=True, error=check_url(url))
            # Bound every socket wait by our timeout (never loosen the URL's own).
            server.socket_connect_timeout = min(float(server.socket_connect_timeout), timeout)
            server.socket_read_timeout = min(float(server.socket_read_timeout), timeout)
            apobj = apprise.Apprise(asset=apprise.AppriseAsset(**_ASSET))
            apobj.add(server)
            result = apobj.notify(body=message.body, title=message.title,
                                  body_format=message.body_format, timeout=timeout + 1.0)
        if result:
            return Delivery(ok=True)
        status = getattr(result, "status", None)
        timed_out = getattr(status, "name", "") == "TIMEOUT"
        permanent, retry_after = _classify(call)
        prefix = f"no answer within {timeout:g}s; " if timed_out else ""
        return Delivery(ok=False, error=_error_text(call, secrets, prefix),
                        retry_after=retry_after, permanent=permanent and not timed_out)
    except Exception as e:  # contract: a delivery problem is a value, not an exception
        return Delivery(ok=False, error=_scrub(f"{type(e).__name__}: {e}", secrets)[:1000])
