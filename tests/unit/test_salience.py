"""Rule salience (issue 13): `in: [title]` / `in: [title, lead]` and `min_mentions: N` (alerts.rules.matcher,
"Salience"), their config errors, `rules test`'s counts, and the planner storing no match for a passing mention."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from alerts.delivery.outbox import planner
from alerts.rules.matcher import RuleError, RuleSet, RuleSpec, StoryFields
from crawler.cli.explain import mentions
from crawler.cli.main import main
from crawler.config.model import ConfigError, compile_rules, parse_config
from crawler.items import NewStory
from crawler.store.database import Match, Outbox, Store

FILLER = "Shares of several firms moved on Tuesday as investors weighed the quarter. "  # 75 characters, ASCII


def _text_with(term: str, at: int, total: int = 2500) -> str:
    """ASCII filler with `term` as a word starting at character `at` (folding keeps ASCII filler's length)."""
    pad = (FILLER * (total // len(FILLER) + 2))
    return pad[:at - 1] + " " + term + " " + pad[at:total]


LIST = "AI companies at the fair: Baidu, Alibaba, iFlytek, SenseTime, Megvii, Zhipu, Moonshot and others."

# (id, rule keys, title, text, matches)
CASES = [
    ("passing-mention-not-in-title", {"any": ["iFlytek"], "in": ["title"]}, "AI fair opens in Shanghai", LIST, False),
    ("in-title", {"any": ["iFlytek"], "in": ["title"]}, "iFlytek unveils Spark 4.0", LIST, True),
    ("title-folded-fullwidth", {"any": ["iFlytek"], "in": ["title"]}, "ＩＦＬＹＴＥＫ unveils Spark", "", True),
    ("lead-at-100", {"any": ["iFlytek"], "in": ["title", "lead"]}, "AI fair", _text_with("iFlytek", 100), True),
    ("lead-at-2000", {"any": ["iFlytek"], "in": ["title", "lead"]}, "AI fair", _text_with("iFlytek", 2000), False),
    ("lead-only-not-title", {"any": ["iFlytek"], "in": ["lead"]}, "iFlytek unveils", _text_with("x", 5), False),
    ("lead-straddling-300-latin", {"any": ["iFlytek"], "in": ["lead"]}, "", _text_with("iFlytek", 297), True),
    ("lead-starting-at-300", {"any": ["iFlytek"], "in": ["lead"]}, "", _text_with("iFlytek", 300), False),
    ("lead-straddling-300-cjk", {"any": ["科大讯飞"], "in": ["lead"]}, "", "国" * 298 + "科大訊飛发布", True),
    ("lead-cjk-after-300", {"any": ["科大讯飞"], "in": ["lead"]}, "", "国" * 300 + "科大讯飞发布", False),
    # the lead counts folded characters: a whitespace run is one, so 400 raw characters of "a \n\n " are 200
    ("lead-counts-folded-whitespace", {"any": ["iFlytek"], "in": ["lead"]}, "", "a \n\n " * 80 + "iFlytek", True),
    ("min-mentions-1-of-2", {"any": ["iFlytek"], "min_mentions": 2}, "AI fair", LIST, False),
    ("min-mentions-2-of-2", {"any": ["iFlytek"], "min_mentions": 2}, "iFlytek unveils Spark", LIST, True),
    ("min-mentions-traditional", {"any": ["科大讯飞"], "min_mentions": 2}, "科大訊飛发布新品", "科大讯飞表示", True),
    ("min-mentions-synonyms-add-up", {"any": ["iFlytek", "科大讯飞"], "min_mentions": 2}, "", "iFlytek（科大訊飛）", True),
    ("overlapping-terms-one-mention", {"any": ["科大讯飞", "讯飞"], "min_mentions": 2}, "", "科大讯飞发布", False),
    ("overlapping-terms-then-another", {"any": ["科大讯飞", "讯飞"], "min_mentions": 2}, "", "科大讯飞发布，讯飞称", True),
    ("veto-still-everywhere", {"any": ["iFlytek"], "none": ["advertorial"], "in": ["title"]},
     "iFlytek unveils Spark", "An advertorial.", False),
    ("all-term-must-be-in-title", {"any": ["iFlytek"], "all": ["earnings"], "in": ["title"]},
     "iFlytek results", "Its earnings rose.", False),
    ("all-and-any-in-title", {"any": ["iFlytek"], "all": ["earnings"], "in": ["title"]},
     "iFlytek earnings rise", "", True),
    ("one-any-term-in-title-is-enough", {"any": ["iFlytek", "Baidu"], "in": ["title"]}, "Baidu cuts prices", LIST,
     True),
    ("ticker-mentions-are-not-restricted", {"any": ["科大讯飞"], "tickers": ["002230.SZ"], "in": ["title"]},
     "科大讯飞设立子公司", "公司（002230）公告", True),
    ("default-matches-a-passing-mention", {"any": ["iFlytek"]}, "AI fair opens", LIST, True),
]


def _spec(name: str, keys: dict) -> RuleSpec:
    return RuleSpec(name, **{("in_" if k == "in" else k): tuple(v) if isinstance(v, list) else v
                             for k, v in keys.items()})


@pytest.mark.parametrize("name, keys, title, text, matches", CASES, ids=[c[0] for c in CASES])
def test_salience_case(name, keys, title, text, matches):
    rules = RuleSet.compile([_spec(name, keys)])
    assert bool(rules.match(title, text)) is matches, rules.explain(title, text)[0]["reason"]
    [report] = rules.explain(title, text)
    assert report["matched"] is matches


def test_defaults_are_todays_rules():
    plain, explicit = RuleSpec("r", any=("iFlytek",)), RuleSpec("r", any=("iFlytek",), in_=(), min_mentions=1)
    for title, text in (("AI fair", LIST), ("", ""), ("iFlytek", "")):
        assert RuleSet.compile([plain]).match(title, text) == RuleSet.compile([explicit]).match(title, text)


@pytest.mark.parametrize("keys, title, text, reason", [
    ({"any": ["iFlytek"], "in": ["title"]}, "AI fair", LIST, "not in title: 'iFlytek' only in lead"),
    ({"any": ["iFlytek"], "in": ["title", "lead"]}, "AI fair", _text_with("iFlytek", 2000),
     "not in title or lead: 'iFlytek' only in text"),
    ({"any": ["iFlytek"], "min_mentions": 2}, "AI fair", LIST, "not salient: 'iFlytek' 1 mention, needs 2"),
    ({"any": ["iFlytek", "科大讯飞"], "min_mentions": 3}, "iFlytek", "科大訊飛",
     "not salient: 'iFlytek', '科大讯飞' 2 mentions, needs 3"),
    ({"any": ["iFlytek"], "all": ["earnings"], "in": ["title"]}, "iFlytek", "earnings",
     "not in title: all-term(s) 'earnings' only in lead"),
    ({"any": ["iFlytek"], "none": ["advertorial"], "in": ["title"]}, "", "iFlytek advertorial",
     "vetoed by 'advertorial'"),  # checks keep their documented order: the veto comes first
], ids=["not-in-title", "not-in-title-or-lead", "one-mention", "synonyms-two-mentions", "all-term-not-in-title",
        "veto-first"])
def test_explain_says_why_a_rule_is_not_salient(keys, title, text, reason):
    [report] = RuleSet.compile([_spec("r", keys)]).explain(title, text)
    assert report["reason"] == reason and report["matched"] is False


def test_explain_counts_mentions_by_place():
    rules = RuleSet.compile([RuleSpec("r", any=("iFlytek", "科大讯飞"), in_=("title",), min_mentions=2)])
    [report] = rules.explain("iFlytek unveils Spark", _text_with("科大訊飛", 10) + " iFlytek again")
    assert report["matched"] is True
    assert report["salience"] == {
        "in": ["title"], "min_mentions": 2, "mentions": 3, "where": {"title": 1, "lead": 1, "text": 1},
        "terms": [{"term": "iFlytek", "title": 1, "lead": 0, "text": 1},
                  {"term": "科大讯飞", "title": 0, "lead": 1, "text": 0}]}
    [plain] = RuleSet.compile([RuleSpec("p", any=("x",))]).explain("", "nothing")
    assert plain["salience"] == {"in": None, "min_mentions": 1, "mentions": 0,
                                 "where": {"title": 0, "lead": 0, "text": 0}, "terms": []}


def test_the_rules_test_line_of_mentions():
    assert mentions({"in": ["title"], "min_mentions": 2, "mentions": 1,
                     "where": {"title": 0, "lead": 1, "text": 0}}) == "1 mention: title 0, lead 1, text 0; in: title; needs 2"
    assert mentions({"in": None, "min_mentions": 1, "mentions": 0, "where": {"title": 0, "lead": 0, "text": 0}}) is None


def test_compile_checks_salience():
    with pytest.raises(RuleError) as err:
        RuleSet.compile([RuleSpec("a", any=("x",), in_=("title", "body")),
                         RuleSpec("b", tickers=("002230.SZ",), in_=("title",)),
                         RuleSpec("c", categories=("停牌",), min_mentions=2),
                         RuleSpec("d", any=("x",), min_mentions=0)])
    keys = [(i, key) for i, key, _ in err.value.problems]
    assert keys == [(0, "in[1]"), (1, "in"), (2, "min_mentions"), (3, "min_mentions")], err.value.problems


MINIMAL = "rules:\n  - name: r\n"


@pytest.mark.parametrize("rule, expected", [
    ("    any: [x]\n    in: [title, body]\n", "config.yaml:4: rules[0].in[1]: Input should be 'title' or 'lead'"),
    ("    any: [x]\n    in: []\n", "config.yaml:4: rules[0].in: names no place"),
    ("    any: [x]\n    min_mentions: 0\n", "config.yaml:4: rules[0].min_mentions: Input should be greater than"),
    ("    tickers: [002230.SZ]\n    in: [title]\n", "config.yaml:4: 'in' needs 'any' or 'all' terms"),
    ("    categories: [停牌]\n    min_mentions: 2\n", "config.yaml:4: 'min_mentions' needs 'any' or 'all' terms"),
    ("    any: [x]\n    inn: [title]\n", "config.yaml:4: unknown key 'inn' in rules[0]; did you mean 'in'?"),
], ids=["in-unknown-place", "in-empty", "min-mentions-0", "in-without-terms", "min-mentions-without-terms",
        "in-misspelt"])
def test_config_errors_name_the_line(tmp_path, rule, expected):
    with pytest.raises(ConfigError) as err:
        parse_config(MINIMAL + rule, tmp_path / "config.yaml", {})
    assert any(p.startswith(f"{tmp_path}/{expected}") for p in err.value.problems), err.value.problems


def test_config_keys_reach_the_matcher(tmp_path):
    config = parse_config(MINIMAL + "    any: [iFlytek]\n    in: title\n    min_mentions: 2\n",
                          tmp_path / "config.yaml", {})
    assert config.rules[0].in_ == ("title",) and config.rules[0].min_mentions == 2
    rules = compile_rules(config)
    assert not rules.match("iFlytek unveils Spark", "")   # in the title, but only once
    assert rules.match("iFlytek unveils Spark", LIST)


CONFIG = """store: sqlite:///{db}
rules:
  - name: about
    any: [iFlytek]
    in: [title]
    notify: [desk]
  - name: any-mention
    any: [iFlytek]
    notify: [desk]
notifiers:
  desk:
    url: "json://127.0.0.1:9/x"
"""


def test_the_planner_stores_no_match_for_a_story_that_is_not_salient(tmp_path):
    """A rule failing salience does not match: no `matches` row and nothing queued for it (the other rule's
    match of the same story is stored and queued as before)."""
    config = parse_config(CONFIG.format(db=tmp_path / "store.db"), tmp_path / "config.yaml", {})
    store = Store(config.store)
    try:
        plan = planner(config, compile_rules(config))
        now = datetime.now(timezone.utc)
        for i, title in enumerate(["AI fair opens in Shanghai", "iFlytek unveils Spark 4.0"]):
            store.add_story(NewStory(f"https://news.example/{i}", "s", title, LIST + f" Story {i}.", "en", now,
                                     False), timedelta(days=7), plan)
        with store.session() as s:
            matched = sorted((m.story_id, m.rule) for m in s.scalars(select(Match)))
            queued = sorted((o.story_id, tuple(o.rules)) for o in s.scalars(select(Outbox)))
        passing, about = sorted({sid for sid, _ in matched})
        assert matched == [(passing, "any-mention"), (about, "about"), (about, "any-mention")]
        assert queued == [(passing, ("any-mention",)), (about, ("about", "any-mention"))]
    finally:
        store.close()


def test_rules_test_reports_counts_and_why(tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text("rules:\n  - name: about\n    any: [iFlytek]\n    in: [title]\n"
                    "  - name: often\n    any: [iFlytek]\n    min_mentions: 2\n", encoding="utf-8")
    assert main(["rules", "test", "-c", str(path), LIST]) == 0
    out = capsys.readouterr().out
    assert "no    about: not in title: 'iFlytek' only in lead\n        1 mention: title 0, lead 1, text 0; in: title" \
        in out, out
    assert "no    often: not salient: 'iFlytek' 1 mention, needs 2" in out, out
    assert main(["rules", "test", "--json", "-c", str(path), LIST]) == 0
    report = {r["rule"]: r for r in json.loads(capsys.readouterr().out)}
    assert report["about"]["salience"]["where"] == {"title": 0, "lead": 1, "text": 0}
    assert report["often"]["salience"]["mentions"] == 1 and report["often"]["salience"]["min_mentions"] == 2


def test_story_fields_do_not_make_a_story_salient():
    """A ticker field match is a filter: with `in: [title]` the any-term must still be in the title."""
    rules = RuleSet.compile([RuleSpec("r", any=("科大讯飞",), tickers=("002230.SZ",), in_=("title",))])
    assert not rules.match("公告", "科大讯飞设立子公司", StoryFields(tickers=("002230.SZ",)))
    assert rules.match("科大讯飞公告", "", StoryFields(tickers=("002230.SZ",)))
