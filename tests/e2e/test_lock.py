"""One newsradar per store: the instance lock, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from crawler.run.lock import InstanceLock, InstanceLocked
from crawler.store.database import Store


def test_a_second_instance_is_refused_until_the_first_releases(store):
    first = InstanceLock(store).acquire()
    other = Store(store.url, create=False)
    try:
        with pytest.raises(InstanceLocked, match="already running"):
            InstanceLock(other).acquire()
        first.release()
        with InstanceLock(other):
            pass
    finally:
        first.release()
        other.close()


def test_an_in_memory_store_has_nothing_to_lock():
    store = Store("sqlite:///:memory:")
    with InstanceLock(store):  # in-memory SQLite has no file to lock: nothing to refuse
        with InstanceLock(store):
            pass
