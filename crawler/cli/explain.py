"""What the store knows about one story, for `newsradar rules test URL`: its date, where the date came from, which
rules it matched when it was stored, whether each was alerted, and why not (`Story.not_alerted`); and how `rules
test` words a rule's salience (`mentions`).

`stored_story(config, url)` looks the URL up by its canonical form among every URL a story was seen under; it
returns None when the store has no such story or cannot be read (a missing store is not an error here: the URL is
then explained as a page fetched now). Read-only: it never creates or changes the store.
"""

from __future__ import annotations

from typing import Any

from crawler.config.model import Config


def stored_story(config: Config, url: str) -> dict[str, Any] | None:
    # lazy: the store module (SQLAlchemy), measured: +300 ms CPU on `rules test TEXT` (median of 5), and as
    # much on `--help`: every command imports this module
    from sqlalchemy.exc import SQLAlchemyError

    from crawler.store.database import Store, StoreError, iso_utc

    try:
        store = Store(config.store, create=False)
    except StoreError:
        return None
    try:
        found = store.story_for_url(url)
        rows = store.outbox_for_story(found[0].id) if found is not None else []
    except SQLAlchemyError:  # a store of another version, or not a newsradar store
        return None
    finally:
        store.close()
    if found is None:
        return None
    story, matches = found
    # Whether an alert went out, and when, is the outbox's: sent, held (quiet hours, digest, rate limit), retrying
    # after an error, or dead.
    deliveries = [{"notifier": r.notifier, "target": r.target, "rules": r.rule_names(), "status": r.status,
                   "held": bool(r.held), "next_attempt": iso_utc(r.next_attempt) if r.status == "pending" else None,
                   "sent_at": iso_utc(r.sent_at), "last_error": r.last_error, "id": f"nr-{r.id}"} for r in rows]
    published = story.published_local()
    return {
        "id": story.id, "url": story.url, "source": story.source, "title": story.title or "",
        "text": story.text or "", "first_seen": iso_utc(story.first_seen),
        "published": published.isoformat() if published and not story.date_is_first_seen else None,
        "date_source": story.date_source or ("first-seen" if story.date_is_first_seen else None),
        "date_note": story.date_note, "not_alerted": story.not_alerted, "alerted": matches,
        "duplicate_of": story.duplicate_of, "thread": story.thread_id, "deliveries": deliveries,
    }


def describe(stored: dict[str, Any]) -> list[str]:
    """The lines `rules test` prints about a stored story before its rules."""
    when = f"published {stored['published']} ({stored['date_source']})" if stored["published"] else "no date (first-seen)"
    lines = [f"stored story {stored['id']} from {stored['source']}, first seen {stored['first_seen']}, {when}"]
    if stored["date_note"]:
        lines.append(f"  date: {stored['date_note']}")
    if stored["not_alerted"]:
        lines.append(f"  not alerted: {stored['not_alerted']}")
    elif stored["alerted"]:
        alerted = [rule for rule, done in stored["alerted"].items() if done]
        lines.append(f"  alerted for: {', '.join(alerted) or 'none'}")
    lines += [f"  delivery {d['id']} to {d['notifier']}: {delivery_state(d)}" for d in stored.get("deliveries", [])]
    return lines


def delivery_state(d: dict[str, Any]) -> str:
    """'sent 2026-…', 'held until … (quiet hours, digest or rate limit)', 'retrying at … after: …', 'dead: …'."""
    if d["status"] == "sent":
        return f"sent {d['sent_at']}"
    if d["status"] == "dead":
        return f"dead: {d['last_error']}"
    if d["held"]:
        return f"held until {d['next_attempt']} (quiet hours, digest or rate limit)"
    if d["last_error"]:
        return f"retrying at {d['next_attempt']} after: {d['last_error']}"
    return f"{d['status']}, due {d['next_attempt']}" if d["next_attempt"] else d["status"]


def rule_status(stored: dict[str, Any], rule: str) -> dict[str, Any]:
    """Per rule of `rules test --json`: whether the stored story matched and was alerted for it, and why not."""
    matched = rule in stored["alerted"]
    alerted = bool(stored["alerted"].get(rule))
    return {"story": stored["id"], "matched_when_stored": matched, "alerted": alerted,
            "not_alerted": stored["not_alerted"] if matched and not alerted else None,
            "delivery": [{k: v for k, v in d.items() if k != "rules"} | {"state": delivery_state(d)}
                         for d in stored.get("deliveries", []) if rule in d["rules"]]}


def mentions(salience: dict[str, Any]) -> str | None:
    """The line `rules test` prints under a rule about its mentions (RuleSet.explain's `salience`), e.g.
    `2 mentions: title 1, lead 0, text 1; in: title; needs 2`; None for a rule with no mention and no salience."""
    where = salience["where"]
    asked = [f"in: {', '.join(salience['in'])}"] if salience["in"] else []
    if salience["min_mentions"] > 1:
        asked.append(f"needs {salience['min_mentions']}")
    if not salience["mentions"] and not asked:
        return None
    n = salience["mentions"]
    counts = ", ".join(f"{place} {where[place]}" for place in ("title", "lead", "text"))
    return "; ".join([f"{n} mention{'' if n == 1 else 's'}: {counts}", *asked])
