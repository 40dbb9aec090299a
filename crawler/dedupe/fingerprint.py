"""Fingerprints that recognise a syndicated copy: the same article at another URL.

Text is normalised (NFKC, case-folded, punctuation dropped) and cut into tokens: a word for Latin scripts, a
character for CJK, so both languages give enough shingles. `content_hash` is exact over the normalised tokens;
`simhash` is a 64-bit SimHash over 3-token shingles, so a copy with other page chrome or a lightly edited
paragraph lands within a few bits. `is_near(a, b)` says two fingerprints are the same story. Texts shorter than
MIN_TOKENS only get the exact hash: short summaries collide too easily to compare by distance.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

MIN_TOKENS = 40
# Distinct articles in the shared corpora (31k pairs) are >= 16 bits apart; copies with other chrome are <= 3.
MAX_DISTANCE = 8
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]|[^\W_]+", re.UNICODE)
_MASK = (1 << 64) - 1


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def content_hash(text: str) -> str:
    return hashlib.blake2b(" ".join(tokens(text)).encode(), digest_size=16).hexdigest()


def simhash(text: str) -> int | None:
    """Signed 64-bit SimHash (fits a BIGINT column), or None when the text is too short to compare."""
    toks = tokens(text)
    if len(toks) < MIN_TOKENS:
        return None
    shingles = len(toks) - 2
    # Count the set bits of every position at once: each shingle hash is spread into 64 lanes of 20 bits
    # (a byte at a time, from a table) and the spread integers are summed; a lane holds its bit's count.
    total = 0
    for i in range(shingles):
        h = hashlib.blake2b(" ".join(toks[i : i + 3]).encode(), digest_size=8).digest()
        total += sum(_SPREAD[byte] << (k * 8 * _LANE) for k, byte in enumerate(reversed(h)))
    value = 0
    for bit in range(64):
        if (total >> (bit * _LANE) & _LANE_MASK) * 2 > shingles:
            value |= 1 << bit
    return value - (1 << 64) if value >= 1 << 63 else value


_LANE = 20  # bits per counter: room for a million shingles
_LANE_MASK = (1 << _LANE) - 1
_SPREAD = [sum(1 << (bit * _LANE) for bit in range(8) if byte >> bit & 1) for byte in range(256)]


def fingerprints(title: str | None, text: str, url: str) -> tuple[str, int | None]:
    """(content_hash, simhash) of a story. With no text, title and URL stand in for it: two stories with equally
    empty texts must not become one."""
    return content_hash(text or f"{title}\n{url}"), simhash(text)


def distance(a: int, b: int) -> int:
    return ((a ^ b) & _MASK).bit_count()


def is_near(a: int | None, b: int | None) -> bool:
    return a is not None and b is not None and distance(a, b) <= MAX_DISTANCE
