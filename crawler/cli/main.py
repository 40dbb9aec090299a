"""The `newsradar` command. It parses arguments, loads the config and wires the parts; the parts do the work.

Exit codes: 0 success; 1 a runtime failure (a store that cannot be opened, a notifier test that failed);
2 an invalid config or invalid arguments. A failing source never changes the exit code of `run`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from crawler.run import logs
from crawler.config.model import Config, ConfigError, load_config
from crawler.fetch.settings import VERSION


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default="config.yaml", help="config file (default: ./config.yaml)")
    common.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    common.add_argument("--log-format", default="text", choices=["text", "json"])

    p = argparse.ArgumentParser(prog="newsradar", description="Watch finance-news sites; alert once per matching story.")
    p.add_argument("--version", action="version", version=f"newsradar {VERSION}")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("check", parents=[common], help="validate the config")
    run = sub.add_parser("run", parents=[common], help="poll sources on their schedules (the daemon)")
    run.add_argument("--once", action="store_true", help="one pass over every source, then exit")

    items = sub.add_parser("items", parents=[common], help="stored stories, newest first")
    items.add_argument("--json", action="store_true", help="one JSON object per line")
    items.add_argument("--limit", type=int, default=50, help="at most N stories (0: all; default 50)")
    items.add_argument("--duplicates", action="store_true", help="include syndicated copies")

    ext = sub.add_parser("extract", parents=[common], help="what newsradar sees on pages (files or URLs)")
    ext.add_argument("inputs", nargs="+", metavar="FILE_OR_URL")
    ext.add_argument("--json", action="store_true", help="one JSON object per input, in input order")
    ext.add_argument("--workers", type=int, default=0, help="extraction processes (default: one per core)")

    from crawler.cli import alerts as cli_alerts

    cli_alerts.add_commands(sub, common)
    from crawler.cli import report as cli_report

    cli_report.add_command(sub, common)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logs.setup(args.log_level, args.log_format)
    if args.command == "extract":
        from crawler.cli.extract import run_extract

        return run_extract(args.inputs, as_json=args.json, workers=args.workers or None)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    if args.command == "check":
        print(f"{args.config}: ok ({len(config.sources)} sources, {len(config.rules)} rules, "
              f"{len(config.notifiers)} notifiers)")
        return 0
    handler = COMMANDS.get(args.command)
    if handler is None:
        from crawler.cli import alerts as cli_alerts

        return cli_alerts.dispatch(args, config)
    return handler(args, config)


def open_store(config: Config):
    from crawler.store.database import Store, StoreError

    try:
        return Store(config.store)
    except StoreError as exc:
        print(f"newsradar: {exc}", file=sys.stderr)
        return None


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    if not args.once:
        from crawler.run.daemon import run_daemon

        return run_daemon(Path(args.config), config)
    store = open_store(config)
    if store is None:
        return 1
    from crawler.run.lock import InstanceLock, InstanceLocked
    from crawler.run.once import run_once

    try:
        with InstanceLock(store):
            return run_once(config, store)
    except InstanceLocked as exc:
        print(f"newsradar: {exc}", file=sys.stderr)
        return 1


def cmd_items(args: argparse.Namespace, config: Config) -> int:
    from crawler.store.database import iso_utc

    store = open_store(config)
    if store is None:
        return 1
    stories = store.stories(limit=args.limit or None, duplicates=args.duplicates)
    matches = store.matches_for([s.id for s in stories])
    for story in stories:
        published = story.published_local()
        row = {
            "url": story.url,
            "title": story.title,
            "source": story.source,
            "published": published.isoformat() if published else None,
            "date_is_first_seen": story.date_is_first_seen,
            "first_seen": iso_utc(story.first_seen),
            "lang": story.lang,
            "text": story.text,
            "rules": [{"rule": m.rule, "terms": m.terms} for m in matches.get(story.id, [])],
            "duplicate_of": story.duplicate_of,
            "id": story.id,
        }
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            when = published.strftime("%Y-%m-%d %H:%M%z") if published else "-"
            rules = ",".join(r["rule"] for r in row["rules"])
            print(f"{when}  {story.source:<16} {story.title or '(no title)'}  {story.url}" + (f"  [{rules}]" if rules else ""))
    return 0


def cmd_report(args: argparse.Namespace, config: Config) -> int:
    from crawler.cli.report import cmd_report as run_report

    return run_report(args, config)


COMMANDS = {"run": cmd_run, "items": cmd_items, "report": cmd_report}
