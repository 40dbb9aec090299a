"""PROVISIONAL (replaced by the measured method): event-thread similarity of title + lead."""

from __future__ import annotations

import re
import zlib



LEAD = 300
_WORD = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]")


def _features(title: str, text: str) -> set[str]:
    s = f"{title} {text[:LEAD]}".lower()
    toks = _WORD.findall(s)
    out = set()
    for a, b in zip(toks, toks[1:]):
        if len(a) == 1 and len(b) == 1 and not a.isascii():
            out.add(a + b)
    out.update(t for t in toks if t.isascii() and len(t) > 2)
    return out


def signature(title: str, text: str) -> list[int]:
    return sorted({zlib.crc32(f.encode()) for f in _features(title, text)})


def similarity(a: list[int], b: list[int]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa and sb else 0.0


def same_event(a: list[int], b: list[int], *, shared_terms: int = 0, shared_tickers: int = 0) -> bool:
    return similarity(a, b) >= (0.35 if shared_terms or shared_tickers else 0.5)
