"""Source health: one change of state per transition (failing, silent, recovered), never one per poll."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from crawler.run.health import assess
from crawler.store.database import SourceHealth

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
QUIET = timedelta(hours=6)


def _poll(h, ok=True, new=0, at=T0, error="HTTP 503"):
    return assess(h, ok, None if ok else error, new, at, failing_after=3, quiet_limit=QUIET)


def test_failing_after_n_errors_once_then_recovered_once():
    h = SourceHealth(source="s", state="ok", failures=0, polls=0, stories=0)
    changes = [_poll(h, ok=False, at=T0 + timedelta(minutes=i)) for i in range(6)]
    assert [c.new if c else None for c in changes] == [None, None, "failing", None, None, None]
    assert "3 errors in a row" in changes[2].message and "HTTP 503" in changes[2].message
    back = _poll(h, ok=True, new=1, at=T0 + timedelta(minutes=7))
    assert back.new == "ok" and "recovered" in back.message
    assert _poll(h, ok=True, at=T0 + timedelta(minutes=8)) is None
    assert h.failures == 0 and h.stories == 1


def test_silent_when_nothing_new_for_longer_than_expected_then_recovered():
    h = SourceHealth(source="s", state="ok", failures=0, polls=0, stories=0)
    assert _poll(h, new=2) is None
    assert _poll(h, at=T0 + timedelta(hours=5)) is None
    silent = _poll(h, at=T0 + timedelta(hours=7))
    assert silent.new == "silent" and "no new story since" in silent.message
    assert _poll(h, at=T0 + timedelta(hours=8)) is None, "said once"
    assert _poll(h, new=1, at=T0 + timedelta(hours=9)).new == "ok"


def test_a_source_that_never_yields_goes_silent_from_its_first_poll():
    h = SourceHealth(source="s", state="ok", failures=0, polls=0, stories=0)
    assert _poll(h) is None
    assert _poll(h, at=T0 + timedelta(hours=7)).new == "silent"


def test_errors_below_the_threshold_do_not_end_silence_or_alert():
    h = SourceHealth(source="s", state="silent", failures=0, polls=5, stories=0, last_new_story=T0)
    assert _poll(h, ok=False, at=T0 + timedelta(hours=10)) is None
    assert h.state == "silent"
