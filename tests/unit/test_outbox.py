"""Delivery that loses nothing: real SMTP and HTTP receivers with faults injected for real, an injected clock
(retries become due by moving the clock, not by sleeping). In every case each alert is delivered exactly once
after recovery, or is dead with a clear reason."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from alerts.delivery.outbox import Sender, planner
from crawler.config.model import compile_rules, parse_config
from crawler.items import NewStory
from crawler.store.database import Outbox, Store, utcnow
from tests.support.receivers import Reply


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


def _config(tmp_path: Path, url: str, extra: str = "", rules_extra: str = ""):
    text = f"""store: sqlite:///{tmp_path / 'store.db'}
rules:
  - name: iflytek
    any: [iFlytek]
    notify: [desk]
{rules_extra}
notifiers:
  desk:
    url: "{url}"
    max_attempts: 4
    timeout: 2s
{extra}
"""
    return parse_config(text, tmp_path / "config.yaml", {})


def _stories(config, store: Store, n: int = 1, clock: Clock | None = None) -> None:
    plan = planner(config, compile_rules(config), now=clock or utcnow)
    for i in range(n):
        body = f"Story {i}: iFlytek said domestic computing power is key. " + " ".join(f"w{i}x{j}" for j in range(60))
        store.add_story(NewStory(f"https://news.example/{i}", "s", f"iFlytek story {i}", body, "en",
                                 datetime.now(timezone.utc), False), timedelta(days=7), plan)


def _rows(store: Store) -> list[Outbox]:
    with store.session() as s:
        return list(s.query(Outbox).order_by(Outbox.id))


@pytest.fixture
def clock():
    return Clock()


def _setup(tmp_path, url, clock, n=1, **kw):
    config = _config(tmp_path, url, **kw)
    store = Store(config.store)
    _stories(config, store, n, clock)
    return config, store, Sender(store, config, clock=clock)


def test_smtp_down_then_up(tmp_path, smtp_server, clock):
    config, store, sender = _setup(tmp_path, smtp_server.url(), clock)
    smtp_server.stop()  # connection refused
    report = sender.send_due()
    assert report.retried == 1 and not smtp_server.messages
    row = _rows(store)[0]
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert sender.send_due().sent == 0, "not due again before its backoff"
    smtp_server.restart()
    clock.advance(minutes=2)
    assert sender.send_due().sent == 1
    clock.advance(hours=2)
    assert sender.send_due().sent == 0
    assert len(smtp_server.messages) == 1 and _rows(store)[0].status == "sent"
    assert smtp_server.messages[0]["X-Newsradar-Alert"] == f"nr-{row.id}", "the alert id rides in a mail header"


def test_smtp_451_then_250(tmp_path, smtp_server, clock):
    config, store, sender = _setup(tmp_path, smtp_server.url(), clock)
    smtp_server.data_reply = "451 4.3.0 try again later"
    assert sender.send_due().retried == 1
    smtp_server.data_reply = None
    clock.advance(minutes=5)
    assert sender.send_due().sent == 1
    assert len(smtp_server.messages) == 1


def test_smtp_server_stalling_in_data_past_the_timeout(tmp_path, smtp_server, clock):
    config, store, sender = _setup(tmp_path, smtp_server.url(), clock)
    smtp_server.data_delay = 4.0  # the notifier's timeout is 2 s
    assert sender.send_due().retried == 1
    assert "timed out" in _rows(store)[0].last_error  # the client gave up after its 2 s timeout
    clock.advance(minutes=5)
    assert sender.send_due().sent == 1
    assert len(smtp_server.messages) == 1


def test_smtp_550_is_dead_without_pointless_retries(tmp_path, smtp_server, clock):
    config, store, sender = _setup(tmp_path, smtp_server.url(), clock)
    smtp_server.rcpt_reply = "550 5.1.1 no such user"
    report = sender.send_due()
    row = _rows(store)[0]
    assert report.dead == [row.id] and row.status == "dead" and row.attempts == 1
    assert "550" in row.last_error


@pytest.mark.parametrize(
    "faults, retry_after",
    [
        ([Reply(500, "boom")], None),
        ([Reply(429, "slow down", {"Retry-After": "120"})], 120),
        ([Reply(503, "busy"), Reply(502, "bad gateway")], None),
        ([Reply(200, "ok", delay=5)], None),  # a hang past the 2 s timeout
    ],
    ids=["500", "429-retry-after", "503-then-502", "hang"],
)
def test_webhook_faults_then_recovery_deliver_exactly_once(tmp_path, http_receiver, clock, faults, retry_after):
    config, store, sender = _setup(tmp_path, f"json://127.0.0.1:{http_receiver.port}/hook", clock)
    http_receiver.script(*faults)
    for _ in faults:
        assert sender.send_due().retried == 1
        row = _rows(store)[0]
        wait = row.next_attempt - clock.now
        if retry_after:
            assert wait >= timedelta(seconds=retry_after), "Retry-After is honoured"
        clock.advance(seconds=wait.total_seconds() + 1)
    assert sender.send_due().sent == 1
    clock.advance(hours=1)
    assert sender.send_due().sent == 0
    answered_ok = [r for r in http_receiver.requests][len(faults):]
    assert len(answered_ok) == 1 and _rows(store)[0].status == "sent"


def test_http_400_is_permanent(tmp_path, http_receiver, clock):
    config, store, sender = _setup(tmp_path, f"json://127.0.0.1:{http_receiver.port}/hook", clock)
    http_receiver.script(Reply(400, "bad request"))
    assert len(sender.send_due().dead) == 1
    assert _rows(store)[0].status == "dead" and len(http_receiver.requests) == 1


def test_max_attempts_makes_a_row_dead_once_reported_to_ops(tmp_path, http_receiver, closed_port, clock):
    config = _config(tmp_path, f"json://127.0.0.1:{closed_port}/hook",
                     extra=f"  ops:\n    url: \"json://127.0.0.1:{http_receiver.port}/ops\"\nops: ops")
    store = Store(config.store)
    _stories(config, store, 1, clock)
    sender = Sender(store, config, clock=clock)
    for _ in range(4):
        sender.send_due()
        clock.advance(hours=2)
    row = _rows(store)[0]
    assert row.status == "dead" and row.attempts == 4 and row.reported
    ops = [r for r in http_receiver.requests if r.path == "/ops"]
    assert len(ops) == 1 and f"nr-{row.id}" in ops[0].json["message"]
    sender.send_due()
    assert len([r for r in http_receiver.requests if r.path == "/ops"]) == 1, "reported once"


def test_several_urls_are_tracked_one_by_one(tmp_path, http_receiver, closed_port, clock):
    urls = f"[\"json://127.0.0.1:{http_receiver.port}/a\", \"json://127.0.0.1:{closed_port}/b\"]"
    text = (tmp_path / "c.yaml")
    text.write_text(f"""store: sqlite:///{tmp_path / 'store.db'}
