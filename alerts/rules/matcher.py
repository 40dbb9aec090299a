"""Watchlist rule engine: which rules does a story (title + main text) match? Pure: no I/O.

Rules are checked and compiled (RuleSpec, RuleError, @-expansion) in alerts.rules.spec; this module
states the matching semantics, scans a story and reports matches. RuleSpec and RuleError are
re-exported here, where the config loader and the tests import them.

Matching semantics
==================

Terms
  A rule's terms are looked for in the story's title and in its main text (separately; a term
  never spans the two). Terms and story text are folded the same way before comparing
  (``alerts.rules.normalize``): NFKC (full-/half-width: "ＩＦＬＹＴＥＫ" == "IFLYTEK", "００２２３０" ==
  "002230"), casefold, every whitespace run -> one space, Traditional -> Simplified Chinese
  (OpenCC t2s: "科大讯飞" matches "科大訊飛", "國產算力" matches "国产算力"). A term is stripped;
  an empty term is a configuration error.

Boundaries
  An end of a term that is an ASCII word character ``[A-Za-z0-9_]`` (after folding) must not touch
  another ASCII word character in the text; other ends match anywhere. So Latin terms are whole
  words: "Ascend" does not match "ascendancy"; "iFlytek" matches "IFLYTEK" and "iFlytek's";
  "Tesla" matches in "Tesla特斯拉"; "002230.SZ" matches in "(002230.SZ)". CJK terms match as
  substrings ("算力" in "国产算力"); a mixed term like "特斯拉Model" checks only its Latin end.
  A multi-word term ("domestic computing power") matches across any whitespace run, including
  newlines. Hyphens, apostrophes and dots are not whitespace: "domestic-computing" does not match.
  t2s is phrase-aware, so a lone ambiguous character can fold differently from the same character
  inside a phrase (term "乾" -> "干", but text "乾隆" stays "乾隆"): write terms as phrases.

Watchlists
  A term "@name" stands for every term of watchlist ``name``, in place. Watchlists cannot refer
  to other watchlists. To match a literal leading "@", write "@@" ("@@elonmusk" -> "@elonmusk").
  Within one list, a term whose fold repeats an earlier one is dropped (the first spelling wins).

Rules
  A rule matches iff
    ``sources`` is empty or names the story's source, and
    no ``none`` term occurs (veto), and
    every ``all`` term occurs, and
    ``any`` is empty or at least one ``any`` term occurs, and
    the story is salient for the rule (``in_``, ``min_mentions``: see Salience), and
    ``tickers`` is empty or one of them is the story's (see Fields), and
    ``categories`` is empty or one of them is the story's category.
  A rule needs at least one ``any``, ``all``, ``tickers`` or ``categories`` entry (``sources``
  alone would alert on everything). The result does not depend on evaluation order; ``explain``
  reports the first failing check in the order above (source, veto, all, any, in, min_mentions,
  tickers, categories). Every rule is evaluated independently; results come back in configuration
  order.

Salience
  A rule may require that the story is *about* its terms. Only the rule's ``any`` and ``all``
  terms are concerned (after @-expansion); ``none`` still vetoes from anywhere, and tickers and
  categories are filters, not text terms: ``in``/``min_mentions`` on a rule with neither ``any``
  nor ``all`` is a configuration error, since it could change nothing. Defaults (``in_`` empty,
  ``min_mentions`` 1) are exactly the rules above.

  ``in_`` (config key ``in``) names where the terms must be found: ``title``, ``lead`` or both.
  The lead is the first ``LEAD_CHARS`` (300) characters of the *folded* main text (whitespace runs
  count as one, full-width as half-width; alerts.rules.spec). A hit belongs to the lead when it
  starts there: terms are matched on the whole text, then placed, so a term straddling character
  300 (a Latin word or a CJK phrase alike) is in the lead, and cutting the text never makes a
  part-word match or breaks a CJK term. With ``in_``, every ``all`` term needs a hit in the named
  places, and (when ``any`` is given) one ``any`` term does; hits elsewhere still occur for the
  checks above and are still reported, they just do not make the story *about* the term.

  ``min_mentions: N`` counts the mentions of the rule's ``any``/``all`` terms in title + text
  (everywhere, whatever ``in_`` says), folded like any match ("科大訊飛" and "ＩＦＬＹＴＥＫ" count);
  synonyms add up (``any: [iFlytek, 科大讯飞]``, one each: 2). A mention is a run of overlapping
  hits, so "科大讯飞" is one mention for ``any: [科大讯飞, 讯飞]``. The rule needs >= N.

  ====================================  ===================================  =========
  rule                                  story                                matches
  ====================================  ===================================  =========
  any: [iFlytek], in: [title]           title "AI firms", text "... iFlytek" no
  any: [iFlytek], in: [title]           title "iFlytek wins"                 yes
  any: [iFlytek], in: [title, lead]     text with iFlytek at char 100        yes
  any: [iFlytek], in: [title, lead]     text with iFlytek at char 2000       no
  any: [科大讯飞], min_mentions: 2        title "科大訊飛", text "科大讯飞..."     yes
  any: [x], none: [y], in: [title]      title "x", text "... y"              no
  ====================================  ===================================  =========

  ``explain`` says why a rule is not salient: ``"not in title: 'iFlytek' only in lead"``,
  ``"not salient: 'iFlytek' 1 mention, needs 2"``, and reports every rule's mention counts by
  place (``salience``).

Fields
  ``match(title, text, fields)`` also takes the story's structured fields: ``tickers`` (normalised,
  ``crawler.tickers``), ``category`` and ``source``. A rule's tickers are normalised the same way
  (``002230``, ``SZ002230``, ``科大讯飞(002230)`` are ``002230.SZ``; an unrecognisable one is a
  configuration error). A ticker is the story's when its ``tickers`` field carries it, or when the
  title or text mentions it in one of its spellings (``crawler.tickers.spellings``: ``002230``,
  ``SZ002230``; ``9988.HK``, ``09988``; ``$AAPL``, ``(AAPL)``, ``NASDAQ:AAPL`` ...), folded and
  bounded like any term. Categories compare casefolded and stripped, whole (the exchange's own
  codes or names). A field match reports the ticker or category as its term, with no hit.

  ====================================  ===================================  =========
  rule                                  story                                matches
  ====================================  ===================================  =========
  tickers: [002230.SZ]                  field tickers [002230.SZ]            yes
  tickers: [002230]                     title "科大讯飞(002230)设立子公司"      yes
  tickers: [002230.SZ]                  text "sz002230 rose"                 yes
  tickers: [002230.SZ]                  text "1002230 is a number"           no
  tickers: [9988.HK]                    text "Alibaba (09988) ..."           yes
  tickers: [AAPL]                       text "aapl is not a ticker here"     no
  tickers: [AAPL]                       text "Apple (AAPL) rose"             yes
  tickers: [X], categories: [c1]        field tickers [X], category c2       no
  categories: [停牌]                     field category "停牌"                  yes
  any: [子公司], tickers: [002230.SZ]    title "子公司", tickers [600519.SH]     no
  any: [x], sources: [cninfo-watch]     "x" from source "other"              no
  ====================================  ===================================  =========

Reported matches
  ``RuleMatch.terms``: the distinct ``any``/``all`` terms that occur, as written in the config
  (after @-expansion), ordered by first occurrence (title before text). ``RuleMatch.hits``: every
  occurrence of those terms, title hits first, then text, by position; ``start``/``end`` index the
  *original* title/text string, so ``text[hit.start:hit.end]`` is what the reader saw ("ＩＦＬＹ
  ＴＥＫ", "科大訊飛", "domestic\\n computing power").

Cost
  All distinct folded terms go into one Aho-Corasick automaton; a story costs one fold and one
  automaton pass per field, plus work proportional to the hits. Only rules owning a hit term are
  evaluated. Salience costs a rule without it nothing; with it, work proportional to its hits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, NamedTuple, Sequence

import ahocorasick

from alerts.rules.normalize import Folded, fold, snippet
from alerts.rules.salience import Hits as _Hits, not_salient, salience
from alerts.rules.spec import LEAD_CHARS, CompiledRule, RuleError, RuleSpec, compile_rules, fold_category

__all__ = ["RuleSpec", "RuleError", "Hit", "RuleMatch", "RuleSet", "StoryFields", "snippet"]

_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_FIELDS = ("title", "text")


@dataclass(frozen=True)
class Hit:
    term: str          # the term as written in config (after @watchlist expansion)
    field: str         # 'title' or 'text'
    start: int         # offsets into the ORIGINAL (un-normalised) field string
    end: int


@dataclass(frozen=True)
class RuleMatch:
    rule: str
    terms: tuple[str, ...]   # distinct matched any/all terms, as written, in order of first appearance
    hits: tuple[Hit, ...]    # every hit of those terms (title hits first, then text)
    notify: tuple[str, ...]
    urgent: bool


@dataclass(frozen=True)
class StoryFields:
    """What a story carries besides its title and text (``match``'s ``fields``)."""
    tickers: tuple[str, ...] = ()   # normalised
    category: str | None = None
    source: str | None = None


def _bytes_view(folded: str) -> str:
    """UTF-8 bytes of ``folded`` as a latin-1 str: what the automaton sees.

    pyahocorasick finds a node's child by a linear scan, so thousands of CJK terms (hundreds of
    distinct first characters) make every step that falls back to the root slow; over bytes no node
    has more than 256 children (bench: ~160 -> ~25 us per 3 KB article with 10k mixed terms). UTF-8 is self-synchronising,
    so byte matches of whole terms always start and end on character boundaries, and ASCII word
    characters are the same bytes, so the boundary check is unchanged.
    """
    return folded if folded.isascii() else \
        folded.encode("utf-8", "surrogatepass").decode("latin-1")


class _Field(NamedTuple):
    folded: Folded
    view: str     # _bytes_view(folded.text)

    def span(self, a: int, b: int) -> tuple[int, int]:
        """Original-string range for the automaton range ``[a, b)``."""
        if len(self.view) != len(self.folded.text):   # byte offsets -> character offsets
            raw = self.view.encode("latin-1")
            a, b = (len(raw[:k].decode("utf-8", "surrogatepass")) for k in (a, b))
        return self.folded.span(a, b)

    def lead_end(self) -> int:
        """Automaton offset where the lead (the first LEAD_CHARS folded characters) ends."""
        if len(self.view) == len(self.folded.text):
            return LEAD_CHARS
        return len(self.folded.text[:LEAD_CHARS].encode("utf-8", "surrogatepass"))


class RuleSet:
    """Compiled rules; immutable and safe to share. Build with :meth:`compile`."""

    def __init__(self, rules: tuple[CompiledRule, ...], ids: dict[str, int]):
        self._rules = rules
        self._nterms = len(ids)
        users: dict[int, set[int]] = {}   # term id -> rules that need it present (any/all/tickers)
        by_ticker: dict[str, set[int]] = {}
        by_category: dict[str, set[int]] = {}
        for ri, r in enumerate(rules):
            for tid, _ in (*r.any, *r.all):
                users.setdefault(tid, set()).add(ri)
            for ticker, tids in r.tickers:
                by_ticker.setdefault(ticker, set()).add(ri)
                for tid in tids:
                    users.setdefault(tid, set()).add(ri)
            for cat in r.categories:
                by_category.setdefault(cat, set()).add(ri)
        self._users = {tid: tuple(sorted(s)) for tid, s in users.items()}
        self._by_ticker = by_ticker
        self._by_category = by_category
        self._ac = None
        if ids:
            ac = ahocorasick.Automaton()
            for folded, tid in ids.items():
                key = _bytes_view(folded)
                ac.add_word(key, (tid, len(key), key[0] in _WORD, key[-1] in _WORD))
            ac.make_automaton()
            self._ac = ac

    @classmethod
    def compile(cls, rules: Sequence[RuleSpec],
                watchlists: Mapping[str, Sequence[str]] = {}) -> "RuleSet":  # noqa: B006 (read-only)
        """Expand ``@refs``, validate and build the automaton.

        Raises :class:`RuleError` listing every problem: unknown ``@ref`` (with a did-you-mean
        hint), nested watchlists, a rule with neither ``any`` nor ``all`` terms, empty or blank
        terms, empty or duplicate rule names, a term list given as a string.
        """
        return cls(*compile_rules(rules, watchlists))

    @property
    def terms(self) -> int:
        """Number of distinct folded terms (any/all/none, all rules)."""
        return self._nterms

    def __len__(self) -> int:
        return len(self._rules)

    def _scan(self, title: str, text: str) -> tuple[_Hits, tuple[_Field, ...]]:
        hits: _Hits = {}
        fields = tuple(_Field(f, _bytes_view(f.text)) for f in (fold(title or ""), fold(text or "")))
        if self._ac is None:
            return hits, fields
        for fi, field in enumerate(fields):
            n = field.view
            last = len(n) - 1
            for end, (tid, length, lcheck, rcheck) in self._ac.iter(n):
                start = end - length + 1
                if (lcheck and start > 0 and n[start - 1] in _WORD) or \
                        (rcheck and end < last and n[end + 1] in _WORD):
                    continue
                if tid in hits:
                    hits[tid].append((fi, start, end + 1))
                else:
                    hits[tid] = [(fi, start, end + 1)]
        return hits, fields

    @staticmethod
    def _tickers_found(r: CompiledRule, hits: _Hits, fields: StoryFields) -> list[str]:
        return [t for t, tids in r.tickers if t in fields.tickers or any(tid in hits for tid in tids)]

    @classmethod
    def _verdict(cls, r: CompiledRule, hits: _Hits, fields: StoryFields = StoryFields(),
                 folded: tuple[_Field, ...] = ()) -> str | None:
        """None if the rule matches, else why not (checks in documented order)."""
        if r.sources and fields.source not in r.sources:
            return f"source {fields.source!r} is not one of the rule's sources"
        for tid, w in r.none:
            if tid in hits:
                return f"vetoed by {w!r}"
        missing = [w for tid, w in r.all if tid not in hits]
        if missing:
            return "missing all-term(s): " + ", ".join(map(repr, missing))
        if r.any and not any(tid in hits for tid, _ in r.any):
            return "no any-term found"
        if r.in_ or r.min_mentions > 1:
            why = not_salient(r, hits, lambda: folded[1].lead_end() if len(folded) > 1 else 0)
            if why is not None:
                return why
        if r.tickers and not cls._tickers_found(r, hits, fields):
            return "none of the rule's tickers"
        if r.categories and fold_category(fields.category or "") not in r.categories:
            return f"category {fields.category!r} is not one of the rule's categories"
        return None

    def match(self, title: str, text: str, fields: StoryFields | None = None) -> list[RuleMatch]:
        """Rules matching the story, in configuration order."""
        fields = fields or StoryFields()
        hits, folded = self._scan(title, text)
        cand = {ri for tid in hits for ri in self._users.get(tid, ())}
        for ticker in fields.tickers:
            cand |= self._by_ticker.get(ticker, set())
        if fields.category:
            cand |= self._by_category.get(fold_category(fields.category), set())
        out = []
        for ri in sorted(cand):
            r = self._rules[ri]
            if self._verdict(r, hits, fields, folded) is None:
                out.append(self._build(r, hits, folded, fields))
        return out

    @classmethod
    def _build(cls, r: CompiledRule, hits: _Hits, fields: tuple[_Field, ...],
               story: StoryFields = StoryFields()) -> RuleMatch:
        written: dict[int, str] = {}
        for tid, w in (*r.any, *r.all):
            if tid in hits:
                written.setdefault(tid, w)
        for ticker, tids in r.tickers:   # a mentioned ticker is reported as the rule wrote it, normalised
            for tid in tids:
                if tid in hits:
                    written.setdefault(tid, ticker)
        found = []
        for tid, w in written.items():
            for fi, a, b in hits[tid]:
                s, e = fields[fi].span(a, b)
                found.append((fi, s, e, w))
        found.sort(key=lambda h: (h[0], h[1], -h[2]))
        terms = tuple(dict.fromkeys(h[3] for h in found))
        extra = [t for t, _ in r.tickers if t in story.tickers]
        if r.categories and story.category and fold_category(story.category) in r.categories:
            extra.append(story.category)
        terms = tuple(dict.fromkeys((*extra, *terms)))
        return RuleMatch(r.name, terms, tuple(Hit(w, _FIELDS[fi], s, e) for fi, s, e, w in found),
                         r.notify, r.urgent)

    def explain(self, title: str, text: str, fields: StoryFields | None = None) -> list[dict]:
        """Per rule, in configuration order (for ``newsradar rules test``)::

            {"rule": name, "matched": bool,
             "any": [any-terms found], "all": [all-terms found], "missing": [all-terms not found],
             "none": [none-terms found], "vetoed_by": first none-term found or None,
             "reason": "matched" | "vetoed by ..." | "missing all-term(s): ..." | "no any-term found"
                       | "not in title: ..." | "not salient: ..." | ...,
             "hits": [Hit, ...],   # hits of any/all terms, as in RuleMatch.hits (even if unmatched)
             "salience": {"in": ["title", "lead"] | None, "min_mentions": N,
                          "mentions": n,   # mentions of the any/all terms in title + text (see Salience)
                          "where": {"title": n, "lead": n, "text": n},   # those mentions by place
                          "terms": [{"term": t, "title": n, "lead": n, "text": n}, ...]}}   # hits per term

        Terms are reported as written (after @-expansion). A place is where a mention starts: the
        title, the lead (first LEAD_CHARS folded characters of the text) or the rest of the text;
        per term, overlapping hits of different terms each count.
        """
        story = fields or StoryFields()
        hits, fields = self._scan(title, text)
        out = []
        for r in self._rules:
            why = self._verdict(r, hits, story, fields)
            none = [w for tid, w in r.none if tid in hits]
            out.append({
                "rule": r.name,
                "matched": why is None,
                "any": [w for tid, w in r.any if tid in hits],
                "all": [w for tid, w in r.all if tid in hits],
                "missing": [w for tid, w in r.all if tid not in hits],
                "none": none,
                "vetoed_by": none[0] if none else None,
                "reason": why or "matched",
                "hits": list(self._build(r, hits, fields, story).hits),
                "salience": salience(r, hits, fields[1].lead_end()),
            })
        return out
