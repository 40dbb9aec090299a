"""`newsradar rules test --since`: the current rules over stored stories, against what was alerted at the time.

Stories are stored through the real planner with the rules of the time; the config is then edited and the
backtest run in process (crawler.cli.main.main). The period ends at `--now`, given relative to the stories'
real first-seen times, so nothing depends on today's date."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from alerts.delivery.outbox import planner
from crawler.cli.backtest import _read_only
from crawler.cli.main import main
from crawler.config.model import compile_rules, parse_config
from crawler.items import NewStory
from crawler.store.database import Base, Store, Story

RULES_THEN = """
  - name: iflytek
    any: [iFlytek]
    notify: [desk]
  - name: compute
    any: [computing power]
    notify: [desk]
"""
# iflytek now also takes Cambricon and vetoes advertorials; compute is unchanged
RULES_NOW = """
  - name: iflytek
    any: [iFlytek, Cambricon]
    none: [advertorial]
    notify: [desk]
  - name: compute
    any: [computing power]
    notify: [desk]
"""

# (url path, title, first words of the text, published days before first seen)
STORIES = [
    ("a", "iFlytek opens a lab", "iFlytek said domestic computing power is key.", 0),
    ("b", "Cambricon ships a chip", "Cambricon said its new chip is ready.", 0),
    ("c", "iFlytek advertorial", "An advertorial about iFlytek speakers.", 0),
    ("d", "iFlytek results of 2019", "iFlytek reported its results years ago.", 30),  # older than max_age (2d)
    ("e", "Weather", "Rain in Hefei tomorrow.", 0),
]


def _config_text(tmp_path: Path, rules: str) -> str:
    return f"""store: sqlite:///{tmp_path / 'store.db'}
rules:{rules}
notifiers:
  desk:
    url: "json://127.0.0.1:9/hook"
