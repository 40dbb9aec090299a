"""Digest, quiet hours, backlog and rate limits: pure decisions on injected times, across a DST change."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from alerts.delivery.policy import Due, decide, parse_quiet, quiet_until, window_closes

NY = ZoneInfo("America/New_York")
SH = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")


def utc(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=timezone.utc)


def rows(n: int, created: str = "2026-06-01T00:00:00", urgent: set[int] = frozenset(), held: bool = False):
    return [Due(i, i in urgent, utc(created), held) for i in range(1, n + 1)]


@pytest.mark.parametrize(
    "now_utc, tz, expected_end",
    [
        ("2026-06-01T14:30:00", SH, "2026-06-01T23:00:00"),  # 22:30 Shanghai -> until 07:00 local
        ("2026-06-01T22:59:00", SH, "2026-06-01T23:00:00"),  # 06:59 local
        ("2026-06-01T23:00:00", SH, None),  # 07:00 local: quiet is over
        ("2026-06-01T12:00:00", SH, None),  # 20:00 local
        # New York, the night DST ends (2026-11-01 02:00 EDT -> 01:00 EST): 07:00 EST is 12:00 UTC
        ("2026-11-01T03:00:00", NY, "2026-11-01T12:00:00"),
        # the night before, still EDT: 07:00 EDT is 11:00 UTC
        ("2026-10-31T03:00:00", NY, "2026-10-31T11:00:00"),
        # the night DST starts (2026-03-08 02:00 EST -> 03:00 EDT): 07:00 EDT is 11:00 UTC
        ("2026-03-08T05:00:00", NY, "2026-03-08T11:00:00"),
    ],
)
def test_quiet_hours_end_at_local_wall_clock_time_across_dst(now_utc, tz, expected_end):
    end = quiet_until("22:00-07:00", utc(now_utc), tz)
    assert end == (utc(expected_end) if expected_end else None)


def test_daytime_quiet_range():
    assert quiet_until("12:00-13:00", utc("2026-06-01T12:30:00"), UTC) == utc("2026-06-01T13:00:00")
    assert quiet_until("12:00-13:00", utc("2026-06-01T13:30:00"), UTC) is None


@pytest.mark.parametrize("bad", ["22-07", "22:00", "22:00-22:00", "25:00-07:00"])
def test_bad_quiet_specs_are_errors(bad):
    with pytest.raises(ValueError):
        parse_quiet(bad)


def test_digest_windows_align_to_local_time():
    w = timedelta(minutes=15)
    assert window_closes(utc("2026-06-01T10:07:00"), w, UTC) == utc("2026-06-01T10:15:00")
    assert window_closes(utc("2026-06-01T10:15:00"), w, UTC) == utc("2026-06-01T10:30:00")
    # a daily digest closes at local midnight (Shanghai is UTC+8)
    assert window_closes(utc("2026-06-01T10:00:00"), timedelta(days=1), SH) == utc("2026-06-01T16:00:00")


def test_plain_notifier_sends_each_alert_alone():
    plan = decide(rows(3), utc("2026-06-01T00:00:01"), UTC)
    assert plan.single == [1, 2, 3] and not plan.digest and not plan.hold


def test_quiet_hours_hold_non_urgent_and_let_urgent_through():
    now = utc("2026-06-01T15:00:00")  # 23:00 in Shanghai
    plan = decide(rows(3, urgent={2}), now, SH, quiet="22:00-07:00")
    assert plan.single == [2]
    assert plan.hold == {1: utc("2026-06-01T23:00:00"), 3: utc("2026-06-01T23:00:00")}


def test_what_quiet_hours_held_goes_out_as_one_digest_at_the_end():
    plan = decide(rows(3, held=True), utc("2026-06-01T23:00:00"), SH, quiet="22:00-07:00")
    assert plan.digest == [1, 2, 3] and not plan.single


def test_digest_window_holds_then_releases_as_one():
    created = "2026-06-01T10:01:00"
    early = decide(rows(4, created), utc("2026-06-01T10:05:00"), UTC, digest=timedelta(minutes=15))
    assert set(early.hold.values()) == {utc("2026-06-01T10:15:00")}
    late = decide(rows(4, created, held=True), utc("2026-06-01T10:15:00"), UTC, digest=timedelta(minutes=15))
    assert late.digest == [1, 2, 3, 4]


def test_a_digest_of_one_is_a_normal_alert():
    plan = decide(rows(1, held=True), utc("2026-06-01T10:15:00"), UTC, digest=timedelta(minutes=15))
    assert plan.single == [1] and not plan.digest


def test_backlog_after_an_outage_is_one_digest_but_urgent_go_alone():
    plan = decide(rows(25, urgent={5}), utc("2026-06-01T00:00:01"), UTC)
    assert plan.single == [5] and len(plan.digest) == 24


def test_max_per_hour_turns_the_overflow_into_a_digest():
    now = utc("2026-06-01T10:00:00")
    sent = [now - timedelta(minutes=m) for m in (5, 10)]
    plan = decide(rows(6), now, UTC, max_per_hour=5, sent_last_hour=sent)
    assert plan.single == [1, 2] and plan.digest == [3, 4, 5, 6]  # 2 singles + 1 digest = the 3 left


def test_max_per_hour_with_no_room_holds_until_a_slot_frees():
    now = utc("2026-06-01T10:00:00")
    sent = [now - timedelta(minutes=m) for m in (50, 40, 30)]
    plan = decide(rows(2), now, UTC, max_per_hour=3, sent_last_hour=sent)
    assert not plan.single and not plan.digest
    assert set(plan.hold.values()) == {now + timedelta(minutes=10)}


def test_sends_older_than_an_hour_do_not_count():
    now = utc("2026-06-01T10:00:00")
    plan = decide(rows(2), now, UTC, max_per_hour=2, sent_last_hour=[now - timedelta(hours=2)] * 5)
    assert plan.single == [1, 2]
