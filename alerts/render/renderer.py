"""Render one alert (or a digest of alerts) into a channel-ready Message.

Contract
--------
``Renderer(timezone, template_dirs).render(channel, alert, template=None)``
returns ``Message(title, body, body_format)``; ``render_digest`` returns a
list of them (newest first, grouped by each alert's first rule, split into
parts "(i/n)" rather than exceed the channel's size limit); ``check`` /
``check_digest`` test-render a hostile sample and raise ``TemplateProblem``
("<file>, line N: ...") for a broken or leaky template - call them at config
load.  ``Renderer.channel_for(apprise_url)`` maps a URL to a channel.

Channels, shipped templates (alerts/templates/), apprise body_format, hit::

    mail      mail.html.j2      digest.mail.html.j2      html      <mark>hit</mark>
    slack     slack.j2          digest.slack.j2          markdown  **hit** -> *hit*
    discord   markdown.j2       digest.markdown.j2       markdown  **hit**
    telegram  telegram.html.j2  digest.telegram.html.j2  html      <b>hit</b>
    markdown  markdown.j2       digest.markdown.j2       markdown  **hit**
    text      text.j2           digest.text.j2           text      «hit»

A per-notifier override is a file name looked up in ``template_dirs`` first,
then alerts/templates/; names starting with ``digest`` are digest templates,
and an override ``x.j2`` is paired with ``digest.x.j2`` when that exists.
Templates run in ImmutableSandboxedEnvironment with StrictUndefined;
scraped text is only ever a variable, and every ``{{ value }}`` is escaped
for the channel (HTML autoescape; elsewhere a ``finalize`` hook).  Variables
of one alert (a digest has ``groups`` [{rule, alerts: [entry]}], ``count``,
``total``, ``part``, ``parts``)::

    title source url url_ok when published first_seen matches [{rule, terms}]
    snippet highlighted link story_link title_shown alert_id urgent alert
    tickers company category doc_url   (JSON and disclosure sources; [] / None elsewhere)
    also_reported_by   (the other sources of the story's event thread; [] when alone)

``link`` (title -> story), ``story_link`` ("open story", for channels where
apprise already shows the title: ``title_shown``) and ``highlighted``
(snippet with the hit marked) are pre-escaped markup: our only live link.

Slack (apprise 2.3): the body goes out as MARKDOWN, which apprise converts
from CommonMark to mrkdwn (``[t](u)`` -> ``<u|t>``, ``**b**`` -> ``*b*``,
``\\<`` -> ``&lt;``) but which passes a raw ``<!channel>`` through live; so
slack.j2 is CommonMark and scraped text is backslash-escaped for it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from html import escape as html_escape
from pathlib import Path
from typing import Callable, NamedTuple, Sequence
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import jinja2
from apprise.manager_plugins import NotificationManager
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from alerts.render.message import Alert, Message, Snippet  # noqa: F401  (re-exported)
from alerts.render.safety import HOSTILE, find_leak
from alerts.render.escape import (
    ESCAPERS,
    INVISIBLE,
    SPACES,
    Safe,
    clean,
    cut,
    len16,
    wire_len_slack,
)

MAIL_MARK_OPEN = '<mark><span style="display:none">«</span>'
MAIL_MARK_CLOSE = '<span style="display:none">»</span></mark>'
BUILTIN_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


class TemplateProblem(ValueError):
    """A template that cannot render (or leaks hostile text); names file and line."""


class _Spec(NamedTuple):
    template: str
    digest: str
    body_format: str      # handed to apprise notify(body_format=...)
    mode: str             # escaping of {{ values }}: html | slack | markdown | text
    title_mode: str | None  # escaping of Message.title; None: apprise shows it as plain text
    mark: tuple[str, str]
    title_limit: int
    body_limit: int
    title_in_body: bool   # apprise joins the title into the body (and its size limit)


_CHANNELS = {name: _Spec(*row) for name, *row in (
    # The hidden guillemets mark the hit in the text/plain part apprise derives from the HTML (it drops <mark>).
    ("mail", "mail.html.j2", "digest.mail.html.j2", "html", "html", None, (MAIL_MARK_OPEN, MAIL_MARK_CLOSE), 200,
     500_000, False),
    ("slack", "slack.j2", "digest.slack.j2", "markdown", "slack", None, ("**", "**"), 150, 3000, False),
    ("discord", "markdown.j2", "digest.markdown.j2", "markdown", "markdown", "markdown", ("**", "**"), 256, 2000, True),
    ("telegram", "telegram.html.j2", "digest.telegram.html.j2", "html", "html", "html", ("<b>", "</b>"), 256, 4096, True),
    ("markdown", "markdown.j2", "digest.markdown.j2", "markdown", "markdown", "markdown", ("**", "**"), 250, 4000, False),
    ("text", "text.j2", "digest.text.j2", "text", "text", "text", ("«", "»"), 250, 4000, False),
)}
# (title chars shown in the body, snippet chars on each side); tried in turn.
_BUDGETS = ((300, 160), (160, 80), (80, 30), (60, 0))
_URL_SAFE = "-._~:/?#@!$&+,;=%*"


def _valid_url(url: str) -> bool:
    """Only http(s) with a host, no spaces or invisible characters, gets linked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.netloc) and len(url) <= 2048
            and not SPACES.search(url) and not INVISIBLE.search(url))


