"""Optional Prometheus metrics (`metrics: {port: 9464}`): polls, errors, stories, alerts, outbox, poll latency.

Every series carries a `worker` label: the cluster worker's id (crawler.run.cluster), or the host name of a
single instance, so the series of several workers add up instead of overwriting each other.

Without a `metrics:` section, or without prometheus-client installed (`pip install newsradar[metrics]`), every
method is a no-op, so callers never check.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

try:  # optional: `pip install 'newsradar[metrics]'`
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
except ImportError:
    CollectorRegistry = None

log = logging.getLogger(__name__)


class Metrics:
    def __init__(self, registry: Any = None, worker: str | None = None):
        self.enabled = registry is not None
        self.worker = worker or socket.gethostname()
        self.registry = registry  # also served by the dashboard's /metrics (crawler.web)
        self._server: Any = None
        self.settings: Any = None  # the `metrics:` section the endpoint was started with
        if not self.enabled:
            return
        self.polls = Counter("newsradar_polls", "Polls by source and status", ["source", "status", "worker"],
                             registry=registry)
        self.stories = Counter("newsradar_stories", "New stories by source", ["source", "worker"], registry=registry)
        self.alerts = Counter("newsradar_alerts_queued", "Alerts queued by source", ["source", "worker"],
                              registry=registry)
        self.delivered = Counter("newsradar_alerts_delivered", "Alerts by outcome", ["outcome", "worker"],
                                 registry=registry)
        self.outbox = Gauge("newsradar_outbox_alerts", "Alerts in the outbox by status", ["status", "worker"],
                            registry=registry)
        self.latency = Histogram("newsradar_poll_seconds", "Poll duration", ["source", "worker"], registry=registry,
                                 buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))

    @classmethod
    def start(cls, settings: Any, registry_only: bool = False, worker: str | None = None) -> Metrics:
        """Serve metrics on `settings.port`; with `registry_only` (the dashboard serves them) collect them even
        without a `metrics:` section. `worker`: the cluster worker's id (default: the host name)."""
        if settings is None and not registry_only:
            return cls()
        if CollectorRegistry is None:
            log.warning("metrics: prometheus-client is not installed (pip install 'newsradar[metrics]')")
            return cls()
        registry = CollectorRegistry()
        metrics = cls(registry, worker)
        metrics.settings = settings
        if settings is None:
            return metrics
        metrics._server = start_http_server(settings.port, settings.host, registry=registry)
        log.info("metrics on http://%s:%d/metrics", settings.host, settings.port)
        return metrics

    def poll(self, result: Any) -> None:
        if self.enabled:
            self.polls.labels(result.source, result.status, self.worker).inc()
            self.stories.labels(result.source, self.worker).inc(result.new)
            self.alerts.labels(result.source, self.worker).inc(result.alerts)
            self.latency.labels(result.source, self.worker).observe(result.ms / 1000)

    def sent(self, report: Any) -> None:
        if self.enabled:
            self.delivered.labels("sent", self.worker).inc(report.sent)
            self.delivered.labels("retry", self.worker).inc(report.retried)
            self.delivered.labels("dead", self.worker).inc(len(report.dead))

    def outbox_depth(self, counts: dict[str, int]) -> None:
        if self.enabled:
            for status in ("pending", "sending", "dead"):
                self.outbox.labels(status, self.worker).set(counts.get(status, 0))

    def use(self, config: Any) -> None:
        """A reloaded config: the endpoint stays where it was started (it is bound once); a changed `metrics:`
        section is said, not silently ignored."""
        if config.metrics != self.settings:
            log.warning("config: metrics.port/metrics.host changed; the metrics endpoint stays as started until "
                        "newsradar restarts")
            self.settings = config.metrics

    def stop(self) -> None:
        if self._server is not None:
            server, _thread = self._server
            server.shutdown()
