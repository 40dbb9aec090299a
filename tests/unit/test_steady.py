"""Wall-clock steps neither stop nor double scheduled work, and cron still fires at the right local time.

The wall clock is moved with time-machine (which leaves the monotonic clock alone, as a real step does); the
scheduler runs on a real asyncio loop. Tests wait for what happened, within a bounded loop; no duration is
asserted."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.run.steady import ClockWatch, SteadyScheduler

TZ = ZoneInfo("Asia/Shanghai")


async def _until(predicate, limit: float = 60.0) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while loop.time() < end:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


def test_clock_watch_sees_steps_not_drift():
    wall, mono = [1000.0], [5.0]
    watch = ClockWatch(tolerance=2.0, wall=lambda: wall[0], mono=lambda: mono[0])
    wall[0] += 10; mono[0] += 10
    assert watch.step() == 0.0
    wall[0] += 1.5  # slewing / small drift
    assert watch.step() == 0.0
    wall[0] -= 7200
    assert watch.step() == -7200.0
    wall[0] += 3600; mono[0] += 1
    assert watch.step() == 3599.0


def _run_steps(step_seconds: float) -> tuple[list, list]:
    """An interval job (1 s) and a steps list; returns (runs before the step, runs after)."""
    runs: list[datetime] = []
    shifts: list[timedelta] = []

    async def main(traveller):
        scheduler = SteadyScheduler(timezone=TZ, on_step=shifts.append, max_wait=0.2)
        scheduler.start()
        scheduler.add_job(lambda: runs.append(datetime.now(TZ)), IntervalTrigger(seconds=1, timezone=TZ),
                          id="poll", coalesce=True, max_instances=1, misfire_grace_time=None,
                          next_run_time=datetime.now(TZ))
        assert await _until(lambda: len(runs) >= 2), "runs before the step"
        before = len(runs)
        traveller.shift(step_seconds)
        assert await _until(lambda: len(runs) >= before + 3), f"the job stopped after a {step_seconds:+} s step"
        scheduler.shutdown(wait=False)
        return before

    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=TZ), tick=True) as traveller:
        before = asyncio.run(main(traveller))
    assert len(shifts) == 1 and abs(shifts[0].total_seconds() - step_seconds) < 2
    return runs[:before], runs[before:]


def test_a_step_back_does_not_stop_interval_jobs():
    _before, after = _run_steps(-7200)
    assert all(r < datetime(2026, 3, 2, 9, 0, tzinfo=TZ) for r in after), "the runs after the step are on the new clock"


def test_a_step_forward_neither_stops_nor_doubles_interval_jobs():
    before, after = _run_steps(+7200)
    assert all(r > datetime(2026, 3, 2, 11, 0, tzinfo=TZ) for r in after), "the runs after the step are on the new clock"


def test_cron_fires_at_the_right_local_time_after_a_step_back():
    fired: list[datetime] = []

    async def main(traveller):
        scheduler = SteadyScheduler(timezone=TZ, max_wait=0.2)
        scheduler.start()
        scheduler.add_job(lambda: fired.append(datetime.now(TZ)), CronTrigger.from_crontab("0 9 * * *", timezone=TZ),
                          id="cron", coalesce=True, misfire_grace_time=None)
        await asyncio.sleep(0.5)
        assert scheduler.get_job("cron").next_run_time.date() == datetime(2026, 3, 3).date(), "09:00 tomorrow"
        traveller.move_to(datetime(2026, 3, 2, 8, 59, 58, tzinfo=TZ))  # the clock stepped back past 09:00
        assert await _until(lambda: fired), "the 09:00 run after the step"
        scheduler.shutdown(wait=False)

    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=TZ), tick=True) as traveller:
        asyncio.run(main(traveller))
    assert len(fired) == 1 and (fired[0].hour, fired[0].minute) == (9, 0), fired


def test_stored_retry_times_move_with_the_step(tmp_path):
    from crawler.items import NewStory
    from crawler.store.database import FailedUrl, Outbox, Store, utcnow

    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    now = utcnow()
    added = store.add_story(NewStory("https://news.example/a", "s", "t", "text", "en", None, True), timedelta(days=7))
    with store.session.begin() as s:
        s.add(Outbox(story_id=added.story_id, notifier="n", target=0, rules=[], status="pending", attempts=1,
                     next_attempt=now + timedelta(minutes=1), created=now))
        s.add(Outbox(story_id=added.story_id, notifier="n", target=1, rules=[], status="pending", held=True,
                     next_attempt=now + timedelta(minutes=15), created=now))
    store.record_failure("https://news.example/b", "s", "HTTP 500", now=now)
    assert store.shift_retry_times(timedelta(hours=-2)) == 2
    with store.session() as s:
        retry, held = s.query(Outbox).order_by(Outbox.target).all()
        failed = s.get(FailedUrl, "https://news.example/b")
    assert retry.next_attempt == now + timedelta(minutes=1) - timedelta(hours=2), "a retry stays a minute away"
    assert held.next_attempt == now + timedelta(minutes=15), "a digest window is a local-time appointment"
    assert failed.next_try == now + timedelta(hours=1) - timedelta(hours=2)
