"""`newsradar status` for people: plain aligned text that fits the terminal (80 columns when piped), or every
column uncut with `--wide`. Times are in the config's `timezone`; a cell that does not fit ends with '…'."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, tzinfo


def reason(error: str | None) -> str:
    """The cause first: 'https://x/rss: HTTP 500' (as older versions stored it) -> 'HTTP 500'."""
    if not error:
        return ""
    m = re.match(r"^[a-z][\w+.-]*://\S+?: (.+)$", error, re.S)
    return " ".join((m.group(1) if m else error).split())


def when(iso: str | None, zone: tzinfo, now: datetime) -> str:
    """'20:56' today, '12-01 20:56' another day, in `zone`; '-' for none."""
    if not iso:
        return "-"
    moment = datetime.fromisoformat(iso).astimezone(zone)
    return f"{moment:%H:%M}" if moment.date() == now.astimezone(zone).date() else f"{moment:%m-%d %H:%M}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def table(header: list[str], rows: list[list[str]], width: int | None, right: set[int] = frozenset()) -> list[str]:
    """Columns as wide as their widest cell; the last column takes what is left of `width` (None: no limit)."""
    if not rows:
        return ["  ".join(header)]
    cells = [header, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    if width is not None:
        used = sum(widths[:-1]) + 2 * (len(widths) - 1)
        widths[-1] = max(len(header[-1]), min(widths[-1], width - used))
    out = []
    for row in cells:
        parts = []
        for i, cell in enumerate(row):
            cell = _cut(cell, widths[i]) if width is not None else cell
            parts.append(cell.rjust(widths[i]) if i in right and row is not header else cell.ljust(widths[i]))
        out.append("  ".join(parts).rstrip())
    return out


def render(report: dict, zone_name: str, zone: tzinfo, now: datetime, wide: bool) -> str:
    width = None if wide else shutil.get_terminal_size((80, 24)).columns
    lines = []
    daemon = report["daemon"]
    if "workers" in report:
        lines += _cluster(report, zone, now, width)
    elif daemon["running"]:
        since = f" since {datetime.fromisoformat(daemon['since']).astimezone(zone):%Y-%m-%d %H:%M}" if daemon["since"] else ""
        pid = f" (pid {daemon['pid']})" if daemon["pid"] else ""
        lines.append(f"daemon: running on this store{pid}{since}")
    else:
        lines.append("daemon: not running on this store (nothing is scheduled)")
    lines += ["", f"sources (times in {zone_name})"]
    rows = []
    for s in report["sources"]:
        health = s["health"] + (f" ({s['failures']}x)" if s["failures"] else "")
        name = s["name"] if wide else _cut(s["name"], 20)
        row = [name, health, when(s["last_poll"], zone, now), when(s["next_run"], zone, now), str(s["stories"])]
        if "workers" in report:
            row.insert(4, s["owner"] or "-")
        if wide:
            row[1:1] = [s["type"], s["schedule"]]
            row += [when(s["last_success"], zone, now), s["silent_after"]]
        rows.append(row + [reason(s["last_error"])])
    header = ["name", "health", "last poll", "next", "stories"]
    if "workers" in report:
        header.insert(4, "polled by")
    if wide:
        header[1:1] = ["type", "schedule"]
        header += ["last ok", "silent after"]
    lines += table(header + ["last error"], rows, width, right={header.index("stories")})
    lines += ["", "rules"]
    lines += table(["rule", "alerts today", "notify"],
                   [[r["name"], str(r["alerts_today"]), ", ".join(r["notify"])] for r in report["rules"]], width,
                   right={1})
    o = report["outbox"]
    lines += ["", f"outbox: {o['pending']} pending, {o['sending']} sending, {o['sent']} sent, {o['dead']} dead"]
    return "\n".join(lines)


def _cluster(report: dict, zone: tzinfo, now: datetime, width: int | None) -> list[str]:
    """'cluster: 3 of 3 workers alive (lease 60s), config 1a2b...' and one line per worker."""
    c, workers = report["cluster"], report["workers"]
    alive = sum(w["alive"] for w in workers)
    mine = "this config.yaml is the same" if c["config_matches"] else f"this config.yaml DIFFERS ({c['this_config']})"
    lines = [f"cluster: {alive} of {len(workers)} workers alive (lease {c['lease']:g}s), running config "
             f"{c['config_hash'] or '-'}; {mine}"]
    rows = [[w["id"], w["host"], str(w["pid"]), when(w["since"], zone, now), when(w["heartbeat"], zone, now),
             ("alive" if w["alive"] else "LOST") + ("" if w["config_matches"] else ", config differs"),
             str(len(w["sources_leased"])), str(w["polls"]), ", ".join(w["sources_leased"])] for w in workers]
    lines += table(["worker", "host", "pid", "since", "heartbeat", "state", "leased", "polls", "sources"], rows,
                   width, right={2, 6, 7})
    return lines