def _link(mode: str, url: str, label: str) -> str:
    """Our own link to the story (``label`` already escaped): the only live one."""
    if mode == "html":
        return Markup(f'<a href="{html_escape(url, quote=True)}">{label}</a>')
    if mode == "text":
        return Safe(url)
    return Safe(f"[{label}]({quote(url, safe=_URL_SAFE)})")


# ---------------------------------------------------------------- renderer
class Renderer:
    def __init__(self, timezone: str = "UTC", template_dirs: Sequence[Path] = ()):
        self.tz = ZoneInfo(timezone)
        dirs = [str(Path(d)) for d in template_dirs] + [str(BUILTIN_TEMPLATES)]
        loader = jinja2.FileSystemLoader(dirs)
        self._envs = {mode: self._env(loader, mode) for mode in ESCAPERS}

    @staticmethod
    def _env(loader, mode: str) -> jinja2.Environment:
        esc = ESCAPERS[mode]
        common = dict(loader=loader, undefined=jinja2.StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False)
        if mode == "html":
            return ImmutableSandboxedEnvironment(autoescape=True, **common)

        def finalize(value):  # the non-HTML "autoescape"
            return value if isinstance(value, (Safe, Markup)) else Safe(esc(str(value)))
        return ImmutableSandboxedEnvironment(autoescape=False, finalize=finalize, **common)

    @staticmethod
    def channel_for(url: str) -> str:
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        known = {"mailto": "mail", "mailtos": "mail", "slack": "slack", "discord": "discord",
                 "tgram": "telegram", "telegram": "telegram"}
        if scheme in known:
            return known[scheme]
        try:  # services whose preferred input is markdown (apprise's registry)
            plugin = NotificationManager()[scheme]
            formats = plugin.notify_format
            first = formats[0] if isinstance(formats, (tuple, list)) else formats
            return "markdown" if str(getattr(first, "value", first)) == "markdown" else "text"
        except Exception:
            return "text"

    # ------------------------------------------------------------ public
    def render(self, channel: str, alert: Alert, template: str | None = None) -> Message:
        spec = self._spec(channel)
        name = template or spec.template
        title = self._title(channel, alert.title, alert.urgent)

        def attempt(budget):
            return self._run(spec.mode, name, self._entry(channel, alert, budget))
        return Message(title, self._fit(channel, title, attempt), spec.body_format)

    def render_digest(self, channel: str, alerts: Sequence[Alert],
                      template: str | None = None) -> list[Message]:
        name = self._digest_name(channel, template)
        ordered = sorted(alerts, key=self._sort_key, reverse=True)
        cache: dict = {}  # entries are reused across the trial renders below
        fits = lambda part: self._digest_fits(channel, name, part, len(ordered), cache)  # noqa: E731
        chunks, i = [], 0
        while i < len(ordered):  # longest prefix that fits: gallop, then bisect
            good, bad = 1, 2     # a lone alert always forms a part (shrunk if need be)
            while i + bad <= len(ordered) and fits(ordered[i:i + bad]):
                good, bad = bad, bad * 2
            bad = min(bad, len(ordered) - i + 1)
            while bad - good > 1:
                mid = (good + bad) // 2
                good, bad = (mid, bad) if fits(ordered[i:i + mid]) else (good, mid)
            chunks.append(ordered[i:i + good])
            i += good
        return [self._digest(channel, name, chunk, n + 1, len(chunks), len(ordered), cache)
                for n, chunk in enumerate(chunks)]

    def check(self, channel: str, template: str | None = None) -> None:
        spec = self._spec(channel)
        for name in [template] if template else [spec.template, spec.digest]:
            if name.startswith("digest"):
                messages = self.render_digest(channel, [HOSTILE, replace(HOSTILE, id="nr-1-check")], name)
            else:
                messages = [self.render(channel, HOSTILE, name)]
            for msg in messages:
                # Plain titles (mail subject, Slack title) are escaped by apprise.
                shown = msg.body + ("\n" + msg.title if spec.title_mode else "")
                leak = find_leak(_CHANNELS[channel].mode, shown)
                if leak:
                    raise TemplateProblem(
                        f"{self._where_safe(spec.mode, name)}: hostile sample text reached the "
                        f"{channel} message live ({leak!r}); do not mark scraped values |safe")

    def check_digest(self, channel: str, template: str | None = None) -> None:
        """check() the digest template render_digest(channel, ..., template) would use."""
        self.check(channel, self._digest_name(channel, template))

    # ------------------------------------------------------------ internals
    def _digest_name(self, channel: str, template: str | None) -> str:
        # A notifier's single-alert override "x.j2" pairs with "digest.x.j2" if present.
        default = self._spec(channel).digest
        if not template or template.startswith("digest"):
            return template or default
        paired = f"digest.{template}"
        return paired if paired in self._envs["text"].loader.list_templates() else default

    @staticmethod
    def _spec(channel: str) -> _Spec:
        if channel not in _CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; one of {sorted(_CHANNELS)}")
        return _CHANNELS[channel]

    @staticmethod
    def _sort_key(alert: Alert) -> datetime:
        return alert.published or datetime.min.replace(tzinfo=timezone.utc)

    def _title(self, channel: str, title: str, urgent: bool) -> str:
        spec = _CHANNELS[channel]
        mode = spec.title_mode
        text = ("URGENT: " if urgent else "") + (clean(title).strip() or "(untitled)")
        esc = ESCAPERS[mode] if mode else (lambda s: s)
        limit = spec.title_limit
        while True:  # cut the plain text so the *escaped* title fits
            out = esc(cut(text, limit))
            if len16(out) <= spec.title_limit or limit <= 10:
                return out
            limit -= max(1, len16(out) - spec.title_limit)

    def _when(self, alert: Alert) -> str:
        if alert.published is None:
            return "date unknown"
        text = alert.published.astimezone(self.tz).strftime("%Y-%m-%d %H:%M %Z")
        return f"first seen {text} (no date on the page)" if alert.published_is_first_seen else f"published {text}"

    def _entry(self, channel: str, alert: Alert, budget: tuple[int, int]) -> dict:
        spec = _CHANNELS[channel]
        esc, html = ESCAPERS[spec.mode], spec.mode == "html"
        safe = Markup if html else Safe
        title = cut(clean(alert.title).strip() or "(untitled)", budget[0])
        url = clean(alert.url).strip()
        url_ok = _valid_url(url)
        link = _link(spec.mode, url, esc(title)) if url_ok else safe(esc(title))
        # Where apprise already shows the title (Discord, Telegram): a short label.
        story_link = _link(spec.mode, url, "open story") if url_ok else link
        snippet = highlighted = None
        if alert.snippet is not None and budget[1]:
            match = clean(alert.snippet.match)
            lead, trail = match[: len(match) - len(match.lstrip())], match[len(match.rstrip()):]
            snippet = Snippet(cut(clean(alert.snippet.before) + lead, budget[1], keep="end"),
                              cut(match.strip(), 100),
                              cut(trail + clean(alert.snippet.after), budget[1]))
            m_open, m_close = spec.mark
            highlighted = safe(esc(snippet.before) + m_open + esc(snippet.match)
                               + m_close + esc(snippet.after))
        published = alert.published.astimezone(self.tz) if alert.published else None
        entry = dict(
            title=title, source=cut(clean(alert.source).strip(), 100), url=url, url_ok=url_ok,
            link=link, story_link=story_link, title_shown=spec.title_in_body, when=self._when(alert), published=published,
            first_seen=alert.published_is_first_seen,
            matches=[dict(rule=cut(clean(rule), 100), terms=[cut(clean(t), 100) for t in terms])
                     for rule, terms in alert.matches],
            snippet=snippet, highlighted=highlighted, alert_id=clean(alert.id), urgent=alert.urgent,
            tickers=[cut(clean(t), 40) for t in alert.tickers],
            company=cut(clean(alert.company), 200) if alert.company else None,
            category=cut(clean(alert.category), 200) if alert.category else None,
            doc_url=clean(alert.doc_url).strip() if alert.doc_url else None,
            also_reported_by=[cut(clean(s).strip(), 100) for s in alert.also_reported_by])
        entry["alert"] = dict(entry)
        return entry

    @staticmethod
    def _room(channel: str, title: str) -> tuple[Callable[[str], int], int]:
        """How the channel measures a body, and how much it may hold next to ``title``."""
        spec = _CHANNELS[channel]
        weight = wire_len_slack if channel == "slack" else len16
        return weight, spec.body_limit - (len16(title) + 20 if spec.title_in_body else 0)

    def _fit(self, channel: str, title: str, attempt: Callable[[tuple[int, int]], str]) -> str:
        """Render with shrinking budgets until the body fits the channel's limit."""
        weight, room = self._room(channel, title)
        body = ""
        for budget in _BUDGETS:
            body = attempt(budget)
            if weight(body) <= room:
                return body
        return cut(body, room, weight=weight)  # a template too big even then: hard cut

    def _digest_context(self, channel, alerts, budget, part, parts, total, cache=None) -> dict:
        cache = {} if cache is None else cache
        groups: dict[str, list[dict]] = {}
        for alert in alerts:  # alerts arrive newest first; groups keep that order
            key = (id(alert), budget)
            if key not in cache:
                cache[key] = self._entry(channel, alert, budget)
            groups.setdefault(alert.matches[0][0] if alert.matches else "", []).append(cache[key])
        return dict(groups=[dict(rule=cut(clean(r), 100), alerts=a) for r, a in groups.items()],
                    count=len(alerts), total=total, part=part, parts=parts)

    def _digest_title(self, channel, count, part, parts) -> str:
        text = f"newsradar: {count} new alert{'s' if count != 1 else ''}"
        return self._title(channel, text + (f" ({part}/{parts})" if parts > 1 else ""), False)

    def _digest_fits(self, channel, name, alerts, total, cache) -> bool:
        ctx = self._digest_context(channel, alerts, _BUDGETS[0], 99, 99, total, cache)
        weight, room = self._room(channel, self._digest_title(channel, len(alerts), 99, 99))
        return weight(self._run(_CHANNELS[channel].mode, name, ctx)) <= room

    def _digest(self, channel, name, alerts, part, parts, total, cache) -> Message:
        spec = _CHANNELS[channel]
        title = self._digest_title(channel, len(alerts), part, parts)

        def attempt(budget):
            ctx = self._digest_context(channel, alerts, budget, part, parts, total, cache)
            return self._run(spec.mode, name, ctx)
        return Message(title, self._fit(channel, title, attempt), spec.body_format)

    # ------------------------------------------------------------ jinja glue
    def _where_safe(self, mode: str, name: str) -> str:
        """'file, line N' of the first |safe in a template (where leaks come from)."""
        try:
            filename = self._envs[mode].get_template(name).filename or name
            lines = Path(filename).read_text("utf-8").splitlines()
        except Exception:
            return f"{name}, line ?"
        number = next((i for i, line in enumerate(lines, 1) if "safe" in line), "?")
        return f"{filename}, line {number}"

    def _run(self, mode: str, name: str, ctx: dict) -> str:
        env = self._envs[mode]
        try:
            tpl = env.get_template(name)
        except jinja2.TemplateSyntaxError as e:
            raise TemplateProblem(f"{e.filename or name}, line {e.lineno}: {e.message}") from e
        except jinja2.TemplateNotFound as e:
            raise TemplateProblem(f"{name}, line 0: template not found in {env.loader.searchpath}") from e
        try:
            return tpl.render(ctx).strip() + "\n"
        except Exception as e:  # UndefinedError, SecurityError, TypeError, ...
            line = "?"
            tb = e.__traceback__
            while tb is not None:  # jinja rewrites frames to template lines
                if tb.tb_frame.f_code.co_filename == tpl.filename:
                    line = str(tb.tb_lineno)
                tb = tb.tb_next
            raise TemplateProblem(f"{tpl.filename}, line {line}: {type(e).__name__}: {e}") from e
