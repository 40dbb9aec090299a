"""Tests for the pure rule engine (alerts.rules.matcher / alerts.rules.normalize)."""
from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pytest
import yaml

from tests.conftest import corpus
from alerts.rules.normalize import fold, fold_term
from alerts.rules.matcher import Hit, RuleError, RuleMatch, RuleSet, RuleSpec, StoryFields, snippet

DATA = Path(__file__).resolve().parents[1] / "data" / "rule_cases.yaml"
CASES = yaml.safe_load(DATA.read_text(encoding="utf-8"))


def _field(title: str, text: str, hit: Hit) -> str:
    return (title if hit.field == "title" else text)[hit.start:hit.end]


# --- table-driven matching --------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_rule_case(case):
    spec = RuleSpec(case["id"], any=tuple(case.get("any", ())), all=tuple(case.get("all", ())),
                    none=tuple(case.get("none", ())), tickers=tuple(case.get("tickers", ())),
                    categories=tuple(case.get("categories", ())), sources=tuple(case.get("sources", ())))
    rs = RuleSet.compile([spec], case.get("watchlists", {}))
    title, text = case.get("title", ""), case.get("text", "")
    story = case.get("story", {})
    fields = StoryFields(tuple(story.get("tickers", ())), story.get("category"), story.get("source"))
    got = rs.match(title, text, fields)
    assert bool(got) is case["match"], rs.explain(title, text)
    if not got:
        return
    (m,) = got
    assert m.rule == case["id"]
    if "terms" in case:
        assert list(m.terms) == case["terms"]
    if "slices" in case:
        assert [f"{h.field}:{_field(title, text, h)}" for h in m.hits] == case["slices"]
    for h in m.hits:  # every hit slice folds back to its term (a ticker to one of its spellings)
        if "tickers" in case:
            continue
        assert fold_term(_field(title, text, h)) == fold_term(h.term)


def test_case_ids_unique():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))


# --- compile errors ---------------------------------------------------------------------------

def test_compile_lists_every_problem():
    rules = [
        RuleSpec("chips", any=("Nvidia", "@chipz")),        # 0: unknown ref, hint
        RuleSpec("empty"),                                  # 1: neither any nor all
        RuleSpec("chips", any=("AMD",)),                     # 2: duplicate name
        RuleSpec("blank", any=("ok", "   "), all=("",)),     # 3: two empty terms
        RuleSpec("", any=("x",)),                            # 4: empty name
        RuleSpec("nested", none=("@nested_list",), any=("y",)),  # 5: ok; its watchlist is not
        RuleSpec("str", any="iFlytek"),                      # 6: string instead of list
        RuleSpec("far", any=("@zzzzzz",)),                   # 7: unknown ref, no close match
    ]
    with pytest.raises(RuleError) as ei:
        RuleSet.compile(rules, {"chips": ["Nvidia"], "nested_list": ["a", "@chips"], "unused": [" "]})
    probs = ei.value.problems
    keys = [(i, k) for i, k, _ in probs]
    assert keys == [(-1, "nested_list[1]"), (-1, "unused[0]"),
                    (0, "any[1]"), (1, "any"), (2, "name"), (3, "any[1]"), (3, "all[0]"),
                    (4, "name"), (6, "any"), (7, "any[0]")]
    msgs = {(i, k): m for i, k, m in probs}
    assert "did you mean '@chips'?" in msgs[0, "any[1]"]
    assert "'@chipz'" in msgs[0, "any[1]"]
    assert "duplicate" in msgs[2, "name"] and "#0" in msgs[2, "name"]
    assert "cannot refer to other watchlists" in msgs[-1, "nested_list[1]"]
    assert "'@chips'" in msgs[-1, "nested_list[1]"]
    assert "did you mean" not in msgs[7, "any[0]"]
    assert isinstance(ei.value, ValueError)
    assert "10 problem(s)" in str(ei.value)


def test_compile_empty_watchlist_and_no_watchlists():
    with pytest.raises(RuleError) as ei:
        RuleSet.compile([RuleSpec("a", any=("@x",))], {"x": []})
    assert ei.value.problems == [(0, "any[0]", "watchlist '@x' has no usable terms")]
    with pytest.raises(RuleError) as ei:
        RuleSet.compile([RuleSpec("a", any=("@x",))])
    assert "no watchlists are defined" in ei.value.problems[0][2]


def test_compile_ok_and_terms_count():
    rs = RuleSet.compile([
        RuleSpec("a", any=["iFlytek", "IFLYTEK", "ＩＦＬＹＴＥＫ"], notify=["mail"], urgent=True),
        RuleSpec("b", any=("科大讯飞", "科大訊飛"), none=("rumor",)),
    ])
    assert rs.terms == 3          # iflytek, 科大讯飞, rumor
    assert len(rs) == 2
    (m,) = rs.match("", "IFLYTEK")
    assert m == RuleMatch("a", ("iFlytek",), (Hit("iFlytek", "text", 0, 7),), ("mail",), True)


