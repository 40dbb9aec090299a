"""Delivery through real apprise plugins against local servers (127.0.0.1).

Slack/Discord/Telegram plugins are pointed at the local HTTP receiver by
patching their class-level endpoint; mail goes to a real aiosmtpd server.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import apprise
import pytest
from apprise.plugins.discord import NotifyDiscord
from apprise.plugins.slack import NotifySlack
from apprise.plugins.telegram import NotifyTelegram

from alerts.notify.deliver import Delivery, check_url, deliver, mask_url
from alerts.render.renderer import MAIL_MARK_CLOSE, MAIL_MARK_OPEN, Alert, Message, Renderer, Snippet
from tests.support.receivers import Reply

HOSTILE = Alert(
    id="nr-7-desk", title="<!channel> Fed cuts <@U123> [a](http://evil.example)",
    url="https://news.example.com/a?b=1&c=2", source="Wire",
    published=datetime(2024, 5, 1, 12, 3, tzinfo=timezone.utc), published_is_first_seen=False,
    matches=(("fed", ("Fed",)),), snippet=Snippet("see <http://evil.example|bank.com> ", "Fed", " @here"))
RENDER = Renderer("UTC")
SLACK = "slack://T1ABC/B1ABC/C1abcdef"
TEXT = Message("Plain title", "plain body", "text")


@pytest.fixture
def local_services(http_receiver, monkeypatch):
    """Slack, Discord and Telegram plugins talk to the local receiver."""
    monkeypatch.setattr(NotifySlack, "webhook_url", http_receiver.url + "/services")
    monkeypatch.setattr(NotifyDiscord, "notify_url", http_receiver.url + "/api/webhooks")
    monkeypatch.setattr(NotifyTelegram, "notify_url", http_receiver.url + "/bot")
    return http_receiver


# ------------------------------------------------------------------ mail
def test_mail_reaches_a_real_smtp_server(smtp_server):
    hostile = Alert(**{**HOSTILE.__dict__, "title": "Fed <script>x</script>\r\nBcc: victim@example.com"})
    msg = RENDER.render("mail", hostile)
    assert deliver(smtp_server.url(), msg, timeout=5) == Delivery(ok=True)
    [mail] = smtp_server.messages
    assert mail["Subject"] == "Fed <script>x</script> Bcc: victim@example.com"
    assert "\n" not in str(mail["Subject"]) and mail["Bcc"] is None
    assert smtp_server.envelopes == [("radar@example.com", ["desk@example.com"])]
    html = mail.get_body(("html",)).get_content()
    assert "Fed &lt;script&gt;x&lt;/script&gt; Bcc: victim@example.com" in html
    assert "<script" not in html and "nr-7-desk" in html
    assert f"{MAIL_MARK_OPEN}Fed{MAIL_MARK_CLOSE}" in html and 'href="https://news.example.com/a?b=1&amp;c=2"' in html
    plain = mail.get_body(("plain",)).get_content()
    assert "https://news.example.com/a?b=1&c=2" in plain, plain  # the text part carries the link too
    assert "Fed" in plain and HOSTILE.source in plain and "nr-7-desk" in plain


@pytest.mark.parametrize("where, reply, permanent", [
    ("rcpt", "550 5.1.1 no such user", True),
    ("data", "554 5.7.1 message rejected", True),
    ("data", "451 4.3.0 try again later", False),
    ("rcpt", "452 4.2.2 mailbox full", False),
])
def test_smtp_refusals_are_classified(smtp_server, where, reply, permanent):
    setattr(smtp_server, f"{where}_reply", reply)
    result = deliver(smtp_server.url(), RENDER.render("mail", HOSTILE), timeout=5)
    assert not result.ok and result.permanent is permanent
    assert reply.split()[0] in result.error and smtp_server.messages == []


def test_smtp_server_down_is_transient(closed_port):
    url = f"mailto://user:hunter2secret@127.0.0.1:{closed_port}?from=radar@example.com&to=desk@example.com&mode=insecure"
    result = deliver(url, RENDER.render("mail", HOSTILE), timeout=2)
    assert not result.ok and not result.permanent and "Connection refused" in result.error
    assert "hunter2secret" not in result.error


# ------------------------------------------------------------------ slack
@pytest.mark.parametrize("query, extract", [
    ("image=no", lambda p: p["attachments"][0]["text"]),
    ("image=no&blocks=yes", lambda p: p["attachments"][0]["blocks"][1]["text"]["text"]),
])
def test_slack_json_has_no_live_mentions_or_foreign_links(local_services, query, extract):
    assert deliver(f"{SLACK}?{query}", RENDER.render("slack", HOSTILE), timeout=5).ok
    [req] = local_services.requests
    assert req.path == "/services/T1ABC/B1ABC/C1abcdef"
    payload = req.json
    text = extract(payload)
    assert text == (
        "*<https://news.example.com/a?b=1&amp;c=2|&lt;!channel&gt; Fed cuts &lt;@\u200bU123&gt; "
        "[a](http://evil.example)>*\n"
        "Wire · published 2024-05-01 12:03 UTC\n"
        "Matched:\n *fed* (Fed)\n\n"
        "> see &lt;http://evil.example|bank.com&gt; *Fed* @\u200bhere\n\n"
        "newsradar alert nr-7-desk")
    if "blocks" in query:
        assert payload["attachments"][0]["blocks"][1]["text"]["type"] == "mrkdwn"
        assert payload["attachments"][0]["blocks"][0]["text"]["text"] == (
            "&lt;!channel&gt; Fed cuts &lt;@U123&gt; [a](http://evil.example)")
    else:
        assert payload == {"mrkdwn": True, "attachments": [{
            "title": "&lt;!channel&gt; Fed cuts &lt;@U123&gt; [a](http://evil.example)",
            "text": text, "color": "#3AA3E3", "footer": "newsradar",
            "ts": payload["attachments"][0]["ts"]}]}
    raw = req.text
    for live in ("<!channel", "<!here", "<@U", "<http://evil", "|bank.com>"):
        assert live not in raw


@pytest.mark.parametrize("body_format, live", [(None, True), ("markdown", True), ("text", False)])
def test_apprise_slack_formats_as_documented(local_services, body_format, live):
    """The finding our escaping rests on: apprise 2.3 leaves <!channel> live
    unless body_format is TEXT (which also kills our own link)."""
    apobj = apprise.Apprise()
    apobj.add(f"{SLACK}?image=no")
    assert apobj.notify(body="hi <!channel> <@U1>", body_format=body_format)
    text = local_services.requests[-1].json["attachments"][0]["text"]
    assert ("<!channel>" in text and "<@U1>" in text) is live


# ------------------------------------------------------------------ other services
@pytest.mark.parametrize("channel, url_fmt, reply, check", [
    ("text", "json://127.0.0.1:{port}/hook", Reply(),
     lambda r: r.json["title"] == "Fed <b>" and r.json["message"].startswith("Fed <b>")),
    ("text", "form://127.0.0.1:{port}/hook", Reply(),
     lambda r: r.form["title"] == ["Fed <b>"]),
    ("discord", "discord://1234567/abcdefghijkl", Reply(status=204, body=b""),
     lambda r: "@everyone" not in r.json["content"] and "@\u200beveryone" in r.json["content"]
     and "allow_mentions" not in r.json),
    ("telegram", "tgram://123456789:abcdefg_hijklmnop/12345/",
     Reply(body=json.dumps({"ok": True, "result": {"message_id": 1}})),
     lambda r: r.json["parse_mode"] == "HTML" and "Fed &lt;b&gt;" in r.json["text"]
     and "<b>" in r.json["text"]),
])
def test_services_receive_the_message(local_services, channel, url_fmt, reply, check):
    local_services.script(reply)
    alert = Alert(**{**HOSTILE.__dict__, "title": "Fed <b>", "source": "@everyone"})
    result = deliver(url_fmt.format(port=local_services.port), RENDER.render(channel, alert), timeout=5)
    assert result == Delivery(ok=True)
    assert check(local_services.requests[-1]), local_services.requests[-1].body


# ------------------------------------------------------------------ faults
def _in(seconds: int) -> str:
    return format_datetime(datetime.now(timezone.utc) + timedelta(seconds=seconds), usegmt=True)


@pytest.mark.parametrize("url_fmt", ["json://127.0.0.1:{port}/hook/t0kenpath", SLACK])
@pytest.mark.parametrize("reply, permanent, retry_after", [
    (Reply(status=500, body="boom"), False, None),
    (Reply(status=503, headers={"Retry-After": "3"}), False, 3.0),
    (Reply(status=429, headers={"Retry-After": "7"}, body="slow down"), False, 7.0),
    (Reply(status=429), False, None),
    (Reply(status=400, body="invalid_payload"), True, None),
    (Reply(status=401), True, None),
    (Reply(status=403, body="invalid_token"), True, None),
    (Reply(status=404, body="no_service"), True, None),
])
def test_http_faults_are_classified(local_services, url_fmt, reply, permanent, retry_after):
    local_services.script(reply)
    result = deliver(url_fmt.format(port=local_services.port), TEXT, timeout=5)
    assert not result.ok and result.permanent is permanent
    assert result.retry_after == retry_after
    assert str(reply.status) in result.error
    assert "t0kenpath" not in result.error and "C1abcdef" not in result.error


def test_retry_after_as_http_date(local_services):
    local_services.script(Reply(status=429, headers={"Retry-After": _in(120)}))
    result = deliver(f"json://127.0.0.1:{local_services.port}/hook", TEXT, timeout=5)
    assert not result.permanent and 100 <= result.retry_after <= 121


@pytest.mark.parametrize("url_fmt", ["json://127.0.0.1:{port}/hook/s3cretpath", "slack://T1ABC/B1ABC/C1abcdef"])
def test_server_down_is_transient(monkeypatch, closed_port, url_fmt):
    monkeypatch.setattr(NotifySlack, "webhook_url", f"http://127.0.0.1:{closed_port}/services")
    result = deliver(url_fmt.format(port=closed_port), TEXT, timeout=2)
    assert not result.ok and not result.permanent and "onnection" in result.error
    assert "s3cretpath" not in result.error and "C1abcdef" not in result.error


@pytest.mark.parametrize("url_fmt", ["json://127.0.0.1:{port}/hook", SLACK])
def test_a_hang_is_cut_at_the_timeout(local_services, url_fmt):
    local_services.script(Reply(delay=8))
    result = deliver(url_fmt.format(port=local_services.port), TEXT, timeout=0.5)
    assert not result.ok and not result.permanent and result.error
    assert "read timeout=0.5" in result.error, "cut by our timeout, not by the 8 s hang ending"


@pytest.mark.parametrize("url, secret", [
    ("slack://only-one-part", "only-one-part"),
    ("json://", None),
    ("nonsense://abc/def", "def"),
    ("mailto://127.0.0.1:25?from=a@b.c&to=desk@example.com&mode=insecure", None),
])
def test_invalid_url_is_permanent(url, secret):
    result = deliver(url, TEXT)
    assert result.ok is False and result.permanent is True and result.error
    assert check_url(url) and (secret is None or secret not in result.error)


@pytest.mark.parametrize("outcome", [None, False, RuntimeError("boom T1ABC")])
def test_deliver_never_raises(monkeypatch, outcome):
    def fake_notify(self, *args, **kwargs):
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    monkeypatch.setattr(apprise.Apprise, "notify", fake_notify)
    result = deliver(SLACK, TEXT)
    assert result.ok is False and "T1ABC" not in (result.error or "")


def test_concurrent_deliveries_keep_their_own_errors(http_receiver):
    before = logging.getLogger("apprise").level
    other = type(http_receiver)().start()
    try:
        http_receiver.script(Reply(status=500, delay=0.3))
        results = {}

        def run(name, port):
            results[name] = deliver(f"json://127.0.0.1:{port}/hook", TEXT, timeout=5)
        threads = [threading.Thread(target=run, args=("bad", http_receiver.port)),
                   threading.Thread(target=run, args=("good", other.port))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert results["good"] == Delivery(ok=True)
        assert not results["bad"].ok and "500" in results["bad"].error
        assert logging.getLogger("apprise").level == before
    finally:
        other.stop()


def test_application_log_sees_no_extra_debug(local_services, caplog):
    before = logging.getLogger("apprise").level
    caplog.set_level(logging.INFO)
    local_services.script(Reply(status=404))
    deliver(SLACK, TEXT, timeout=5)
    apprise_records = [r for r in caplog.records if r.name == "apprise"]
    assert apprise_records and all(r.levelno >= logging.INFO for r in apprise_records)
    assert not any("C1abcdef" in r.getMessage() for r in apprise_records)
    assert logging.getLogger("apprise").level == before


# ------------------------------------------------------------------ urls
@pytest.mark.parametrize("url, secrets, shown", [
    ("mailtos://user:pa55word@example.com?to=desk@example.com", ["pa55word"], "example.com"),
    ("json://user:s3cretpw@127.0.0.1:8080/hook/tok3nabc?+X-Token=hdrsecret", ["s3cretpw", "tok3nabc", "hdrsecret"], "127.0.0.1"),
    ("slack://T1ABC/B1ABC/C1abcdefghij", ["B1ABC", "C1abcdefghij"], "slack://"),
    ("slack://xoxb-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d/#general", ["4ddbc191d40ee098"], "slack://"),
    ("discord://1234567/abcdefghijkl", ["abcdefghijkl"], "discord://"),
    ("tgram://123456789:abcdefg_hijklmnop/12345/", ["abcdefg_hijklmnop"], "tgram://"),
    ("slack://broken/x?token=zzsecretzz", ["zzsecretzz"], "slack://"),
    # apprise's parse_url drops the fragment (see deliver.py): the room must stay masked all the same.
    ("matrixs://user:s3cretpw@matrix.example.com/#r00m", ["s3cretpw", "r00m"], "matrix.example.com"),
])
def test_mask_url_hides_secrets(url, secrets, shown):
    masked = mask_url(url)
    assert shown in masked
    for secret in secrets:
        assert secret not in masked
        assert secret not in (check_url(url) or "")


def test_check_url():
    assert check_url(SLACK) is None
    assert check_url("mailto://127.0.0.1:2525?from=radar@example.com&to=desk@example.com&mode=insecure") is None
    problem = check_url("mailto://127.0.0.1:2525?from=a@b.c&to=desk@example.com&mode=insecure")
    assert problem and "From" in problem
