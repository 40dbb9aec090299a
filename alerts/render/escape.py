"""Scraped text made safe and short for a channel: one line, no invisible or bidi tricks, mentions defused,
markup escaped per channel, cut at a grapheme boundary so a message never exceeds what the service accepts.
Pure string functions; alerts/render.py applies them to every template value."""

from __future__ import annotations

import re
import unicodedata
from html import escape as html_escape
from typing import Callable


def _simple_clusters(s: str) -> list[str]:
    """Fallback segmentation: keeps marks, ZWJ/VS/skin-tone/tag sequences, flags, jamo."""
    out: list[str] = []
    for ch in s:
        cp = ord(ch)
        glue = out and (
            unicodedata.category(ch) in ("Mn", "Me", "Mc") or cp == 0x200D or out[-1][-1] == "\u200d"
            or 0xFE00 <= cp <= 0xFE0F or 0xE0020 <= cp <= 0xE01EF or 0x1F3FB <= cp <= 0x1F3FF
            or 0x1160 <= cp <= 0x11FF or 0xD7B0 <= cp <= 0xD7FF or (ch == "\n" and out[-1] == "\r")
            or (0x1F1E6 <= cp <= 0x1F1FF and len(out[-1]) == 1 and 0x1F1E6 <= ord(out[-1]) <= 0x1F1FF))
        if glue:
            out[-1] += ch
        else:
            out.append(ch)
    return out


try:  # full extended grapheme clusters (`regex` comes with trafilatura's dateparser)
    import regex as _regex

    def _clusters(s: str) -> list[str]:
        return _regex.findall(r"\X", s)
except ImportError:  # pragma: no cover
    _clusters = _simple_clusters


def len16(s: str) -> int:
    """Length in UTF-16 code units: what Telegram/Slack/Discord limits count."""
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


def cut(s: str, limit: int, *, keep: str = "start", weight=len16) -> str:
    """Cut to ``limit`` (by ``weight``) at a grapheme boundary, marking with "…"."""
    if weight(s) <= limit:
        return s
    parts = _clusters(s)
    if keep == "end":
        parts.reverse()
    taken, used = [], weight("…")
    for part in parts:
        used += weight(part)
        if used > limit:
            break
        taken.append(part)
    if keep == "end":
        return "…" + "".join(reversed(taken)).lstrip()
    return "".join(taken).rstrip() + "…"


# Zero-width space, LRM/RLM, bidi embeddings/overrides/isolates (title spoofing), BOM.
# ZWNJ/ZWJ (U+200C/D) stay: emoji sequences and Indic/Persian text need them.
INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]")
SPACES = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(s: object) -> str:
    """One line, no control/bidi characters, no lone surrogates (not stripped)."""
    s = _SURROGATE.sub("\ufffd", str(s))
    return SPACES.sub(" ", INVISIBLE.sub("", s))


class Safe(str):
    """Channel markup that must not be escaped again (non-HTML channels)."""


_MENTION = re.compile(r"@(?=[\w&!*])")
_SLACK_SPECIAL = re.compile(r"([\\`*_~\[\]<>#])")
_MD_SPECIAL = re.compile(r"([\\`*_~\[\]<>#|])")
_MD_LINE_START = re.compile(r"^(\s*)(?:([-+=])|(\d+)([.)]))")


def defuse_mentions(s: str) -> str:
    # A zero-width space after "@" stops @everyone/@here/<@id> pings.
    return _MENTION.sub("@\u200b", s)


def slack_escape(s: str) -> str:
    """For apprise's CommonMark->mrkdwn path: \\< becomes &lt;, & becomes &amp;."""
    return defuse_mentions(_SLACK_SPECIAL.sub(r"\\\1", s))


def md_escape(s: str) -> str:
    s = _MD_SPECIAL.sub(r"\\\1", s)
    # Values may land at a line start: no list item / heading underline.
    s = _MD_LINE_START.sub(lambda m: m.group(1) + (
        "\\" + m.group(2) if m.group(2) else m.group(3) + "\\" + m.group(4)), s, 1)
    return defuse_mentions(s)


ESCAPERS: dict[str, Callable[[str], str]] = {
    "html": lambda s: html_escape(s, quote=False),  # text content; href is quoted apart
    "slack": slack_escape,
    "markdown": md_escape,
    "text": defuse_mentions,
}


def wire_len_slack(s: str) -> int:
    # Upper bound of the mrkdwn apprise posts: & -> &amp;, \< -> &lt;.
    return len16(s) + 4 * s.count("&") + 3 * (s.count("<") + s.count(">"))
