"""Follow-ups: a later story of an event thread that already alerted a notifier does not alert there again.

Per (thread, notifier, target) the later stories collect in ONE pending `followup` outbox row ("+3 more sources:
Reuters, 新浪财经, ..."), due `threads.followup` (default 1 h) after that target's last message about the thread
(its alert, or its previous follow-up), so a thread costs a notifier at most one message per `followup`. A story
arriving while the follow-up is pending is added to it; once it has gone, the next one starts a new row. With
`followup: off` nothing is queued here: a notifier with a `digest` lists the story in its next digest
(alerts.delivery.outbox.planner), the others hear nothing more, and the story says why it did not alert. Rows
are written in the story's transaction and then delivered like operator notices (alerts.delivery.outbox):
retried, never held by quiet hours or digests.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.store.database import Outbox, Story
from crawler.store.threads import ThreadInfo

NAMED = 5  # sources named in a follow-up's title; the body lists every story


def follow_up(s: Session, story: Story, name: str, targets: int, thread: ThreadInfo, every: timedelta,
              rules: list[str], now: datetime) -> list[Outbox]:
    """New follow-up rows for `story` at notifier `name` (pending ones are extended in place)."""
    first = s.get(Story, thread.thread_id)
    entry = [story.source, story.title or story.url, story.url]
    out = []
    for target in range(targets):
        prefix = f"followup:{thread.thread_id}:{name}:{target}:"
        earlier = list(s.scalars(select(Outbox).where(Outbox.key.like(prefix + "%")).order_by(Outbox.id)))
        pending = next((r for r in earlier if r.status == "pending"), None)
        if pending is not None:
            pending.payload = _message(first, [*pending.payload["stories"], entry])
            continue
        last = s.scalar(select(func.max(Outbox.created)).join(Story, Story.id == Outbox.story_id).where(
            Story.thread_id == thread.thread_id, Outbox.notifier == name, Outbox.target == target,
            Outbox.kind == "alert"))
        times = [t for t in [last, *(r.next_attempt for r in earlier)] if t is not None]
        due = max([now, *(t + every for t in times)])
        out.append(Outbox.message("followup", name, target, _message(first, [entry]), now,
                                  key=f"{prefix}{len(earlier)}", rules=rules, urgent=False, due=due))
    return out


def _message(first: Story | None, stories: list[list[str]]) -> dict:
    sources = list(dict.fromkeys(src for src, _, _ in stories))
    named = ", ".join(sources[:NAMED]) + (", …" if len(sources) > NAMED else "")
    about = (first.title or first.url) if first is not None else "an earlier alert"
    lines = [f"On: {about}" + (f" {first.url}" if first is not None else "")]
    lines += [f"- {src}: {title} {url}" for src, title, url in stories]
    return {"title": f"+{len(sources)} more source{'s' if len(sources) != 1 else ''}: {named}"[:120],
            "body": "\n".join(lines), "format": "text", "stories": stories}
