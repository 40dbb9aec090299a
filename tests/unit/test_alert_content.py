"""Every alert carries the story, in every channel and every MIME part, as the service receives it: the title,
the link, the source, the time in `timezone`, and a snippet of the main text around the first match with the
match marked. Delivered through the real apprise plugins to local receivers (127.0.0.1)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from apprise.plugins.discord import NotifyDiscord
from apprise.plugins.slack import NotifySlack
from apprise.plugins.telegram import NotifyTelegram

from alerts.notify.deliver import deliver
from alerts.render.renderer import MAIL_MARK_CLOSE, MAIL_MARK_OPEN, Alert, Renderer, Snippet
from tests.support.receivers import Reply

URL = "https://news.example.com/chips?id=9"
ALERT = Alert(
    id="nr-9-desk", title="Chip makers gain", url=URL, source="wire",
    published=datetime(2024, 5, 1, 12, 3, tzinfo=timezone.utc), published_is_first_seen=False,
    matches=(("iflytek", ("iFlytek",)),),
    snippet=Snippet("Shares rose after ", "iFlytek", " said its model trains on domestic chips."))
RENDER = Renderer("Asia/Shanghai")
WHEN = "2024-05-01 20:03"  # 12:03 UTC in Asia/Shanghai
BEFORE, AFTER = "Shares rose after", "said its model trains on domestic chips."


@pytest.fixture
def services(http_receiver, monkeypatch):
    monkeypatch.setattr(NotifySlack, "webhook_url", http_receiver.url + "/services")
    monkeypatch.setattr(NotifyDiscord, "notify_url", http_receiver.url + "/api/webhooks")
    monkeypatch.setattr(NotifyTelegram, "notify_url", http_receiver.url + "/bot")
    return http_receiver


def _story_in(text: str, marked: str, title: bool = True) -> None:
    assert (not title) or ALERT.title in text, text
    assert URL in text.replace("&amp;", "&"), text
    assert "wire" in text and WHEN in text, text
    assert f"{BEFORE} {marked} {AFTER}" in text, text


@pytest.mark.parametrize("channel, url, reply, text_of, marked", [
    ("text", "json://127.0.0.1:{port}/hook", Reply(), lambda r: r.json["title"] + "\n" + r.json["message"],
     "«iFlytek»"),
    ("slack", "slack://T1ABC/B1ABC/C1abcdef", Reply(), lambda r: json.dumps(r.json, ensure_ascii=False), "*iFlytek*"),
    ("discord", "discord://1234567/abcdefghijkl", Reply(status=204, body=b""),
     lambda r: json.dumps(r.json, ensure_ascii=False), "**iFlytek**"),
    ("telegram", "tgram://123456789:abcdefg_hijklmnop/12345/",
     Reply(body=json.dumps({"ok": True, "result": {"message_id": 1}})), lambda r: r.json["text"], "<b>iFlytek</b>"),
], ids=["text", "slack", "discord", "telegram"])
def test_each_service_receives_title_link_source_time_and_marked_snippet(services, channel, url, reply, text_of,
                                                                         marked):
    services.script(reply)
    assert deliver(url.format(port=services.port), RENDER.render(channel, ALERT), timeout=5).ok
    _story_in(text_of(services.requests[-1]), marked)


def test_mail_has_the_story_in_both_parts(smtp_server):
    assert deliver(smtp_server.url(), RENDER.render("mail", ALERT), timeout=5).ok
    [mail] = smtp_server.messages
    assert mail["Subject"] == ALERT.title
    html = mail.get_body(("html",)).get_content()
    _story_in(html, f"{MAIL_MARK_OPEN}iFlytek{MAIL_MARK_CLOSE}")
    assert f'href="{URL}"' in html
    plain = mail.get_body(("plain",)).get_content()
    _story_in(" ".join(plain.split()), "«iFlytek»", title=True)  # the hit is marked in the plain part too


def test_console_prints_the_story(capsys):
    assert deliver("console://", RENDER.render("text", ALERT), timeout=5).ok
    out = capsys.readouterr().out
    _story_in(out, "«iFlytek»")
    assert out.count(ALERT.title) <= 2, "the title once as the heading, once in the body; the snippet is text"
