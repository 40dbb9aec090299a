"""One definition of the CJK character ranges (crawler.cjk), used by every module that tells scripts apart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alerts.rules.normalize import snippet
from crawler.cjk import CJK_RE, UNSPACED_RE
from crawler.dedupe import fingerprint
from crawler.extract.headline import _tokens as headline_tokens
from crawler.extract.maintext import _TOKEN_RE as MAINTEXT_TOKENS

ROOT = Path(__file__).resolve().parents[2]
EXT_B = "\U0002000b\U00020089"  # two Extension B ideographs (rare characters of Chinese names)


@pytest.mark.parametrize("ch, cjk, unspaced", [
    ("讯", True, True), ("訊", True, True), ("㐀", True, True),   # URO, Traditional, Extension A
    ("\U0002000b", True, True), ("豈", True, True),               # Extension B, compatibility ideograph
    ("カ", True, True), ("한", True, False),                      # Korean spaces its words
    ("ｶ", False, True), ("a", False, False), ("é", False, False),
])
def test_the_ranges(ch, cjk, unspaced):
    assert bool(CJK_RE.match(ch)) is cjk
    assert bool(UNSPACED_RE.match(ch)) is unspaced


@pytest.mark.parametrize("tokens", [
    headline_tokens, lambda s: MAINTEXT_TOKENS.findall(s), fingerprint.tokens,
], ids=["headline", "maintext", "fingerprint"])
def test_every_tokeniser_counts_an_extension_b_ideograph_as_one_token(tokens):
    assert [t for t in tokens(f"科大{EXT_B}讯飞") if t.strip()] == ["科", "大", *EXT_B, "讯", "飞"]


def test_a_snippet_may_cut_between_ideographs_but_not_inside_a_word():
    text = "前文" * 50 + "科大讯飞发布" + "后文" * 50
    at = text.index("科大讯飞")
    before, match, after = snippet(text, at, at + 4, 20)
    assert match == "科大讯飞" and before and after


def test_no_module_restates_a_cjk_range():
    """The copies disagreed (Extension B in one, not another); a new copy fails here."""
    pattern = re.compile(r"\\u4e00|\\u3400|0x4E00|0x3400|\\u3040|\\uac00", re.IGNORECASE)
    found = [f"{p.relative_to(ROOT)}: {line.strip()}" for folder in ("crawler", "alerts", "spiders")
             for p in (ROOT / folder).rglob("*.py") if p.name != "cjk.py"
             for line in p.read_text(encoding="utf-8").splitlines()
             # normalize's fold tables skip code-point blocks for speed: a fold-table fact, not a script test
             if pattern.search(line) and not line.startswith("_SKIP = ")]
    assert found == []
