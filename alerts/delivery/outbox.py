"""The transactional outbox: which alerts a story owes, and delivering them at least once.

Planning (`planner`) runs inside the transaction that stores a story (crawler.store.Store.add_story), so a story,
its rule matches and its outbox rows are written together or not at all:
1. every rule is matched against the story's title and main text (alerts.rules.matcher, pure);
2. the matches are stored with the story, alerted or not;
3. a story older than `max_age` (the source's, else the global one; a story with no date counts as fresh) is
   stored but owes no alert, so a new source does not flood its archive;
   a story that matched rules but owes no alert says why in `Story.not_alerted` ("older than max_age 2d:
   published 2023-01-01 (text)", "syndicated copy of story 12, which already matched iflytek");
4. a syndicated copy owes nothing for a rule its original already matched;
5. the remaining rules are grouped by notifier: ONE row per (story, notifier, target URL), naming every rule
   routed there (the matched terms are stored once, in `matches`; the sender reads them from there). A
   notifier with several apprise URLs gets a row per URL, so a retry never resends to a target that already
   succeeded.

Sending (`Sender.send_due`) claims due rows (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer), marks
them `sending`, renders and delivers each through apprise, then marks it `sent`, or schedules a retry with
exponential backoff and jitter (honouring Retry-After), or `dead` after a permanent error, `max_attempts` or
`max_age`. A crash between claim and mark leaves rows `sending`; `recover()` (run at start-up, under the
one-instance lock) puts them back to `pending`: at least once, and at most one duplicate per crash. In a
cluster, each row names the worker sending it, and only a dead worker's rows are put back (crawler.store.cluster).

Operator notices (`kind` `ops`: a source turned failing, silent or recovered; alerts went dead) are outbox rows
too (`notice_rows`), written in the transaction that records what they report, so they are as durable, retried
and counted as alerts. They go to the `ops:` notifier's targets one by one, never held by quiet hours, digests
or rate limits, and a notice that goes dead is logged and listed by `outbox`, not reported again (no loop).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import select, update

from alerts.rules.normalize import snippet as cut_snippet
from alerts.notify.deliver import Delivery, deliver
from alerts.delivery import bursts
from alerts.delivery.followups import follow_up
from alerts.delivery.policy import Due, decide
from alerts.render.renderer import Alert, Message, Renderer, Snippet
from alerts.rules.matcher import RuleSet, StoryFields
from crawler.config.model import Config
from crawler.extract.dates import format_duration
from crawler.store.threads import also_reported_by
from crawler.store.database import STALE, Match, Outbox, PlanContext, Planner, Store, Story, utcnow

log = logging.getLogger("newsradar.outbox")

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
CLAIM_BATCH = 200  # rows claimed (and held `sending`) at a time
MAX_BATCHES = 500  # per send_due: 100,000 alerts


def planner(config: Config, rules: RuleSet, now: Callable[[], datetime] = utcnow) -> Planner:
    def plan(story: Story, ctx: PlanContext) -> tuple[list[Match], list[Outbox]]:
        already, thread = ctx.already, ctx.thread
        fields = StoryFields(tuple(story.tickers or ()), story.category, story.source)
        found = rules.match(story.title or "", story.text or "", fields)
        matches = [Match(story_id=story.id, rule=m.rule, terms=list(m.terms)) for m in found]
        max_age = config.max_age_for(story.source)
        current = now()
        if story.published is not None and not story.date_is_first_seen and story.published < current - max_age:
            if found:
                story.not_alerted = (f"{STALE} {format_duration(max_age)}: published "
                                     f"{story.published_local().date().isoformat()} ({story.date_source or 'unknown'})")
            return matches, []
        # A wave of threads matching a rule is one burst alert (alerts.delivery.bursts), whatever else happens.
        bursting = bursts.check(ctx.session, config, story, found, ctx.now) if found else []
        owed = [m for m in found if m.rule not in already]
        if len(owed) < len(found):
            story.not_alerted = (f"syndicated copy of story {story.duplicate_of}, which already matched "
                                 f"{', '.join(m.rule for m in found if m.rule in already)}")
        by_notifier: dict[str, list] = {}
        for m in owed:
            for name in m.notify:
                by_notifier.setdefault(name, []).append(m)
        rows, followed = [], []
        for name, routed in by_notifier.items():
            notifier = config.notifiers.get(name)
            if notifier is None:
                continue
            listed = False
            if thread is not None and name in thread.notified:  # the event already alerted there
                if config.threads.followup is not None:
                    followed.append(name)
                    rows += follow_up(ctx.session, story, name, len(notifier.url), thread, config.threads.followup,
                                      [m.rule for m in routed], current)
                    continue
                if not notifier.digest:
                    followed.append(name)
                    continue
                listed = True  # `followup: off`: a digest notifier lists it in its next digest, never on its own
            hits = routed[0].hits
            # The snippet shows the story: the first hit in the main text, the title's only if the text has none.
            first = next((h for h in hits if h.field == "text"), hits[0] if hits else None)
            snip = None
            if first is not None:
                source_text = story.title if first.field == "title" else story.text
                snip = list(cut_snippet(source_text or "", first.start, first.end, 200))
            for target in range(len(notifier.url)):
                rows.append(Outbox(
                    story_id=story.id, kind="alert", notifier=name, target=target,
                    rules=[m.rule for m in routed], snippet=snip,
                    urgent=any(m.urgent for m in routed) and not listed, status="pending",
                    next_attempt=current, created=current, attempts=0,
                ))
        if followed:
            story.not_alerted = (f"part of thread {thread.thread_id}, already alerted to {', '.join(followed)}"
                                 + ("" if config.threads.followup is None else " (sent as a follow-up)"))
        queued = {rule for row in rows if row.kind == "alert" for rule in row.rules}
        rows += bursting
        for m in matches:  # `alerted`: queued for at least one notifier (what `status` counts)
            m.alerted = m.rule in queued
        return matches, rows

    return plan


def notice_rows(config: Config, title: str, body: str, now: datetime | None = None) -> list[Outbox]:
    """One pending `ops` row per target URL of the `ops:` notifier; none when no ops notifier is configured
    (the caller has logged what the notice says)."""
    notifier = config.notifiers.get(config.ops) if config.ops else None
    if notifier is None:
        return []
    current = now or utcnow()
    payload = {"title": title[:120], "body": body}
    return [Outbox.message("ops", config.ops, target, payload, current) for target in range(len(notifier.url))]


@dataclass
class SendReport:
    sent: int = 0  # alerts delivered (a digest counts each alert in it)
    messages: int = 0
    retried: int = 0
    held: int = 0
    dead: list[int] = field(default_factory=list)


def alert_for(row: Outbox, story: Story, terms: dict[str, list[str]], also: list[str] | None = None) -> Alert:
    """The alert a row carries: its story, per rule routed to it the terms that matched (`terms`, the story's
    `matches` by rule), and the other sources of its event thread (`also`)."""
    snip = Snippet(*row.snippet) if row.snippet else None
    return Alert(
        id=f"nr-{row.id}", title=story.title or story.url, url=story.url, source=story.source,
        published=story.published, published_is_first_seen=story.date_is_first_seen,
        matches=tuple((rule, tuple(terms.get(rule, ()))) for rule in row.rule_names()), snippet=snip, urgent=row.urgent,
        tickers=tuple(story.tickers or ()), company=story.company, category=story.category, doc_url=story.doc_url,
        also_reported_by=tuple(also or ()),
    )


def _what(row: Outbox) -> str:
    return "alert" if row.kind == "alert" else f"{row.kind} notice"


def with_alert_header(url: str, alert_ids: str) -> str:
    """Mail targets carry the alert id in an `X-Newsradar-Alert` header (apprise's `+Header=value`), so a rare
    duplicate is recognisable by a filter, not only by reading the footer."""
    if Renderer.channel_for(url) != "mail":
        return url
    return f"{url}{'&' if '?' in url else '?'}+X-Newsradar-Alert={quote(alert_ids[:200], safe='')}"


class Sender:
    """Delivers due outbox rows. Blocking (apprise is): run it on a thread of its own, never on the reactor."""

    def __init__(self, store: Store, config: Config, *, send: Callable[..., Delivery] = deliver,
                 clock: Callable[[], datetime] = utcnow, rng: random.Random | None = None):
        self.store = store
        self.config = config
        self.renderer = Renderer(config.timezone, config.template_dirs())
        self.send = send
        self.clock = clock
        self.rng = rng or random.Random()

    def recover(self) -> int:
        """Rows left `sending` by a crash go back to `pending` (call only while holding the instance lock)."""
        with self.store.session.begin() as s:
            result = s.execute(update(Outbox).where(Outbox.status == "sending").values(status="pending"))
            return result.rowcount or 0

    def claim(self) -> list[tuple[Outbox, Alert | None]]:
        """Due rows, marked `sending`, each with the alert it carries (None for an operator notice)."""
        now = self.clock()
        with self.store.session.begin() as s:
            q = (select(Outbox).where(Outbox.status == "pending", Outbox.next_attempt <= now)
                 .order_by(Outbox.id).limit(CLAIM_BATCH).with_for_update(skip_locked=True))
            rows = list(s.scalars(q))
            for row in rows:
                row.status = "sending"
                row.claimed_by = self.store.owner  # a cluster worker's: put back if it dies (crawler.store.cluster)
            wanted = {r.story_id for r in rows if r.story_id is not None}
            stories = {st.id: st for st in s.scalars(select(Story).where(Story.id.in_(wanted)))} if wanted else {}
            terms: dict[int, dict[str, list[str]]] = {}
            for m in s.scalars(select(Match).where(Match.story_id.in_(wanted))) if wanted else ():
                terms.setdefault(m.story_id, {})[m.rule] = list(m.terms or [])
            also = also_reported_by(s, list(stories.values()))
            return [(row, alert_for(row, stories[row.story_id], terms.get(row.story_id, {}), also.get(row.story_id))
                     if row.story_id is not None else None) for row in rows]

    def send_due(self) -> SendReport:
        """Send everything due, CLAIM_BATCH rows at a time, until nothing is due. A batch leaves no row due
        (each is sent, dead, held or backing off for at least a few seconds), so this ends; MAX_BATCHES bounds
        it against a clock that does not move. Alerts that went dead queue one notice, sent in the same call."""
        report = SendReport()
        reported = 0
        for _ in range(MAX_BATCHES):
            claimed = self.claim()
            if not claimed:
                if len(report.dead) == reported:
                    break
                self._report_dead(report.dead[reported:])
                reported = len(report.dead)
                continue
            self._send_batch(claimed, report)
        else:
            log.warning("outbox: %d batches sent in one go; the rest goes out on the next run", MAX_BATCHES)
        return report

    def _send_batch(self, claimed: list[tuple[Outbox, Alert | None]], report: SendReport) -> None:
        groups: dict[tuple[str, int], list[tuple[Outbox, Alert]]] = {}
        for row, alert in claimed:
            notifier = self.config.notifiers.get(row.notifier)
            if notifier is None or row.target >= len(notifier.url):
                gone = Delivery(False, f"notifier '{row.notifier}' is no longer configured", permanent=True)
                self._finish([row], gone, report)
            elif alert is None:  # an operator notice or a scheduled report: on its own, now
                self._send_notice(notifier, row, report)
            else:
                groups.setdefault((row.notifier, row.target), []).append((row, alert))
        for (name, target), group in groups.items():
            notifier = self.config.notifiers[name]
            self._send_group(notifier, notifier.url[target], group, report)

    def _send_notice(self, notifier, row: Outbox, report: SendReport) -> None:
        payload = row.payload or {}
        message = Message(title=payload.get("title") or "newsradar", body=payload.get("body") or "",
                          body_format=payload.get("format") or "text")
        self._finish([row], self._deliver(notifier.url[row.target], f"nr-{row.id}", lambda: [message], notifier),
                     report)

    def _send_group(self, notifier, url: str, group: list[tuple[Outbox, Alert]], report: SendReport) -> None:
        now = self.clock()
        rows = {row.id: (row, alert) for row, alert in group}
        plan = decide(
            [Due(r.id, r.urgent, r.created, r.held) for r, _ in group], now, self.config.tz,
            quiet=notifier.quiet, digest=notifier.digest, max_per_hour=notifier.max_per_hour,
            sent_last_hour=self._recent_sends(group[0][0], now) if notifier.max_per_hour else [],
            backlog=notifier.backlog,
        )
        if plan.hold:
            with self.store.session.begin() as s:
                for row_id, until in plan.hold.items():
                    s.execute(update(Outbox).where(Outbox.id == row_id).values(status="pending", next_attempt=until, held=True))
            report.held += len(plan.hold)
        channel = Renderer.channel_for(url)
        for row_id in plan.single:
            row, alert = rows[row_id]
            render = lambda: [self.renderer.render(channel, alert, notifier.template)]  # noqa: E731
            self._finish([row], self._deliver(url, alert.id, render, notifier), report)
        if plan.digest:
            batch = [rows[i] for i in plan.digest]
            alerts = [alert for _, alert in batch]
            ids = ",".join(a.id for a in alerts)
            render = lambda: self.renderer.render_digest(channel, alerts, notifier.template)  # noqa: E731
            self._finish([r for r, _ in batch], self._deliver(url, ids, render, notifier), report,
                         batch=f"d{plan.digest[0]}")

    def _deliver(self, url: str, ids: str, render: Callable[[], list], notifier) -> Delivery:
        try:
            messages = render()
        except Exception as exc:  # a template that broke after validation: keep the rows, say why
            return Delivery(False, f"render failed: {type(exc).__name__}: {exc}")
        for message in messages:  # a digest too long for the service goes as several messages, in order
            result = self.send(with_alert_header(url, ids), message, timeout=notifier.timeout.total_seconds())
            if not result.ok:
                return result
        return Delivery(True)

    def _recent_sends(self, row: Outbox, now: datetime) -> list[datetime]:
        """When each message to this target went out in the last hour (a digest is one message)."""
        with self.store.session() as s:
            found = s.execute(select(Outbox.id, Outbox.batch, Outbox.sent_at).where(
                Outbox.notifier == row.notifier, Outbox.target == row.target, Outbox.status == "sent",
                Outbox.sent_at > now - timedelta(hours=1)))
            return list({batch or f"r{i}": sent for i, batch, sent in found}.values())

    def _finish(self, rows: list[Outbox], result: Delivery, report: SendReport, batch: str | None = None) -> None:
        now = self.clock()
        for row in rows:
            notifier = self.config.notifiers.get(row.notifier)
            attempts = row.attempts + 1
            values: dict = {"attempts": attempts}
            if result.ok:
                values.update(status="sent", sent_at=now, last_error=None, batch=batch)
                report.sent += 1
            else:
                max_attempts = notifier.max_attempts if notifier else 1
                max_age = notifier.max_age if notifier else timedelta(0)
                values["last_error"] = result.error or "delivery failed"
                if result.permanent or attempts >= max_attempts or now - row.created >= max_age:
                    values["status"] = "dead"
                    report.dead.append(row.id)
                    log.error("%s nr-%d to %s is dead after %d attempts: %s", _what(row), row.id, row.notifier,
                              attempts, values["last_error"])
                else:
                    values.update(status="pending", next_attempt=now + self.backoff(attempts, result.retry_after))
                    report.retried += 1
                    log.warning("%s nr-%d to %s failed (attempt %d), retrying: %s", _what(row), row.id,
                                row.notifier, attempts, values["last_error"])
            with self.store.session.begin() as s:
                s.execute(update(Outbox).where(Outbox.id == row.id).values(**values))
        report.messages += bool(result.ok)

    def _report_dead(self, dead: list[int]) -> None:
        """Tell the operator once per dead alert: one notice row naming them, written in the transaction that
        marks them reported (the log and `outbox` list them always). Dead notices are not reported again."""
        with self.store.session.begin() as s:
            fresh = list(s.scalars(select(Outbox.id).where(Outbox.id.in_(dead), Outbox.reported.is_(False),
                                                           Outbox.kind == "alert")))
            if not fresh:
                return
            s.execute(update(Outbox).where(Outbox.id.in_(fresh)).values(reported=True))
            text = (f"{len(fresh)} alert(s) could not be delivered and are dead: "
                    f"{', '.join(f'nr-{i}' for i in fresh)}. See `newsradar outbox`; "
                    f"`newsradar outbox retry --dead` replays.")
            s.add_all(notice_rows(self.config, "newsradar: undeliverable alerts", text, self.clock()))

    def backoff(self, attempts: int, retry_after: float | None) -> timedelta:
        delay = min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_CAP)
        delay *= self.rng.uniform(0.8, 1.2)  # jitter: a recovering service is not hit by every retry at once
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        return delay
