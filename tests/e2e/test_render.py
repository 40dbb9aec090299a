"""Rendering sources (issue 16) through the real CLI and daemon, on the system Chromium and a local JS site."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.conftest import cli, items, newsradar
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
    proc = cli("check", "-c", str(no_wait), check=False)
    assert proc.returncode == 2 and "config.yaml:12: source 'rendered': render needs wait_for" in proc.stderr, proc.stderr
    config = _write(tmp_path, jssite.config(urls, "sqlite:///store.db", render="true"))
    proc = cli("check", "-c", str(config), check=False, env={"PATH": str(tmp_path)})  # no chromium on PATH
    assert proc.returncode == 2 and "config.yaml:12:" in proc.stderr and "apt-get install chromium" in proc.stderr, \
        proc.stderr


def _browsers(root_pid: int) -> list[int]:
    """Chromium's main processes (not its renderers, `--type=...`) under `root_pid`, from /proc."""
    parents: dict[int, int] = {}
    cmdlines: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdlines[int(entry.name)] = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])

    def under(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == root_pid:
                return True
        return False

    # Playwright talks to the browser it launched over a pipe; renderers, zygotes and crashpad carry --type=
    return [pid for pid, cmd in cmdlines.items()
            if "--remote-debugging-pipe" in cmd and not any(a.startswith("--type=") for a in cmd) and under(pid)]


def test_the_daemon_renders_on_one_browser_restarts_it_and_goes_on_past_a_page_that_never_renders(
        site, tmp_path, browser):
    from tests.e2e.test_daemon import DaemonProcess, wait_for

    urls = jssite.publish(site)
    never = f"""  - name: never
    type: html
    allow_private: true
    url: {urls['never']}
    links: "a.headline"
    every: 1s
    jitter: 0s
    render: true
    wait_for: "a.headline"
    render_timeout: 1s
"""
    # render_timeout 5s: a page wedged by the browser's death fails within 2 × 5 + 10 s (crawler.fetch.render)
    text = jssite.config(urls, "sqlite:///store.db", render="all", extra="    every: 1s\n    jitter: 0s\n" + never,
                         timeout="5s")
    config = _write(tmp_path, text.replace("fetch:\n", "fetch:\n  render_restart_after: 4\n"))
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        # The daemon starts on the asyncio reactor that scrapy-playwright requires, with a rendering source.
        wait_for(lambda: "source=rendered status=ok new=2" in daemon.text(), 90, "the rendered stories", daemon)
        wait_for(lambda: daemon.text().count("source=never status=error") >= 2, 60, "two failed polls", daemon)
        wait_for(lambda: daemon.text().count("browser started") >= 2, 60, "a restart after 4 pages", daemon)
        wait_for(lambda: daemon.text().count("source=rendered status=ok") >= 2, 60, "polls go on", daemon)
        log = daemon.text()
        assert "did not show wait_for 'a.headline' within render_timeout" in log
        rendered = site.hits["/js/"] + site.hits["/js/never.html"] + site.hits["/js/story-1.html"] + \
            site.hits["/js/story-2.html"]
        assert log.count("browser started") <= rendered // 4 + 1, "one browser reused, not one per poll"
        # The browser dies: the next rendered page starts another one.
        # one browser per daemon (a browser being replaced may take a moment to exit)
        victims = wait_for(lambda: len(_browsers(daemon.proc.pid)) == 1 and _browsers(daemon.proc.pid), 30,
                           "one browser process", daemon)
        started = daemon.text().count("browser started")
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: daemon.text().count("browser started") > started, 60, "a new browser", daemon)
        okay = daemon.text().count("source=rendered status=ok")
        wait_for(lambda: daemon.text().count("source=rendered status=ok") > okay, 60, "a rendered poll", daemon)
        last = _browsers(daemon.proc.pid)
    finally:
        assert daemon.stop() == 0
    assert last and not any(Path(f"/proc/{pid}").exists() for pid in last), "the browser is closed at shutdown"
    assert len(items(config)) == 2


def test_at_most_render_concurrency_pages_are_open_across_polls(site, tmp_path, browser):
    from tests.support.site import Page

    jssite.publish(site)
    sources = ""
    for n in (1, 2):
        paths = [f"/js/slow-{n}-{i}.html" for i in range(3)]
        for i, path in enumerate(paths):
            title, paragraphs = jssite.STORIES[f"story-{1 + i % 2}"]
            site.add(path, jssite.article(f"{title} {n}-{i}", paragraphs), delay=0.4)
        site.add(f"/js/list-{n}.html", jssite.listing(paths))
        sources += f"""  - name: rendered-{n}
    type: html
    allow_private: true
    url: {site.url(f"/js/list-{n}.html")}
    links: "a.headline"
    render: all
    wait_for: "{jssite.WAIT_FOR}"
"""
    config = _write(tmp_path, f"""store: sqlite:///store.db
max_age: 3650d
fetch: {{delay: 0s, robots: false, per_domain: 8, concurrency: 8, render_concurrency: 1}}
sources:
{sources}""")
    proc = newsradar("run", "--once", "-c", str(config))
    assert proc.stderr.count("status=ok new=3") == 2, proc.stderr
    assert site.peak_in_flight == 1, "one page at a time in the browser, for both polls together"
    assert isinstance(site.pages["/js/slow-1-0.html"], Page)
