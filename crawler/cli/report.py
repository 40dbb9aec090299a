"""`newsradar report`: the mentions report as one HTML file, JSON for scripts, or one PNG chart per watchlist."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from crawler.cli.common import open_store, period_end
from crawler.config.model import Config, parse_duration

# Every command imports this module (for its parser); what only `report` uses is imported in `cmd_report`:
# the queries and the HTML page with its charts (SQLAlchemy, Jinja2, Matplotlib), measured: +870 ms CPU on
# `python -m crawler --help` (median of 5, ~250 ms without them).


def add_command(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("report", parents=[common], help="mentions report: charts, top stories, alerts, source health")
    p.add_argument("--since", default="7d", help="length of the period, ending now (default 7d; e.g. 24h, 2w)")
    p.add_argument("--out", help="file to write (html/json; default report.html, json to stdout) or, for png, "
                                 "a folder (default report-png)")
    p.add_argument("--watchlist", nargs="+", metavar="NAME", help="only these watchlists (and their rules)")
    p.add_argument("--format", choices=["html", "json", "png"], default="html")
    p.add_argument("--now", help="end of the period, ISO 8601 (default: now; naive times are in the config's timezone)")


def cmd_report(args: argparse.Namespace, config: Config) -> int:
    from crawler.report.queries import build_report, ensure_indexes  # lazy (see top)

    try:
        since = parse_duration(args.since)
        now = period_end(args.now, config)
    except ValueError as exc:
        print(f"newsradar report: {exc}", file=sys.stderr)
        return 2
    store = open_store(config)
    if store is None:
        return 1
    try:
        ensure_indexes(store)
        report = build_report(store, config, now=now, since=since, watchlists=args.watchlist)
    except KeyError as exc:
        print(f"newsradar report: {exc.args[0]}", file=sys.stderr)
        return 2
    finally:
        store.close()
    if args.format == "json":
        text = json.dumps(report, ensure_ascii=False, indent=2)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
        return 0
    if args.format == "png":
        from crawler.report.charts import group_charts  # lazy (see top)
        from crawler.report.html import slug

        folder = Path(args.out or "report-png")
        folder.mkdir(parents=True, exist_ok=True)
        for group in report["groups"]:
            if group["kind"] != "watchlist":
                continue
            path = folder / f"{slug(group['name'])}.png"
            path.write_bytes(group_charts(group, "png", fmt="png")["day"])
            print(path)
        return 0
    from crawler.report.html import render_html  # lazy (see top)

    out = Path(args.out or "report.html")
    out.write_text(render_html(report), encoding="utf-8")
    print(out)
    return 0
