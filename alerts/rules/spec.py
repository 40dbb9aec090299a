"""Rules as configured, checked and compiled: what alerts.rules.matcher builds its automaton from.

Contract: ``compile_rules(specs, watchlists) -> (rules, ids)`` expands ``@watchlist`` references,
validates every spec and folds every term (``alerts.rules.normalize.fold_term``); ``ids`` maps each
distinct folded term to its term id, and each ``CompiledRule`` names its terms by id, as written in
the config; it also checks salience (``in_`` names only :data:`PLACES`, ``min_mentions`` is an int >= 1,
and either needs ``any``/``all`` terms). It raises ``RuleError`` listing every problem, never just the first. The matching
semantics (watchlists, boundaries, fields) are stated in alerts.rules.matcher. Pure: no I/O.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Mapping, Sequence

from alerts.rules.normalize import fold_term
from crawler.tickers import normalize as normalize_ticker
from crawler.tickers import spellings

__all__ = ["CompiledRule", "LEAD_CHARS", "PLACES", "RuleError", "RuleSpec", "compile_rules", "fold_category"]

_LISTS = ("any", "all", "none")
PLACES = ("title", "lead")   # what a rule's `in:` may name
LEAD_CHARS = 300             # the lead: this many characters of the folded main text


@dataclass(frozen=True)
class RuleSpec:
    """One configured rule, as written (``@refs`` unexpanded). Lists become tuples, None ()."""
    name: str
    any: tuple[str, ...] = ()      # at least one of these terms (if given)
    all: tuple[str, ...] = ()      # every one of these terms
    none: tuple[str, ...] = ()     # none of these terms
    notify: tuple[str, ...] = ()   # notifier names (routing; the engine just carries them)
    urgent: bool = False
    tickers: tuple[str, ...] = ()     # one of these tickers is the story's (field or mention)
    categories: tuple[str, ...] = ()  # the story's category is one of these
    sources: tuple[str, ...] = ()     # only stories of these sources
    in_: tuple[str, ...] = ()         # salience: where any/all terms must be found ('title', 'lead'); () anywhere
    min_mentions: int = 1             # salience: mentions of any/all terms in title + text

    def __post_init__(self) -> None:
        for key in (*_LISTS, "notify", "tickers", "categories", "sources", "in_"):
            v = getattr(self, key)
            if isinstance(v, list) or v is None:   # YAML gives lists/None; keep the spec hashable
                object.__setattr__(self, key, tuple(v or ()))
            elif key not in _LISTS and isinstance(v, str):   # `notify: mail` means one notifier
                object.__setattr__(self, key, (v,))


class RuleError(ValueError):
    """Invalid rules. ``problems`` lists every problem as ``(rule index, key, message)``.

    ``key`` is ``'name'``, a list name (``'any'``) for list-wide problems, or ``'all[2]'`` for one
    entry, indexed as written. Problems inside the watchlists mapping itself (a nested ``@ref``, a
    blank entry, not a list) have index ``-1`` and key ``'NAME'`` or ``'NAME[k]'``; they are checked
    whether or not a rule uses the watchlist. Watchlist problems come first, then rules in order.
    """

    def __init__(self, problems: list[tuple[int, str, str]]):
        self.problems = list(problems)
        lines = [f"rule #{i} {key}: {msg}" for i, key, msg in self.problems]
        super().__init__(f"{len(lines)} problem(s) in rules:\n  " + "\n  ".join(lines))


@dataclass(frozen=True)
class CompiledRule:
    """A rule after @-expansion and validation: its terms by id, its tickers normalised, categories folded."""
    name: str
    any: tuple[tuple[int, str], ...]    # (term id, term as written)
    all: tuple[tuple[int, str], ...]
    none: tuple[tuple[int, str], ...]
    notify: tuple[str, ...]
    urgent: bool
    tickers: tuple[tuple[str, tuple[int, ...]], ...] = ()   # (normalised ticker, spelling term ids)
    categories: frozenset[str] = frozenset()                # folded
    sources: frozenset[str] = frozenset()
    in_: frozenset[str] = frozenset()   # salience places ('title', 'lead'); empty: anywhere
    min_mentions: int = 1


def fold_category(value: str) -> str:
    """A category as rules and stories compare it: whitespace runs as one space, casefolded."""
    return " ".join(value.split()).casefold()


class _Compiler:
    """Expands and validates specs, collecting every problem instead of stopping at the first."""

    def __init__(self, watchlists: Mapping[str, Sequence[str]]):
        self.problems: list[tuple[int, str, str]] = []
        self.ids: dict[str, int] = {}   # folded term -> term id
        self.watchlists: dict[str, list[str]] = {}   # name -> its valid entries
        for name, entries in watchlists.items():   # checked once, used or not: index -1
            if isinstance(entries, str) or not isinstance(entries, Sequence):
                self.problems.append((-1, str(name), f"watchlist '@{name}' must be a list of terms"))
                entries = ()
            good = self.watchlists[str(name)] = []
            for k, w in enumerate(entries):
                ws = w.strip() if isinstance(w, str) else ""
                if ws.startswith("@") and not ws.startswith("@@"):
                    self.problems.append((-1, f"{name}[{k}]", f"watchlist '@{name}' refers to "
                                          f"{ws!r}: watchlists cannot refer to other watchlists"))
                elif not ws:
                    self.problems.append((-1, f"{name}[{k}]", f"watchlist '@{name}' has an empty term"))
                else:
                    good.append(ws[1:] if ws.startswith("@@") else w)

    def term_list(self, i: int, key: str, raw: object) -> tuple[tuple[int, str], ...]:
        if isinstance(raw, str) or not isinstance(raw, Sequence):
            self.problems.append((i, key, f"expected a list of terms, got {type(raw).__name__}"))
            return ()
        out: dict[int, str] = {}
        for j, term in enumerate(raw):
            where = f"{key}[{j}]"
            for written in self._expand(i, where, term):
                folded = fold_term(written)
                if not folded:
                    self.problems.append((i, where, f"term {written!r} is empty after normalisation"))
                    continue
                out.setdefault(self.ids.setdefault(folded, len(self.ids)), written)
        return tuple((tid, w) for tid, w in out.items())

    def _expand(self, i: int, where: str, term: object) -> list[str]:
        if not isinstance(term, str):
            self.problems.append((i, where, f"term must be a string, got {type(term).__name__}"))
            return []
        if not term.strip():
            self.problems.append((i, where, "empty term"))
            return []
        t = term.strip()
        if t.startswith("@@"):
            return [t[1:]]
        if not t.startswith("@"):
            return [term]
        name = t[1:].strip()
        if name not in self.watchlists:
            hint = difflib.get_close_matches(name, [str(k) for k in self.watchlists], n=1)
            msg = f"unknown watchlist '@{name}'"
            msg += f" (did you mean '@{hint[0]}'?)" if hint else (
                f" (known: {', '.join('@' + str(k) for k in self.watchlists)})" if self.watchlists
                else " (no watchlists are defined)")
            self.problems.append((i, where, msg))
            return []
        if not self.watchlists[name]:
            self.problems.append((i, where, f"watchlist '@{name}' has no usable terms"))
        return self.watchlists[name]


def compile_rules(rules: Sequence[RuleSpec],
                  watchlists: Mapping[str, Sequence[str]]) -> tuple[tuple[CompiledRule, ...], dict[str, int]]:
    """(compiled rules in configuration order, folded term -> term id); RuleError lists every problem."""
    c = _Compiler(watchlists)
    seen: dict[str, int] = {}
    out: list[CompiledRule] = []
    for i, spec in enumerate(rules):
        name = spec.name if isinstance(spec.name, str) else ""
        if not name.strip():
            c.problems.append((i, "name", "rule name is empty"))
        elif name in seen:
            c.problems.append((i, "name", f"duplicate rule name {name!r} (also rule #{seen[name]})"))
        else:
            seen[name] = i
        lists = {key: c.term_list(i, key, getattr(spec, key)) for key in _LISTS}
        if not spec.any and not spec.all and not spec.tickers and not spec.categories:
            c.problems.append((i, "any", "rule needs at least one 'any', 'all', 'tickers' or "
                                         "'categories' entry"))
        tickers = []
        for j, raw in enumerate(spec.tickers):
            ticker = normalize_ticker(raw) if isinstance(raw, str) else None
            if ticker is None:
                c.problems.append((i, f"tickers[{j}]", f"{raw!r} is not a ticker (write e.g. "
                                                       "002230.SZ, 688256.SH, 9988.HK, AAPL)"))
                continue
            tickers.append((ticker, tuple(tid for tid, _ in c.term_list(i, f"tickers[{j}]",
                                                                      spellings(ticker)))))
        cats = frozenset(fold_category(x) for x in spec.categories if isinstance(x, str) and x.strip())
        places, mentions = _salience(c, i, spec)
        out.append(CompiledRule(name, lists["any"], lists["all"], lists["none"],
                                tuple(spec.notify), bool(spec.urgent), tuple(tickers), cats,
                                frozenset(spec.sources), places, mentions))
    if c.problems:
        raise RuleError(c.problems)
    return tuple(out), c.ids


def _salience(c: _Compiler, i: int, spec: RuleSpec) -> tuple[frozenset[str], int]:
    """A spec's checked ``in_`` and ``min_mentions`` (problems go to ``c``; a bad value reads as the default)."""
    places = []
    for j, place in enumerate(spec.in_):
        if place in PLACES:
            places.append(place)
        else:
            c.problems.append((i, f"in[{j}]", f"'in' names {place!r}; it takes {' and/or '.join(PLACES)}"))
    n = spec.min_mentions
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        c.problems.append((i, "min_mentions", f"min_mentions must be a whole number >= 1, got {n!r}"))
        n = 1
    if not spec.any and not spec.all:   # salience concerns text terms only: it would change nothing here
        if spec.in_:
            c.problems.append((i, "in", "'in' needs 'any' or 'all' terms: it says where they must be found "
                                        "(tickers and categories are not text terms)"))
        if n > 1:
            c.problems.append((i, "min_mentions", "'min_mentions' needs 'any' or 'all' terms: it counts their "
                                                  "mentions (tickers and categories are not counted)"))
    return frozenset(places), n
