"""CLI commands of the alert half: `rules test`, `notify test`, `outbox`, `status`."""

from __future__ import annotations

import argparse


def add_commands(sub, common) -> None:
    return None


def dispatch(args: argparse.Namespace, config) -> int:
    raise SystemExit(f"unknown command {args.command}")
