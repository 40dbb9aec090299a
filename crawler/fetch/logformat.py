"""How Scrapy's own log lines about a poll read: a dropped item is logged by its reason alone.

Scrapy logs a dropped item as "Dropped: REASON" followed by the item itself; newsradar's items carry whole pages
(`ArticlePage.body`), so a store error or a fenced-out poll would write every page's HTML into the log at
ERROR. Every DropItem reason here names the URL, which is what a reader needs.
"""

from __future__ import annotations

from typing import Any

from scrapy.logformatter import LogFormatter


class ReasonOnly(LogFormatter):
    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any) -> dict:
        entry = dict(super().dropped(item, exception, response, spider))
        entry["msg"] = "Dropped: %(exception)s"
        entry["args"] = {"exception": exception}
        return entry
