"""A config reload reaches every part that holds config through one place (`Daemon._use`, issue 10)."""

from __future__ import annotations

import logging

from crawler.config.model import parse_config
from crawler.fetch import robots
from crawler.run.daemon import Daemon
from crawler.store.database import Store
from tests.support.receivers import free_port

CONFIG = """store: sqlite:///{db}
fetch:
  user_agent: {ua}
metrics:
  port: {port}
  host: 127.0.0.1
web:
  port: {web}
sources:
  - name: wire
    type: feed
    url: http://127.0.0.1:9/feed.xml
    allow_private: true
"""


PORTS: dict[str, dict[str, int]] = {}


def _config(tmp_path, ua="newsradar-test/1", port=None, web=None):
    ports = PORTS.setdefault(str(tmp_path), {"metrics": free_port(), "web": free_port()})
    text = CONFIG.format(db=tmp_path / "store.db", ua=ua, port=port or ports["metrics"], web=web or ports["web"])
    return parse_config(text, tmp_path / "config.yaml", {})


def test_every_part_gets_the_new_config(tmp_path, caplog):
    first = _config(tmp_path)
    store = Store(first.store)
    daemon = Daemon(tmp_path / "config.yaml", first, store)
    try:
        daemon.scheduler = _NoJobs()
        robots._shared["127.0.0.1:9"] = (float("inf"), "cached answer")
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            daemon._use(_config(tmp_path))  # same settings: the cache stays, nothing is said
        assert "127.0.0.1:9" in robots._shared and not caplog.records

        second = _config(tmp_path, ua="newsradar-test/2", port=daemon.metrics.settings.port)
        with caplog.at_level(logging.WARNING):
            daemon._use(second)
        assert daemon.config is second and daemon.poller.config is second and daemon.delivery.config is second
        assert daemon.delivery.sender.config is second
        assert "127.0.0.1:9" not in robots._shared, "a new User-Agent asks robots.txt again"
        assert not [r for r in caplog.records if "metrics" in r.getMessage()], "metrics unchanged: nothing said"

        moved = _config(tmp_path, ua="newsradar-test/2", port=daemon.metrics.settings.port + 1)
        with caplog.at_level(logging.WARNING):
            daemon._use(moved)
        said = [r.getMessage() for r in caplog.records]
        assert any("metrics.port/metrics.host changed" in m for m in said), said
    finally:
        daemon.metrics.stop()
        if daemon.web is not None:
            daemon.web.stop()
        daemon.poller.close()
        daemon.delivery.close()
        robots.forget()


def test_a_moved_dashboard_says_it_waits_for_a_restart(tmp_path, caplog):
    config = _config(tmp_path)
    daemon = Daemon(tmp_path / "config.yaml", config, Store(config.store))
    try:
        daemon.scheduler = _NoJobs()
        with caplog.at_level(logging.WARNING):
            daemon._use(_config(tmp_path, web=daemon.web.port + 1))
        assert any("web.host/web.port changed" in r.getMessage() for r in caplog.records)
    finally:
        daemon.metrics.stop()
        daemon.web.stop()
        daemon.poller.close()
        daemon.delivery.close()


class _NoJobs:
    """The scheduler's part of a reload is covered by the daemon's end-to-end tests; here it has no jobs."""

    def get_jobs(self):
        return []

    def get_job(self, job_id):
        return None

    def add_job(self, *args, **kw):
        pass
