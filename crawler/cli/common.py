"""What every `newsradar` subcommand module shares: the parser that reports errors per subcommand, the
subcommand, `--limit` and `--now` helpers, and opening the store with a clear error. Imported by `crawler.cli.main` and the
subcommand modules (alerts, report); it imports none of them, so the CLI has no import cycle."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from crawler.config.model import Config


class Parser(argparse.ArgumentParser):
    """An argparse parser whose subcommand parsers report their own errors: `newsradar items --limt 5` prints the
    usage of `items`, not of `newsradar`."""

    def parse_args(self, args=None, namespace=None):  # noqa: D102 - argparse's contract
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            deepest = self
            for key in ("command", "action"):
                chosen = getattr(parsed, key, None)
                sub = getattr(deepest, "commands", {}).get(chosen) if isinstance(chosen, str) else None
                if sub is None:
                    break
                deepest = sub
            deepest.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed


def add_command(sub, name: str, text: str, **kwargs) -> Parser:
    """A subcommand with its one-line description, shown by `newsradar --help` and by `newsradar NAME --help`."""
    parser = sub.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".", **kwargs)
    sub.commands[name] = parser
    return parser


def subcommands(parser: Parser, dest: str) -> argparse._SubParsersAction:
    sub = parser.add_subparsers(dest=dest, required=True, metavar="{" + dest + "}", parser_class=Parser)
    sub.commands = parser.commands = {}
    return sub


def limit(value: str) -> int:
    """`--limit N`: N > 0, or 0 for all."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be positive (or 0 for all), not {number}")
    return number


def period_end(value: str | None, config: Config) -> datetime | None:
    """`--now ISO` (the end of a period, `report` and `rules test --since`) as an aware time: a naive one is in
    the config's `timezone`; None when not given. ValueError when it is not ISO 8601."""
    if not value:
        return None
    now = datetime.fromisoformat(value)
    return now if now.tzinfo is not None else now.replace(tzinfo=config.tz)


JSON_HELP = "print JSON instead of a table (see the README's CLI reference for the fields)"


def open_store(config: Config):
    # lazy: the store module (SQLAlchemy), measured: +210-310 ms CPU on each command that opens no store
    # (`check`, `schema`, `--help`, `rules test TEXT`; median of 5)
    from crawler.store.database import Store, StoreError

    try:
        return Store(config.store, busy_timeout=config.store_busy_timeout.total_seconds())
    except StoreError as exc:
        print(f"newsradar: {exc}", file=sys.stderr)
        return None
