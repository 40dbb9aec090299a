"""Event threads: do two stories (from any sources) report the same event? Pure: no I/O, no store, no config.

Input. ``title`` and ``text`` are already folded by the caller with ``alerts.rules.normalize.fold`` (NFKC,
casefold, Traditional -> Simplified Chinese), the fold the rule matcher uses, so "訊飛" and "讯飞", "ＩＦＬＹＴＥＫ"
and "iflytek" are one feature. That fold lives above ``crawler.dedupe`` in the import layers and is not
repeated here; ``signature`` only casefolds again (idempotent, cheap), so unfolded Latin text still works but
unfolded Traditional Chinese does not meet its Simplified report.

Features. Title + lead, the lead being the first LEAD_CHARS characters of ``text``:
- CJK (ideographs, kana, Hangul; ranges from ``crawler.cjk``): character bigrams within each run (a lone
  character is a feature of its own); a bigram made only of common function characters (的了在是和与...)
  is dropped;
- other scripts: words of letters and digits, casefolded; one-letter words and a short English stop-word
  list are dropped. Figures stay: they tell apart template briefs (results, price moves, version notices).
Every title feature counts twice (once as itself, once tagged as a title feature): the headline says what
the event is, the lead may wander.

Signature. Each feature gets a stable 32-bit hash (CRC-32 of its UTF-8 bytes, from another start value for
the title copy; no Python ``hash()``, so it is the same in every process); the signature is the sorted
SIGNATURE_SIZE smallest distinct hashes (a bottom-k sketch), followed by the hashes of the title's figures
(words with a digit) plus 2**32: a list of ints below 2**33, stored as JSON with the story.

Similarity. The Jaccard similarity of the two feature sets, estimated from the sketches: of the k smallest
hashes of their union, the share that is in both (exact while both sets fit in k, i.e. most English leads).

Decision. ``same_event`` holds when the titles do not disagree on figures (when both titles carry figures,
they share at least one: "pattern file 3.133" and "pattern file 3.134.04" are two releases, however alike the
rest) and the similarity is >= THRESHOLD (0.40), lowered by TERM_BONUS (0.03) when the stories share a
matched rule term and by TICKER_BONUS (0.05) when they share a ticker (so never below 0.32).

Why these values: on the labelled pairs from real feeds (tests/data/threads/labels.yaml; figures in README
"Measured"), of the different-event pairs within one 6 h window all but one stay below 0.18 once the figure
rule has had its say (templated notices it separates reach 0.63: two versions of one virus pattern file); the
exception is one award won by two banks (0.52), which no bag of words can tell apart. Same-event pairs of
rewritten news spread from 0.05 to 0.64, repeated notices mostly above 0.65. Every threshold from 0.32 to
0.52 gives the same precision and recall there; 0.40 sits in that range with room both ways, well above the
different-event bulk: a false merge (two events in one thread) silences an alert, while a miss only sends
one more, so recall is what gives. Shared terms and tickers are weak evidence (two different stories about
one company share both), so they only lower the bar a little. The time window (``threads.window``, 6 h) is
the caller's: only stories within it are compared (without it, release notices of one product days apart
look alike).

Speed: one regex pass, and the per-feature work (bigrams, CRCs) in C through ``map``: about 0.05 ms of CPU
for an English title and 300 characters, 0.15 ms for a Chinese one (each CJK character starts a bigram).
"""

from __future__ import annotations

import re
import zlib
from itertools import repeat
from operator import add

from crawler.cjk import CJK

__all__ = ["signature", "similarity", "same_event", "THRESHOLD", "TERM_BONUS", "TICKER_BONUS", "LEAD_CHARS",
           "SIGNATURE_SIZE"]

LEAD_CHARS = 300
SIGNATURE_SIZE = 128
THRESHOLD = 0.40
TERM_BONUS = 0.03
TICKER_BONUS = 0.05

