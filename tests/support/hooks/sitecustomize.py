"""Test-only hooks for `newsradar` subprocesses; tests put this folder first on PYTHONPATH.

- NEWSRADAR_TEST_SLACK_WEBHOOK: point apprise's Slack plugin at a local receiver (in-process tests monkeypatch
  the same class attribute).
- NEWSRADAR_TEST_SPIDER_EXIT: a spider of the named source calls sys.exit() while parsing its listing (a
  misbehaving third-party parser), to show the daemon guards its loop.
- NEWSRADAR_TEST_FAULT: kill the process (`os._exit`, no clean-up, like kill -9) at one point of a pass:
  `after-store` (stories and outbox rows committed, nothing sent), `after-send` (a message delivered, not yet
  marked sent), `mid-digest` (the first message of a digest delivered, the rest not).
- NEWSRADAR_TEST_PUBLIC_ADDRESS: the fetch guard treats this one address (e.g. 127.0.0.1) as public, so a
  source without `allow_private` can be served locally and its redirects to other loopback addresses refused.
- NEWSRADAR_TEST_FROZEN_PAUSE_CLOCK: the Retry-After pauses (crawler.fetch.throttle) run on a clock that never moves,
  so a pause never ends during a test however slow the machine is.
Production code knows nothing of these.
"""

import os

_slack = os.environ.get("NEWSRADAR_TEST_SLACK_WEBHOOK")
if _slack:
    from apprise.plugins.slack import NotifySlack

    NotifySlack.webhook_url = _slack

_fault = os.environ.get("NEWSRADAR_TEST_FAULT")
if _fault:
    from alerts.delivery import outbox

    CRASH = 70

    if _fault == "after-store":
        def _send_due(self):
            os._exit(CRASH)

        outbox.Sender.send_due = _send_due
    elif _fault == "after-send":
        _finish = outbox.Sender._finish

        def _finish_then_die(self, rows, result, report, batch=None):
            if result.ok:
                os._exit(CRASH)
            return _finish(self, rows, result, report, batch)

        outbox.Sender._finish = _finish_then_die
    elif _fault == "mid-digest":
        _deliver = outbox.Sender._deliver

        def _deliver_then_die(self, url, ids, render, notifier):
            if "," not in ids:
                return _deliver(self, url, ids, render, notifier)
            send = self.send

            def first_then_die(*args, **kwargs):
                result = send(*args, **kwargs)
                if result.ok:
                    os._exit(CRASH)
                return result

            self.send = first_then_die
            return _deliver(self, url, ids, render, notifier)

        outbox.Sender._deliver = _deliver_then_die

_spider_exit = os.environ.get("NEWSRADAR_TEST_SPIDER_EXIT")
if _spider_exit:
    import sys

    from spiders.listing import ListingSpider

    _parse = ListingSpider.parse_listing

    def _parse_or_exit(self, response):
        if self.source.name == _spider_exit:
            sys.exit(3)
        return _parse(self, response)

    ListingSpider.parse_listing = _parse_or_exit

_public = os.environ.get("NEWSRADAR_TEST_PUBLIC_ADDRESS")
if _public:
    from crawler.fetch import guard as fetchguard

    _refusal = fetchguard.refusal

    def _refusal_but_public(address):
        return None if str(address) == _public else _refusal(address)

    fetchguard.refusal = _refusal_but_public

if os.environ.get("NEWSRADAR_TEST_FROZEN_PAUSE_CLOCK"):
    from crawler.fetch import throttle

    throttle.PAUSES.clock = lambda: 1000.0
