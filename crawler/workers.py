"""The extraction process pool: spawned workers that die with their parent.

`spawn`, not fork: forking a process that runs a reactor and threads copies locks in unknown states. Each worker
watches its parent: if the parent is killed (kill -9, OOM killer), the worker exits within a second instead of
lingering as an orphan that holds the parent's stdout/stderr open.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor


def _watch_parent(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="newsradar-orphan-guard", daemon=True).start()


def process_pool(workers: int | None = None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_watch_parent, initargs=(os.getpid(),))
