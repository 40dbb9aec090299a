"""Benchmark: RuleSet.match vs a per-term regex loop. Run: ``python bench/match.py [--quick]``.

10,000 deterministic synthetic terms (half Latin words/phrases, half CJK strings) in 2,000 rules
(5 any-terms each; some with an all-term or a none-term), matched against ~3 KB articles in
English and Chinese (Chinese with full-width punctuation and some Traditional characters, so the
slow fold path is exercised). The baseline is what one would write first: one precompiled
``re.search`` per term (IGNORECASE, ``\\b`` around Latin terms), with no NFKC/t2s folding at all —
it does strictly less work per character than RuleSet.
"""
from __future__ import annotations

import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts.rules.normalize import fold, fold_term  # noqa: E402
from alerts.rules.matcher import RuleSet, RuleSpec  # noqa: E402

SEED = 20240611
N_TERMS = 10_000
TERMS_PER_RULE = 5
ARTICLES_PER_LANG = 10
ARTICLE_BYTES = 3_000
TARGET_MS = 0.3

SYLLABLES = ("ka ro ven tel mar lin qu sto bra dex ion tra pho zen nov cor sil gra fin "
             "mo ne ta vi lo sa ter pla cy ber om ax ul tek ra on").split()
EN_WORDS = ("the company said its shares rose fell percent market investors quarter revenue profit "
            "growth chip model training data center power domestic foreign analyst expects year "
            "new plan board chairman announced results strong weak demand supply price index fund "
            "bank rate policy central government trade export import deal stake billion million "
            "of and to in on for with at by from as that this which will has have had was were "
            "be is are not but also more than after before during while over under into").split()
CJK_POOL = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工"
            "也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小"
            "物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形"
            "相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建"
            "月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长"
            "求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战"
            "先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受"
            "联什认六共权收证改清美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声"
            "报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究"
            "观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般"
            "訊飛國產門東車長時後發開關與這說為從")
ZH_PUNCT = "，。、：；（）“”…"
VETO = ("rumor", "rumour", "sponsored", "advertisement", "podcast", "opinion",
        "广告", "推广", "谣言", "传闻")


def make_terms(rnd: random.Random) -> list[str]:
    """N_TERMS terms, distinct after folding (so RuleSet.terms == N_TERMS)."""
    terms: dict[str, str] = {}   # folded -> as written
    while len(terms) < N_TERMS // 2:
        words = ["".join(rnd.choices(SYLLABLES, k=rnd.randint(2, 3)))
                 for _ in range(1 if rnd.random() < 0.7 else rnd.randint(2, 3))]
        term = " ".join(words)
        term = term.capitalize() if rnd.random() < 0.5 else term
        terms.setdefault(fold_term(term), term)
    while len(terms) < N_TERMS:
        term = "".join(rnd.choices(CJK_POOL, k=rnd.randint(3, 5)))
        terms.setdefault(fold_term(term), term)
    out = sorted(terms.values())
    rnd.shuffle(out)
    return out


def make_rules(rnd: random.Random, terms: list[str]) -> list[RuleSpec]:
    rules = []
    for i in range(0, len(terms), TERMS_PER_RULE):
        chunk = tuple(terms[i:i + TERMS_PER_RULE])
        n = i // TERMS_PER_RULE
        rules.append(RuleSpec(
            f"rule-{n}", any=chunk[1:] if n % 10 == 0 else chunk,
            all=chunk[:1] if n % 10 == 0 else (),
            none=(rnd.choice(VETO),) if n % 7 == 0 else ()))
    return rules


