"""kill -9 at the fault points of a pass loses no alert and duplicates at most one per crash (a handful of
rounds here; `python bench/crash.py --rounds 30` is the long run)."""

from bench.crash import FAULTS, crash_rounds


def test_crashes_at_every_fault_point_lose_nothing(tmp_path):
    out = crash_rounds(len(FAULTS), tmp_path)
    assert out.crashes == len(FAULTS), "every fault point was reached"
    assert not out.lost, f"lost alerts: {out.lost}"
    assert out.duplicates <= out.crashes
