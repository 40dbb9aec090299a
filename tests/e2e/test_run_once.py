"""`newsradar run --once` against a local finance-news site: every reachable story stored once, with the right
title, time and main text; a second pass fetches no article again and gets 304s."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import items, newsradar
from tests.support.newssite import SIDEBAR_ONLY, STORIES, article, publish_site, site_config, syndicate


def _setup(site, tmp_path: Path, extra: str = "") -> Path:
    urls = publish_site(site)
    config = tmp_path / "config.yaml"
    config.write_text(site_config(urls, "sqlite:///store.db", extra))
    return config


def test_one_pass_stores_each_story_once_with_title_time_and_main_text(site, tmp_path):
    config = _setup(site, tmp_path)
    newsradar("run", "--once", "-c", str(config))
    assert (tmp_path / "store.db").exists(), "a relative sqlite path is relative to the config file"
    rows = items(config)
    by_url = {r["url"]: r for r in rows}
    for key, story in STORIES.items():
        url = site.url(story["path"])
        assert url in by_url, f"{key} story missing; stored: {sorted(by_url)}"
        row = by_url[url]
        assert row["title"] == story["title"], key
        assert row["published"] == story["published"].replace("Z", "+00:00"), key
        assert story["fragment"] in row["text"], key
        if story["lang"]:
            assert row["lang"] == story["lang"], key
    assert len(rows) == len(STORIES), "utm_ variants and the feed+listing overlap are not rows"
    iflytek = by_url[site.url(STORIES["iflytek"]["path"])]
    assert SIDEBAR_ONLY not in iflytek["text"] and "熱議股票" not in iflytek["text"]
    assert "免責聲明" not in iflytek["text"]
    assert site.hits[STORIES["iflytek"]["path"]] == 1, "fetched once although linked three times"
    assert site.hits["/private/secret.html"] == 0, "robots.txt is obeyed"
    assert site.hits["/robots.txt"] == 1, "three sources on one host share one robots.txt fetch"
    ua = {h.get("User-Agent") for _, _, h in site.requests}
    assert all(u and u.startswith("newsradar/") and "+http" in u for u in ua), ua


def test_syndicated_copy_is_recorded_as_duplicate_of_the_first(site, tmp_path):
    config = _setup(site, tmp_path)
    newsradar("run", "--once", "-c", str(config))
    syndicate(site)
    newsradar("run", "--once", "-c", str(config))
    assert len(items(config)) == len(STORIES), "a copy is not a story of its own"
    rows = items(config, "--duplicates")
    copies = [r for r in rows if r["url"] == site.url("/syndicated/iflytek.html")]
    assert len(copies) == 1 and copies[0]["duplicate_of"] is not None
    original = next(r for r in rows if r["id"] == copies[0]["duplicate_of"])
    assert original["url"] == site.url(STORIES["iflytek"]["path"])


def test_second_pass_fetches_no_article_again_and_gets_304s(site, tmp_path):
    config = _setup(site, tmp_path)
    newsradar("run", "--once", "-c", str(config))
    first = dict(site.hits)
    site.requests.clear()
    proc = newsradar("run", "--once", "-c", str(config))
    second = {p: n - first.get(p, 0) for p, n in site.hits.items() if n - first.get(p, 0)}
    assert second.pop("/robots.txt", 0) <= 1, "robots.txt is fetched once per host per process"
    listings = {"/rss.xml", "/markets/", "/news-sitemap.xml", "/sitemap-news.xml"}
    assert set(second) <= listings, f"articles refetched: {set(second) - listings}"
    conditional = [h for _, p, h in site.requests if p in listings]
    assert conditional and all("If-None-Match" in h for h in conditional)
    assert "status=not-modified" in proc.stderr
    assert len(items(config)) == len(STORIES)


def test_a_failing_source_is_logged_and_does_not_stop_the_others(site, tmp_path):
    extra = """  - name: broken-dns
    type: feed
    allow_private: true
    url: http://no-such-host.invalid/rss
  - name: server-error
    type: feed
    allow_private: true
    url: {base}/500.xml
  - name: not-a-feed
    type: feed
    allow_private: true
    url: {base}/garbage.xml
  - name: drifted
    type: html
    allow_private: true
    url: {base}/markets/
    links: "a.no-such-class"
