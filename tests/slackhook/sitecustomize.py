"""Test-only: points apprise's Slack plugin at a local receiver in `newsradar` subprocesses.

tests put this folder first on PYTHONPATH and set NEWSRADAR_TEST_SLACK_WEBHOOK; production code knows nothing
of it. (In-process tests monkeypatch the same class attribute.)
"""

import os

_url = os.environ.get("NEWSRADAR_TEST_SLACK_WEBHOOK")
if _url:
    from apprise.plugins.slack import NotifySlack

    NotifySlack.webhook_url = _url
