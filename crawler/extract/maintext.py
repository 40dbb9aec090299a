"""Main text of a parsed page: trafilatura's precise extraction, with recall where precision lost the article.

Contract: ``main_text(tree, url, options) -> (text, failure)``. ``text`` is the article's text, one block per
line ('' when there is none); ``failure`` is ``None`` or the reason there is no text: an empty result, or a
result that is only boilerplate (a disclaimer, a channel menu, a "hot stocks" box). The tree is not modified
(trafilatura works on its own copy), so the three runs below see the same page.

The rule, measured on the corpora in ``../shared/corpora`` (body token F1; trafilatura 2.3.1):

1. ``favor_precision`` first: it keeps sidebars, "hot stocks" boxes, related-story lists, breadcrumbs and
   reaction buttons out best (article-extraction-benchmark 0.965, zh-cwced 0.931), but on pages nobody tuned
   it for it drops whole paragraphs or everything: wcxb-dev-articles 0.913, with empty text on 10 of 711 pages
   where trafilatura's default finds the article (3-17k characters).
2. trafilatura's balanced mode on the same tree wins when the precise text is empty, or when it has under
   ``RECALL_RATIO`` (70 %) of the balanced text's tokens AND at least ``PROSE_SHARE`` (30 %) of the tokens
   that balanced adds are in prose lines (8+ tokens ending in sentence punctuation). Paragraphs that precision
   dropped are prose; the chrome balanced lets in (menus, tickers, related headlines) is not. Without the prose
   test zh-cwced falls to 0.925 (the extra text there is chrome, and a CJK headline is 25+ tokens long, so
   length is no test); with it: benchmark 0.965, zh-cwced 0.941, wcxb 0.937 (trafilatura's default 0.936).
   The balanced run is skipped when it cannot win: when the precise text already holds ``RECALL_RATIO`` of all
   the text the page has (every text node but scripts and styles; JSON-LD is counted, because trafilatura's
   fallback reads its ``articleBody``), no extraction of the page is long enough to make it "under 70 %". That
   is 347 of the 961 corpus pages (28 of 181 benchmark, 30 of 69 zh-cwced, 289 of 711 wcxb): same texts on all 961,
   a ninth less extraction CPU (page by page, interleaved: 0.885x; 0.96x, 0.85x, 0.88x), the test costing 3-5 ms.
3. ``favor_recall`` only when both came back empty (wcxb 0.939, as ``newsradar extract`` without a URL; no
   page left empty where any mode finds text).

The precise run skips trafilatura's comparison with its external extractors (readability, justext:
``fast=True``). In precision mode that comparison replaces a text that is empty, short or under half of
readability's, and there step 2 takes the balanced run, which makes the same comparison. On the 961
pages of the three corpora the texts are identical, and extraction costs about a fifth less CPU.

Afterwards a trailing disclaimer or copyright line is cut, and a text that is only boilerplate is not a text:
when, leaving out disclaimer lines, no sentence (3+ tokens ending in sentence punctuation) and no line of 25+
tokens remains, and what remains is a disclaimer or at least three short lines (a menu), the result is
``('', reason)``. No page of the three corpora is affected by that test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import trafilatura
from lxml.etree import XPath

from crawler.cjk import CJK

__all__ = ["BOILERPLATE", "PROSE_SHARE", "RECALL_RATIO", "boilerplate_reason", "choose", "holds_most_of", "main_text",
           "tidy"]

RECALL_RATIO = 0.7
# Every "only boilerplate" failure reason starts with this (callers tell it from "nothing found").
BOILERPLATE = "the main text is only"
PROSE_SHARE = 0.3

_TOKEN_RE = re.compile(f"[{CJK}]|[^\\W{CJK}]+")
_SENTENCE_END_RE = re.compile(r"[.!?。！？…:;：；\"”’)）」』]\s*$")
_PROSE_TOKENS, _LONG_LINE_TOKENS, _SHORT_SENTENCE_TOKENS = 8, 25, 3
# Phrases that only boilerplate carries: disclaimers, risk notices, copyright lines.
_DISCLAIMER_RE = re.compile(
    r"免责声明|免責聲明|风险提示|風險提示|不构成(?:任何)?投资建议|不構成(?:任何)?投資建議|版权所有|版權所有|版权声明|版權聲明"
    r"|disclaimer|all rights reserved|(?:investment|financial) advice|for informational purposes only",
    re.IGNORECASE,
)
_TRAILER_RE = re.compile(
    r"^\W{0,3}(?:免责声明|免責聲明|风险提示|風險提示|版权所有|版權所有|版权声明|版權聲明|disclaimer\b|copyright\b|©)",
    re.IGNORECASE,
)
_MENU_LINES = 3
# Every text an extractor can return comes from these nodes (attributes, images and links are not extracted).
# parent::, not ancestor::: an HTML parser gives <script> and <style> one text child and no elements.
_PAGE_TEXT = XPath("//text()[not(parent::style) and not(parent::script[not(contains(@type, 'ld+json'))])]",
                   smart_strings=False)


def _tokens(line: str) -> int:
    return len(_TOKEN_RE.findall(line))


def _is_prose(line: str) -> bool:
    # Length alone is no test here: a CJK related-story headline is 25 tokens (characters) long.
    return _tokens(line) >= _PROSE_TOKENS and bool(_SENTENCE_END_RE.search(line))


def _is_text(line: str) -> bool:
    """A line no menu has: a sentence, even a short one, or a long line (a paragraph that lost its punctuation)."""
    n = _tokens(line)
    return n >= _LONG_LINE_TOKENS or (n >= _SHORT_SENTENCE_TOKENS and bool(_SENTENCE_END_RE.search(line)))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def holds_most_of(tree, precise: str) -> bool:
    """True when ``precise`` has ``RECALL_RATIO`` of the tokens of all the page's text (so no other run can win)."""
    limit, total = _tokens(precise) / RECALL_RATIO, 0
    for text in _PAGE_TEXT(tree):  # node by node, to stop as soon as the page is known to hold more
        total += _tokens(text)
        if total > limit:
            return False
    return True


