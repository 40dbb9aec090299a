"""The whole pass, end to end, on real parts: a local finance-news site, a real SMTP server (aiosmtpd), a local
JSON webhook and apprise's Slack plugin pointed at a local receiver. `run --once` sends exactly one message per
matching story per notifier; none for sidebar-only, excluded, stale or syndicated-copy stories; nothing on a
second pass; hostile titles arrive inert."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.conftest import ROOT, items, newsradar
from tests.support.newssite import STORIES, article, publish_site, site_config, syndicate

HOSTILE = "<!channel> <@U024BE7LH> iFlytek wins <http://evil.example|bank.com> <script>alert(1)</script> @everyone"


def _rules(smtp_url: str, hook_url: str, slack_url: str) -> str:
    return f"""
timezone: Asia/Shanghai
watchlists:
  iflytek: [iFlytek, 科大讯飞, "002230.SZ"]
rules:
  - name: iflytek
    any: ["@iflytek"]
    none: [advertorial]
    notify: [desk-mail, desk-hook, desk-slack]
  - name: domestic-compute
    any: ["domestic computing power", 国产算力]
    notify: [desk-mail]
  - name: cambricon
    any: [寒武纪]
    notify: [desk-hook]
notifiers:
  desk-mail:
    url: "{smtp_url}"
  desk-hook:
    url: "{hook_url}"
  desk-slack:
    url: "{slack_url}"