def test_empty_ruleset():
    rs = RuleSet.compile([])
    assert rs.match("t", "x") == [] and rs.explain("t", "x") == [] and rs.terms == 0


def test_results_in_config_order_and_shared_terms():
    rs = RuleSet.compile([
        RuleSpec("z-last-alpha", any=("算力",)),
        RuleSpec("a-first-alpha", any=("iFlytek",), all=("算力",)),
        RuleSpec("unrelated", any=("Tesla",)),
    ])
    got = rs.match("iFlytek", "国产算力")
    assert [m.rule for m in got] == ["z-last-alpha", "a-first-alpha"]
    assert got[1].terms == ("iFlytek", "算力")
    assert [h.field for h in got[1].hits] == ["title", "text"]


# --- offsets ----------------------------------------------------------------------------------

def test_offsets_after_length_changing_folds():
    # Every fold before the term changes lengths or collapses: full-width, ligature, ß, ellipsis,
    # combining accent, whitespace runs, a soft hyphen.
    text = "ＡＢＣ ﬁ STRAßE…e\u0301  \n\u3000x\u00ad 科大訊飛（００２２３０．ＳＺ）ＩＦＬＹＴＥＫ's domestic\n computing power"
    rs = RuleSet.compile([RuleSpec("r", any=("iFlytek", "科大讯飞", "002230.SZ",
                                              "domestic computing power"))])
    (m,) = rs.match("", text)
    assert [text[h.start:h.end] for h in m.hits] == [
        "科大訊飛", "００２２３０．ＳＺ", "ＩＦＬＹＴＥＫ", "domestic\n computing power"]
    assert m.terms == ("科大讯飞", "002230.SZ", "iFlytek", "domestic computing power")


def test_fold_span_roundtrip_random():
    """For random tricky strings, every folded char maps to an original range that folds to it."""
    alphabet = ("aZ _-.'1０Ｚｚ ﬁßẞİ…①㈱\u0301\u0308\u3000\u00a0\n\t\u00ad科訊飛國產算力"
                "\u1100\u1161\u11a8한e")
    rnd = random.Random(7)
    for _ in range(300):
        s = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))
        f = fold(s)
        prev_end = 0
        for i, ch in enumerate(f.text):
            a, b = f.span(i, i + 1)
            assert 0 <= a < b <= len(s)
            assert b >= prev_end   # monotone
            prev_end = b
            piece = fold(s[a:b]).text
            assert ch in piece or piece == " " or ch == " ", (s, i, ch, s[a:b])
        assert unicodedata.is_normalized("NFKC", f.text)


def test_odd_input_emoji_astral_and_lone_surrogates():
    rs = RuleSet.compile([RuleSpec("r", any=("iFlytek", "科大讯飞", "𠀀"))])
    text = "🚀\ud800 iFlytek 👨\u200d👩 𠀀科大訊飛 \udfff"
    (m,) = rs.match(None, text)
    assert [text[h.start:h.end] for h in m.hits] == ["iFlytek", "𠀀", "科大訊飛"]


def test_t2s_length_change_falls_back_per_character(monkeypatch):
    from alerts.rules import normalize

    class Stretchy:   # an OpenCC that expands whole strings (never seen in practice)
        def convert(self, s):
            return s if len(s) == 1 else s.replace("訊", "讯讯")
    normalize._t2s_char.cache_clear()
    monkeypatch.setattr(normalize, "_converter", lambda: Stretchy())
    try:
        assert fold("科大訊飛").text == "科大訊飛"      # per-char: "訊" alone is left as is here
        f = fold("ＡＢ 科大訊飛")
        assert len(f.text) == len("ab 科大訊飛") and f.span(3, 7) == (3, 7)
    finally:
        normalize._t2s_char.cache_clear()


def test_rulespec_coerces_lists_and_none():
    spec = RuleSpec("r", any=["a", "b"], all=None, notify=["mail"])
    assert spec.any == ("a", "b") and spec.all == () and spec.notify == ("mail",)
    hash(spec)


def test_fold_fast_paths_agree_with_general_path():
    # Already-NFKC non-ASCII text takes the casefold path; the translate path must agree.
    s = "İstanbul Ελλάδα ΣΊΣΥΦΟΣ 科大訊飛 Straße"
    assert fold(s).text == fold(s + "ｘ").text[:-1]
    assert fold("IFLYTEK").text == fold("ＩＦＬＹＴＥＫ").text == "iflytek"


# --- seed story -------------------------------------------------------------------------------

