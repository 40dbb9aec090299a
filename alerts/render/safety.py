"""The hostile sample every template is test-rendered with when the config loads, and how a leak is recognised.

`HOSTILE` carries what a scraped page can throw at a channel (Slack/Discord mentions, links that lie about their
target, raw HTML, header injection) in every field a template can show; `find_leak` finds a marker of it that is
still live in the output (not escaped for the channel), so a leaky template is a config error, not a live
`<!channel>` at 3 a.m. (alerts.render.renderer.Renderer.check).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from alerts.render.message import Alert, Snippet

HOSTILE = Alert(
    id="nr-0-check",
    title="<!channel> <!here> <@U123> <#C123> <http://evil.example|bank.com> "
          "<script>alert(1)</script> @everyone *bold* _x_ [a](http://evil.example)\r\nBcc: x@y.z",
    url="https://news.example.com/story?a=1&b=(2)",
    source="<b>src</b> @here",
    published=datetime(2024, 1, 2, 3, 4, tzinfo=timezone.utc),
    published_is_first_seen=True,
    matches=(("rule <!here>", ("term*", "<@U9>")),),
    snippet=Snippet("before <!everyone> ", "<@U123>", " after <http://evil.example|bank.com> @everyone"),
    urgent=True,
    tickers=("<@U123>",),
    company="<b>src</b> <!channel>",
    category="<!here>",
    doc_url="http://evil.example/<!everyone>.pdf",
    also_reported_by=("<b>src</b> @here", "<!channel>"),
)
# Markers of the sample's hostile text, live when not backslash-escaped; a
# template's own markup (even a raw "<url|label>") is not flagged.
_LIVE_MD = re.compile(r"(?:^|[^\\])(?:\\\\)*(<!channel|<!here|<!everyone|<@U|<#C|<http://evil|<script"
                      r"|<b>src|\]\(http://evil)|@everyone|@here|@channel")
_LEAKS = {
    "html": re.compile(r"<script|<b>src|<!here>|<!channel>|<!everyone>|<@U|<http://evil"),
    "slack": _LIVE_MD,
    "markdown": _LIVE_MD,
    "text": re.compile(r"@everyone|@here|@channel"),
}


def find_leak(mode: str, rendered: str) -> str | None:
    """The first hostile marker still live in ``rendered`` by a template of escaping ``mode``, if any."""
    m = _LEAKS[mode].search(rendered)
    return (m.groups() and m.group(1) or m.group(0)) if m else None
