"""crawler.dedupe.threads: which stories are one event (the case table of issue 13), and a stable signature."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from alerts.rules.normalize import fold
from crawler.dedupe.threads import (SIGNATURE_SIZE, TERM_BONUS, THRESHOLD, TICKER_BONUS, same_event, signature,
                                    similarity)
from tests.conftest import ROOT

# One event (iFlytek's model launch and its share move), written here: a wire, a rewrite, two Chinese reports.
WIRE = (
    "iFlytek shares jump 8% after it unveils Spark X2 model trained on domestic chips",
    "SHANGHAI, June 11 (Reuters) - Shares of iFlytek Co Ltd (002230.SZ) jumped 8% on Wednesday after the Chinese "
    "artificial intelligence company unveiled its Spark X2 large language model, which it said was trained "
    "entirely on domestic computing power built with Huawei Ascend chips. The Hefei-based company said Spark X2 "
    "matched leading foreign models on maths and coding benchmarks.",
)
REWRITE = (
    "iFlytek stock jumps 8% as Spark X2 model trained on domestic chips is unveiled",
    "Shares in iFlytek (002230) jumped as much as 8% in Shenzhen on Wednesday after the artificial intelligence "
    "company unveiled Spark X2, a large language model it says was trained entirely on domestic computing power "
    "built with Huawei's Ascend chips. iFlytek said the model matched leading foreign models on maths and coding.",
)
ZH_SIMPLIFIED = (
    "科大讯飞发布星火X2大模型 基于国产算力训练 股价大涨8%",
    "6月11日，科大讯飞（002230）发布星火X2大模型，公司表示该模型完全基于国产算力平台训练，采用华为昇腾芯片。"
    "受此消息影响，科大讯飞股价盘中大涨8%。公司称，星火X2在数学和代码能力上已对标国际领先模型。",
)
ZH_TRADITIONAL = (
    "科大訊飛發布星火X2大模型 國產算力訓練 股價大漲8%",
    "科大訊飛（002230）6月11日發布星火X2大模型，公司表示，該模型完全基於國產算力平台訓練，採用華為昇騰晶片。"
    "消息公布後，科大訊飛股價盤中大漲8%，公司稱星火X2的數學與代碼能力已對標國際領先模型。",
)
# Another iFlytek story the same day: not the same event.
OTHER_STORY = (
    "iFlytek wins 1.2 billion yuan smart education contract in Anhui",
    "HEFEI, June 11 - iFlytek Co Ltd (002230.SZ) said on Wednesday it had won a 1.2 billion yuan contract to supply "
    "smart classroom systems to schools in Anhui province, its largest education order this year. The company "
    "will deliver the systems over three years.",
)
OTHER_ZH = (
    "科大讯飞中标安徽12亿元智慧教育项目",
    "科大讯飞（002230）6月11日晚间公告，公司中标安徽省智慧课堂建设项目，中标金额约12亿元，为公司今年以来最大的"
    "教育订单，项目将在三年内分期交付。",
)
# iFlytek named once in a list: a story about something else.
PASSING = (
    "China's AI spending set to double by 2027, IDC says",
    "Spending on artificial intelligence in China is expected to double by 2027, research firm IDC said on "
    "Wednesday, as companies such as Baidu, Alibaba, Tencent, SenseTime and iFlytek expand their cloud services "
    "and governments fund new data centres.",
)


def sig(story: tuple[str, str]) -> list[int]:
    title, text = story
    return signature(fold(title).text, fold(text).text)   # callers fold, as the module docstring says


# pair, shared matched terms, shared tickers, expected
CASES = [
    ("wire-rewrite", WIRE, REWRITE, 1, 1, True),
    ("wire-rewrite-no-hints", WIRE, REWRITE, 0, 0, True),
    ("zh-simplified-traditional", ZH_SIMPLIFIED, ZH_TRADITIONAL, 1, 1, True),
    ("zh-simplified-traditional-no-hints", ZH_SIMPLIFIED, ZH_TRADITIONAL, 0, 0, True),
    ("two-iflytek-stories-en", WIRE, OTHER_STORY, 1, 1, False),
    ("two-iflytek-stories-rewrite", REWRITE, OTHER_STORY, 1, 1, False),
    ("two-iflytek-stories-zh", ZH_SIMPLIFIED, OTHER_ZH, 1, 1, False),
    ("two-iflytek-stories-zh-traditional", ZH_TRADITIONAL, OTHER_ZH, 1, 1, False),
    ("passing-mention", WIRE, PASSING, 1, 0, False),
    ("passing-mention-rewrite", REWRITE, PASSING, 1, 0, False),
    ("cross-language-not-expected", WIRE, ZH_SIMPLIFIED, 1, 1, False),
]


@pytest.mark.parametrize(("a", "b", "terms", "tickers", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_case_table(a, b, terms, tickers, expected):
    assert same_event(sig(a), sig(b), shared_terms=terms, shared_tickers=tickers) is expected
    assert same_event(sig(b), sig(a), shared_terms=terms, shared_tickers=tickers) is expected   # symmetric


def test_the_traditional_report_meets_the_simplified_one_only_once_folded():
    unfolded = signature(*ZH_TRADITIONAL)
    assert similarity(sig(ZH_SIMPLIFIED), sig(ZH_TRADITIONAL)) > similarity(sig(ZH_SIMPLIFIED), unfolded)


def test_shared_terms_and_tickers_lower_the_bar_a_little():
    # Two stories whose similarity sits just under THRESHOLD: a shared term or ticker tips them over.
    title = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    words = title.split()
    a = signature(title, "")
    b = signature(" ".join(words[:5] + ["lambda", "mu", "nu"]), "")
    s = similarity(a, b)
    assert THRESHOLD - TERM_BONUS - TICKER_BONUS < s < THRESHOLD - TERM_BONUS, s
    assert not same_event(a, b) and not same_event(a, b, shared_terms=1)
    assert same_event(a, b, shared_terms=1, shared_tickers=1)
    # ... but not a passing mention, whatever it shares.
    assert not same_event(sig(WIRE), sig(PASSING), shared_terms=5, shared_tickers=5)


def test_a_story_is_its_own_event_and_empty_input_is_nobody_s():
    a = sig(WIRE)
    assert similarity(a, a) == 1.0 and same_event(a, a)
    assert signature("", "") == [] and similarity([], a) == 0.0 and not same_event([], [])


def test_titles_whose_figures_differ_are_two_stories():
    # Same template, another release: every word shared, every figure different.
    a = signature("pc-cillin virus pattern file 3.133", "pc-cillin virus pattern file")
    b = signature("pc-cillin virus pattern file 3.134", "pc-cillin virus pattern file")
    assert similarity(a, b) > THRESHOLD and not same_event(a, b)


def test_the_lead_is_the_first_300_characters():
    assert signature("t", "x " * 150 + "tail") == signature("t", "x " * 150 + "other")


def test_the_signature_is_compact_sorted_ints_and_json_serialisable():
    s = sig(ZH_SIMPLIFIED)
    regular = [h for h in s if h < 2**32]
    figures = s[len(regular):]
    assert len(regular) <= SIGNATURE_SIZE and regular == sorted(regular) and s[: len(regular)] == regular
    assert figures == sorted(figures) and len(figures) == 2   # "x2" and "8"
    assert all(isinstance(h, int) and 0 <= h < 2**33 for h in s)
    assert json.loads(json.dumps(s)) == s


# Fixed values: a change of tokens, hash or layout changes every stored signature, and must be deliberate.
EXPECTED = [440515874, 450215437, 1751471390, 2422174076, 2635321133, 2774837934, 2787969646, 2813527574,
            4745182733]   # the last is 2**32 + the hash of the title's figure "2"


def test_signature_is_stable_across_processes():
    code = "from crawler.dedupe.threads import signature; print(signature('讯飞 Spark 2', 'shares jump'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PYTHONPATH": str(ROOT)}).stdout
    assert json.loads(out) == signature("讯飞 Spark 2", "shares jump") == EXPECTED
