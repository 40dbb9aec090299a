"""The matched terms are stored once (issue 10): in `matches`; an outbox row names its rules and the sender reads
the terms from there, also for rows an earlier version wrote with [rule, terms] pairs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from alerts.delivery.outbox import Sender, planner
from crawler.config.model import compile_rules, parse_config
from crawler.items import NewStory
from crawler.store.database import Match, Outbox, Store

CONFIG = """store: sqlite:///{db}
rules:
  - name: iflytek
    any: [iFlytek, 科大讯飞]
    notify: [desk]
  - name: compute
    any: [domestic computing power]
    notify: [desk]
notifiers:
  desk:
    url: "json://127.0.0.1:{port}/desk"
"""


def _store(tmp_path, port):
    config = parse_config(CONFIG.format(db=tmp_path / "s.db", port=port), tmp_path / "config.yaml", {})
    store = Store(config.store)
    body = "iFlytek (科大讯飞) said domestic computing power is key. " + " ".join(f"w{j}" for j in range(60))
    store.add_story(NewStory("https://news.example/1", "s", "iFlytek", body, "en", datetime.now(timezone.utc), False),
                    timedelta(days=7), planner(config, compile_rules(config)))
    return config, store


def _sent_terms(http_receiver) -> str:
    (request,) = http_receiver.requests
    return request.json["message"]


def test_an_outbox_row_names_its_rules_and_the_terms_live_in_matches(tmp_path, http_receiver):
    config, store = _store(tmp_path, http_receiver.port)
    with store.session() as s:
        (row,) = s.query(Outbox).all()
        terms = {m.rule: m.terms for m in s.query(Match)}
    assert sorted(row.rules) == ["compute", "iflytek"]
    assert terms == {"iflytek": ["iFlytek", "科大讯飞"], "compute": ["domestic computing power"]}
    (claimed_row, alert), = Sender(store, config).claim()
    assert dict(alert.matches) == {"iflytek": ("iFlytek", "科大讯飞"), "compute": ("domestic computing power",)}


def test_a_row_written_with_term_pairs_still_sends_its_terms(tmp_path, http_receiver):
    config, store = _store(tmp_path, http_receiver.port)
    with store.session.begin() as s:  # as an earlier version wrote it
        s.execute(update(Outbox).values(rules=[["iflytek", ["iFlytek", "科大讯飞"]]]))
    assert Sender(store, config).send_due().sent == 1
    message = _sent_terms(http_receiver)
    assert "iflytek" in message and "科大讯飞" in message and "compute" not in message