"""


def _run(site, tmp_path, smtp, hook, extra_pages=None):
    urls = publish_site(site)
    for path, html in (extra_pages or {}).items():
        site.add(path, html)
    hook_url = f"json://127.0.0.1:{hook.port}/hook"
    slack_url = "slack://T1234ABCD/B5678EFGH/abcdefghijklmnopqrstuvwx"
    config = tmp_path / "config.yaml"
    config.write_text(site_config(urls, "sqlite:///store.db") + _rules(smtp.url(), hook_url, slack_url))
    env = {"PYTHONPATH": f"{ROOT / 'tests' / 'support' / 'hooks'}:{ROOT}", "NEWSRADAR_TEST_SLACK_WEBHOOK": f"{hook.url}/slack"}
    proc = newsradar("run", "--once", "-c", str(config), env=env)
    return config, env, proc


def _hook_posts(hook, path: str) -> list[dict]:
    return [r.json for r in hook.requests if r.path.startswith(path)]


def test_one_message_per_matching_story_per_notifier_and_none_twice(site, tmp_path, smtp_server, http_receiver):
    config, env, _ = _run(site, tmp_path, smtp_server, http_receiver)
    # desk-mail: iflytek (iFlytek page, GBK, Big5, feed-only 'gone') and domestic-compute share the notifier:
    # one mail per story naming both rules where both matched.
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert len(subjects) == 4, subjects
    assert all("\n" not in s for s in subjects)
    bodies = {m["Subject"]: m.get_body(("html", "plain")).get_content() for m in smtp_server.messages}
    iflytek_mail = next(b for s, b in bodies.items() if "Liu Qingfeng" in s)
    assert "iflytek" in iflytek_mail and "domestic-compute" in iflytek_mail
    assert "domestic computing power" in iflytek_mail
    # desk-hook: the four iflytek stories plus the mislabelled Cambricon story (its own rule)
    hooks = _hook_posts(http_receiver, "/hook")
    assert len(hooks) == 5, [h.get("title") for h in hooks]
    # desk-slack: the four iflytek stories
    slack = _hook_posts(http_receiver, "/slack")
    assert len(slack) == 4
    rows = {r["url"]: r for r in items(config)}
    assert {m["rule"] for m in rows[site.url(STORIES["big5"]["path"])]["rules"]} == {"iflytek", "domestic-compute"}

    # a second pass, with a syndicated copy of the iFlytek story now in the feed, sends nothing
    copy_url = syndicate(site)
    before = (len(smtp_server.messages), len(http_receiver.requests))
    newsradar("run", "--once", "-c", str(config), env=env)
    assert (len(smtp_server.messages), len(http_receiver.requests)) == before, "a second pass sends nothing"
    copies = [r for r in items(config, "--duplicates") if r["url"] == copy_url]
    assert copies and copies[0]["duplicate_of"] is not None, "the copy was seen and recognised"


def test_sidebar_only_excluded_and_stale_stories_do_not_alert(site, tmp_path, smtp_server, http_receiver):
    recent = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat(timespec="seconds")
    body = ["Shares of a bank rose on Tuesday after it reported higher quarterly profit and raised its dividend."] * 3
    sidebar_only = article("Bank profit rises", body, recent, lang="en")  # sidebar: 科大訊飛
    excluded = article("Sponsored: iFlytek advertorial", ["iFlytek advertorial content about products."] * 3,
                       recent, lang="en")
    stale = article("iFlytek in 2001", ["iFlytek history piece about the company in its early years."] * 3,
                    "2001-01-01T00:00:00+08:00", lang="en")
    pages = {"/news/bank.html": sidebar_only, "/news/ad.html": excluded, "/news/stale.html": stale}
    _run(site, tmp_path, smtp_server, http_receiver, pages)
    # these pages are not linked by the default site: link them from the listing and run again
    config = tmp_path / "config.yaml"
    listing = "".join(f'<a class="headline" href="{p}">x</a>' for p in pages)
    site.add("/markets/", f"<html><body>{listing}</body></html>")
    text = config.read_text().replace("max_age: 3650d", "max_age: 3650d\n").replace(
        "    links: \"a.headline\"", "    links: \"a.headline\"\n    max_age: 30d")
    config.write_text(text)
    before = len(http_receiver.requests) + len(smtp_server.messages)
    env = {"PYTHONPATH": f"{ROOT / 'tests' / 'support' / 'hooks'}:{ROOT}",
           "NEWSRADAR_TEST_SLACK_WEBHOOK": f"{http_receiver.url}/slack"}
    newsradar("run", "--once", "-c", str(config), env=env)
    assert len(http_receiver.requests) + len(smtp_server.messages) == before
    stored = {r["url"]: r for r in items(config)}
    assert site.url("/news/stale.html") in stored, "a stale story is stored, just not alerted"
    assert [m["rule"] for m in stored[site.url("/news/stale.html")]["rules"]] == ["iflytek"]
    assert stored[site.url("/news/bank.html")]["rules"] == [], "a ticker in a sidebar is not a match"
    assert stored[site.url("/news/ad.html")]["rules"] == [], "a none-term vetoes the rule"


def test_hostile_titles_reach_slack_and_html_mail_inert(site, tmp_path, smtp_server, http_receiver):
    page = article(HOSTILE, ["iFlytek said domestic computing power matters, in a long enough paragraph."] * 3,
                   "2025-06-16T09:00:00+08:00", lang="en")
    site.add("/news/hostile.html", page)
    urls = publish_site(site)
    site.add("/markets/", '<html><body><a class="headline" href="/news/hostile.html">x</a></body></html>')
    hook_url = f"json://127.0.0.1:{http_receiver.port}/hook"
    config = tmp_path / "config.yaml"
    config.write_text(site_config(urls, "sqlite:///store.db") + _rules(smtp_server.url(), hook_url,
                                                                      "slack://T1234ABCD/B5678EFGH/abcdefghijklmnopqrstuvwx"))
    env = {"PYTHONPATH": f"{ROOT / 'tests' / 'support' / 'hooks'}:{ROOT}", "NEWSRADAR_TEST_SLACK_WEBHOOK": f"{http_receiver.url}/slack"}
    newsradar("run", "--once", "-c", str(config), env=env)
    slack = [r for r in http_receiver.requests if r.path.startswith("/slack")]
    hostile = [r.text for r in slack if "wins" in r.text]
    assert len(hostile) == 1
    raw = hostile[0]
    for live in ("<!channel>", "<@U024BE7LH>", "<http://evil.example|bank.com>"):
        assert live not in raw, f"{live} reached Slack live"
    assert site.url("/news/hostile.html") in raw, "our own link to the story is still there"
    mail = next(m for m in smtp_server.messages if "wins" in m["Subject"])
    html = mail.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "\n" not in mail["Subject"]
