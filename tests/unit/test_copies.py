"""Syndicated copy or a story of its own: a case table of real-looking wire briefs (English and Chinese).

Machine-written briefs from one template (price moves, filing notices) differ only in a figure, a ticker or a
notice number: SimHash alone puts them within a few bits, and each is a story of its own. A syndicated copy
with another boilerplate line or another headline is one story. Each case is checked on the fingerprint rule
and through the store (SQLite, and PostgreSQL where configured).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from crawler.dedupe.fingerprint import fingerprints, is_near, same_story
from crawler.items import NewStory

EN_MOVE = (
    "Shares of {name} ({ticker}) rose {pct} to ${price} in morning trading on Tuesday, after the stock closed at "
    "$183.52 on Monday. Trading volume reached 41.2 million shares by 10:30 a.m. Eastern time, compared with a "
    "30-day average of 55.8 million. The stock is up 12.4% over the past 52 weeks and trades at 29 times expected "
    "earnings. Analysts polled by the data provider have an average price target of $205 on the shares, and 28 "
    "of 41 rate them a buy. The company is scheduled to report quarterly results on January 29. This story was "
    "generated automatically from market data and company filings."
)
EN_8K = (
    "{name} ({ticker}) filed a Form 8-K with the U.S. Securities and Exchange Commission on Monday, disclosing "
    "an item 5.02 event: the departure of a director or certain officers, the election of directors, or the "
    "appointment of certain officers. The filing, accession number {accession}, was made available through the "
    "commission's EDGAR system after the market close. The company did not provide further comment beyond the "
    "filing. Investors can read the full document on the SEC website. This notice was generated automatically "
    "from regulatory filings and is provided for information only."
)
ZH_NOTICE = (
    "科大讯飞（002230）12月2日晚间发布公告称，公司于近日收到深圳证券交易所上市公司管理一部出具的问询函，"
    "公告编号：{number}。问询函要求公司就前期披露的重大合同进展、相关收入确认依据及对当期业绩的影响作出书面说明，"
    "并在规定期限内对外披露。公司表示，将积极组织相关各方按时回复问询函所涉问题，并严格履行信息披露义务。"
    "本文由机器根据公开信息自动生成，仅供参考，不构成投资建议。"
)
ZH_MOVE = (
    "{name}（{code}）午后股价快速拉升，截至发稿报{price}元，涨幅{pct}，成交额超过35亿元，换手率3.1%。"
    "消息面上，公司此前披露，其自主研发的大模型在国产算力平台上完成训练，相关产品已在教育、医疗等领域落地。"
    "从资金流向看，主力资金今日净流入约4.2亿元，板块内多只个股同步走强。本文由机器根据公开行情数据自动生成，"
    "仅供参考，不构成投资建议。"
)
EN_STORY = (
    "Chinese artificial intelligence company iFlytek said on Tuesday that its latest large language model had been "
    "trained entirely on domestic computing power, a milestone for Beijing's push to reduce reliance on foreign "
    "chips. The company said the model matched leading overseas systems on several benchmarks and would be "
    "offered to enterprise customers from next month. Shares rose in Shenzhen after the announcement, while "
    "analysts cautioned that supply of domestic accelerators remained tight. "
)

CASES = [
    # name, (title, text) of the first, (title, text) of the second, stories
    ("en price move, another ticker (share class)",
     ("GOOGL rises 3.2% in morning trade", EN_MOVE.format(name="Alphabet Inc. Class A", ticker="GOOGL", pct="3.2%",
                                                          price="189.40")),
     ("GOOG rises 3.2% in morning trade", EN_MOVE.format(name="Alphabet Inc. Class C", ticker="GOOG", pct="3.2%",
                                                         price="189.40")), 2),
    ("en price move, another figure",
     ("NVDA rises 3.2% in morning trade", EN_MOVE.format(name="Nvidia Corp.", ticker="NVDA", pct="3.2%",
                                                         price="189.40")),
     ("NVDA rises 4.1% in morning trade", EN_MOVE.format(name="Nvidia Corp.", ticker="NVDA", pct="4.1%",
                                                         price="191.05")), 2),
    ("en 8-K notice, another accession number",
     ("Form 8-K: Acme Corp (ACME) filing 0001193125-26-312345", EN_8K.format(name="Acme Corp", ticker="ACME",
                                                                             accession="0001193125-26-312345")),
     ("Form 8-K: Acme Corp (ACME) filing 0001193125-26-312399", EN_8K.format(name="Acme Corp", ticker="ACME",
                                                                             accession="0001193125-26-312399")), 2),
    ("zh filing notice, another notice number",
     ("科大讯飞：收到深交所问询函", ZH_NOTICE.format(number="2026-087")),
     ("科大讯飞：收到深交所问询函（2026-091）", ZH_NOTICE.format(number="2026-091")), 2),
    ("zh price move, another stock",
     ("科大讯飞(002230)午后拉升 涨4.87%", ZH_MOVE.format(name="科大讯飞", code="002230", price="52.31", pct="4.87%")),
     ("中科曙光(603019)午后拉升 涨5.12%", ZH_MOVE.format(name="中科曙光", code="603019", price="78.06", pct="5.12%")),
     2),
    ("en syndicated copy, another boilerplate line and headline",
     ("iFlytek says new AI model trained on domestic chips", EN_STORY * 2 + "Reporting by Jane Li in Beijing; "
      "Editing by Mark Potter"),
     ("iFlytek trains AI model on China-made chips", EN_STORY * 2 + "This article was originally published by "
      "Example Wire and is republished with permission."), 1),
    ("zh syndicated copy, another source line",
     ("科大讯飞：收到深交所问询函", ZH_NOTICE.format(number="2026-087") + "（来源：证券时报网）"),
     ("科大讯飞收到深交所问询函", ZH_NOTICE.format(number="2026-087") + "本文转载自新浪财经，责任编辑：王磊"), 1),
    ("a corrected figure under the same headline",
     ("NVDA rises in morning trade", EN_MOVE.format(name="Nvidia Corp.", ticker="NVDA", pct="3.2%", price="189.40")),
     ("NVDA rises in morning trade", EN_MOVE.format(name="Nvidia Corp.", ticker="NVDA", pct="3.4%", price="189.80")),
     1),
    ("the same brief republished with only a dateline figure changed and the same headline",
     ("科大讯飞：收到深交所问询函", ZH_NOTICE.format(number="2026-087")),
     ("科大讯飞：收到深交所问询函", ZH_NOTICE.format(number="2026-087").replace("12月2日", "12月3日")), 1),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name, first, second, stories", CASES, ids=IDS)
def test_fingerprints_are_close_and_the_rule_decides(name, first, second, stories):
    (_, sim_a), (_, sim_b) = fingerprints(first[0], first[1], "u"), fingerprints(second[0], second[1], "v")
    assert is_near(sim_a, sim_b), f"{name}: not SimHash-near, so this case would not test the rule"
    assert same_story(*first, *second) is (stories == 1)
    assert same_story(*second, *first) is (stories == 1), "the rule is symmetric"


@pytest.mark.parametrize("name, first, second, stories", CASES, ids=IDS)
def test_the_store_keeps_templated_briefs_apart_and_merges_copies(store, name, first, second, stories):
    def new(url: str, title: str, text: str) -> NewStory:
        return NewStory(url=url, source="wire", title=title, text=text, lang=None, published=None,
                        date_is_first_seen=True)

    a = store.add_story(new("https://wire.example/1", *first), timedelta(days=7))
    b = store.add_story(new("https://other.example/2", *second), timedelta(days=7))
    assert a.status == "new"
    assert b.status == ("duplicate" if stories == 1 else "new"), name
    assert len(store.stories()) == stories


def test_ten_templated_briefs_are_ten_stories(store):
    """The issue's measurement: ten machine-written briefs differing only by an id and one number."""
    for i in range(10):
        text = EN_8K.format(name="Acme Corp", ticker="ACME", accession=f"0001193125-26-3123{i:02d}")
        text = text.replace("item 5.02", f"item {i + 1}.01")
        added = store.add_story(NewStory(url=f"https://wire.example/{i}", source="wire", title=f"ACME 8-K {i}",
                                         text=text, lang="en", published=None, date_is_first_seen=True),
                                timedelta(days=7))
        assert added.status == "new", i
    assert len(store.stories()) == 10


