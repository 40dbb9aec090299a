"""The `newsradar` command. It parses arguments, loads the config and wires the parts; the parts do the work.

Exit codes: 0 success; 1 a runtime failure (a store that cannot be opened, a notifier test that failed);
2 an invalid config or invalid arguments. A failing source never changes the exit code of `run`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from crawler.cli import alerts as cli_alerts
from crawler.cli import report as cli_report
from crawler.cli.common import Parser, add_command, limit, open_store, subcommands
from crawler.config import reference
from crawler.config.model import Config, ConfigError, load_config, warnings_of
from crawler.fetch.identity import VERSION
from crawler.run import logs

# Lazy imports below keep each command's start-up to what it uses. Measured as CPU time of `python -m crawler
# --help` (median of 5, each variant against this one in the same minute; ~190-250 ms without them): the store
# module (SQLAlchemy) +210-310 ms (also on `check`, `schema`, `rules test`), `crawler.cli.extract`
# (multiprocessing, the extraction pool) +6-20 ms, `crawler.run.once` +960 ms, `crawler.run.daemon` +1.6 s.


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default="config.yaml", help="config file (default: ./config.yaml)")
    common.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="default INFO; DEBUG adds what Scrapy and the scheduler say, with tracebacks")
    common.add_argument("--log-format", default="text", choices=["text", "json"],
                        help="text lines (default) or one JSON object per line")
    common.add_argument("--allow-insecure-config", action="store_true",
                        help="use a config file that group or others can write (refused by default)")

    p = Parser(prog="newsradar", description="Watch finance-news sites; alert once per matching story.")
    p.add_argument("--version", action="version", version=f"newsradar {VERSION}")
    sub = subcommands(p, "command")

    check = add_command(sub, "check", "validate the config", parents=[common])
    check.add_argument("--connect", action="store_true",
                       help="also open the store (creating its tables) and report a database that cannot be reached")
    run = add_command(sub, "run", "poll sources on their schedules (the daemon)", parents=[common])
    run.add_argument("--once", action="store_true", help="one pass over every source, then exit")

    items = add_command(sub, "items", "stored stories, newest first", parents=[common])
    items.add_argument("--json", action="store_true", help="one JSON object per story and line")
    items.add_argument("--limit", type=limit, default=50, metavar="N", help="at most N stories (0: all; default 50)")
    items.add_argument("--duplicates", action="store_true", help="include syndicated copies")

    ext = add_command(sub, "extract", "what newsradar sees on pages (files or URLs)", parents=[common])
    ext.add_argument("inputs", nargs="+", metavar="FILE_OR_URL")
    ext.add_argument("--json", action="store_true", help="one JSON object per input, in input order")
    ext.add_argument("--workers", type=int, default=0, help="extraction processes (default: one per core)")

    schema = add_command(sub, "schema", "print the JSON Schema of config.yaml (for editors and linters)",
                         parents=[common])
    schema.add_argument("--markdown", action="store_true", help="the README's config tables instead, from the models")

    cli_alerts.add_commands(sub, common)
    cli_report.add_command(sub, common)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logs.setup(args.log_level, args.log_format)
    if args.command == "schema":  # needs no config: it describes every config
        print("\n".join(reference.sections().values()) if args.markdown else reference.json_schema())
        return 0
    if args.command == "extract":
        from crawler.cli.extract import run_extract  # lazy: 6-20 ms (see top)

        return run_extract(args.inputs, as_json=args.json, workers=args.workers or None)
    # the one place the CLI reads the environment (besides ${VAR} in the config itself)
    args.allow_insecure_config = args.allow_insecure_config or os.environ.get("NEWSRADAR_ALLOW_INSECURE_CONFIG") == "1"
    try:
        config = load_config(args.config, allow_insecure=args.allow_insecure_config)
    except ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    logs.use_timezone(config.tz)
    if args.command == "check":
        return cmd_check(args, config)
    handler = COMMANDS.get(args.command)
    if handler is None:
        return cli_alerts.dispatch(args, config)
    return handler(args, config)


def cmd_check(args: argparse.Namespace, config: Config) -> int:
    """0 valid (warnings on stderr); 2 invalid (before this runs); 1 with --connect: the store cannot be opened."""
    for warning in warnings_of(config):
        print(f"{args.config}: warning: {warning}", file=sys.stderr)
    if args.connect:
        store = open_store(config)
        if store is None:
            return 1
        store.close()
    print(f"{args.config}: ok ({len(config.sources)} sources, {len(config.rules)} rules, "
          f"{len(config.notifiers)} notifiers)" + ("; store reachable" if args.connect else ""))
    return 0


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    logs.starting(args.config, config, once=args.once)
    for warning in warnings_of(config):
        logging.getLogger("newsradar").warning("%s", warning)
    if not args.once:
        from crawler.run.daemon import run_daemon  # lazy: +1.6 s (see top)

        return run_daemon(Path(args.config), config, allow_insecure=args.allow_insecure_config)
    store = open_store(config)
    if store is None:
        return 1
    from crawler.run.lock import InstanceLock, InstanceLocked  # lazy: +960 ms (see top)
    from crawler.run.once import run_once

    try:
        with InstanceLock(store):
            return run_once(config, store)
    except InstanceLocked as exc:
        print(f"newsradar: {exc}", file=sys.stderr)
        return 1


def cmd_items(args: argparse.Namespace, config: Config) -> int:
    from crawler.store.database import iso_utc  # lazy: +210-310 ms (see top)

    store = open_store(config)
    if store is None:
        return 1
    stories = store.stories(limit=args.limit or None, duplicates=args.duplicates)
    matches = store.matches_for([s.id for s in stories])
    sizes = store.thread_sizes({s.thread_id for s in stories if s.thread_id is not None})
    human: list = []
    for story in stories:
        published = story.published_local()
        row = {
            "url": story.url,
            "title": story.title,
            "source": story.source,
            "published": published.isoformat() if published else None,
            "date_is_first_seen": story.date_is_first_seen,
            "date_source": story.date_source or ("first-seen" if story.date_is_first_seen else None),
            "date_note": story.date_note,
            "first_seen": iso_utc(story.first_seen),
            "lang": story.lang,
            "text": story.text,
            "rules": [{"rule": m.rule, "terms": m.terms} for m in matches.get(story.id, [])],
            "duplicate_of": story.duplicate_of,
            "not_alerted": story.not_alerted,
            "id": story.id,
            "tickers": list(story.tickers or []),
            "company": story.company,
            "category": story.category,
            "doc_url": story.doc_url,
            "thread": story.thread_id,
            "thread_size": sizes.get(story.thread_id, 1) if story.thread_id is not None else None,
        }
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            human.append((story, published, row))
    if not args.json:
        _print_items(human, config)
    return 0


def _print_items(rows: list, config: Config) -> None:
    """A header, then one line per story: its time in `timezone` (`~` marks a first-seen time: the page gave
    none), source, title, URL and the rules it matched."""
    if not rows:
        print("no stories yet: `newsradar run --once` polls every source once")
        return
    width = max(6, *(len(story.source) for story, _, _ in rows))
    print(f"{'published (' + config.timezone + ')':<18} {'source':<{width}}  title  url  [rules]")
    for story, published, row in rows:
        moment = published or story.first_seen
        mark = "~" if story.date_is_first_seen or published is None else " "
        when = moment.astimezone(config.tz).strftime("%Y-%m-%d %H:%M") + mark
        rules = ",".join(r["rule"] for r in row["rules"])
        print(f"{when:<18} {story.source:<{width}}  {story.title or '(no title)'}  {story.url}"
              + (f"  [{rules}]" if rules else ""))


COMMANDS = {"run": cmd_run, "items": cmd_items, "report": cli_report.cmd_report}


if __name__ == "__main__":  # `python -m crawler.cli.main` as `python -m crawler` and the `newsradar` script
    sys.exit(main())