rules: [{{name: r, any: [iFlytek], notify: [desk]}}]
notifiers:
  desk:
    url: {urls}
    timeout: 2s
""")
    from crawler.config.model import load_config

    config = load_config(text)
    store = Store(config.store)
    _stories(config, store, 1, clock)
    sender = Sender(store, config, clock=clock)
    sender.send_due()
    clock.advance(minutes=10)
    sender.send_due()
    a = [r for r in http_receiver.requests if r.path == "/a"]
    assert len(a) == 1, "the target that succeeded is not sent again while the other retries"
    statuses = sorted(r.status for r in _rows(store))
    assert statuses == ["pending", "sent"]


def test_crash_between_claim_and_mark_resends_at_most_once(tmp_path, http_receiver, clock):
    config, store, sender = _setup(tmp_path, f"json://127.0.0.1:{http_receiver.port}/hook", clock)
    claimed = sender.claim()  # the process dies here, rows left `sending`
    assert [r.status for r, _ in claimed] == ["sending"]
    assert sender.send_due().sent == 0, "a claimed row is not sent twice while its claimer may live"
    assert Sender(store, config, clock=clock).recover() == 1  # the next start, under the instance lock
    assert sender.send_due().sent == 1


def test_burst_goes_out_as_a_digest_and_quiet_hours_hold(tmp_path, http_receiver, clock):
    config, store, sender = _setup(tmp_path, f"json://127.0.0.1:{http_receiver.port}/hook", clock, n=15)
    report = sender.send_due()
    assert report.sent == 15 and report.messages == 1, "a backlog of 15 is one digest"
    # One digest; with a main-text snippet per story it is longer than one text message (4,000) and arrives in
    # parts, each marked as such.
    parts = [r.json["message"] for r in http_receiver.requests]
    assert 1 <= len(parts) <= 3 and (len(parts) == 1 or all(f" of {len(parts)}, 15 in all)" in p for p in parts)), parts
    body = "".join(parts)
    assert all(f"iFlytek story {i}" in body for i in range(15))


def test_urgent_rule_goes_through_quiet_hours(tmp_path, http_receiver, clock):
    clock.now = datetime(2026, 6, 1, 15, 0, tzinfo=timezone.utc)  # 23:00 in Shanghai
    config = _config(tmp_path, f"json://127.0.0.1:{http_receiver.port}/hook",
                     extra='    quiet: "22:00-07:00"\ntimezone: Asia/Shanghai',
                     rules_extra="  - name: urgent-ify\n    any: [\"Story 1:\"]\n    urgent: true\n    notify: [desk]")
    store = Store(config.store)
    _stories(config, store, 3, clock)
    sender = Sender(store, config, clock=clock)
    report = sender.send_due()
    assert report.sent == 1 and report.held == 2
    clock.now = datetime(2026, 6, 1, 23, 0, 1, tzinfo=timezone.utc)  # 07:00:01 local
    report = sender.send_due()
    assert report.sent == 2 and report.messages == 1, "what quiet hours held goes out as one digest"
    assert len(http_receiver.requests) == 2


def test_the_outbox_on_each_backend(store, tmp_path, http_receiver, clock):
    """Plan, claim (FOR UPDATE SKIP LOCKED on PostgreSQL), deliver, mark: the same on SQLite and PostgreSQL."""
    config = _config(tmp_path, f"json://127.0.0.1:{http_receiver.port}/hook")
    _stories(config, store, 3, clock)
    first, second = Sender(store, config, clock=clock), Sender(store, config, clock=clock)
    claimed = first.claim()
    assert len(claimed) == 3 and second.claim() == [], "claimed rows are not claimed twice"
    assert Sender(store, config, clock=clock).recover() == 3
    assert second.send_due().sent == 3
    assert first.send_due().sent == 0
    assert len(http_receiver.requests) == 3


def test_the_backlog_threshold_is_per_notifier(tmp_path, http_receiver, clock):
    config, store, sender = _setup(tmp_path, f"json://127.0.0.1:{http_receiver.port}/hook", clock, n=4,
                                   extra="    backlog: 3")
    report = sender.send_due()
    assert report.sent == 4 and report.messages == 1, "4 due > backlog 3: one digest"


def test_everything_due_goes_out_in_batches_in_one_send(tmp_path, http_receiver, clock):
    """More than one claim batch (200) due: `run --once` and the daemon's send both leave nothing due."""
    config, store, sender = _setup(tmp_path, f"json://127.0.0.1:{http_receiver.port}/hook", clock, n=230,
                                   extra="    backlog: 1000")
    report = sender.send_due()
    assert report.sent == 230 and report.messages == 230
    assert {r.status for r in _rows(store)} == {"sent"}
    assert len(http_receiver.requests) == 230, "each alert delivered once"
def test_the_snippet_is_from_the_main_text_even_when_the_title_matches_too(tmp_path):
    config = _config(tmp_path, "json://127.0.0.1:9/x")
    store = Store(config.store)
    try:
        _stories(config, store)  # title "iFlytek story 0", text "Story 0: iFlytek said ..."
        [row] = _rows(store)
        before, match, after = row.snippet
        assert match == "iFlytek" and before.endswith("Story 0: ") and after.startswith(" said domestic computing")
    finally:
        store.close()
