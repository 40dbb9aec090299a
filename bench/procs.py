"""Looking at a daemon from outside, for the benchmarks: /proc readings and a clean stop. Linux only."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def machine_busy_ms() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) * TICK_MS  # all but idle and iowait


def proc_stat(pid: int) -> tuple[int, float]:
    """(ppid, utime+stime in ms) of a process; (0, 0.0) if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), (int(fields[11]) + int(fields[12])) * TICK_MS
    except (OSError, IndexError):
        return 0, 0.0


def rss_kb(pid: int, key: str = "VmRSS") -> int:
    """VmRSS (or RssAnon: the heap, not mapped files) of a process in kB; 0 if it is gone."""
    try:
        return next(int(x.split()[1]) for x in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if x.startswith(key + ":"))
    except (OSError, StopIteration):
        return 0


def children(pid: int) -> list[int]:
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and proc_stat(int(e))[0] == pid]


def stop(proc: subprocess.Popen) -> int | None:
    """SIGTERM, then kill after 30 s: the exit code of the SIGTERM stop, None if it had to be killed."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            return None
    return proc.returncode


def tree_cpu_ms(pid: int) -> float:
    """CPU time of a process and its live children, in ms."""
    return proc_stat(pid)[1] + sum(proc_stat(kid)[1] for kid in children(pid))