def test_exact_same_text_under_another_headline_is_still_a_copy(store):
    text = EN_STORY * 2
    store.add_story(NewStory(url="https://a.example/1", source="s", title="iFlytek model trained at home",
                             text=text, lang="en", published=None, date_is_first_seen=True), timedelta(days=7))
    copy = store.add_story(NewStory(url="https://b.example/1", source="s", title="China's iFlytek hails AI milestone",
                                    text=text, lang="en", published=None, date_is_first_seen=True), timedelta(days=7))
    assert copy.status == "duplicate"


def _reference_simhash(text: str) -> int | None:
    """The SimHash as first written (one shift per byte): stored fingerprints must keep their values."""
    import hashlib

    from crawler.dedupe.fingerprint import MIN_TOKENS, tokens

    toks = tokens(text)
    if len(toks) < MIN_TOKENS:
        return None
    counts = [0] * 64
    for i in range(len(toks) - 2):
        h = int.from_bytes(hashlib.blake2b(" ".join(toks[i : i + 3]).encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            counts[bit] += h >> bit & 1
    value = sum(1 << bit for bit in range(64) if counts[bit] * 2 > len(toks) - 2)
    return value - (1 << 64) if value >= 1 << 63 else value


@pytest.mark.parametrize("text", [EN_STORY * 3, ZH_NOTICE.format(number="2026-087") * 2, "short text", ""])
def test_simhash_values_are_stable(text):
    from crawler.dedupe.fingerprint import content_hash, simhash

    assert simhash(text) == _reference_simhash(text)
    assert fingerprints("t", text, "u") == ((content_hash(text) if text else content_hash("t\nu")), simhash(text))