# A CJK run, or a word; a dotted figure ("7.6.5.1250", "2005.12.28", "4.0.x") is one word.
_TOKEN_RE = re.compile(f"([{CJK}]+)|([^\\W_{CJK}]+(?:\\.[^\\W_{CJK}]+)*)")
# Light: the words that carry no event in any English headline or lead.
_STOP = frozenset(
    "the a an and or but of to in on at for from by with as into over after about than that this these those "
    "it its is are was were be been being has have had will would can could may might said says say "
    "he she they we you his her their our who which what when where not no".split()
)
# Bigrams made only of these (的是, 在了 ...) say nothing about the event.
_STOP_CJK = "的了在是和与及等也将对为从于这那其一有之而并或被把让"
_STOP_BIGRAMS = frozenset(a + b for a in _STOP_CJK for b in _STOP_CJK)
_DIGIT_RE = re.compile(r"\d")
_TITLE_SEED = 0x9E3779B1  # the CRC's start value for the title copy of a feature: another hash of it
_FIGURE = 1 << 32         # added to a title figure's hash: the sketch's hashes stay below it


# The per-feature work runs in C (map over builtins): a Python loop per CJK bigram would cost ~3x more.
def _features(text: str) -> set[str]:
    out: set[str] = set()
    for cjk, word in _TOKEN_RE.findall(text):
        if cjk:
            if len(cjk) == 1:
                out.add(cjk)
            else:
                out.update(map(add, cjk, cjk[1:]))   # the run's bigrams
        elif (len(word) > 1 or word.isdigit()) and word not in _STOP:
            out.add(word)
    return out - _STOP_BIGRAMS


def signature(title: str, text: str) -> list[int]:
    """A compact, JSON-serialisable signature of title + lead (the first LEAD_CHARS characters of ``text``):
    the sorted SIGNATURE_SIZE smallest stable 32-bit hashes of its features, then the sorted hashes of the
    title's figures, each plus 2**32. Same input, same output in every process. Callers pass text folded by
    ``alerts.rules.normalize.fold`` (see the module docstring)."""
    crc32 = zlib.crc32
    title_features = _features((title or "").casefold())
    title_bytes = list(map(str.encode, title_features))
    hashes = set(map(crc32, map(str.encode, _features((text or "")[:LEAD_CHARS].casefold()) - title_features)))
    hashes.update(map(crc32, title_bytes))
    hashes.update(map(crc32, title_bytes, repeat(_TITLE_SEED)))   # a title feature counts twice
    figures = sorted({crc32(f.encode()) | _FIGURE for f in title_features if _DIGIT_RE.search(f)})
    return sorted(hashes)[:SIGNATURE_SIZE] + figures


def _split(sig: list[int]) -> tuple[set[int], set[int]]:
    return {h for h in sig if h < _FIGURE}, {h for h in sig if h >= _FIGURE}


def similarity(a: list[int], b: list[int]) -> float:
    """Estimated Jaccard similarity (0..1) of the two feature sets behind signatures ``a`` and ``b``."""
    return _jaccard(_split(a)[0], _split(b)[0])


def _jaccard(sa: set[int], sb: set[int]) -> float:
    if not sa or not sb:
        return 0.0
    # Of the k smallest hashes of the union, the share in both: each sketch holds its set's k smallest, so
    # any of these that is in a set is in its sketch.
    union = sorted(sa | sb)[: min(SIGNATURE_SIZE, max(len(sa), len(sb)))]
    return sum(1 for h in union if h in sa and h in sb) / len(union)


def same_event(a: list[int], b: list[int], *, shared_terms: int = 0, shared_tickers: int = 0) -> bool:
    """Whether two signatures (of stories within ``threads.window`` of each other) report one event: titles
    that both carry figures share at least one, and similarity >= THRESHOLD, lowered by TERM_BONUS when the
    stories share a matched rule term and by TICKER_BONUS when they share a ticker."""
    (sa, fa), (sb, fb) = _split(a), _split(b)
    if fa and fb and not fa & fb:
        return False
    bar = THRESHOLD - (TERM_BONUS if shared_terms > 0 else 0.0) - (TICKER_BONUS if shared_tickers > 0 else 0.0)
    return _jaccard(sa, sb) >= bar
