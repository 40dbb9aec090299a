"""`rules test URL` explains every silence of a stored story (issue 13): per rule, whether it alerted and why not
(too old, copy, part of an alerted thread, not salient), and where its alert is (sent, held by quiet hours or a
digest, retrying, dead)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from alerts.delivery.outbox import Sender, planner
from crawler.cli.main import main
from crawler.config.model import compile_rules, parse_config
from crawler.items import NewStory
from crawler.store.database import Store

LEAD = ("iFlytek unveiled its Spark X2 large language model on Tuesday in Hefei, saying it was trained entirely on "
        "domestic computing power from Huawei Ascend chips and would be offered to banks and brokers first. The "
        "company said the model matches leading foreign systems on reasoning tests. ")


def test_a_held_alert_and_a_thread_follower_say_why(tmp_path, closed_port, capsys):
    text = f"""store: sqlite:///{tmp_path / 's.db'}
rules:
  - name: iflytek
    any: [iFlytek]
    notify: [desk]
notifiers:
  desk:
    url: "json://127.0.0.1:{closed_port}/desk"
    quiet: "00:00-23:59"
"""
    path = tmp_path / "config.yaml"
    path.write_text(text)
    path.chmod(0o600)
    config = parse_config(text, path, {})
    store = Store(config.store)
    stored = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)  # a fixed day: the test never reads today's date
    plan = planner(config, compile_rules(config), now=lambda: stored)
    for source in ("wire", "paper"):
        body = LEAD + " ".join(f"{source}{j}" for j in range(80))
        store.add_story(NewStory(f"https://{source}.example/x", source, "iFlytek unveils Spark X2", body, "en",
                                 stored, False), timedelta(days=7), plan, thread_window=timedelta(hours=6),
                        now=stored)
    clock = stored + timedelta(minutes=1)
    Sender(store, config, clock=lambda: clock).send_due()  # inside quiet hours: held

    assert main(["rules", "test", "https://wire.example/x", "--json", "-c", str(path)]) == 0
    (first,) = json.loads(capsys.readouterr().out)
    (delivery,) = first["stored"]["delivery"]
    assert delivery["held"] and delivery["state"].startswith("held until") and delivery["notifier"] == "desk"

    assert main(["rules", "test", "https://paper.example/x", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    assert "not alerted: part of thread 1, already alerted to desk (sent as a follow-up)" in out
