"""CLI commands of the alert half and of operations: `rules test`, `notify test`, `outbox`, `status`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from crawler.cli.common import JSON_HELP, add_command, open_store, subcommands
from crawler.cli.explain import describe, mentions, rule_status, stored_story
from crawler.cli.status_table import render
from crawler.config.model import Config, compile_rules

# Every command imports this module (its parser is built from it), so what only one command uses is imported in
# that command. Measured as CPU time of `python -m crawler --help` (median of 5, ~190-250 ms without them):
# the store module (SQLAlchemy) +210-310 ms, crawler.run.lock +320 ms, crawler.run.health (the outbox, apprise)
# +670 ms, the notifiers and renderer (apprise, requests, Jinja2) +310 ms, crawler.cli.extract +6-20 ms.


def add_commands(sub, common) -> None:
    rules = subcommands(add_command(sub, "rules", "rule tools: `rules test` tries the rules on a text, file or URL"),
                        "action")
    rt = add_command(rules, "test", "which rules and terms match a text, a saved page or a URL, and why; with "
                     "--since, what the current rules would have alerted on the stories stored in a period",
                     parents=[common])
    rt.add_argument("target", metavar="TEXT_OR_FILE_OR_URL", nargs="?",
                    help="a URL (http/https), a file (a path that exists, or looks like one), else the text itself")
    rt.add_argument("--json", action="store_true", help=JSON_HELP)
    rt.add_argument("--since", metavar="DURATION",
                    help="backtest: run the current rules over the stories first seen in this period (e.g. 7d, 24h) "
                         "instead of testing a text, file or URL; sends and writes nothing")
    rt.add_argument("--rule", action="append", metavar="NAME", help="with --since: only this rule (repeatable)")
    rt.add_argument("--now", metavar="ISO",
                    help="with --since: end of the period, ISO 8601 (default: now; naive times are in the config's "
                         "timezone)")

    notify = subcommands(add_command(sub, "notify", "notifier tools: `notify test NAME` sends a sample alert"),
                         "action")
    nt = add_command(notify, "test", "send a sample alert through one notifier", parents=[common])
    nt.add_argument("name", metavar="NAME")

    out = add_command(sub, "outbox", "pending, failed and dead alerts; `outbox ID` shows one, `outbox retry` replays",
                      parents=[common])
    out.add_argument("action", nargs="?", type=_action_or_id, default="list", metavar="list|retry|ID",
                     help="list (default), retry, or an alert id to show")
    out.add_argument("ids", nargs="*", type=_alert_id, metavar="ID", help="alert ids as listed: 42 or nr-42")
    out.add_argument("--dead", action="store_true", help="with retry: replay every dead alert")
    out.add_argument("--all", action="store_true", help="with list: sent alerts too")
    out.add_argument("--json", action="store_true", help="one JSON object per alert and line")

    st = add_command(sub, "status", "sources, rules and the outbox at a glance", parents=[common])
    st.add_argument("--json", action="store_true", help=JSON_HELP)
    st.add_argument("--wide", action="store_true", help="every column, nothing cut (type, schedule, last ok, ...)")


def _alert_id(value: str) -> int:
    """'nr-42' (as messages and `outbox` show it) or '42'."""
    try:
        return int(value.removeprefix("nr-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not an alert id (like nr-42)") from None


def _action_or_id(value: str) -> str | int:
    """`outbox list`, `outbox retry`, or `outbox nr-42` (an id: show that alert)."""
    if value in ("list", "retry"):
        return value
    try:
        return _alert_id(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"'{value}' is neither list, retry nor an alert id (like nr-42)") from None


def dispatch(args: argparse.Namespace, config: Config) -> int:
    handlers = {"rules": rules_command, "notify": notify_test, "outbox": outbox, "status": status}
    return handlers[args.command](args, config)


def rules_command(args: argparse.Namespace, config: Config) -> int:
    """`rules test TARGET` explains one text, file or URL; `rules test --since D` is the backtest (one of the
    two: both, or neither, is exit 2; --rule and --now go with --since only)."""
    if args.since is not None and args.target is not None:
        print(f"newsradar rules test: give TEXT_OR_FILE_OR_URL or --since, not both (--since {args.since} "
              f"backtests the stored stories; {args.target!r} would be tested on its own)", file=sys.stderr)
        return 2
    if args.since is not None:
        # imported here: the backtest's SQLAlchemy and matcher imports cost ~0.19 s that no other command needs
        from crawler.cli.backtest import run_backtest

        return run_backtest(args, config)
    if args.target is None:
        print("newsradar rules test: needs TEXT_OR_FILE_OR_URL to test, or --since DURATION to backtest the "
              "stored stories", file=sys.stderr)
        return 2
    if args.rule or args.now:
        print("newsradar rules test: --rule and --now go with --since (the backtest)", file=sys.stderr)
        return 2
    return rules_test(args, config)


def rules_test(args: argparse.Namespace, config: Config) -> int:
    target = args.target
    title, text = "", target
    kind = target_kind(target)
    if kind == "missing":
        print(f"newsradar: no such file: {target} (a text to test needs a space, or no leading / ./ ~ "
              f"and no file suffix)", file=sys.stderr)
        return 2
    # A URL the store has is explained as stored: its stored text, date, and why it was (not) alerted.
    stored = stored_story(config, target) if kind == "url" else None
    if stored is not None:
        title, text = stored["title"] or "", stored["text"] or ""
    elif kind in ("url", "file"):
        from crawler.cli.extract import extract_one  # lazy (see top)

        page = extract_one(target if kind == "url" else str(Path(target).expanduser()))
        if "error" in page:
            print(f"newsradar: cannot read {target}: {page['error']}", file=sys.stderr)
            return 1
        title, text = page.get("title") or "", page.get("text") or ""
    read = {"url": f"read URL {target}", "file": f"read file {target}", "text": "read the argument as text"}[kind]
    if stored is not None:
        read = f"read the stored story at {target}"
    read += f" ({len(title)} characters of title, {len(text)} of text)" if kind != "text" else f" ({len(text)} characters)"
    print(read, file=sys.stderr if args.json else sys.stdout)  # --json keeps stdout one JSON document
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
        counted = mentions(entry["salience"])
        if counted:
            print(f"        {counted}")
        for hit in entry["hits"][:5]:
            seen = fields[hit["field"]][hit["start"]:hit["end"]]
            print(f"        {hit['term']!r} in {hit['field']} at {hit['start']}: {seen!r}")
    return 0


FILE_SUFFIXES = (".html", ".htm", ".xhtml", ".xml", ".txt", ".gz", ".json", ".md", ".rss", ".atom")


def target_kind(target: str) -> str:
    """What `rules test TARGET` reads: 'url' (http/https), 'file' (an existing file), 'missing' (no file, but it
    looks like a path: one word starting with /, ./, ../ or ~, or ending in a file suffix such as .html), else
    'text' (`USD/CNY` and `科大讯飞/国产算力` are text). Never raises: a text too long for a file name is text."""
    if target.startswith(("http://", "https://")):
        return "url"
    try:
        if Path(target).expanduser().is_file():
            return "file"
    except (OSError, ValueError):  # too long for a file name, or a NUL byte: it is text
        return "text"
    one_word = not any(c.isspace() for c in target)
    if one_word and (target.startswith(("/", "./", "../", "~")) or target.lower().endswith(FILE_SUFFIXES)):
        return "missing"
    return "text"


def notify_test(args: argparse.Namespace, config: Config) -> int:
    from alerts.notify.deliver import deliver, mask_url  # lazy (see top)
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
    from crawler.store.database import iso_utc  # lazy (see top)

    if isinstance(args.action, int):  # `outbox nr-42`: that alert (and any further ids)
        args.action, args.ids = "list", [args.action, *args.ids]
    store = open_store(config)
    if store is None:
        return 1
    if args.action == "retry":
        if not args.ids and not args.dead:
            print("newsradar: outbox retry needs alert IDs or --dead", file=sys.stderr)
            return 2
        count, unknown = store.requeue(args.ids, dead=args.dead)
        if unknown:  # all or none: an unknown id requeues nothing
            print(f"newsradar: no alert {', '.join(f'nr-{i}' for i in unknown)} in the outbox; nothing queued again",
                  file=sys.stderr)
            return 2
        print(f"{count} alerts queued again; they go out on the next pass or within seconds in the daemon")
        return 0
    rows = store.outbox_rows(args.ids, include_sent=args.all)
    for row, title in rows:
        item = {"id": row.id, "kind": row.kind, "status": row.status, "notifier": row.notifier, "target": row.target,
                "attempts": row.attempts, "last_error": row.last_error, "story": title,
                "next_attempt": iso_utc(row.next_attempt) if row.status == "pending" else None,
                "created": iso_utc(row.created)}
        if args.json:
            print(json.dumps(item, ensure_ascii=False))
        else:
            err = f"  last error: {row.last_error}" if row.last_error else ""
            print(f"nr-{row.id:<6} {row.status:<8} {row.notifier:<14} attempts={row.attempts}  {title}{err}")
    if args.ids:
        missing = [f"nr-{i}" for i in dict.fromkeys(args.ids) if i not in {row.id for row, _ in rows}]
        if missing:
            print(f"newsradar: no alert {', '.join(missing)} in the outbox", file=sys.stderr)
            return 2
    elif not rows and not args.json:
        print("outbox is empty: nothing pending, failed or dead")
    return 0


def status(args: argparse.Namespace, config: Config) -> int:
    from crawler.run.health import silent_after  # lazy (see top)
    from crawler.run.lock import holder
    from crawler.store.database import utcnow

    store = open_store(config)
    if store is None:
        return 1
    health = store.health()
    outbox_counts = store.outbox_counts()
    now = utcnow()
    since = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = store.alerted_by_rule(since)
    try:
        running = holder(store)
    except Exception:  # noqa: BLE001 - status must show the rest even if the lock cannot be checked
        running = None
    sources = []
    for src in config.sources:
        h = health.get(src.name)
        next_run = (h.last_poll + src.every) if (running and h and h.last_poll and not src.cron) else None
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
        "daemon": {"running": running is not None, "pid": (running or {}).get("pid"),
                   "since": _iso((running or {}).get("since"))},
        "sources": sources,
        "rules": [{"name": r.name, "alerts_today": today.get(r.name, 0), "notify": list(r.notify)} for r in config.rules],
        "outbox": {k: outbox_counts.get(k, 0) for k in ("pending", "sending", "sent", "dead")},
    }
    if config.cluster is not None:
        report.update(_cluster_report(store, config, sources))
        report["daemon"]["running"] = any(w["alive"] for w in report["workers"])
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(render(report, config.timezone, config.tz, now, args.wide))
    return 0


def _cluster_report(store, config: Config, sources: list[dict]) -> dict:
    """The workers and which worker holds each source's poll; sources' `next_run` from the shared schedule."""
    from crawler.run.cluster import config_digest  # lazy (see top)
    from crawler.store.cluster import cluster_hash, cluster_state

    workers, schedule, _ = cluster_state(store, config.cluster.lease)
    running = cluster_hash(workers)
    mine = config_digest(config)
    for src in sources:
        plan = schedule.get(src["name"], {})
        src["owner"] = plan.get("owner")
        src["next_run"] = _iso(plan.get("next_due")) if src["enabled"] else None
    return {
        "cluster": {"lease": config.cluster.lease.total_seconds(), "config_hash": running, "this_config": mine,
                    "config_matches": running in (None, mine)},
        "workers": [{"id": w["id"], "host": w["host"], "pid": w["pid"], "since": _iso(w["since"]),
                     "heartbeat": _iso(w["heartbeat"]), "alive": w["alive"], "config_hash": w["config_hash"],
                     "config_matches": w["config_hash"] == running, "sources_leased": w["leased"],
                     "polls": w["polls"], "fenced": w["fenced"]} for w in workers],
    }


def _iso(value: datetime | None) -> str | None:
    from crawler.store.database import iso_utc  # lazy (see top)

    return iso_utc(value, "seconds")


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
