"""The extraction process pool: spawned workers that die with their parent.

`spawn`, not fork: forking a process that runs a reactor and threads copies locks in unknown states. Each worker
watches its parent: if the parent is killed (kill -9, OOM killer), the worker exits within a second instead of
lingering as an orphan that holds the parent's stdout/stderr open. A worker warms up (imports, language model)
when it starts.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor


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
    from crawler.extract import extract_page

    extract_page(b"<html><head><title>warm</title></head><body><p>" + b"warm up text " * 40 + b"</p></body></html>")


def process_pool(workers: int | None = None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(os.getpid(),))
