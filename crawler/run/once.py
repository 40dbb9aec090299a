"""`newsradar run --once`: one pass over every source, then deliver what the pass queued, then exit.

Failing sources are logged and summarised; they never change the exit code (0). The pass runs on the same
`Poller` the daemon uses, so what `--once` does is what every scheduled poll does: every source is started at
once, and `Poller.poll` holds each to `fetch.parallel_sources` polls at once and two per host (crawler.fetch.limits).
Extraction workers start only if some article needs extracting: a pass where nothing changed starts none.
"""

from __future__ import annotations

import logging

from crawler.config.model import Config
from crawler.fetch.poll import Poller, run_reactor
from crawler.run.wiring import Dispatcher, ingest_for
from crawler.store.database import Store

log = logging.getLogger("newsradar.run")


def run_once(config: Config, store: Store) -> int:
    poller = Poller(config, store, ingest=ingest_for)
    delivery = Dispatcher(store, config)

    async def main() -> int:
        try:
            await delivery.recover()
            results = await poller.poll_all()
            for result in results:  # health and its ops alerts, as the daemon keeps them
                await delivery.record_poll(poller.io, config.source(result.source), result)
            report = await delivery.send_due()
        finally:
            await poller.close_browser()
            poller.close()
            delivery.close()
        failed = [r for r in results if not r.ok]
        log.info(
            "pass done: %d sources, %d failed, %d new stories, %d alerts queued, %d sent, %d to retry, %d dead;"
            " at most %d polls at once, %d extraction workers started",
            len(results), len(failed), sum(r.new for r in results), sum(r.alerts for r in results),
            report.sent, report.retried, len(report.dead), poller.limits.peak, poller.cpu.started,
        )
        return 0

    return run_reactor(main)