@pytest.mark.corpus
def test_seed_story():
    raw = (corpus("seed") / "000_c3e2e1dc449be4a9.txt").read_text(encoding="utf-8")
    title, _, text = raw.partition("\n")
    rs = RuleSet.compile([
        RuleSpec("iflytek", any=("iFlytek", "科大讯飞")),
        RuleSpec("domestic-compute", any=("domestic computing power", "国产算力")),
        RuleSpec("tesla", any=("Tesla", "特斯拉")),
    ])
    got = {m.rule: m for m in rs.match(title, text)}
    assert set(got) == {"iflytek", "domestic-compute"}
    ifly = got["iflytek"]
    assert ifly.terms == ("iFlytek",)
    assert ifly.hits[0].field == "title"
    assert sum(h.field == "text" for h in ifly.hits) >= 5
    for h in ifly.hits:
        assert _field(title, text, h) == "iFlytek"
    dc = got["domestic-compute"]
    assert dc.terms == ("domestic computing power",)
    assert [_field(title, text, h) for h in dc.hits] == ["domestic computing power"] * 2
    before, mid, after = snippet(text, dc.hits[0].start, dc.hits[0].end)
    assert mid == "domestic computing power" and before.startswith("…") and after.endswith("…")


# --- snippet ----------------------------------------------------------------------------------

def test_snippet_word_boundaries():
    text = "Chairman Liu Qingfeng laid out the strategic vision and said iFlytek would train on " \
           "domestic computing power for all of its foundational large models going forward."
    s = text.index("iFlytek")
    before, mid, after = snippet(text, s, s + 7, width=60)
    assert mid == "iFlytek"
    assert before.startswith("…") and after.endswith("…")
    assert len(before) + len(mid) + len(after) <= 60 + 2
    # cuts land on whole words
    assert before[1:].split()[0] in text.split()
    assert after[:-1].split()[-1] in text.split()


def test_snippet_no_cut_needed_and_whitespace():
    text = "Short  story\nabout iFlytek."
    s = text.index("iFlytek")
    assert snippet(text, s, s + 7) == ("Short story about ", "iFlytek", ".")


def test_snippet_cjk_and_clusters():
    text = "据报道，" * 20 + "科大讯飞" + "发布了新模型。" * 20
    s = text.index("科大讯飞")
    before, mid, after = snippet(text, s, s + 4, width=24)
    assert mid == "科大讯飞" and len(before) - 1 + len(after) - 1 == 20


def _clean_cut(text: str, i: int) -> bool:
    """Is ``i`` a cluster boundary in ``text``?"""
    if i <= 0 or i >= len(text):
        return True
    a, b = text[i - 1], text[i]
    return not (unicodedata.category(b).startswith("M") or "\u200d" in (a, b)
                or ("\ud800" <= a <= "\udbff" and "\udc00" <= b <= "\udfff"))


@pytest.mark.parametrize("unit", ["e\u0301", "👨\u200d👩\u200d👧", "\ud83d\ude00", "नमस्ते"])
def test_snippet_never_splits_clusters(unit):
    text = unit * 30 + "X" + unit * 30
    s = text.index("X")
    for width in range(1, 40):
        before, mid, after = snippet(text, s, s + 1, width=width)
        assert mid == "X"
        b, a = before.removeprefix("…"), after.removesuffix("…")
        assert text[s - len(b):s] == b and text[s + 1:s + 1 + len(a)] == a
        assert _clean_cut(text, s - len(b)) and _clean_cut(text, s + 1 + len(a)), (width, before, after)
        assert len(b) + 1 + len(a) <= max(width, 1)


def test_snippet_long_match_and_edges():
    text = "x" * 200
    before, mid, after = snippet(text, 10, 150, width=50)
    assert mid == "x" * 140 and before == "…" and after == "…"
    assert snippet("abc", 0, 3) == ("", "abc", "")


# --- explain ----------------------------------------------------------------------------------

def test_explain():
    rs = RuleSet.compile([
        RuleSpec("ok", any=("iFlytek", "Baidu"), all=("model",)),
        RuleSpec("veto", any=("iFlytek",), none=("rumor", "广告")),
        RuleSpec("missing", all=("iFlytek", "Tesla", "科大讯飞")),
        RuleSpec("noany", any=("Tesla",)),
    ])
    out = rs.explain("iFlytek rumor", "新模型 model 廣告")
    assert [e["rule"] for e in out] == ["ok", "veto", "missing", "noany"]
    ok, veto, missing, noany = out
    assert ok["matched"] and ok["reason"] == "matched"
    assert ok["any"] == ["iFlytek"] and ok["all"] == ["model"] and ok["missing"] == []
    assert [h.term for h in ok["hits"]] == ["iFlytek", "model"]
    assert not veto["matched"] and veto["none"] == ["rumor", "广告"] and veto["vetoed_by"] == "rumor"
    assert veto["reason"] == "vetoed by 'rumor'"
    assert missing["all"] == ["iFlytek"] and missing["missing"] == ["Tesla", "科大讯飞"]
    assert missing["reason"].startswith("missing all-term(s)")
    assert noany["reason"] == "no any-term found" and noany["vetoed_by"] is None
    # explain agrees with match
    assert [m.rule for m in rs.match("iFlytek rumor", "新模型 model 廣告")] == \
        [e["rule"] for e in out if e["matched"]]
