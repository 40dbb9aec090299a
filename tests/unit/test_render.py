"""Rendering: every channel, hostile scraped text, cuts, templates, digests.

Slack and markdown bodies are checked through apprise's own converters
(CommonMark -> Slack mrkdwn, CommonMark -> HTML), i.e. the text a service
would actually receive, not just our template output.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from apprise.common import NotifyFormat
from apprise.conversion import convert_between
from apprise.plugins.slack import NotifySlack

import alerts.render.escape as escape_module
from alerts.render.renderer import (MAIL_MARK_CLOSE, MAIL_MARK_OPEN, Alert, Message, Renderer, Snippet, TemplateProblem,
                                    cut, len16)

CHANNELS = ["mail", "slack", "discord", "telegram", "markdown", "text"]
URL = "https://news.example.com/2024/05/fed-cuts?src=rss&id=(42)"
SAMPLE = Alert(
    id="nr-42-desk-mail", title="Fed cuts rates; markets rally", url=URL, source="Reuters",
    published=datetime(2024, 5, 1, 12, 3, tzinfo=timezone.utc), published_is_first_seen=False,
    matches=(("fed-watch", ("Fed", "rate cut")), ("macro", ("markets",))),
    snippet=Snippet("On Wednesday the ", "Fed", " cut rates by 25bp."))
MARK = {"mail": (MAIL_MARK_OPEN, MAIL_MARK_CLOSE), "slack": ("**", "**"), "discord": ("**", "**"),
        "telegram": ("<b>", "</b>"), "markdown": ("**", "**"), "text": ("«", "»")}
FORMAT = {"mail": "html", "slack": "markdown", "discord": "markdown", "telegram": "html",
          "markdown": "markdown", "text": "text"}


def alert(**kw) -> Alert:
    return Alert(**{**SAMPLE.__dict__, **kw})


@pytest.fixture(scope="module")
def renderer():
    return Renderer("Europe/Berlin")


# ------------------------------------------------------------------ sample
@pytest.mark.parametrize("channel", CHANNELS)
def test_sample_alert_renders_everything(renderer, channel):
    msg = renderer.render(channel, SAMPLE)
    assert isinstance(msg, Message) and msg.body_format == FORMAT[channel]
    assert "Fed cuts rates; markets rally" in msg.title
    body = msg.body
    for needle in ("Reuters", "published 2024-05-01 14:03 CEST", "fed-watch", "rate cut",
                   "macro", "markets", "nr-42-desk-mail"):
        assert needle in body, needle
    m_open, m_close = MARK[channel]
    assert f"On Wednesday the {m_open}Fed{m_close} cut rates" in body
    assert ("news.example.com/2024/05/fed-cuts" in body)


def test_first_seen_and_missing_dates_are_labelled(renderer):
    body = renderer.render("text", alert(published_is_first_seen=True)).body
    assert "first seen 2024-05-01 14:03 CEST (no date on the page)" in body
    assert "date unknown" in renderer.render("text", alert(published=None)).body
    utc = Renderer().render("text", SAMPLE).body
    assert "published 2024-05-01 12:03 UTC" in utc


def test_only_our_link_is_live_and_url_is_sanitised(renderer):
    assert f'<a href="{URL.replace("&", "&amp;")}">' in renderer.render("mail", SAMPLE).body
    md = renderer.render("markdown", SAMPLE).body
    assert "(https://news.example.com/2024/05/fed-cuts?src=rss&id=%2842%29)" in md
    for bad in ("javascript:alert(1)", "data:text/html,x", "http://exa mple.com/"):
        for channel in CHANNELS:
            body = renderer.render(channel, alert(url=bad)).body
            assert "href" not in body and "](" not in body, (channel, body)


# ------------------------------------------------------------------ hostile
HOSTILE_TEXT = [
    "<!channel> markets crash",
    "<!here> buy now",
    "<!everyone> alert",
    "ping <@U123> and <@&456> and <#C123>",
    "<http://evil.example|bank.com> login",
    "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "@everyone @here @channel look",
    "*bold* _x_ ~s~ `code` [a](http://evil.example) ![i](http://evil.example/i.png)",
    "line one\r\nBcc: victim@example.com\n\x00\x1b[31m",
    "\\<!channel\\> \\\\<!here> &lt;!channel&gt; &amp;",
    "# heading\n- item\n1. first || spoiler ||",
]


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.hrefs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.hrefs += [v for k, v in attrs if k in ("href", "src")]


def html_tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def assert_inert(channel: str, msg: Message) -> None:
    assert "\r" not in msg.title and "\n" not in msg.title
    assert not re.search(r"[\x00-\x1f\x7f]", msg.title)
    if channel in ("mail", "telegram"):
        parsed = html_tags(msg.body + ("" if channel == "mail" else msg.title))
        allowed = {"div", "p", "h2", "b", "i", "mark", "blockquote", "a", "code", "span",
                   "br", "ul", "li", "h3"}
        assert set(parsed.tags) <= allowed, parsed.tags
        assert all(h.startswith("https://news.example.com/") for h in parsed.hrefs), parsed.hrefs
        assert not re.search(r"<(?:!|@|#|http|script|img)", msg.body)
        return
    if channel == "slack":
        # What apprise posts (body_format=markdown): CommonMark -> mrkdwn.
        wire = NotifySlack._commonmark_to_slack(msg.body)
        for m in re.finditer(r"<([^>]*)>?", wire):
            assert m.group(1).startswith("https://news.example.com/"), (m.group(0), wire)
        assert not re.search(r"@(everyone|here|channel)", wire)
        return
    if channel in ("markdown", "discord"):
        shown = msg.body + "\n" + msg.title
        html = convert_between(NotifyFormat.MARKDOWN, NotifyFormat.HTML, shown)
        parsed = html_tags(html)
        assert set(parsed.tags) <= {"p", "strong", "em", "a", "blockquote", "br", "ul", "li",
                                    "ol", "h1", "code"}, (parsed.tags, html)
        assert all(h.startswith("https://news.example.com/") for h in parsed.hrefs), html
        # Discord/Rocket.Chat pings: "@" is followed by a zero-width space.
        assert not re.search(r"@(everyone|here|channel|U123|&456)", shown)
        assert not re.search(r"(?<!\\)<[@#!:]", shown)
        return
    assert not re.search(r"@(everyone|here|channel)", msg.title + msg.body)


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=range(len(HOSTILE_TEXT)))
def test_hostile_scraped_text_is_inert(renderer, channel, text):
    bad = alert(title=text, source=text, snippet=Snippet(text + " ", text, " " + text),
                matches=(("rule", (text,)),))
    msg = renderer.render(channel, bad)
    assert_inert(channel, msg)
    for digest in renderer.render_digest(channel, [bad, SAMPLE]):
        assert_inert(channel, digest)


def test_slack_posts_escaped_mentions_and_our_mrkdwn_link(renderer):
    msg = renderer.render("slack", alert(title="<!channel> Fed *cuts*",
                                         snippet=Snippet("x ", "<@U1>", " y")))
    wire = NotifySlack._commonmark_to_slack(msg.body)
    assert wire.startswith("*<https://news.example.com/2024/05/fed-cuts?src=rss&amp;id=%2842%29|"
                           "&lt;!channel&gt; Fed \\*cuts\\*>*")
    assert "x *&lt;@\u200bU1&gt;* y" in wire


def test_mail_subject_is_one_line_and_html_escaped_body(renderer):
    msg = renderer.render("mail", alert(title="Hi\r\nBcc: x@y.z\tthere <b>"))
    assert msg.title == "Hi Bcc: x@y.z there <b>"
    assert "Hi Bcc: x@y.z there &lt;b&gt;" in msg.body


# ------------------------------------------------------------------ cuts
LIMITS = {"mail": 200, "slack": 150, "discord": 256, "telegram": 256, "markdown": 250, "text": 250}


@pytest.mark.parametrize("channel", CHANNELS)
def test_ten_thousand_char_title_is_cut(renderer, channel):
    msg = renderer.render(channel, alert(title="Breaking " + "x" * 10_000))
    assert len16(msg.title) <= LIMITS[channel] and msg.title.endswith("…")
    limit = {"slack": 3000, "discord": 2000, "telegram": 4096}.get(channel, 4000)
    assert len16(msg.body) <= limit


# Each unit is ONE grapheme cluster (Hangul as conjoining jamo).
@pytest.mark.parametrize("unit", ["市", "e\u0301", "👍🏽", "👨\u200d👩\u200d👧", "🇩🇪",
                                  "\u1112\u1161\u11ab", "🧑🏿\u200d🚀", "\U00020000"])
@pytest.mark.parametrize("segmenter", ["regex", "fallback"])
def test_cut_never_splits_a_grapheme(monkeypatch, unit, segmenter):
    if segmenter == "fallback":  # the path taken where the `regex` package is absent
        monkeypatch.setattr(escape_module, "_clusters", escape_module._simple_clusters)
    text = "A" + unit * 300
    for limit in range(5, 40):
        out = cut(text, limit)
        assert len16(out) <= limit and out.endswith("…")
        body = out[1:-1]
        assert body == unit * (len(body) // len(unit)), (limit, out)
        tail = cut(text[::-1], limit, keep="end")
        assert tail.startswith("…")


@pytest.mark.parametrize("channel", CHANNELS)
def test_cjk_and_emoji_titles_near_the_cut(renderer, channel):
    title = "央行宣布降息" * 20 + "👨\u200d👩\u200d👧" * 60  # every title limit cuts in the emoji
    msg = renderer.render(channel, alert(title=title, snippet=Snippet("市场" * 200, "降息", "🇩🇪" * 200)))
    msg.title.encode("utf-8")  # no lone surrogates
    msg.body.encode("utf-8")
    core = msg.title.rstrip("…")
    assert not core.endswith("\u200d") and not re.search("[\ud800-\udfff]", msg.body)
    assert core.endswith("👨\u200d👩\u200d👧")  # whole ZWJ sequences only
    assert "🇩🇪" in msg.body and "\U0001f1e9\U0001f1e9" not in msg.body.replace("🇩🇪", "")


def test_bidi_overrides_are_stripped_but_joiners_kept(renderer):
    msg = renderer.render("text", alert(title="Pay\u202eevil\u202c ok \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 👨\u200d👩\u200d👧"))
    assert "\u202e" not in msg.title and "\u200c" in msg.title and "👨\u200d👩\u200d👧" in msg.title


def test_body_limit_holds_with_a_huge_snippet(renderer):
    big = alert(snippet=Snippet("a&<" * 5000, "Fed", "b&>" * 5000),
                matches=tuple((f"rule{i}", ("t",) * 5) for i in range(20)))
    msg = renderer.render("slack", big)
    assert len(NotifySlack._commonmark_to_slack(msg.body)) <= 3000


# ------------------------------------------------------------------ templates
def write(tmp_path, name, text):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return Renderer(template_dirs=[tmp_path])


@pytest.mark.parametrize("source, line, word", [
    ("ok {{ title }}\n\n{{ no_such_variable }}\n", 3, "no_such_variable"),
    ("a\n{{ ''.__class__ }}\n", 2, "__class__"),
    ("a\nb\n{{ title.__class__.__mro__ }}", 3, "unsafe"),
    ("a\n{% for x in %}\n", 2, ""),
    ("{{ matches.append(1) }}", 1, "unsafe"),
])
def test_check_reports_file_and_line(tmp_path, source, line, word):
    r = write(tmp_path, "user.j2", source)
    with pytest.raises(TemplateProblem) as info:
        r.check("slack", "user.j2")
    text = str(info.value)
    assert "user.j2" in text and f"line {line}" in text and word in text


def test_check_rejects_templates_that_unescape_scraped_text(tmp_path):
    r = write(tmp_path, "leaky.j2", "{{ link }}\n{{ title|safe }}\n")
    with pytest.raises(TemplateProblem, match=r"leaky\.j2, line 2"):
        r.check("slack", "leaky.j2")
    r.check("slack", None)
    # A template's own Slack markup is fine; only the sample's scraped text counts.
    write(tmp_path, "own.j2", "{{ link }} <https://status.example|status> <!subteam^S1>\n").check("slack", "own.j2")
    with pytest.raises(TemplateProblem, match="not found"):
        r.check("slack", "missing.j2")


@pytest.mark.parametrize("channel", CHANNELS)
def test_shipped_templates_pass_check(channel):
    Renderer("Asia/Tokyo").check(channel)


def test_digest_template_pairs_with_a_notifier_override(tmp_path):
    r = write(tmp_path, "desk.j2", "single {{ title }}")
    assert r.render_digest("text", [SAMPLE], "desk.j2")[0].body.startswith("newsradar digest")
    r.check_digest("text", "desk.j2")
    (tmp_path / "digest.desk.j2").write_text("{{ count }} for desk: {{ groups[0].alerts[0].alert_id }}")
    r = Renderer(template_dirs=[tmp_path])
    assert r.render_digest("text", [SAMPLE], "desk.j2")[0].body == "1 for desk: nr-42-desk-mail\n"
    (tmp_path / "digest.desk.j2").write_text("{{ count }}\n{{ groups[0].alerts[0].bogus }}")
    with pytest.raises(TemplateProblem, match=r"digest\.desk\.j2, line 2"):
        Renderer(template_dirs=[tmp_path]).check_digest("text", "desk.j2")


def test_user_dir_overrides_shipped_template(tmp_path):
    r = write(tmp_path, "slack.j2", "custom {{ title }} {{ alert_id }}")
    assert r.render("slack", SAMPLE).body == "custom Fed cuts rates; markets rally nr-42-desk-mail\n"
    assert "custom" not in Renderer().render("slack", SAMPLE).body


# ------------------------------------------------------------------ digest
def digest_alerts(n: int, **kw) -> list[Alert]:
    base = datetime(2024, 5, 1, tzinfo=timezone.utc)
    rules = ["fed", "ecb", "oil"]
    return [alert(id=f"nr-{i}", title=f"Story {i}", published=base + timedelta(minutes=i),
                  matches=((rules[i % 3], ("t",)),), **kw) for i in range(n)]


def test_digest_newest_first_grouped_by_rule(renderer):
    alerts = digest_alerts(6)
    [msg] = renderer.render_digest("text", [alerts[i] for i in (2, 5, 0, 3, 1, 4)])
    body = msg.body
    assert msg.title == "newsradar: 6 new alerts"
    # Newest (nr-5, rule oil) leads; groups in order of their newest story.
    assert body.index("== oil ==") < body.index("== ecb ==") < body.index("== fed ==")
    assert body.index("Story 5") < body.index("Story 2")
    assert body.index("Story 3") < body.index("Story 0")
    assert renderer.render_digest("text", []) == []


@pytest.mark.parametrize("channel, limit", [("slack", 3000), ("discord", 2000), ("telegram", 4096)])
def test_digest_splits_instead_of_exceeding_the_limit(renderer, channel, limit):
    alerts = digest_alerts(60, snippet=Snippet("before " * 20, "Fed", " after" * 20))
    messages = renderer.render_digest(channel, alerts)
    assert len(messages) > 1
    seen = []
    for i, msg in enumerate(messages, 1):
        assert msg.title.endswith(f"({i}/{len(messages)})")
        wire = NotifySlack._commonmark_to_slack(msg.body) if channel == "slack" else msg.body
        assert len16(wire) + (len16(msg.title) + 2 if channel != "slack" else 0) <= limit
        seen.append([int(n) for n in re.findall(r"nr-(\d+)", msg.body)])
    flat = [n for part in seen for n in part]
    assert sorted(flat) == list(range(60))  # every alert exactly once
    for newer, older in zip(seen, seen[1:]):  # parts are newest first
        assert min(newer) > max(older)


@pytest.mark.parametrize("url, channel", [
    ("mailto://user:pw@example.com", "mail"), ("mailtos://example.com", "mail"),
    ("slack://T1/B1/C1", "slack"), ("discord://1/abc", "discord"),
    ("tgram://123:abc/456", "telegram"), ("rocket://user:pw@chat.example.com", "markdown"),
    ("json://127.0.0.1:8080/hook", "text"), ("ntfy://topic", "text"), ("nonsense", "text"),
])
def test_channel_for(url, channel):
    assert Renderer.channel_for(url) == channel


def test_templates_get_the_structured_fields_escaped(tmp_path):
    """Disclosure fields (issue 12) are template variables, escaped like every scraped value."""
    r = write(tmp_path, "filing.j2", "{{ tickers|join(',') }} {{ company }} {{ category }} {{ doc_url }}\n")
    r.check("slack", "filing.j2")
    r.check("mail", "filing.j2")
    filing = alert(tickers=("002230.SZ",), company="科大讯飞", category="01010503",
                   doc_url="http://static.cninfo.com.cn/finalpage/2024-06-11/1.PDF")
    body = r.render("text", filing, "filing.j2").body
    assert "002230.SZ 科大讯飞 01010503 http://static.cninfo.com.cn/finalpage/2024-06-11/1.PDF" in body
    plain = r.render("text", SAMPLE, "filing.j2").body  # a news story: empty and None
    assert plain.strip() == "None None None"
    html = r.render("mail", alert(company="<b>x</b>"), "filing.j2").body
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
