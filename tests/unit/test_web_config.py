"""The `web:` section: defaults, and errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config.model import ConfigError, parse_config

BASE = "sources:\n  - name: a\n    type: feed\n    url: https://example.com/rss\n"


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, Path("config.yaml"), {})
    return exc.value.problems


def test_web_defaults_to_loopback_without_token():
    config = parse_config(BASE + "web: {port: 8765}\n", Path("config.yaml"), {})
    assert (config.web.port, config.web.host, config.web.token) == (8765, "127.0.0.1", None)
    assert parse_config(BASE, Path("config.yaml"), {}).web is None


@pytest.mark.parametrize("section, expected", [
    ("web:\n  port: 0\n", "config.yaml:6: web.port: Input should be greater than or equal to 1"),
    ("web:\n  port: 8765\n  tokn: abcdefghij\n", "config.yaml:7: unknown key 'tokn' in web; did you mean 'token'?"),
    ("web:\n  port: 8765\n  token: short\n", "config.yaml:7: web.token: String should have at least 8 characters"),
])
def test_web_errors_name_the_line(section, expected):
    problems = _problems(BASE + section)
    assert any(p.startswith(expected) for p in problems), problems
