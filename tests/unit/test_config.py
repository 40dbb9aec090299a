"""Config loading: every key declared once, unknown keys fail fast with a hint, errors name file, line and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from crawler.config.model import ConfigError, load_config, parse_config
from tests.conftest import newsradar

MINIMAL = """store: sqlite:///newsradar.db
sources:
  - name: cls-telegraph
    type: feed
    url: https://example.com/rss
    every: 5m
  - name: markets
    type: html
    url: https://example.com/markets/
    links: "a.headline"
"""


def _problems(text: str, env: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, Path("config.yaml"), env or {})  # errors name the path as given
    return exc.value.problems


def test_the_minimal_config_of_the_issue_loads(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(MINIMAL)
    config = load_config(path)
    assert [s.name for s in config.sources] == ["cls-telegraph", "markets"]
    assert config.sources[0].every == timedelta(minutes=5)
    assert config.store == f"sqlite:///{tmp_path / 'newsradar.db'}", "relative to the config file"


@pytest.mark.parametrize(
    "text, expected",
    [
        (MINIMAL.replace("    every: 5m", "    evry: 5m"),
         "config.yaml:6: unknown key 'evry' in sources[0]; did you mean 'every'?"),
        (MINIMAL + "rulez: []\n", "config.yaml:11: unknown key 'rulez' in the top level; did you mean 'rules'?"),
        (MINIMAL.replace("type: html", "type: htm"), "config.yaml:8: sources[1].type: Input should be 'feed', 'html', 'sitemap', 'json', 'cninfo', 'szse', 'sse', 'hkex' or 'edgar'"),
        (MINIMAL.replace("every: 5m", "every: often"), "config.yaml:6: sources[0].every: 'often' is not a duration"),
        (MINIMAL.replace('    links: "a.headline"\n', ""), "config.yaml:7: source 'markets' of type html needs 'links'"),
        (MINIMAL.replace('"a.headline"', '"a[[["'), "config.yaml:10: invalid CSS selector"),
        (MINIMAL.replace("name: markets", "name: cls-telegraph"), "config.yaml:7: duplicate source name 'cls-telegraph'"),
        (MINIMAL.replace("https://example.com/rss", "file:///etc/passwd"),
         "config.yaml:5: sources[0].url: 'file:///etc/passwd' is not an http(s) URL"),
        (MINIMAL + "timezone: Mars/Olympus\n", "config.yaml:11: timezone: unknown time zone 'Mars/Olympus'"),
        (MINIMAL.replace("url: https://example.com/rss", "url: ${FEED_URL}"),
         "config.yaml:5: environment variable FEED_URL is not set"),
        ("sources: [\n", "config.yaml:2: not valid YAML"),
        (MINIMAL.replace("    url: https://example.com/rss\n", ""), "config.yaml:3: missing key 'url' in sources[0]"),
        (MINIMAL + "fetch:\n  timeout: 10s\n  max_byte: 5MB\n", "config.yaml:13: unknown key 'max_byte' in fetch; did you mean 'max_bytes'?"),
        (MINIMAL + "notifiers:\n  desk:\n    url: console://\n    tempalte: x.j2\n",
         "config.yaml:14: unknown key 'tempalte' in notifiers.desk; did you mean 'template'?"),
        (MINIMAL + "rules:\n  - name: r\n    any: [x]\n    notify: [dsk]\nnotifiers:\n  desk: {url: console://}\n",
         "config.yaml:14: rule 'r' notifies unknown notifier 'dsk'; did you mean 'desk'?"),
        (MINIMAL + "rules:\n  - name: r\n    any: [\"@nope\"]\n", "config.yaml:13: "),
        (MINIMAL + "notifiers:\n  desk: {url: \"nosuchscheme://x\"}\n", "config.yaml:12: notifier 'desk': "),
        (MINIMAL + "notifiers:\n  desk: {url: console://, quiet: \"22-07\"}\n", "config.yaml:12: notifier 'desk': quiet"),
    ],
)
def test_errors_name_the_file_the_line_and_the_key(text, expected):
    problems = _problems(text)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_reported_not_just_the_first():
    text = MINIMAL.replace("every: 5m", "evry: 5m").replace("type: html", "type: htm")
    assert len(_problems(text)) == 2


def test_environment_variables_expand_and_are_never_printed(tmp_path):
    text = MINIMAL.replace("url: https://example.com/rss", "url: https://${HOST}/rss")
    config = parse_config(text, tmp_path / "c.yaml", {"HOST": "feeds.example.org"})
    assert config.sources[0].url == "https://feeds.example.org/rss"


def test_check_command_exit_codes_and_message(tmp_path):
    good = tmp_path / "config.yaml"
    good.write_text(MINIMAL)
    assert newsradar("check", "-c", str(good)).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL.replace("every: 5m", "evry: 5m"))
    proc = newsradar("check", "-c", str(bad), check=False)
    assert proc.returncode == 2
    assert "bad.yaml:6: unknown key 'evry' in sources[0]; did you mean 'every'?" in proc.stderr
    missing = newsradar("check", "-c", str(tmp_path / "nope.yaml"), check=False)
    assert missing.returncode == 2 and "cannot read config" in missing.stderr


def test_check_defaults_to_config_yaml_in_the_working_directory(tmp_path):
    (tmp_path / "config.yaml").write_text(MINIMAL)
    assert "ok" in newsradar("check", cwd=tmp_path).stdout


def test_run_with_a_store_that_cannot_be_opened_exits_non_zero(tmp_path, closed_port):
    path = tmp_path / "config.yaml"
    path.write_text(MINIMAL.replace("sqlite:///newsradar.db", "sqlite:////nonexistent/dir/x.db"))
    proc = newsradar("run", "--once", "-c", str(path), check=False)
    assert proc.returncode == 2 and "store: the folder /nonexistent/dir does not exist" in proc.stderr
    path.write_text(MINIMAL.replace("sqlite:///newsradar.db", f"postgresql+psycopg://nr@127.0.0.1:{closed_port}/x"))
    proc = newsradar("run", "--once", "-c", str(path), check=False)
    assert proc.returncode == 1 and "cannot open store" in proc.stderr
