"""Text folding for rule matching, with offsets back to the original string.

``fold(s)`` returns a :class:`Folded` whose ``.text`` is ``s`` after, in order:

1. NFKC (full-width/half-width and compatibility forms folded: "ＩＦＬＹＴＥＫ" -> "IFLYTEK",
   "０００２３０" -> "000230", "ﬁ" -> "fi", "…" -> "..."),
2. casefold ("STRAßE" -> "strasse"; re-NFKC'd where casefolding un-composes a sequence),
3. every run of whitespace (any Unicode ``\\s``; also a single tab/newline/NBSP/U+3000) -> one " ",
4. a few invisible characters removed (soft hyphen, ZWSP, WJ, BOM: HTML leftovers inside words),
5. Traditional -> Simplified Chinese via OpenCC ``t2s`` (whole string, phrase-aware; if that ever
   changes the length, the string is converted character by character instead so offsets stay 1:1).

``Folded.span(a, b)`` maps a half-open range of ``.text`` back to the smallest range of the
original string that produced it. The same function folds rule terms and story text, which is
what makes matching consistent; terms are additionally stripped (:func:`fold_term`).

Speed: ASCII input costs one ``str.lower`` and one whitespace regex. Other input is folded with one
``str.translate`` over a table of all one-to-one folds (or a plain ``casefold`` when the string is
already NFKC); Python-level work happens only per *special* cluster (whitespace runs, characters
whose fold changes the length, combining sequences), which is where the offset map gets its
segments. Tables are built once, lazily (~0.1 s, on first non-ASCII input).

Also here: :func:`snippet`, which cuts display context around a hit without splitting words,
surrogate pairs or combining sequences.
"""
from __future__ import annotations

import functools
import re
import unicodedata as ud
from bisect import bisect_right
from typing import NamedTuple

import opencc

from crawler.cjk import UNSPACED_RE

__all__ = ["Folded", "fold", "fold_term", "snippet"]

# Lone space is already folded; anything else whitespace-ish (runs, \n, \t, NBSP, U+3000) -> " ".
_WS = r"\s(?:\s+|(?<=[^ ]))"
_WS_RE = re.compile(_WS)
# Removed entirely: invisible characters that HTML extraction leaves inside words.
_IGNORABLE = (0x00AD, 0x200B, 0x2060, 0xFEFF)
# Code point ranges known to fold to themselves with no combining behaviour (checked when this was
# written: CJK ideographs, Hangul syllables, private use, unassigned planes); skipping them makes
# the table scan ~10x faster.
_SKIP = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xD800, 0xF8FF),
         (0x20000, 0x2F7FF), (0x30000, 0xDFFFF), (0xF0000, 0x10FFFF))


class _Tables(NamedTuple):
    one: dict[int, str]          # code point -> its one-character fold (for str.translate)
    joiners: frozenset[int]      # attach to the preceding character (combining marks, jamo V/T)
    astral: frozenset[int]       # special code points above U+FFFF
    special_re: re.Pattern[str]  # candidate special chars: joiners, multi-char folds, any astral


def _charclass(cps: list[int]) -> str:
    """Regex class from code points, compressed to ranges."""
    parts, cps = [], sorted(set(cps))
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\U{cps[i]:08x}" + (f"-\\U{cps[j]:08x}" if j > i else ""))
        i = j + 1
    return "[" + "".join(parts) + "]"


@functools.cache
def _tables() -> _Tables:
    one: dict[int, str] = {}
    multi: list[int] = list(_IGNORABLE)
    joiners: set[int] = set(range(0x1160, 0x1176)) | set(range(0x11A8, 0x11C3))  # Hangul V/T jamo
    skip = iter(_SKIP)
    lo, hi = next(skip)
    cp = 0
    while cp < 0x110000:
        if cp == lo:
            cp = hi + 1
            lo, hi = next(skip, (0x110000, 0x110000))
            continue
        ch = chr(cp)
        cp += 1
        if ch.isspace():        # whitespace is the whitespace pass's business
            continue
        d = ud.decomposition(ch)
        if d and not d.startswith("<") and len(d.split()) == 2:
            second = int(d.split()[1], 16)   # composes with what precedes it, even if ccc == 0
            if not ud.combining(chr(second)):
                joiners.add(second)
        if ud.combining(ch):
            joiners.add(ord(ch))
        elif ord(ch) not in _IGNORABLE and not (ud.is_normalized("NFKC", ch) and ch.casefold() == ch):
            f = ud.normalize("NFKC", ch).casefold()
            if len(f) == 1:
                one[ord(ch)] = f
            else:
                multi.append(ord(ch))
    for j in joiners:           # joiners are folded as part of their cluster, never alone
        one.pop(j, None)
    special = [c for c in (*joiners, *multi) if c < 0x10000]
    # sre only uses its fast bitmap for BMP classes; one plain range for the astral planes keeps
    # it fast, and the few astral hits (emoji, rare ideographs) are filtered in Python.
    special_re = re.compile(_charclass(special)[:-1] + "\\U00010000-\\U0010ffff]")
    astral = frozenset(c for c in (*joiners, *multi) if c >= 0x10000)
    return _Tables(one, frozenset(joiners), astral, special_re)