""".format(base=site.base)
    site.add("/500.xml", "oops", "text/plain", status=500)
    site.add("/garbage.xml", b"\x00\x01binary garbage\xff" * 20, "application/octet-stream")
    config = _setup(site, tmp_path, extra)
    proc = newsradar("run", "--once", "-c", str(config))
    assert proc.returncode == 0
    for name in ("broken-dns", "server-error", "not-a-feed", "drifted"):
        assert f"source={name} status=error" in proc.stderr, proc.stderr
    assert len(items(config)) == len(STORIES)


def test_an_article_that_failed_is_not_refetched_every_poll(site, tmp_path):
    config = _setup(site, tmp_path)
    site.add("/markets/", '<html><body><a class="headline" href="/news/broken.html">x</a></body></html>')
    site.add("/news/broken.html", "server error", "text/plain", status=500)
    newsradar("run", "--once", "-c", str(config))
    hits = site.hits["/news/broken.html"]
    assert hits >= 1
    site.add("/markets/", '<html><body><a class="headline" href="/news/broken.html?utm_source=x">x</a></body></html>')
    newsradar("run", "--once", "-c", str(config))
    assert site.hits["/news/broken.html"] == hits


def test_per_domain_concurrency_holds_even_without_a_download_delay(site, tmp_path):
    links = []
    for i in range(8):
        site.add(f"/slow/{i}.html", f"<html><body><h1>Slow {i}</h1><p>{'text ' * 80}</p></body></html>", delay=0.3)
        links.append(f'<a class="headline" href="/slow/{i}.html">{i}</a>')
    site.add("/markets/", "<html><body>" + "".join(links) + "</body></html>")
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
fetch: {{delay: 0s, per_domain: 2, concurrency: 16}}
sources:
  - {{name: slow, type: html, allow_private: true, url: "{site.url('/markets/')}", links: a.headline}}
""")
    newsradar("run", "--once", "-c", str(config))
    assert sum(site.hits[f"/slow/{i}.html"] for i in range(8)) == 8
    assert site.peak_in_flight <= 2, f"{site.peak_in_flight} requests at once to one host"


def test_a_poll_that_runs_too_long_is_stopped_and_the_others_finish(site, tmp_path):
    slow = "".join(f'<a class="headline" href="/slow/{i}.html">{i}</a>' for i in range(10))
    site.add("/slow/", f"<html><body>{slow}</body></html>")
    for i in range(10):  # 10 articles at 1.5 s each, one at a time: 15 s unless the poll is cut
        body = " ".join(f"slow{i} story{i} word{j}" for j in range(40))  # distinct texts: no syndicated copies
        site.add(f"/slow/{i}.html", f"<html><head><title>Slow {i}</title></head><body><p>{body}</p></body></html>",
                 delay=1.5)
    site.add("/ok/", '<html><body><a class="headline" href="/a.html">a</a></body></html>')
    site.add("/a.html", "<html><head><title>Fine story</title></head><body><p>" + "words " * 80 + "</p></body></html>")
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
fetch: {{delay: 0s, per_domain: 1, poll_timeout: 3s}}
sources:
  - {{name: slow, type: html, allow_private: true, url: "{site.url('/slow/')}", links: a.headline}}
  - {{name: fine, type: html, allow_private: true, url: "{site.url('/ok/')}", links: a.headline}}
""")
    proc = newsradar("run", "--once", "-c", str(config))
    # what happened, not how long it took (the machine may be loaded): the poll was cut before its 10 articles
    assert sum(site.hits[f"/slow/{i}.html"] for i in range(10)) < 10, "the pass was not cut at the poll timeout"
    assert "source=slow status=error" in proc.stderr and "poll timed out" in proc.stderr
    titles = {r["title"] for r in items(config)}
    assert "Fine story" in titles and 0 < len(titles) < 11, "what the cut poll fetched is kept; the rest waits"
    # the articles left are fetched side by side (per_domain 8): their 1.5 s each need not add up
    config.write_text(config.read_text().replace("per_domain: 1, poll_timeout: 3s", "per_domain: 8, poll_timeout: 60s"))
    newsradar("run", "--once", "-c", str(config))
    assert len(items(config)) == 11, "the next poll fetches what the cut one dropped (not recorded as failed)"


def test_a_blank_link_on_a_listing_page_never_makes_the_listing_a_story(site, tmp_path):
    # The listing page has the chrome of the site, hot-stocks box included: as a story it would match the rule.
    listing = article("Markets", ["Market headlines of the day, updated through the session. " * 8],
                      "2025-06-11T09:30:00+08:00", lang="en")
    links = ('<a class="headline" href="  ">blank</a><a class="headline" href="#top">top</a>'
             '<a class="headline" href="/markets/">self</a><a class="headline" href="/news/real.html">real</a>')
    site.add("/markets/", listing.replace("<body>", f"<body>{links}", 1))
    body = [" ".join(f"real story word{j}" for j in range(60))]
    site.add("/news/real.html", article("Real story", body, "2025-06-11T10:00:00+08:00", lang="en"))
    config = tmp_path / "config.yaml"
    config.write_text(f"""store: sqlite:///store.db
max_age: 3650d
fetch: {{delay: 0s}}
sources:
  - {{name: markets, type: html, url: "{site.url('/markets/')}", links: a.headline, allow_private: true}}
rules: [{{name: hot, any: [{SIDEBAR_ONLY}], notify: [out]}}]
notifiers: {{out: {{url: "console://"}}}}
""")
    proc = newsradar("run", "--once", "-c", str(config))
    rows = items(config)
    assert [r["title"] for r in rows] == ["Real story"], rows
    assert all(not r["rules"] for r in rows) and SIDEBAR_ONLY not in proc.stdout
    assert site.hits["/markets/"] == 1, "the listing was fetched once, as the listing only"
