"""Salience checks for alerts.rules.matcher: is a story *about* a rule's terms (``in_``, ``min_mentions``)?

The semantics are stated in alerts.rules.matcher ("Salience"); this module applies them to one scan's hits.
Offsets are the matcher's automaton offsets into the folded field (``Hits``), and ``lead_end`` is the offset in
the folded text where the lead (its first ``alerts.rules.spec.LEAD_CHARS`` characters) ends. Pure: no I/O.
"""
from __future__ import annotations

from typing import Callable, Iterable

from alerts.rules.spec import PLACES, CompiledRule

__all__ = ["Hits", "mentions", "not_salient", "place", "present", "salience"]

# term id -> [(field index, start, end)], offsets into the automaton's view of the folded field (0 title, 1 text)
Hits = dict[int, list[tuple[int, int, int]]]
_WHERE = ("title", "lead", "text")   # where a hit can be; 'text' is the text after the lead


def place(fi: int, start: int, lead_end: int) -> str:
    """Where a hit is: 'title', 'lead' (it starts in the lead) or 'text' (it starts after the lead)."""
    return "title" if fi == 0 else "lead" if start < lead_end else "text"


def present(r: CompiledRule, hits: Hits) -> dict[int, str]:
    """The rule's any/all terms that occur: term id -> term as written, in rule order."""
    out: dict[int, str] = {}
    for tid, w in (*r.any, *r.all):
        if tid in hits:
            out.setdefault(tid, w)
    return out


def mentions(tids: Iterable[int], hits: Hits) -> list[tuple[int, int, int]]:
    """The mentions of these terms: (field, start, end) of each run of overlapping hits, in order."""
    out: list[tuple[int, int, int]] = []
    for fi, a, b in sorted(h for tid in tids for h in hits[tid]):
        if out and out[-1][0] == fi and a < out[-1][2]:
            out[-1] = (fi, out[-1][1], max(b, out[-1][2]))
        else:
            out.append((fi, a, b))
    return out


def _quoted(terms: Iterable[str]) -> str:
    return ", ".join(map(repr, terms))


def not_salient(r: CompiledRule, hits: Hits, lead_end: Callable[[], int]) -> str | None:
    """None if the rule's any/all terms (already known to be present as the rule needs) are where ``in_`` says
    and mentioned ``min_mentions`` times, else why not. ``lead_end`` is only called when ``in_`` is set."""
    found = present(r, hits)
    if r.in_:
        end = lead_end()
        ok = {"title": "title" in r.in_, "lead": "lead" in r.in_, "text": False}

        def inside(tid: int) -> bool:
            return any(ok[place(fi, a, end)] for fi, a, _ in hits[tid])

        def placed(tids: list[int]) -> str:
            seen = {place(fi, a, end) for tid in tids for fi, a, _ in hits[tid]}
            return " and ".join(p for p in _WHERE if p in seen)

        where = " or ".join(p for p in PLACES if p in r.in_)
        outside = [tid for tid, _ in r.all if not inside(tid)]
        if outside:
            return f"not in {where}: all-term(s) {_quoted(found[t] for t in outside)} only in {placed(outside)}"
        anys = [tid for tid, _ in r.any if tid in hits]
        if r.any and not any(inside(tid) for tid in anys):
            return f"not in {where}: {_quoted(found[t] for t in anys)} only in {placed(anys)}"
    if r.min_mentions > 1:
        n = len(mentions(found, hits))
        if n < r.min_mentions:
            return f"not salient: {_quoted(found.values())} {n} mention{'' if n == 1 else 's'}, needs {r.min_mentions}"
    return None


def salience(r: CompiledRule, hits: Hits, lead_end: int) -> dict:
    """``explain``'s ``salience`` entry: the rule's settings and its any/all terms' mentions by place (a mention
    is placed where it starts; per term, each of its hits counts, so overlapping terms count each)."""
    found = present(r, hits)
    terms = []
    for tid, w in found.items():
        counts = dict.fromkeys(_WHERE, 0)
        for fi, a, _ in hits[tid]:
            counts[place(fi, a, lead_end)] += 1
        terms.append({"term": w, **counts})
    runs = mentions(found, hits)
    where = dict.fromkeys(_WHERE, 0)
    for fi, a, _ in runs:
        where[place(fi, a, lead_end)] += 1
    return {"in": [p for p in PLACES if p in r.in_] or None, "min_mentions": r.min_mentions,
            "mentions": len(runs), "where": where, "terms": terms}
