"""Scheduled reports (issue 15): `notifiers.NAME.report: {every, at}` queues the report of each slot once, as
outbox rows delivered and retried like alerts: HTML with its charts to mail, a short text with the link to chat."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from alerts.delivery.outbox import Sender, planner
from crawler.config.alerting import ReportSchedule
from crawler.config.model import ConfigError, compile_rules, parse_config
from crawler.items import NewStory
from crawler.report.schedule import last_slot, queue_due
from crawler.store.database import Outbox, Store
from tests.support.receivers import Reply

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def _at(tz, *parts) -> datetime:
    return datetime(*parts, tzinfo=tz)


@pytest.mark.parametrize("every, at, tz, now, slot", [
    ("1d", "08:00", SH, _at(SH, 2026, 3, 2, 9, 0), _at(SH, 2026, 3, 2, 8, 0)),
    ("1d", "08:00", SH, _at(SH, 2026, 3, 2, 7, 59), _at(SH, 2026, 3, 1, 8, 0)),
    ("1d", "08:00", SH, _at(SH, 2026, 3, 2, 8, 0), _at(SH, 2026, 3, 2, 8, 0)),
    ("7d", "08:00", SH, _at(SH, 2026, 3, 5, 12, 0), _at(SH, 2026, 3, 2, 8, 0)),   # Mondays
    ("6h", "02:00", SH, _at(SH, 2026, 3, 2, 13, 0), _at(SH, 2026, 3, 2, 8, 0)),
    ("6h", "02:00", SH, _at(SH, 2026, 3, 2, 1, 0), _at(SH, 2026, 3, 1, 20, 0)),
    ("1d", "08:00", NY, _at(NY, 2026, 3, 9, 9, 0), _at(NY, 2026, 3, 9, 8, 0)),    # the day after DST began
])
def test_slots_are_local_wall_clock_times(every, at, tz, now, slot):
    schedule = ReportSchedule(every=every, at=at)
    assert last_slot(schedule, tz, now.astimezone(timezone.utc)) == slot.astimezone(timezone.utc)


def test_a_daily_report_stays_at_eight_across_daylight_saving():
    schedule = ReportSchedule(every="1d", at="08:00")
    before = last_slot(schedule, NY, _at(NY, 2026, 3, 7, 9, 0))
    after = last_slot(schedule, NY, _at(NY, 2026, 3, 9, 9, 0))
    assert (before.hour, after.hour) == (13, 12)  # 08:00 EST, 08:00 EDT


CONFIG = """store: sqlite:///{db}
timezone: Asia/Shanghai
watchlists:
  iflytek: [iFlytek, 科大讯飞]
rules:
  - name: iflytek
    any: ["@iflytek"]
notifiers:
  chat:
    url: "json://127.0.0.1:{port}/chat"
    report: {{every: 1d, at: "08:00"}}
  mail:
    url: "{mail}"
    report: {{every: 1d, at: "08:00"}}
web:
  port: 8765
  url: https://radar.example.com/
"""


def _world(tmp_path, http_receiver, smtp_server):
    text_ = CONFIG.format(db=tmp_path / "s.db", port=http_receiver.port, mail=smtp_server.url())
    config = parse_config(text_, tmp_path / "config.yaml", {})
    store = Store(config.store)
    body = "科大讯飞 iFlytek said domestic computing power is key. " + " ".join(f"w{j}" for j in range(60))
    published = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    store.add_story(NewStory("https://news.example/1", "wire", "iFlytek unveils a model", body, "en", published,
                             False), timedelta(days=7), planner(config, compile_rules(config), now=lambda: published))
    return config, store


def _reports(store) -> list[Outbox]:
    with store.session() as s:
        return list(s.scalars(select(Outbox).where(Outbox.kind == "report").order_by(Outbox.id)))


def test_each_slot_is_queued_once_and_delivered_per_channel(tmp_path, http_receiver, smtp_server):
    config, store = _world(tmp_path, http_receiver, smtp_server)
    now = _at(SH, 2026, 3, 2, 8, 30)
    assert queue_due(store, config, now) == 2
    assert queue_due(store, config, now + timedelta(minutes=5)) == 0, "the same slot is not queued twice"
    chat, mail = _reports(store)
    assert chat.key == "report:chat:0:2026-03-02T00:00:00+00:00" and chat.payload["format"] == "text"
    assert "1d to 2026-03-02 08:00" in chat.payload["title"]

    assert Sender(store, config).send_due().sent == 2
    message = http_receiver.requests[0].json["message"]
    assert "iflytek: 1 mentions" in message and "https://news.example/1" in message
    assert "https://radar.example.com/report?since=1d" in message
    (sent,) = smtp_server.messages
    html = sent.get_body(("html",)).get_content()
    assert "<svg" in html and "iFlytek unveils a model" in html

    assert queue_due(store, config, now + timedelta(days=1)) == 2, "the next day's slot"


def test_a_daemon_back_after_days_sends_the_latest_report_once(tmp_path, http_receiver, smtp_server):
    config, store = _world(tmp_path, http_receiver, smtp_server)
    assert queue_due(store, config, _at(SH, 2026, 3, 5, 10, 0)) == 2
    assert [r.key for r in _reports(store)] == ["report:chat:0:2026-03-05T00:00:00+00:00",
                                                "report:mail:0:2026-03-05T00:00:00+00:00"]


def test_a_report_refused_is_retried(tmp_path, http_receiver, smtp_server):
    config, store = _world(tmp_path, http_receiver, smtp_server)
    http_receiver.script(Reply(status=503))
    now = datetime.now(timezone.utc)
    queue_due(store, config, now)
    report = Sender(store, config).send_due()
    assert report.sent == 1 and report.retried == 1
    chat = [r for r in _reports(store) if r.notifier == "chat"][0]
    assert chat.status == "pending" and chat.attempts == 1


def test_a_report_that_cannot_be_built_is_tried_again(tmp_path, http_receiver, smtp_server, caplog):
    config, store = _world(tmp_path, http_receiver, smtp_server)
    with store.session.begin() as s:
        s.execute(text("ALTER TABLE matches RENAME TO matches_away"))
    now = _at(SH, 2026, 3, 2, 8, 30)
    assert queue_due(store, config, now) == 0 and _reports(store) == []
    assert "report for chat not queued" in caplog.text
    with store.session.begin() as s:
        s.execute(text("ALTER TABLE matches_away RENAME TO matches"))
    assert queue_due(store, config, now) == 2


@pytest.mark.parametrize("report, problem", [
    ('{at: "25:00"}', "is not a time of day HH:MM"),
    ("{watchlists: [nosuch]}", "report names unknown watchlist 'nosuch'"),
    ("{every: 1d, when: 8}", "when"),
])
def test_a_bad_schedule_is_a_config_error(tmp_path, report, problem):
    text_ = f"""notifiers:
  chat:
    url: "json://127.0.0.1:9/chat"
    report: {report}
"""
    with pytest.raises(ConfigError) as err:
        parse_config(text_, tmp_path / "config.yaml", {})
    assert problem in str(err.value) and "config.yaml:4" in str(err.value)


def test_the_daemon_and_run_once_queue_reports_before_sending(tmp_path, http_receiver, smtp_server):
    import asyncio

    from crawler.run.wiring import Dispatcher

    config, store = _world(tmp_path, http_receiver, smtp_server)
    delivery = Dispatcher(store, config)
    try:
        report = asyncio.run(delivery.send_due())
    finally:
        delivery.close()
    assert report.sent == 2 and len(_reports(store)) == 2 and len(smtp_server.messages) == 1