def choose(precise: str, balanced: Callable[[], str], recall: Callable[[], str],
           holds_most: Callable[[str], bool] = lambda precise: False) -> str:
    """Step 2 and 3 of the module rule; ``balanced`` and ``recall`` are run only when needed."""
    if precise.strip() and holds_most(precise):
        return precise
    other = balanced()
    if precise.strip():
        precise_lines = set(_lines(precise))
        extra = [line for line in _lines(other) if line not in precise_lines]
        extra_tokens = sum(_tokens(line) for line in extra)
        prose_tokens = sum(_tokens(line) for line in extra if _is_prose(line))
        shorter = _tokens(precise) < RECALL_RATIO * _tokens(other)
        if not (shorter and extra_tokens and prose_tokens >= PROSE_SHARE * extra_tokens):
            return precise
    return other if other.strip() else recall()


def boilerplate_reason(text: str) -> str | None:
    """Why ``text`` is not an article (only a disclaimer, only a menu), or None when it is one."""
    lines = _lines(text)
    if not lines:
        return None
    rest = [line for line in lines if not _DISCLAIMER_RE.search(line)]
    if any(_is_text(line) for line in rest):
        return None
    if len(rest) < len(lines):
        return f"{BOILERPLATE} a disclaimer or copyright notice"
    if len(rest) >= _MENU_LINES:
        return f"{BOILERPLATE} {len(rest)} short lines (a menu or a list of links), no sentence"
    return None


def tidy(text: str, line_filter: Callable[[str], str]) -> str:
    """Lines through ``line_filter``, blank ones dropped, trailing disclaimer/copyright lines cut."""
    lines = [out for out in (line_filter(line) for line in _lines(text)) if out]
    while len(lines) > 1 and _TRAILER_RE.search(lines[-1]):
        lines.pop()
    return "\n".join(lines)


def main_text(tree, url: str | None, options: dict[str, Any], line_filter: Callable[[str], str] = str.strip):
    """(text, failure) for a parsed page; see the module docstring. ``options`` are the precise ones."""

    def run(**overrides: Any) -> str:
        doc = trafilatura.bare_extraction(tree, url=url, **dict(options, **overrides))
        return getattr(doc, "text", None) or ""

    text = tidy(
        choose(run(fast=True), lambda: run(favor_precision=False),
               lambda: run(favor_precision=False, favor_recall=True), lambda precise: holds_most_of(tree, precise)),
        line_filter,
    )
    if not text:
        return "", "no main text found on the page"
    reason = boilerplate_reason(text)
    return ("", reason) if reason else (text, None)
