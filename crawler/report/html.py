"""The report as one self-contained HTML page: inline CSS, inline SVG charts, no script, font or link to fetch.

Titles, names and errors go through Jinja2 autoescaping; only the SVGs made by `charts` are inserted as markup.
The same template renders the dashboard's live `/report` page (`standalone=False` adds the dashboard's nav).
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from crawler.report.charts import group_charts

_env = Environment(loader=PackageLoader("crawler.report", "templates"),
                   autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                   lstrip_blocks=True)


def environment() -> Environment:
    """The Jinja2 environment of the report and dashboard templates (autoescaped)."""
    return _env


def with_charts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's groups, each with its `charts` (SVG markup) added."""
    out = []
    for i, group in enumerate(report["groups"]):
        charts = group_charts(group, prefix=f"g{i}")
        out.append({**group, "charts": {k: Markup(v) for k, v in charts.items()}, "anchor": f"g{i}"})
    return out


def render_html(report: dict[str, Any], nav: bool = False) -> str:
    return _env.get_template("report.html.j2").render(report=report, groups=with_charts(report), nav=nav,
                                                      humanize=_period)


def _period(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    return f"{days} d" + (f" {rest // 3600} h" if rest >= 3600 else "") if days else f"{rest // 3600} h"


def slug(name: str) -> str:
    """A file-name-safe form of a watchlist name (non-ASCII kept, separators replaced)."""
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "watchlist"
