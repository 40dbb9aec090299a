"""A config file that group or others can write is refused (it holds notifier credentials and decides what is
fetched), with a clear message and a documented override, at start and on every reload."""

from __future__ import annotations

import pytest

from crawler.config.model import ConfigError, load_config
from tests.conftest import cli

CONFIG = """notifiers:
  desk:
    url: "json://127.0.0.1:9/hook"
"""


@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602])
def test_a_config_writable_by_group_or_others_is_refused_with_a_clear_message(tmp_path, mode):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    path.chmod(mode)
    run = cli("check", "-c", str(path), check=False)
    assert run.returncode == 2
    assert f"mode {mode:04o}" in run.stderr and "chmod go-w" in run.stderr, run.stderr
    assert "--allow-insecure-config" in run.stderr and "NEWSRADAR_ALLOW_INSECURE_CONFIG=1" in run.stderr


def test_the_flag_or_the_environment_switch_overrides(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    path.chmod(0o666)
    assert cli("check", "--allow-insecure-config", "-c", str(path)).returncode == 0
    assert cli("check", "-c", str(path), env={"NEWSRADAR_ALLOW_INSECURE_CONFIG": "1"}).returncode == 0
    assert cli("check", "-c", str(path), env={"NEWSRADAR_ALLOW_INSECURE_CONFIG": "0"},
                     check=False).returncode == 2


def test_owner_only_writable_configs_load(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    for mode in (0o644, 0o600, 0o400):
        path.chmod(mode)
        assert load_config(path).notifiers["desk"]


def test_a_reload_checks_the_mode_too(tmp_path):
    """The daemon reloads through load_config with the flag it started with."""
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    path.chmod(0o646)
    with pytest.raises(ConfigError, match="group or others can write"):
        load_config(path)
    assert load_config(path, allow_insecure=True).notifiers["desk"]
