"""Event threads, follow-ups and bursts in the alert path (issue 13), through the real store and planner.

Same-event stories here share their headline and lead (a rewritten wire keeps both) but not their bodies, so they
are not syndicated copies; the similarity method itself is tested in tests/unit/test_threads.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from alerts.delivery.outbox import Sender, planner
from crawler.config.model import compile_rules, parse_config
from crawler.items import NewStory
from crawler.store.database import Outbox, Store, Story

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
LEAD = ("iFlytek unveiled its Spark X2 large language model on Tuesday in Hefei, saying it was trained entirely on "
        "domestic computing power from Huawei Ascend chips and would be offered to banks and brokers first. ")


def _config(tmp_path, port, threads="", rules=""):
    text = f"""store: sqlite:///{tmp_path / 's.db'}
{threads}
rules:
  - name: iflytek
    any: [iFlytek, 科大讯飞]
    notify: [desk]
{rules}
notifiers:
  desk:
    url: "json://127.0.0.1:{port}/desk"
"""
    return parse_config(text, tmp_path / "config.yaml", {})


class World:
    """A config and a store (SQLite in tmp_path, or PostgreSQL: the `store` fixture's)."""

    def __init__(self, config, store: Store | None = None):
        self.config = config
        self.store = store or Store(config.store)
        self.clock = T0

    def add(self, source: str, title: str, body_seed: str, lead: str = LEAD, at: timedelta = timedelta(0)):
        self.clock = T0 + at
        body = lead + " ".join(f"{body_seed}{j} detail{j % 7}" for j in range(80))
        story = NewStory(f"https://{source}.example/{body_seed}", source, title, body, "en", self.clock, False)
        plan = planner(self.config, compile_rules(self.config), now=lambda: self.clock)
        return self.store.add_story(story, timedelta(days=7), plan, thread_window=self.config.threads.window,
                                    now=self.clock)

    def rows(self, kind=None) -> list[Outbox]:
        with self.store.session() as s:
            q = select(Outbox).order_by(Outbox.id)
            return list(s.scalars(q.where(Outbox.kind == kind) if kind else q))

    def story(self, story_id: int) -> Story:
        with self.store.session() as s:
            return s.get(Story, story_id)


@pytest.fixture
def world(tmp_path, http_receiver, store):
    return World(_config(tmp_path, http_receiver.port), store)


TITLE = "iFlytek unveils Spark X2 model trained on domestic computing power"


def test_one_event_from_two_outlets_is_one_thread_and_one_alert(world):
    first = world.add("wire", TITLE, "a")
    second = world.add("paper", TITLE + " - Paper", "b", at=timedelta(minutes=20))
    assert second.status == "new", "a rewrite, not a syndicated copy"
    a, b = world.story(first.story_id), world.story(second.story_id)
    assert a.thread_id == b.thread_id == a.id
    (alert,) = world.rows("alert")
    assert alert.story_id == a.id and second.outbox_ids != [] and "part of thread" in b.not_alerted
    assert world.store.thread_sizes({a.id}) == {a.id: 2}


def test_a_different_story_the_same_day_is_its_own_thread(world):
    world.add("wire", TITLE, "a")
    other = world.add("paper", "iFlytek shares fall as first-half profit drops", "c",
                      lead="Shares of iFlytek fell 4 per cent in Shenzhen after the company reported that its "
                           "first-half net profit dropped on higher research spending and slower government orders. ",
                      at=timedelta(hours=2))
    assert world.story(other.story_id).thread_id == other.story_id
    assert len(world.rows("alert")) == 2


def test_later_stories_go_out_as_one_follow_up_per_period(world, http_receiver):
    world.add("wire", TITLE, "a")
    sender = Sender(world.store, world.config, clock=lambda: world.clock)
    assert sender.send_due().sent == 1
    world.add("paper", TITLE + " - Paper", "b", at=timedelta(minutes=10))
    world.add("daily", TITLE + " | Daily", "d", at=timedelta(minutes=30))
    (follow,) = world.rows("followup")
    assert follow.next_attempt == T0 + timedelta(hours=1), "one followup after the thread's alert"
    assert [src for src, _, _ in follow.payload["stories"]] == ["paper", "daily"]
    assert sender.send_due().sent == 0, "not due yet"
    world.clock = T0 + timedelta(hours=1)
    assert sender.send_due().sent == 1
    message = http_receiver.requests[-1].json
    assert message["title"].startswith("+2 more sources: paper, daily") and "https://daily.example/d" in message[
        "message"]
    world.add("late", TITLE + " (late)", "e", at=timedelta(hours=1, minutes=5))
    second = world.rows("followup")[-1]
    assert second.id != follow.id and second.next_attempt == T0 + timedelta(hours=2)


def test_the_first_alert_names_the_outlets_that_also_reported(world, http_receiver):
    world.add("wire", TITLE, "a")
    world.add("paper", TITLE + " - Paper", "b", at=timedelta(minutes=5))
    Sender(world.store, world.config, clock=lambda: world.clock).send_due()
    assert "Also reported by: paper" in http_receiver.requests[0].json["message"]


def test_follow_ups_off(tmp_path, http_receiver, store):
    world = World(_config(tmp_path, http_receiver.port, threads="threads: {followup: off}"), store)
    world.add("wire", TITLE, "a")
    later = world.add("paper", TITLE + " - Paper", "b", at=timedelta(minutes=5))
    assert world.rows("followup") == [] and later.outbox_ids == []
    assert "sent as a follow-up" not in world.story(later.story_id).not_alerted


BURST = """  - name: wave
    any: [iFlytek]
    notify: [desk]
    burst: {stories: 5, within: 30m}"""


def _event(world, i: int, minutes: int):
    return world.add(f"s{i}", f"Event {i}: iFlytek item number {i} of the day",
                     f"e{i}x", lead=f"Unrelated report {i} " + " ".join(f"topic{i}w{j}" for j in range(30)) + ". ",
                     at=timedelta(minutes=minutes))


def test_six_threads_in_twenty_minutes_are_one_burst_alert_even_across_a_restart(tmp_path, http_receiver, store):
    config = _config(tmp_path, http_receiver.port, rules=BURST)
    world = World(config, store)
    for i in range(3):
        _event(world, i, i * 4)
    world = World(config, Store(store.url))  # a restart in the middle of the wave: the state is in the store
    for i in range(3, 6):
        _event(world, i, i * 4)
    (burst,) = world.rows("burst")
    assert burst.urgent and burst.payload["title"].startswith("Burst: wave: 5 stories within 30m")
    assert burst.created == T0 + timedelta(minutes=16), "the fifth thread fires it"
    _event(world, 6, 40)  # still within 30 min of the last story that kept the count up
    assert len(world.rows("burst")) == 1
    for i in range(7, 12):  # after a quiet window, a new wave alerts again
        _event(world, i, 120 + i)
    assert len(world.rows("burst")) == 2
    world.store.close()


def test_follow_ups_off_lists_later_stories_in_a_digest_notifier_s_next_digest(tmp_path, http_receiver, store):
    text = f"""store: sqlite:///{tmp_path / 's.db'}
threads: {{followup: off}}
rules:
  - name: iflytek
    any: [iFlytek]
    notify: [desk, daily]
notifiers:
  desk:
    url: "json://127.0.0.1:{http_receiver.port}/desk"
  daily:
    url: "json://127.0.0.1:{http_receiver.port}/daily"
    digest: 1h
"""
    world = World(parse_config(text, tmp_path / "config.yaml", {}), store)
    world.add("wire", TITLE, "a")
    later = world.add("paper", TITLE + " - Paper", "b", at=timedelta(minutes=5))
    rows = [r for r in world.rows("alert") if r.story_id == later.story_id]
    assert [(r.notifier, r.urgent) for r in rows] == [("daily", False)], "only the digest notifier lists it"
    assert "already alerted to desk" in world.story(later.story_id).not_alerted


def test_the_report_lists_a_thread_once_with_its_other_sources(world):
    from crawler.report.queries import build_report

    world.add("wire", TITLE, "a")
    world.add("paper", TITLE + " - Paper", "b", at=timedelta(minutes=5))
    world.add("daily", "iFlytek shares fall as first-half profit drops", "c",
              lead="Shares of iFlytek fell 4 per cent in Shenzhen after the company reported that its first-half "
                   "net profit dropped on higher research spending and slower government orders. ",
              at=timedelta(minutes=10))
    numbers = build_report(world.store, world.config, now=T0 + timedelta(hours=1), since=timedelta(days=1))
    (group,) = [g for g in numbers["groups"] if g["name"] == "iflytek"]
    assert group["mentions"] == 3, "mentions count stories"
    assert [(st["source"], st["also"]) for st in group["top"]] == [("wire", ["paper"]), ("daily", [])]


def test_one_outlet_s_templated_briefs_are_never_one_thread(world):
    """Issue 17's briefs (one template, another notice number) from one wire are its items: each alerts."""
    notice = ("iFlytek (002230) said on Monday it had received an inquiry letter from the Shenzhen Stock Exchange, "
              "notice number {n}, asking it to explain the progress of a major contract and its revenue "
              "recognition; the company said it would reply on time and disclose the answer. ")
    first = world.add("wire", "iFlytek receives an exchange inquiry letter", "n1", lead=notice.format(n="2026-081"))
    second = world.add("wire", "iFlytek receives an exchange inquiry letter", "n2", lead=notice.format(n="2026-082"),
                       at=timedelta(minutes=30))
    assert second.status == "new"
    assert world.story(second.story_id).thread_id == second.story_id != world.story(first.story_id).thread_id
    assert len(world.rows("alert")) == 2