def make_article(rnd: random.Random, lang: str, terms: list[str]) -> tuple[str, str]:
    pick = [t for t in terms if t.isascii() == (lang == "en")]
    inserted = rnd.sample(pick, 6)
    parts: list[str] = []
    size = 0
    while size < ARTICLE_BYTES:
        if lang == "en":
            piece = " ".join(rnd.choices(EN_WORDS, k=rnd.randint(6, 14))).capitalize() + ". "
            if rnd.random() < 0.15:
                piece += "\n\n"
        else:
            piece = "".join(rnd.choices(CJK_POOL, k=rnd.randint(8, 20))) + rnd.choice(ZH_PUNCT)
        if inserted and rnd.random() < 0.2:
            term = inserted.pop()
            piece += (term.upper() if rnd.random() < 0.3 else term) + (" " if lang == "en" else "")
        parts.append(piece)
        size += len(piece.encode())
    title = (" ".join(rnd.choices(EN_WORDS, k=9)).title() if lang == "en"
             else "".join(rnd.choices(CJK_POOL, k=20)))
    return title, "".join(parts)


def baseline_patterns(terms: list[str]) -> list[tuple[str, re.Pattern[str]]]:
    pats = []
    for t in terms + list(VETO):
        body = re.escape(t)
        pats.append((t, re.compile(rf"\b{body}\b" if t.isascii() else body, re.IGNORECASE)))
    return pats


def per_article_ms(fn, articles, repeats: int) -> float:
    """Median over repeats of (time for one pass over all articles) / number of articles."""
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for title, text in articles:
            fn(title, text)
        runs.append((time.perf_counter() - t0) * 1e3 / len(articles))
    return statistics.median(runs)


def main() -> None:
    quick = "--quick" in sys.argv
    rnd = random.Random(SEED)
    terms = make_terms(rnd)
    rules = make_rules(rnd, terms)
    t0 = time.perf_counter()
    rs = RuleSet.compile(rules)
    compile_s = time.perf_counter() - t0
    pats = baseline_patterns(terms)
    corpora = {lang: [make_article(rnd, lang, terms) for _ in range(ARTICLES_PER_LANG)]
               for lang in ("en", "zh")}
    corpora["all"] = corpora["en"] + corpora["zh"]

    def baseline(title: str, text: str) -> list[str]:
        return [t for t, p in pats if p.search(title) or p.search(text)]

    def fold_only(title: str, text: str) -> None:
        fold(title), fold(text)

    rows = {"RuleSet.match": {}, "  of which fold()": {}, "re.search loop": {}}
    for lang, arts in corpora.items():
        rs.match(*arts[0])   # warm caches (tables, OpenCC)
        rows["RuleSet.match"][lang] = per_article_ms(rs.match, arts, 10 if quick else 50)
        rows["  of which fold()"][lang] = per_article_ms(fold_only, arts, 10 if quick else 50)
        if lang != "all":
            rows["re.search loop"][lang] = per_article_ms(baseline, arts, 1 if quick else 3)
    base = rows["re.search loop"]
    base["all"] = (base["en"] + base["zh"]) / 2
    matches = sum(len(rs.match(*a)) for a in corpora["all"])
    kb = statistics.mean(len(t.encode()) for _, t in corpora["all"]) / 1024

    print(f"{rs.terms:,} distinct terms, {len(rules):,} rules, compile {compile_s * 1e3:.0f} ms; "
          f"{len(corpora['all'])} articles of ~{kb:.1f} KB; {matches} rule matches in total")
    print(f"{'ms per article':<20}{'en':>10}{'zh':>10}{'all':>10}")
    for name, row in rows.items():
        print(f"{name:<20}" + "".join(f"{row[k]:>10.3f}" for k in ("en", "zh", "all")))
    ratio = {k: base[k] / rows["RuleSet.match"][k] for k in ("en", "zh", "all")}
    print(f"{'speed-up (x)':<20}" + "".join(f"{ratio[k]:>10.0f}" for k in ("en", "zh", "all")))
    worst = max(rows["RuleSet.match"][k] for k in ("en", "zh"))
    print(f"target <= {TARGET_MS} ms/article: {'met' if worst <= TARGET_MS else 'MISSED'} "
          f"(worst language {worst:.3f} ms)")


if __name__ == "__main__":
    main()
