"""The newssite plus a story with a hostile title, and a config with English and Chinese watchlists, for the
report and dashboard tests. `fill_store(site, tmp_path)` runs the real `newsradar run --once` and returns the
config path; the report's period is `NOW` back 7 days (all newssite stories fall in it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path

import pytest
from sqlalchemy import update

from crawler.store.database import Outbox, Store
from tests.conftest import newsradar
from tests.support.newssite import publish_site, site_config
from tests.support.site import Site

NOW = "2025-06-15T00:00:00+08:00"
NOW_UTC = datetime(2025, 6, 14, 16, 0, tzinfo=timezone.utc)  # NOW in UTC
SENT_AT = datetime(2025, 6, 14, 10, 0, tzinfo=timezone.utc)  # 18:00 on 14 June in Asia/Shanghai
DASH_NOW = datetime(2025, 6, 14, 15, 0, tzinfo=timezone.utc)  # 23:00 local: the dashboard's "today" holds SENT_AT
HOSTILE = "<script>window.pwned=1</script></svg>{{7*7}} iFlytek 科大讯飞 hostile"
HOSTILE_PATH = "/news/hostile.html"
WATCHLISTS = """
timezone: Asia/Shanghai
watchlists:
  人工智能: [iFlytek, 科大讯飞, 国产算力]
  chips: [寒武纪, semiconductors, Chip designers]
rules:
  - name: ai-desk
    any: ["@人工智能"]
    notify: [desk]
  - name: chip-desk
    any: ["@chips"]
    notify: [desk]
notifiers:
  desk:
    url: console://
"""


def _hostile_page() -> str:
    t = escape(HOSTILE)
    body = "".join(f"<p>{escape(HOSTILE)} appears in a paragraph long enough to be main text, number {i}, "
                   f"with plenty of words about iFlytek and markets to keep the extractor happy.</p>" for i in range(4))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{t}</title>
<meta property="og:title" content="{t}">
<meta property="article:published_time" content="2025-06-13T12:00:00+08:00"></head>
<body><article><h1>{t}</h1>{body}</article></body></html>"""


def fill_store(site, tmp_path: Path, extra: str = "") -> Path:
    urls = publish_site(site)
    site.add(HOSTILE_PATH, _hostile_page())
    site.add("/hostile/", f'<html><body><a class="headline" href="{HOSTILE_PATH}">x</a></body></html>')
    hostile_source = f"""  - name: hostile
    type: html
    allow_private: true
    url: {site.url('/hostile/')}
    links: "a.headline"
"""
    text = site_config(urls, "sqlite:///store.db", hostile_source + WATCHLISTS + extra)
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    newsradar("run", "--once", "-c", str(config))
    return config


@dataclass
class Filled:
    config: Path
    site: Site
    store_url: str

    def store(self) -> Store:
        return Store(self.store_url)


@pytest.fixture(scope="session")
def filled(tmp_path_factory) -> Filled:
    """One real `run --once` over the newssite (+ the hostile story), shared by the report and dashboard tests.

    The alerts it sent carry today's date; they are moved into the report's fixed period (sent on 2025-06-14,
    local evening) so the period's alert counts and "today's alerts" do not depend on the day the tests run."""
    site = Site()
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    tmp = tmp_path_factory.mktemp("report")
    config = fill_store(site, tmp)
    url = f"sqlite:///{tmp / 'store.db'}"
    store = Store(url)
    with store.session.begin() as s:
        s.execute(update(Outbox).values(created=SENT_AT - timedelta(minutes=1), sent_at=SENT_AT))
    store.close()
    yield Filled(config, site, url)
    site.close()
