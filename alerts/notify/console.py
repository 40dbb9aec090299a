"""`console://`: an apprise notifier that prints alerts to standard output.

For trying newsradar out before mail or Slack is set up (the shipped config.yaml falls back to it), and for
watching alerts in a terminal. Registered with apprise when `alerts.notify.deliver` is imported.
"""

from __future__ import annotations

import sys

from apprise.decorators import notify


@notify(on="console", name="newsradar console")
def console(body: str, title: str, notify_type: str, *args: object, **kwargs: object) -> bool:
    sys.stdout.write(f"=== {title}\n{body}\n\n")
    sys.stdout.flush()
    return True