"""


def _write_config(tmp_path: Path, rules: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(_config_text(tmp_path, rules), encoding="utf-8")
    path.chmod(0o600)
    return path


def _body(lead: str, i: int) -> str:
    return lead + " " + " ".join(f"w{i}x{j}" for j in range(80))


@pytest.fixture
def stored(tmp_path):
    """A store filled with STORIES (plus a syndicated copy of story a) under RULES_THEN; the config file then
    holds RULES_NOW. Returns (config path, the --now to pass)."""
    config = parse_config(_config_text(tmp_path, RULES_THEN), tmp_path / "config.yaml", {})
    store = Store(config.store)
    plan = planner(config, compile_rules(config))
    for i, (path, title, lead, age) in enumerate(STORIES):
        published = datetime.now(timezone.utc) - timedelta(days=age)
        store.add_story(NewStory(f"https://news.example/{path}", "wire", title, _body(lead, i), "en", published,
                                 False), timedelta(days=7), plan)
    copy = store.add_story(NewStory("https://other.example/a-copy", "other", STORIES[0][1], _body(STORIES[0][2], 0),
                                    "en", datetime.now(timezone.utc), False), timedelta(days=7), plan)
    assert copy.status == "duplicate"
    # story e was first seen ten days ago: outside a 7-day period
    with store.session.begin() as s:
        s.execute(update(Story).where(Story.url == "https://news.example/e")
                  .values(first_seen=datetime.now(timezone.utc) - timedelta(days=10)))
    store.close()
    now = (datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat()
    return _write_config(tmp_path, RULES_NOW), now


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["rules", "test", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_json_lists_what_would_alert_and_what_differs(stored, capsys):
    config, now = stored
    code, out, _ = _run(capsys, "--since", "7d", "--now", now, "--json", "-c", str(config))
    assert code == 0
    rows = _lines(out)
    assert all(set(r) == {"rule", "url", "title", "published", "thread", "alerted", "would_alert"} for r in rows)
    got = {(r["rule"], r["url"].rsplit("/", 1)[1]): (r["would_alert"], r["alerted"]) for r in rows}
    assert got == {
        ("iflytek", "a"): (True, True),     # unchanged
        ("compute", "a"): (True, True),
        ("iflytek", "b"): (True, False),    # + Cambricon is a term now
        ("iflytek", "c"): (False, True),    # - vetoed by advertorial now
    }  # d: too old when first seen (then and now); e: outside the period; the copy of a: skipped
    a = next(r for r in rows if r["url"].endswith("/a"))
    assert a["title"] == "iFlytek opens a lab" and a["thread"] is None
    assert datetime.fromisoformat(a["published"]).utcoffset() is not None


def test_text_has_a_header_per_rule_and_marks_the_differences(stored, capsys):
    config, now = stored
    code, out, _ = _run(capsys, "--since", "7d", "--now", now, "-c", str(config))
    assert code == 0
    lines = out.splitlines()
    assert "iflytek: 2 would alert (2 alerted then); + 1 new, - 1 no longer" in lines
    assert "compute: 1 would alert (1 alerted then); + 0 new, - 0 no longer" in lines
    iflytek = lines[lines.index("iflytek: 2 would alert (2 alerted then); + 1 new, - 1 no longer") + 1:][:3]
    assert [(line[:4], line.rsplit("/", 1)[1]) for line in iflytek] == [("    ", "a"), ("  + ", "b"), ("  - ", "c")]
    assert "iFlytek opens a lab" in iflytek[0]


def test_rule_filter_and_a_shorter_period(stored, capsys):
    config, now = stored
    _, out, _ = _run(capsys, "--since", "7d", "--now", now, "--json", "--rule", "compute", "-c", str(config))
    assert {r["rule"] for r in _lines(out)} == {"compute"}
    # the period ends before anything was stored: nothing in it
    before = (datetime.fromisoformat(now) - timedelta(hours=1)).isoformat()
    _, out, _ = _run(capsys, "--since", "7d", "--now", before, "--json", "-c", str(config))
    assert out == ""
    # 11 days reach story e, first seen 10 days ago; it matches no rule
    _, out, _ = _run(capsys, "--since", "11d", "--now", now, "--json", "-c", str(config))
    assert not [r for r in _lines(out) if r["url"].endswith("/e")] and len(_lines(out)) == 4


def test_a_rule_that_notifies_nobody_would_not_alert(stored, capsys, tmp_path):
    config, now = stored
    _write_config(tmp_path, RULES_NOW.replace("any: [computing power]\n    notify: [desk]",
                                              "any: [computing power]\n    notify: []"))
    code, out, _ = _run(capsys, "--since", "7d", "--now", now, "--json", "--rule", "compute", "-c", str(config))
    assert code == 0
    assert [(r["url"].rsplit("/", 1)[1], r["would_alert"], r["alerted"]) for r in _lines(out)] == [("a", False, True)]


def test_unknown_rule_and_bad_combinations_exit_2(stored, capsys):
    config, now = stored
    code, _, err = _run(capsys, "--since", "7d", "--rule", "nosuch", "-c", str(config))
    assert code == 2 and "nosuch" in err
    code, _, err = _run(capsys, "--since", "7d", "iFlytek text", "-c", str(config))
    assert code == 2 and "not both" in err
    code, _, err = _run(capsys, "-c", str(config))
    assert code == 2 and "--since" in err
    code, _, err = _run(capsys, "--rule", "iflytek", "some text", "-c", str(config))
    assert code == 2 and "--since" in err
    code, _, err = _run(capsys, "--since", "soon", "-c", str(config))
    assert code == 2 and "duration" in err


def test_it_writes_nothing(stored, capsys, tmp_path):
    config, now = stored
    store = Store(f"sqlite:///{tmp_path / 'store.db'}", create=False)

    def counts() -> dict[str, int]:
        with store.session() as s:
            return {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}

    before = counts()
    assert before["outbox"] and before["matches"]
    for extra in (["--json"], []):
        assert _run(capsys, "--since", "30d", "--now", now, "-c", str(config), *extra)[0] == 0
    assert counts() == before
    store.close()


def test_a_missing_store_is_an_error_and_is_not_created(tmp_path, capsys):
    config = _write_config(tmp_path, RULES_NOW)
    code, _, err = _run(capsys, "--since", "7d", "-c", str(config))
    assert code == 1 and "no store" in err
    assert not (tmp_path / "store.db").exists()


def test_the_backtest_connection_refuses_writes(stored, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}", create=False)
    with _read_only(store) as conn, pytest.raises(OperationalError, match="readonly"):
        conn.execute(update(Story).values(title="changed"))
    with store.session.begin() as s:  # the pooled connection went back writable, for other users of the engine
        s.execute(update(Story).where(Story.id == -1).values(title="x"))
    store.close()


def test_a_later_story_of_an_event_thread_does_not_count_again(tmp_path, capsys):
    """Issue 13: as in the alert path, the first story of a thread alerts; a rewrite from another outlet would be a
    follow-up, so the backtest does not list it as an alert."""
    config = parse_config(_config_text(tmp_path, RULES_THEN), tmp_path / "config.yaml", {})
    store = Store(config.store)
    plan = planner(config, compile_rules(config))
    lead = ("iFlytek unveiled its Spark X2 large language model on Tuesday in Hefei, saying it was trained on "
            "domestic chips and would be offered to banks and brokers first. The company said the model matches "
            "leading foreign systems on reasoning tests and that a version for hospitals follows in the spring. "
            "Shares of the Hefei-based firm rose in early trading. ")
    for i, source in enumerate(("wire", "paper")):
        story = NewStory(f"https://{source}.example/x", source, "iFlytek unveils Spark X2", _body(lead, i) + f" {source}"
                         * 40, "en", datetime.now(timezone.utc), False)
        store.add_story(story, timedelta(days=7), plan, thread_window=timedelta(hours=6))
    with store.session() as s:
        assert len(set(s.scalars(select(Story.thread_id)))) == 1, "one thread"
    store.close()
    path = _write_config(tmp_path, RULES_THEN)
    now = (datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat()
    assert main(["rules", "test", "--since", "1d", "--now", now, "--json", "--rule", "iflytek", "-c", str(path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(row["url"], row["would_alert"], row["alerted"]) for row in lines] == [("https://wire.example/x", True, True)]
