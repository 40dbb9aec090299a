"""Operator notices (issue 10: one delivery path): a source's change of health and dead alerts become outbox
rows (`kind: ops`), written with what they report, then claimed, retried and counted like any alert."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from alerts.delivery.outbox import Sender, notice_rows, planner
from crawler.cli.main import main
from crawler.config.model import compile_rules, parse_config
from crawler.items import NewStory
from crawler.run.health import record
from crawler.store.database import Outbox, Store, utcnow
from tests.support.receivers import Reply


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def _config(tmp_path, desk: str, ops: str | None):
    text = f"""store: sqlite:///{tmp_path / 'store.db'}
sources:
  - name: wire
    type: feed
    url: http://127.0.0.1:9/feed.xml
rules:
  - name: iflytek
    any: [iFlytek]
    notify: [desk]
notifiers:
  desk:
    url: "{desk}"
    max_attempts: 2
"""
    if ops:
        text += f"  ops:\n    url: \"{ops}\"\n    max_attempts: 2\nops: ops\n"
    (tmp_path / "config.yaml").write_text(text)
    return parse_config(text, tmp_path / "config.yaml", {})


def _rows(store: Store, kind: str | None = None) -> list[Outbox]:
    with store.session() as s:
        q = s.query(Outbox).order_by(Outbox.id)
        return list(q.filter(Outbox.kind == kind) if kind else q)


def _fail(store, config, times: int = 3):
    source = config.source("wire")
    return [record(store, config, source, False, "connection refused", 0) for _ in range(times)]


def test_a_source_turning_failing_queues_one_notice_with_the_change(tmp_path, closed_port):
    config = _config(tmp_path, f"json://127.0.0.1:{closed_port}/desk", f"json://127.0.0.1:{closed_port}/ops")
    store = Store(config.store)
    changes = _fail(store, config, 4)
    assert [c is not None for c in changes] == [False, False, True, False]
    (row,) = _rows(store)
    assert (row.kind, row.story_id, row.notifier, row.status) == ("ops", None, "ops", "pending")
    assert "source wire is failing: 3 errors in a row" in row.payload["body"]


def test_a_notice_the_ops_notifier_refuses_is_retried_not_lost(tmp_path, http_receiver):
    http_receiver.script(Reply(status=503))
    config = _config(tmp_path, f"json://127.0.0.1:{http_receiver.port}/desk",
                     f"json://127.0.0.1:{http_receiver.port}/ops")
    store = Store(config.store)
    _fail(store, config)
    clock = Clock()
    sender = Sender(store, config, clock=clock)
    first = sender.send_due()
    (row,) = _rows(store, "ops")
    assert first.retried == 1 and row.status == "pending" and row.attempts == 1 and row.last_error
    clock.now += timedelta(hours=1)
    assert sender.send_due().sent == 1
    (row,) = _rows(store, "ops")
    assert row.status == "sent"
    assert [json.loads(r.body)["message"] for r in http_receiver.requests][-1].startswith("newsradar: source wire")


def test_no_ops_notifier_means_no_notice_rows(tmp_path, closed_port):
    config = _config(tmp_path, f"json://127.0.0.1:{closed_port}/desk", None)
    store = Store(config.store)
    assert _fail(store, config)[-1] is not None
    assert _rows(store) == [] and notice_rows(config, "t", "b") == []


def test_dead_alerts_queue_one_notice_and_a_dead_notice_is_not_reported_again(tmp_path, closed_port):
    config = _config(tmp_path, f"json://127.0.0.1:{closed_port}/desk", f"json://127.0.0.1:{closed_port}/ops")
    store = Store(config.store)
    clock = Clock()
    body = "iFlytek said domestic computing power is key. " + " ".join(f"w{j}" for j in range(60))
    store.add_story(NewStory("https://news.example/1", "s", "iFlytek", body, "en", datetime.now(timezone.utc), False),
                    timedelta(days=7), planner(config, compile_rules(config), now=clock))
    sender = Sender(store, config, clock=clock)
    for _ in range(6):
        sender.send_due()
        clock.now += timedelta(hours=2)
    (alert,) = _rows(store, "alert")
    (notice,) = _rows(store, "ops")
    assert alert.status == "dead" and alert.reported
    assert notice.status == "dead" and f"nr-{alert.id}" in notice.payload["body"]


def test_outbox_lists_a_notice_with_its_title_and_kind(tmp_path, closed_port, capsys):
    config = _config(tmp_path, f"json://127.0.0.1:{closed_port}/desk", f"json://127.0.0.1:{closed_port}/ops")
    _fail(Store(config.store), config)
    assert main(["outbox", "--json", "-c", str(tmp_path / "config.yaml")]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    item = json.loads(line)
    assert item["kind"] == "ops" and item["story"].startswith("newsradar: source wire is failing")


def test_the_report_counts_alerts_not_notices(tmp_path, http_receiver):
    from crawler.report.queries import build_report

    config = _config(tmp_path, f"json://127.0.0.1:{http_receiver.port}/desk",
                     f"json://127.0.0.1:{http_receiver.port}/ops")
    store = Store(config.store)
    _fail(store, config)
    assert Sender(store, config).send_due().sent == 1
    numbers = build_report(store, config, now=utcnow() + timedelta(minutes=1), since=timedelta(days=1))
    assert {"notifier": "ops", "sent": 0, "pending": 0, "dead": 0} in numbers["alerts"]
