"""Rendering sources (issue 16) through the real CLI and daemon, on the system Chromium and a local JS site."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import items, newsradar
from tests.support import jssite


@pytest.fixture
def browser():
    return jssite.chromium()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_render_all_stores_script_built_stories_with_their_injected_text(site, tmp_path, browser):
    urls = jssite.publish(site)
    config = _write(tmp_path, jssite.config(urls, "sqlite:///store.db", render="all"))
    proc = newsradar("run", "--once", "-c", str(config))
    assert "source=rendered status=ok new=2" in proc.stderr, proc.stderr
    by_url = {r["url"]: r for r in items(config)}
    for key, (title, paragraphs) in jssite.STORIES.items():
        row = by_url[site.url(f"/js/{key}.html")]
        assert row["title"] == title
        for paragraph in paragraphs:
            assert paragraph in row["text"], "the body injected by script is the stored text"
    assert len(by_url) == 2, "the listing page is not a story"
    assert site.hits["/js/pic.png"] == 0 and site.hits["/js/font.woff2"] == 0, "images and fonts are not loaded"


def test_render_true_renders_only_the_listing(site, tmp_path, browser):
    urls = jssite.publish(site)
    config = _write(tmp_path, jssite.config(urls, "sqlite:///store.db", render="true"))
    proc = newsradar("run", "--once", "-c", str(config))
    # The articles come through Scrapy's own handler: their HTML has no text until a script runs.
    assert "source=rendered status=ok" in proc.stderr, proc.stderr
    assert not any(p in r["text"] for r in items(config) for p in jssite.STORIES["story-1"][1])
    assert site.hits["/js/story-1.html"] == 1


def test_without_render_the_listing_matches_no_links(site, tmp_path):
    urls = jssite.publish(site)
    config = _write(tmp_path, jssite.config(urls, "sqlite:///store.db", render=None))
    proc = newsradar("run", "--once", "-c", str(config))
    assert "status=error" in proc.stderr and "selector 'a.headline' matched no links" in proc.stderr, proc.stderr
    assert items(config) == []


def test_a_page_that_never_shows_wait_for_is_a_source_error_and_the_pass_goes_on(site, tmp_path, browser):
    urls = jssite.publish(site)
    never = f"""  - name: never
    type: html
    allow_private: true
    url: {urls['never']}
    links: "a.headline"
    render: true
    wait_for: "a.headline"
    render_timeout: 1s
"""
    config = _write(tmp_path, jssite.config(urls, "sqlite:///store.db", render="all", extra=never))
    proc = newsradar("run", "--once", "-c", str(config))
    line = next(l for l in proc.stderr.splitlines() if "source=never" in l)
    assert "status=error" in line and "did not show wait_for 'a.headline' within render_timeout" in line, line
    assert "source=rendered status=ok new=2" in proc.stderr, "the other rendering source is polled all the same"


def test_check_names_what_a_rendering_source_needs(tmp_path):
    urls = {"listing": "https://example.com/markets/"}
    no_wait = _write(tmp_path, jssite.config(urls, "sqlite:///store.db", render="true").replace(
        f'    wait_for: "{jssite.WAIT_FOR}"\n', ""))
    proc = newsradar("check", "-c", str(no_wait), check=False)
    assert proc.returncode == 2 and "config.yaml:12: source 'rendered': render needs wait_for" in proc.stderr, proc.stderr
    config = _write(tmp_path, jssite.config(urls, "sqlite:///store.db", render="true"))
    proc = newsradar("check", "-c", str(config), check=False, env={"PATH": str(tmp_path)})  # no chromium on PATH
    assert proc.returncode == 2 and "config.yaml:12:" in proc.stderr and "apt-get install chromium" in proc.stderr, \
        proc.stderr