def _clusters(s: str, tb: _Tables, first: int) -> list[tuple[int, int, bool]]:
    """Special clusters of ``s`` from index ``first``: a multi-char fold or a run of joiners, each
    with the character the joiners attach to. Returned as ``(start, end, False)``."""
    out: list[tuple[int, int, bool]] = []
    n, done, joiners = len(s), 0, tb.joiners
    for m in tb.special_re.finditer(s, first):
        i = m.start()
        o = ord(s[i])
        if i < done or (o >= 0x10000 and o not in tb.astral):
            continue
        start = i - 1 if o in joiners and i - 1 >= done and i > 0 and not s[i - 1].isspace() else i
        end = i + 1
        while end < n and ord(s[end]) in joiners:
            end += 1
        out.append((start, end, False))
        done = end
    return out


def _fold_cluster(x: str) -> str:
    if len(x) == 1 and ord(x) in _IGNORABLE:
        return ""
    # NFKC again: casefolding can undo a composition ("ẞ\u0301" -> "ss\u0301" -> "sś").
    return ud.normalize("NFKC", ud.normalize("NFKC", x).casefold())


@functools.cache
def _converter():
    return opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=1 << 16)
def _t2s_char(ch: str) -> str:
    try:
        c = _converter().convert(ch)
    except (UnicodeError, RuntimeError):   # lone surrogates cannot go through UTF-8
        return ch
    return c if len(c) == 1 else ch


def _t2s(s: str) -> str:
    try:
        c = _converter().convert(s)
        if len(c) == len(s):
            return c
    except (UnicodeError, RuntimeError):
        pass
    return "".join(map(_t2s_char, s))   # keeps the 1:1 offset map


class Folded:
    """A folded string plus the offset map back to its original.

    The map is a list of segments of ``text``: *linear* ones map character for character,
    *collapsed* ones (a whitespace run, a combining cluster, a multi-character fold) map as a whole
    to their original range. ``None`` segments mean the identity map.
    """
    __slots__ = ("text", "_nst", "_ost", "_oend", "_lin")

    def __init__(self, text: str, segs: list[tuple[int, int, int, bool]] | None):
        self.text = text
        if not segs:   # identity (or empty text)
            self._nst = None
        else:
            self._nst, self._ost, self._oend, self._lin = (list(c) for c in zip(*segs))

    def span(self, a: int, b: int) -> tuple[int, int]:
        """Original range for ``text[a:b]`` (``0 <= a < b <= len(text)``)."""
        if self._nst is None:
            return a, b
        i = bisect_right(self._nst, a) - 1
        start = self._ost[i] + (a - self._nst[i]) if self._lin[i] else self._ost[i]
        j = bisect_right(self._nst, b - 1) - 1
        end = self._ost[j] + (b - self._nst[j]) if self._lin[j] else self._oend[j]
        return start, end


