"""One newsradar process per store: the daemon and `run --once` take this lock before they write.

SQLite: an exclusive `flock` on `<database>.lock` beside the file (released by the kernel if the process dies,
so a crash never leaves a stale lock). PostgreSQL: a session-level advisory lock held on a dedicated connection
for the life of the process, keyed by database and schema. Other databases: no lock, with a warning. A second
instance fails with `InstanceLocked`, whose message says which store is busy.

Cluster workers (`cluster:`, crawler.run.cluster) take the same PostgreSQL lock SHARED: any number of them run
together, and none runs beside a single instance (a daemon without `cluster:`, or `run --once`), which would
poll their sources behind their backs. The leases, not this lock, keep the workers apart (crawler.store.cluster).
"""

from __future__ import annotations

import fcntl
import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from crawler.store.database import Store

log = logging.getLogger(__name__)

# The advisory-lock key: every newsradar on the same database and schema computes the same one, however it
# spells the URL; two stores in two schemas of one database do not block each other.
_PG_KEY = "hashtext('newsradar:' || current_database() || '.' || current_schema())"


class InstanceLocked(RuntimeError):
    pass


def holder(store: Store) -> dict | None:
    """Who holds this store's instance lock: {"pid": int | None, "since": aware datetime | None}, or None when
    no newsradar runs on it. Never takes the lock for longer than the check."""
    url = make_url(store.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database + ".lock")
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        except BlockingIOError:
            return _parse_holder(path.read_text(errors="replace"))
        finally:
            os.close(fd)
    if url.get_backend_name() == "postgresql":
        with store.engine.connect() as conn:
            got = conn.execute(text(f"SELECT pg_try_advisory_lock({_PG_KEY})")).scalar()
            if got:
                conn.execute(text(f"SELECT pg_advisory_unlock({_PG_KEY})"))
            conn.commit()
        return None if got else {"pid": None, "since": None}
    return None


def _parse_holder(content: str) -> dict:
    pid, _, since = content.strip().partition(" ")
    try:
        started = datetime.fromisoformat(since) if since else None
    except ValueError:
        started = None
    return {"pid": int(pid) if pid.isdigit() else None, "since": started}


class InstanceLock:
    def __init__(self, store: Store, shared: bool = False):
        self.store = store
        self.shared = shared  # a cluster worker: PostgreSQL only (the config check refuses `cluster:` elsewhere)
        self._fd: int | None = None
        self._conn: Any = None

    def acquire(self) -> InstanceLock:
        url = make_url(self.store.url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            path = Path(url.database + ".lock")
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise InstanceLocked(f"another newsradar is already running on {url.database} (lock {path})") from None
            os.ftruncate(fd, 0)
            # pid and start time, for `newsradar status` ("daemon running, pid 123, since ...")
            os.write(fd, f"{os.getpid()} {datetime.now(timezone.utc).isoformat(timespec='seconds')}\n".encode())
            self._fd = fd
        elif url.get_backend_name() == "postgresql":
            conn = self.store.engine.connect()
            how = "pg_try_advisory_lock_shared" if self.shared else "pg_try_advisory_lock"
            got = conn.execute(text(f"SELECT {how}({_PG_KEY})")).scalar()
            conn.commit()
            if not got:
                conn.close()
                where = url.render_as_string(hide_password=True)
                if self.shared:
                    raise InstanceLocked(f"a single newsradar (`run --once`, or a daemon without `cluster:`) is running "
                                         f"on {where}: stop it, or give it the same `cluster:` section")
                raise InstanceLocked(f"another newsradar is already running on {where} (cluster workers, if "
                                     f"`newsradar status` lists workers: start this one with their `cluster:` section)")
            self._conn = conn
        else:
            log.warning("no instance lock for %s stores: run one newsradar per store", url.get_backend_name())
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            try:
                how = "pg_advisory_unlock_shared" if self.shared else "pg_advisory_unlock"
                self._conn.execute(text(f"SELECT {how}({_PG_KEY})"))
                self._conn.commit()
            except Exception as exc:  # the connection is gone (a server restart): so is the lock it held
                log.warning("instance lock already gone with its connection: %s", type(exc).__name__)
            finally:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> InstanceLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
