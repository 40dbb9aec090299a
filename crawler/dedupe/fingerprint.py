"""Fingerprints that recognise a syndicated copy: the same article at another URL.

Text is normalised (NFKC, case-folded, punctuation dropped) and cut into tokens: a word for Latin scripts, a
character for CJK, so both languages give enough shingles. `content_hash` is exact over the normalised tokens;
`simhash` is a 64-bit SimHash over 3-token shingles, so a copy with other page chrome or a lightly edited
paragraph lands within a few bits. `is_near(a, b)` says two fingerprints are close. Texts shorter than
MIN_TOKENS only get the exact hash: short summaries collide too easily to compare by distance.

Close is not enough: finance wires publish machine-written briefs from one template (price moves, filing
notices) that differ only in a figure, a ticker or a notice number, and each is a story of its own.
`same_story` decides, for two stories whose fingerprints match: a copy when the titles agree, or when title and
text together differ by more than figures and identifiers (a syndicated copy with another boilerplate line or
another headline); two stories when every difference is a figure change.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from difflib import SequenceMatcher

from crawler.cjk import CJK

MIN_TOKENS = 40
# Distinct articles in the shared corpora (31k pairs) are >= 16 bits apart; copies with other chrome are <= 3.
MAX_DISTANCE = 8
_TOKEN = re.compile(f"[{CJK}]|[^\\W_]+")
_MASK = (1 << 64) - 1


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def content_hash(text: str, toks: list[str] | None = None) -> str:
    return hashlib.blake2b(" ".join(tokens(text) if toks is None else toks).encode(), digest_size=16).hexdigest()


def simhash(text: str, toks: list[str] | None = None) -> int | None:
    """Signed 64-bit SimHash (fits a BIGINT column), or None when the text is too short to compare. `toks`:
    `tokens(text)` when the caller has them already."""
    toks = tokens(text) if toks is None else toks
    if len(toks) < MIN_TOKENS:
        return None
    shingles = len(toks) - 2
    # Count the set bits of every position at once: each shingle hash is spread into 64 lanes of 20 bits
    # (a byte at a time, from one table per byte position) and the spread integers are summed; a lane holds
    # its bit's count. Byte 7 of the digest is bits 0-7 (the digest read as a big-endian integer).
    t0, t1, t2, t3, t4, t5, t6, t7 = _SPREAD_AT
    blake2b = hashlib.blake2b
    total = 0
    for i in range(shingles):
        h = blake2b(" ".join(toks[i : i + 3]).encode(), digest_size=8).digest()
        total += t0[h[7]] + t1[h[6]] + t2[h[5]] + t3[h[4]] + t4[h[3]] + t5[h[2]] + t6[h[1]] + t7[h[0]]
    value = 0
    for bit in range(64):
        if (total >> (bit * _LANE) & _LANE_MASK) * 2 > shingles:
            value |= 1 << bit
    return value - (1 << 64) if value >= 1 << 63 else value


_LANE = 20  # bits per counter: room for a million shingles
_LANE_MASK = (1 << _LANE) - 1
_SPREAD = [sum(1 << (bit * _LANE) for bit in range(8) if byte >> bit & 1) for byte in range(256)]
_SPREAD_AT = [[spread << (k * 8 * _LANE) for spread in _SPREAD] for k in range(8)]  # byte k from the end


def fingerprints(title: str | None, text: str, url: str) -> tuple[str, int | None]:
    """(content_hash, simhash) of a story. With no text, title and URL stand in for it: two stories with equally
    empty texts must not become one."""
    if not text:
        return content_hash(f"{title}\n{url}"), None
    toks = tokens(text)  # once for both
    return content_hash(text, toks), simhash(text, toks)


def distance(a: int, b: int) -> int:
    return ((a ^ b) & _MASK).bit_count()


def is_near(a: int | None, b: int | None) -> bool:
    return a is not None and b is not None and distance(a, b) <= MAX_DISTANCE


# A figure or identifier: a token with a digit (prices, percentages, codes such as 002230, notice numbers
# 2026-087) or a short all-capital Latin word (tickers NVDA, BRK, exchange suffixes SZ, HK). Case is kept for it.
_IDENTIFIER = re.compile(r"\d|^[A-Z]{1,5}$")
# A figure change is a short hunk of the token diff that replaces identifiers with identifiers ("3.2%" -> "4.1%",
# "Class A (GOOGL)" -> "Class C (GOOG)", "科大讯飞(002230)" -> "中科曙光(603019)") or only adds or drops identifiers
# ("（2026-091）"). A rewrite that brings in words ("model trained at home" -> "hails AI milestone") is not.
MAX_FIGURE_HUNK = 8
_BRIDGE = 2  # hunks separated by this few equal tokens are one change (CJK names align on a shared character)


def _cased_tokens(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFKC", text))


def only_figures_differ(a: str, b: str) -> bool:
    """True when `a` and `b` differ, and every difference is a figure change (see MAX_FIGURE_HUNK)."""
    ta, tb = _cased_tokens(a), _cased_tokens(b)
    fa, fb = [t.casefold() for t in ta], [t.casefold() for t in tb]
    hunks: list[list[int]] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, fa, fb, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if hunks and i1 - hunks[-1][1] <= _BRIDGE and j1 - hunks[-1][3] <= _BRIDGE:
            hunks[-1][1], hunks[-1][3] = i2, j2
        else:
            hunks.append([i1, i2, j1, j2])
    if not hunks:
        return False
    for i1, i2, j1, j2 in hunks:
        if max(i2 - i1, j2 - j1) > MAX_FIGURE_HUNK or not _figure_change(ta[i1:i2], tb[j1:j2]):
            return False
    return True


def _figure_change(old: list[str], new: list[str]) -> bool:
    if not old or not new:
        return all(_IDENTIFIER.search(t) for t in old or new)
    return any(_IDENTIFIER.search(t) for t in old) and any(_IDENTIFIER.search(t) for t in new)


def same_story(title_a: str | None, text_a: str | None, title_b: str | None, text_b: str | None) -> bool:
    """Whether two stories whose fingerprints match (exact hash or SimHash) are one story: the titles agree, or
    title and text differ by more than figures and identifiers. Two briefs that differ in a figure or a ticker
    are two stories."""
    if title_a and title_b and tokens(title_a) == tokens(title_b):
        return True
    return not only_figures_differ(f"{title_a or ''}\n{text_a or ''}", f"{title_b or ''}\n{text_b or ''}")
