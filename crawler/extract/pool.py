"""The extraction process pool: spawned workers that die with their parent.

`spawn`, not fork: forking a process that runs a reactor and threads copies locks in unknown states. Each worker
watches its parent: if the parent is killed (kill -9, OOM killer), the worker exits within a second instead of
lingering as an orphan that holds the parent's stdout/stderr open. A worker warms up (imports, language model)
when it starts.

`WorkerPool` starts them on the first article to extract and releases them after an idle time (`daemon.worker_idle`).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any


def _start_worker(parent: int) -> None:
    # Ctrl-C reaches the whole process group and systemd's SIGTERM the whole cgroup: the daemon stops its pool
    # itself (and the guard below covers a parent that died), so a worker ignores both rather than dying
    # mid-extraction with a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="newsradar-orphan-guard", daemon=True).start()
    # Pay the imports and the language model's load now, not on the first article of a poll.
    from crawler.extract.article import extract_page

    extract_page(b"<html><head><title>warm</title></head><body><p>" + b"warm up text " * 40 + b"</p></body></html>")


def build_story(item: Any, *args: Any, **kwargs: Any) -> Any:
    """`crawler.extract.story.build_story`, imported in the worker that runs it: the main process never loads
    trafilatura, lxml's cleaners, numpy and the language model (a third of a second of CPU per `run --once`)."""
    from crawler.extract.story import build_story as build

    return build(item, *args, **kwargs)


def process_pool(workers: int | None = None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(os.getpid(),))


class WorkerPool:
    """The extraction pool of a `Poller`: processes start on the first article to extract, never before, and
    are released when they have been idle for `idle` seconds (`release_idle`, called by the daemon).

    A pass in which nothing changed (every listing a 304, every link known) submits nothing and so starts no
    process. A pool whose worker died (a parser segfault) is replaced on the next submit. `clock` is injectable
    so tests can age a pool without waiting.
    """

    def __init__(self, workers: int, idle: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.workers = workers
        self.idle = idle
        self.clock = clock
        self.started = 0  # processes started over the pool's life
        self._executor: ProcessPoolExecutor | None = None
        self._pending = 0
        self._last_used = clock()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future:
        with self._lock:
            if self._executor is not None and getattr(self._executor, "_broken", False):
                self._executor.shutdown(wait=False)  # a worker died (a parser segfault): start a fresh pool
                self._executor = None
            if self._executor is None:
                self._executor = process_pool(self.workers)
            executor = self._executor
            self._pending += 1
            before = len(executor._processes)  # type: ignore[attr-defined]
        try:
            future = executor.submit(fn, *args)
        except BaseException:
            self._finished(None)
            raise
        self.started += max(0, len(executor._processes) - before)  # type: ignore[attr-defined]
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future: Future | None) -> None:
        with self._lock:
            self._pending -= 1
            self._last_used = self.clock()

    def pids(self) -> list[int]:
        """The worker processes alive now."""
        executor = self._executor
        procs = dict(getattr(executor, "_processes", None) or {}) if executor else {}
        return [pid for pid, p in procs.items() if p.is_alive()]

    def release_idle(self) -> bool:
        """Stop the workers if nothing was submitted or running for `idle` seconds; True if they were stopped.
        Blocks until they have exited (a fraction of a second): call it off the event loop."""
        with self._lock:
            executor = self._executor
            if (executor is None or self.idle is None or self._pending
                    or self.clock() - self._last_used < self.idle):
                return False
            self._executor = None
        executor.shutdown(wait=True)
        return True

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=cancel_futures)