def fold(s: str) -> Folded:
    """Fold ``s`` for matching (see module docstring); the result maps offsets back to ``s``."""
    specials = [(m.start(), m.end(), True) for m in _WS_RE.finditer(s)]
    if s.isascii():
        t = s.lower()
    else:
        tb = _tables()
        c = s.casefold()
        # Already-NFKC text whose casefold is 1:1 needs no table lookups.
        t = c if len(c) == len(s) and ud.is_normalized("NFKC", s) else s.translate(tb.one)
        m = tb.special_re.search(s)
        if m:   # clusters are cut from s: t may already have folded a joiner on its own
            clusters = _clusters(s, tb, m.start())
            if clusters:
                specials = sorted(specials + clusters)
    if not specials:
        n, segs = t, None
    else:
        pieces: list[str] = []
        segs = []
        pos = npos = 0
        for ms, me, ws in specials:
            if ms > pos:
                pieces.append(t[pos:ms])
                segs.append((npos, pos, ms, True))
                npos += ms - pos
            out = " " if ws else _fold_cluster(s[ms:me])
            if out:
                pieces.append(out)
                segs.append((npos, ms, me, False))
                npos += len(out)
            pos = me
        if pos < len(s):
            pieces.append(t[pos:])
            segs.append((npos, pos, len(s), True))
        n = "".join(pieces)
    if not n.isascii():
        n = _t2s(n)
    return Folded(n, segs)


def fold_term(term: str) -> str:
    """Fold a rule term exactly like story text, then strip surrounding spaces."""
    return fold(term).text.strip()


# --- snippets -------------------------------------------------------------------------------

def _wordish(ch: str) -> bool:
    """A letter of a script that spaces its words (in the others any character boundary is a word boundary)."""
    return ch.isalnum() and not UNSPACED_RE.match(ch)


def _continues(ch: str) -> bool:
    """True if ``ch`` belongs to the preceding character's cluster."""
    o = ord(ch)
    return (ud.category(ch).startswith("M") or 0xDC00 <= o <= 0xDFFF or o == 0x200D
            or 0xFE00 <= o <= 0xFE0F or 0x1F3FB <= o <= 0x1F3FF or 0xE0000 <= o <= 0xE01EF
            or 0x1160 <= o <= 0x11FF)


def _can_cut(text: str, i: int, words: bool = True) -> bool:
    """May ``text`` be cut between ``i-1`` and ``i``?"""
    if i <= 0 or i >= len(text):
        return True
    a, b = text[i - 1], text[i]
    if _continues(b) or a == "\u200d" or (0xD800 <= ord(a) <= 0xDBFF):
        return False
    return not (words and _wordish(a) and _wordish(b))


def _cut_left(text: str, p: int, start: int) -> int:
    """Move the snippet start ``p`` forward (never past ``start``) to a clean boundary."""
    if _can_cut(text, p):
        return p
    limit = p + max(12, (start - p) // 2)   # don't drop more than ~half the context for a word
    for k in range(p, min(limit, start)):
        if text[k].isspace():
            return k + 1
    while p < start and not _can_cut(text, p, words=False):
        p += 1
    return p


def _cut_right(text: str, q: int, end: int) -> int:
    """Move the snippet end ``q`` back (never before ``end``) to a clean boundary."""
    if _can_cut(text, q):
        return q
    limit = q - max(12, (q - end) // 2)
    for k in range(q - 1, max(limit, end) - 1, -1):
        if text[k].isspace():
            return k
    while q > end and not _can_cut(text, q, words=False):
        q -= 1
    return q


_SPACES = re.compile(r"\s+")


def snippet(text: str, start: int, end: int, width: int = 80) -> tuple[str, str, str]:
    """Context around ``text[start:end]`` as ``(before, match, after)``.

    ``before + match + after`` holds at most about ``width`` characters of ``text`` (the match is
    never shortened), split evenly, unused room on one side going to the other. Cuts fall on
    whitespace in space-delimited scripts (any character boundary in CJK), never inside a surrogate
    pair or combining/emoji sequence; a cut side gets "…". Whitespace runs display as one space.
    """
    n = len(text)
    start, end = max(0, min(start, n)), max(0, min(end, n))
    end = max(start, end)
    while start > 0 and not _can_cut(text, start, words=False):
        start -= 1
    while end < n and not _can_cut(text, end, words=False):
        end += 1
    room = max(width - (end - start), 0)
    left = min(room // 2, start)
    right = min(room - left, n - end)
    left = min(room - right, start)
    p = _cut_left(text, start - left, start)
    q = _cut_right(text, end + right, end)
    before = _SPACES.sub(" ", text[p:start])
    after = _SPACES.sub(" ", text[end:q])
    before = ("…" + before.lstrip()) if p > 0 else before.lstrip()
    after = (after.rstrip() + "…") if q < n else after.rstrip()
    return before, _SPACES.sub(" ", text[start:end]), after
