"""CLI commands of the alert half and of operations: `rules test`, `notify test`, `outbox`, `status`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from crawler.config.model import Config, compile_rules


def add_commands(sub, common) -> None:
    rules = sub.add_parser("rules", help="rule tools").add_subparsers(dest="action", required=True)
    rt = rules.add_parser("test", parents=[common], help="which rules and terms match a text, file or URL, and why")
    rt.add_argument("target", metavar="TEXT_OR_URL")
    rt.add_argument("--json", action="store_true")

    notify = sub.add_parser("notify", help="notifier tools").add_subparsers(dest="action", required=True)
    nt = notify.add_parser("test", parents=[common], help="send a sample alert through one notifier")
    nt.add_argument("name", metavar="NAME")

    out = sub.add_parser("outbox", parents=[common], help="pending, failed and dead alerts; `outbox retry` replays")
    out.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    out.add_argument("ids", nargs="*", type=_alert_id, metavar="ID", help="alert ids as listed: 42 or nr-42")
    out.add_argument("--dead", action="store_true", help="with retry: replay every dead alert")
    out.add_argument("--all", action="store_true", help="with list: sent alerts too")
    out.add_argument("--json", action="store_true")

    st = sub.add_parser("status", parents=[common], help="sources, rules and the outbox at a glance")
    st.add_argument("--json", action="store_true")


def _alert_id(value: str) -> int:
    """'nr-42' (as messages and `outbox` show it) or '42'."""
    try:
        return int(value.removeprefix("nr-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not an alert id (like nr-42)") from None


def dispatch(args: argparse.Namespace, config: Config) -> int:
    handlers = {"rules": rules_test, "notify": notify_test, "outbox": outbox, "status": status}
    return handlers[args.command](args, config)


def rules_test(args: argparse.Namespace, config: Config) -> int:
    from crawler.cli.explain import describe, rule_status, stored_story

    target = args.target
    title, text = "", target
    # A URL the store has is explained as stored: its stored text, date, and why it was (not) alerted.
    stored = stored_story(config, target) if target.startswith(("http://", "https://")) else None
    if stored is not None:
        title, text = stored["title"], stored["text"]
    elif target.startswith(("http://", "https://")) or Path(target).is_file():
        from crawler.cli.extract import extract_one

        page = extract_one(target)
        if "error" in page:
            print(f"newsradar: cannot read {target}: {page['error']}", file=sys.stderr)
            return 1
        title, text = page.get("title") or "", page.get("text") or ""
    report = compile_rules(config).explain(title, text)
    for entry in report:
        entry["hits"] = [dataclasses.asdict(hit) for hit in entry.get("hits", [])]
        if stored is not None:
            entry["stored"] = rule_status(stored, entry["rule"])
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    fields = {"title": title, "text": text}
    for line in describe(stored) if stored is not None else ():
        print(line)
    for entry in report:
        mark = "MATCH" if entry["matched"] else "no   "
        told = entry.get("stored") or {}
        after = "" if not told.get("matched_when_stored") else (
            "; alerted" if told["alerted"] else f"; not alerted: {told['not_alerted'] or 'no notifier'}")
        print(f"{mark} {entry['rule']}: {entry['reason']}{after}")
        for hit in entry["hits"][:5]:
            seen = fields[hit["field"]][hit["start"]:hit["end"]]
            print(f"        {hit['term']!r} in {hit['field']} at {hit['start']}: {seen!r}")
    return 0


def notify_test(args: argparse.Namespace, config: Config) -> int:
    from alerts.notify.deliver import deliver, mask_url
    from alerts.render.renderer import Alert, Renderer, Snippet

    notifier = config.notifiers.get(args.name)
    if notifier is None:
        print(f"newsradar: no notifier named '{args.name}' (have: {', '.join(config.notifiers) or 'none'})", file=sys.stderr)
        return 2
    renderer = Renderer(config.timezone, config.template_dirs())
    sample = Alert(
        id="nr-test", title="newsradar test alert: iFlytek (科大讯飞) and domestic computing power",
        url="https://example.com/newsradar-test", source="newsradar",
        published=datetime.now(timezone.utc), published_is_first_seen=False,
        matches=(("iflytek", ("iFlytek",)),), snippet=Snippet("This is a test of ", "iFlytek", " alerts."),
    )
    failed = 0
    for url in notifier.url:
        message = renderer.render(Renderer.channel_for(url), sample, notifier.template)
        result = deliver(url, message, timeout=notifier.timeout.total_seconds())
        print(f"{mask_url(url)}: {'sent' if result.ok else 'FAILED: ' + (result.error or 'unknown error')}")
        failed += not result.ok
    return 1 if failed else 0


def outbox(args: argparse.Namespace, config: Config) -> int:
    from sqlalchemy import select, update

    from crawler.cli.main import open_store
    from crawler.store.database import Outbox, Story, iso_utc, utcnow

    store = open_store(config)
    if store is None:
        return 1
    if args.action == "retry":
        if not args.ids and not args.dead:
            print("newsradar: outbox retry needs alert IDs or --dead", file=sys.stderr)
            return 2
        with store.session.begin() as s:
            q = update(Outbox).where(Outbox.status == "dead" if args.dead else Outbox.id.in_(args.ids))
            count = s.execute(q.values(status="pending", attempts=0, next_attempt=utcnow(), created=utcnow(),
                                       reported=False)).rowcount
        print(f"{count} alerts queued again; they go out on the next pass or within seconds in the daemon")
        return 0
    with store.session() as s:
        q = select(Outbox, Story.title).join(Story, Story.id == Outbox.story_id).order_by(Outbox.id.desc())
        if args.ids:
            q = q.where(Outbox.id.in_(args.ids))
        elif not args.all:
            q = q.where(Outbox.status != "sent")
        rows = list(s.execute(q.limit(500)))
    for row, title in rows:
        item = {"id": row.id, "status": row.status, "notifier": row.notifier, "target": row.target,
                "attempts": row.attempts, "last_error": row.last_error, "story": title,
                "next_attempt": iso_utc(row.next_attempt) if row.status == "pending" else None,
                "created": iso_utc(row.created)}
        if args.json:
            print(json.dumps(item, ensure_ascii=False))
        else:
            err = f"  last error: {row.last_error}" if row.last_error else ""
            print(f"nr-{row.id:<6} {row.status:<8} {row.notifier:<14} attempts={row.attempts}  {title}{err}")
    if not rows and not args.json:
        print("outbox is empty: nothing pending, failed or dead")
    return 0


def status(args: argparse.Namespace, config: Config) -> int:
    from sqlalchemy import func, select

    from crawler.cli.main import open_store
    from crawler.run.health import silent_after
    from crawler.store.database import Match, Story, utcnow

    store = open_store(config)
    if store is None:
        return 1
    health = store.health()
    outbox_counts = store.outbox_counts()
    now = utcnow()
    since = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with store.session() as s:
        today = dict(s.execute(
            select(Match.rule, func.count()).join(Story, Story.id == Match.story_id)
            .where(Match.alerted.is_(True), Story.first_seen >= since).group_by(Match.rule)).all())
    sources = []
    for src in config.sources:
        h = health.get(src.name)
        next_run = (h.last_poll + src.every) if (h and h.last_poll and not src.cron) else None
        sources.append({
            "name": src.name, "type": src.type, "schedule": src.cron or f"every {_human(src.every)}",
            "enabled": src.enabled, "health": h.state if h else "never polled",
            "last_poll": _iso(h.last_poll if h else None), "last_success": _iso(h.last_success if h else None),
            "last_error": h.last_error if h and (h.failures or h.state == "throttled") else None,
            "failures": h.failures if h else 0,
            "stories": h.stories if h else 0, "next_run": _iso(max(next_run, now) if next_run else None),
            "silent_after": _human(silent_after(config, src)),
        })
    report = {
        "sources": sources,
        "rules": [{"name": r.name, "alerts_today": today.get(r.name, 0), "notify": list(r.notify)} for r in config.rules],
        "outbox": {k: outbox_counts.get(k, 0) for k in ("pending", "sending", "sent", "dead")},
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    _print_status(report)
    return 0


def _print_status(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="sources")
    for col in ("name", "type", "schedule", "health", "last poll (UTC)", "next run", "stories"):
        table.add_column(col, no_wrap=True)
    table.add_column("last error", overflow="ellipsis", no_wrap=True, max_width=40)
    for s in report["sources"]:
        health = s["health"] + (f" ({s['failures']}✗)" if s["failures"] else "")
        table.add_row(s["name"], s["type"], s["schedule"], health, _short(s["last_poll"]), _short(s["next_run"]),
                      str(s["stories"]), s["last_error"] or "")
    console.print(table)
    rules = Table(title="rules")
    for col in ("rule", "alerts today", "notify"):
        rules.add_column(col)
    for r in report["rules"]:
        rules.add_row(r["name"], str(r["alerts_today"]), ", ".join(r["notify"]))
    console.print(rules)
    o = report["outbox"]
    console.print(f"outbox: {o['pending']} pending, {o['sending']} sending, {o['sent']} sent, {o['dead']} dead")


def _short(iso: str | None) -> str:
    """'2026-11-30T08:38:49+00:00' -> '11-30 08:38' (a table cell, not an archive)."""
    return f"{iso[5:10]} {iso[11:16]}" if iso else "-"


def _iso(value: datetime | None) -> str | None:
    from crawler.store.database import iso_utc

    return iso_utc(value, "seconds")


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
