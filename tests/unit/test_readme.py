"""The README is the front door: its example config is the shipped config.yaml, that file loads, and every config
key the code declares is documented."""

from __future__ import annotations

import re

from pydantic import BaseModel

from crawler.config.model import (
    Config,
    Fetch,
    Health,
    Metrics,
    Notifier,
    Rule,
    Source,
    load_config,
)
from crawler.config.model import Daemon as DaemonSettings
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
SHIPPED = ROOT / "config.yaml"


def test_the_readme_example_is_the_shipped_config_verbatim():
    blocks = re.findall(r"```yaml\n(.*?)```", README, flags=re.S)
    assert SHIPPED.read_text(encoding="utf-8") in blocks


def test_the_shipped_config_loads_with_console_fallbacks(monkeypatch):
    monkeypatch.delenv("DESK_MAIL_URL", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    config = load_config(SHIPPED, allow_insecure=True)  # the checkout's mode is the runner's umask
    assert config.notifiers["desk-mail"].url == ("console://",)
    assert {"iflytek", "domestic-compute"} == {r.name for r in config.rules}


def test_the_shipped_config_loads_with_real_notifier_urls(monkeypatch):
    monkeypatch.setenv("DESK_MAIL_URL", "mailtos://user:password@smtp.example.com?to=desk@example.com")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX")
    config = load_config(SHIPPED, allow_insecure=True)  # the checkout's mode is the runner's umask
    assert config.notifiers["desk-slack"].url[0].startswith("https://hooks.slack.com/")


def _keys(model: type[BaseModel]) -> set[str]:
    """The keys as written in config.yaml: a field's alias where it has one (a rule's `in` is the field `in_`)."""
    return {info.alias or name for name, info in model.model_fields.items() if name != "path"}


def test_every_config_key_is_documented():
    missing = set()
    for model, prefix in [(Config, ""), (Fetch, "fetch."), (Health, "health."), (DaemonSettings, "daemon."),
                          (Metrics, "metrics.")]:
        for key in _keys(model):
            # a plain key as `key`; a section as `key.sub` / `key[]` rows
            if not re.search(rf"`{re.escape(prefix + key)}[`.\[]", README):
                missing.add(prefix + key)
    for model in (Source, Notifier):
        missing |= {k for k in _keys(model) if f"| `{k}` |" not in README}
    missing |= {k for k in _keys(Rule) if f"`{k}`" not in README}
    assert not missing, f"undocumented config keys: {sorted(missing)}"


def test_the_two_setup_commands_are_there():
    assert "pip install . && newsradar run" in README
    assert "pip install -e '.[test]' && python -m pytest" in README
