"""The dashboard's pages as HTML strings, from the store (called on the web server's threads, never the loop)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import opencc
from markupsafe import Markup, escape
from sqlalchemy import func, or_, select

from crawler.config.model import Config
from crawler.report.charts import group_charts
from crawler.report.html import environment, render_html
from crawler.report.queries import build_report
from crawler.store.database import Outbox, Store, Story
from crawler.store.tables import rule_names

SEARCH_LIMIT = 50
SNIPPET = 90


def _local(value: datetime | None, config: Config) -> str:
    if value is None:
        return "never"
    return value.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")


def status_page(store: Store, config: Config, now: datetime, problems: list[str]) -> str:
    """Status: health verdict, outbox counts, source health, today's alerts and the last 24 h per watchlist.
    `now` is aware."""
    report = build_report(store, config, now=now, since=timedelta(hours=24))
    midnight = now.astimezone(config.tz).replace(hour=0, minute=0, second=0, microsecond=0)
    with store.session() as s:
        alerts = s.execute(
            select(Outbox.id, Outbox.notifier, Outbox.status, Outbox.created, Outbox.sent_at, Outbox.rules,
                   Story.title, Story.url, Story.source)
            .join(Story, Story.id == Outbox.story_id).where(Outbox.created >= midnight, Outbox.created <= now)
            .order_by(Outbox.created.desc()).limit(200)).all()
        outbox = dict(s.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all())
    groups = []
    for i, group in enumerate(g for g in report["groups"] if g["kind"] == "watchlist"):
        groups.append({**group, "chart": Markup(group_charts(group, prefix=f"d{i}")["hour"])})
    today = [{"notifier": a.notifier, "status": a.status, "created": _local(a.created, config),
              "sent": _local(a.sent_at, config) if a.sent_at else "", "rules": ", ".join(rule_names(a.rules)),
              "title": a.title, "url": a.url, "source": a.source} for a in alerts]
    return environment().get_template("dashboard.html.j2").render(
        report=report, groups=groups, alerts=today, outbox=outbox, problems=problems,
        today=midnight.strftime("%Y-%m-%d"), nav=True)


def report_page(store: Store, config: Config, now: datetime, since: timedelta) -> str:
    return render_html(build_report(store, config, now=now, since=since), nav=True)


def _highlight(text: str, pattern: re.Pattern) -> Markup:
    """`text` escaped, with each match of `pattern` in <mark>."""
    out, last = [], 0
    for m in pattern.finditer(text):
        out += [escape(text[last:m.start()]), Markup("<mark>"), escape(m.group(0)), Markup("</mark>")]
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _variants(q: str) -> list[str]:
    """The query as typed, in Simplified and in Traditional Chinese (a desk types one, sources print both)."""
    return list(dict.fromkeys((q, opencc.OpenCC("t2s").convert(q), opencc.OpenCC("s2t").convert(q))))


def stories_page(store: Store, config: Config, q: str) -> str:
    """Stored stories (not copies) whose title or text contains `q` (case-insensitive; Simplified and Traditional
    spellings alike), newest first, at most SEARCH_LIMIT. `%` and `_` are literals."""
    q = q.strip()[:200]
    found: list[dict[str, Any]] = []
    if q:
        variants = _variants(q)
        likes = ["%" + re.sub(r"([\\%_])", r"\\\1", v) + "%" for v in variants]
        with store.session() as s:
            rows = s.execute(
                select(Story.id, Story.title, Story.text, Story.url, Story.source, Story.published)
                .where(Story.duplicate_of.is_(None),
                       or_(*(c.ilike(like, escape="\\") for like in likes for c in (Story.title, Story.text))))
                .order_by(Story.published.desc(), Story.id.desc()).limit(SEARCH_LIMIT)).all()
        pattern = re.compile("|".join(re.escape(v) for v in variants), re.IGNORECASE)
        for r in rows:
            text = r.text or ""
            m = pattern.search(text)
            start = max(0, m.start() - SNIPPET) if m else 0
            cut = text[start:start + 2 * SNIPPET + len(q)]
            found.append({"title": _highlight(r.title or "(no title)", pattern), "url": r.url, "source": r.source,
                          "published": _local(r.published, config),
                          "snippet": _highlight(("…" if start else "") + cut + ("…" if len(text) > start + len(cut) else ""),
                                                pattern)})
    return environment().get_template("stories.html.j2").render(q=q, stories=found, limit=SEARCH_LIMIT, nav=True)
