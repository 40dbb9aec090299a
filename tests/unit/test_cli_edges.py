"""The edges of the command line a new user hits first, through the CLI's entry point (in-process): help texts,
usage errors of the subcommand that was typed, `rules test` telling text from files and URLs, `--limit`, config
error paths, `items` on an empty store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import cli

CONFIG = """store: sqlite:///store.db
timezone: Asia/Shanghai
watchlists:
  iflytek: [iFlytek, 科大讯飞]
rules:
  - name: iflytek
    any: ["@iflytek"]
"""
SUBCOMMANDS = ["check", "run", "items", "extract", "rules", "notify", "outbox", "status"]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return path


def test_every_subcommand_has_a_one_line_description_and_json_has_help():
    top = cli("--help").stdout
    for name in SUBCOMMANDS:
        line = next((line for line in top.splitlines() if line.split()[:1] == [name]), "")
        assert len(line.split()) > 2, f"{name} has no description in --help:\n{top}"
    for args in (["items"], ["status"], ["outbox"], ["rules", "test"], ["extract"]):
        text = cli(*args, "--help").stdout
        assert re.search(r"--json\s+\S", text), f"{' '.join(args)} --json has no help:\n{text}"
        assert text.splitlines()[0].startswith(f"usage: newsradar {' '.join(args)}")
    assert "Validate the config." in cli("check", "--help").stdout


@pytest.mark.parametrize("args, usage", [
    (["items", "--limt", "5"], "usage: newsradar items"),
    (["rules", "test", "--bogus", "x"], "usage: newsradar rules test"),
    (["status", "--bogus"], "usage: newsradar status"),
])
def test_an_error_after_a_subcommand_prints_that_subcommands_usage(config, args, usage):
    proc = cli(*args, "-c", str(config), check=False)
    assert proc.returncode == 2 and proc.stderr.startswith(usage), proc.stderr


@pytest.mark.parametrize("value", ["-5", "x"])
def test_limit_must_be_positive(config, value):
    proc = cli("items", "--limit", value, "-c", str(config), check=False)
    assert proc.returncode == 2 and "--limit" in proc.stderr and proc.stderr.startswith("usage: newsradar items")


def test_items_on_an_empty_store_says_so(config):
    assert cli("items", "-c", str(config)).stdout.startswith("no stories yet")
    assert cli("items", "--json", "-c", str(config)).stdout == ""


def test_config_errors_name_the_path_as_given(tmp_path):
    bad = tmp_path / "sub" / "x.yaml"
    bad.parent.mkdir()
    bad.write_text("sources:\n  - name: s\n    type: feed\n    url: https://example.com/rss\n    evry: 5m\n")
    proc = cli("check", "-c", str(bad), check=False)
    assert proc.returncode == 2 and proc.stderr.startswith(f"{bad}:5: unknown key 'evry'"), proc.stderr
    relative = cli("check", "-c", "sub/x.yaml", cwd=tmp_path, check=False)
    assert relative.stderr.startswith("sub/x.yaml:5: "), relative.stderr


def test_rules_test_says_it_read_text_even_when_long(config):
    long_text = "iFlytek " + "x" * 400  # longer than a file name may be (255 bytes)
    out = cli("rules", "test", "-c", str(config), long_text).stdout
    assert out.splitlines()[0] == f"read the argument as text ({len(long_text)} characters)"
    assert "MATCH iflytek" in out
    one_word = cli("rules", "test", "-c", str(config), "科大讯飞/" * 100).stdout  # no space, too long: text
    assert one_word.startswith("read the argument as text") and "MATCH iflytek" in one_word


@pytest.mark.parametrize("target", ["./missing.html", "missing.html", "~/no/such/page", "/no/such/file"])
def test_rules_test_fails_on_a_missing_file_that_looks_like_a_path(config, target):
    proc = cli("rules", "test", "-c", str(config), target, check=False)
    assert proc.returncode == 2 and f"no such file: {target}" in proc.stderr, proc.stdout + proc.stderr


def test_rules_test_says_it_read_a_file(config, tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>iFlytek news</title></head><body><article><p>" + "iFlytek said it grew. " * 20
                    + "</p></article></body></html>")
    out = cli("rules", "test", "-c", str(config), str(page)).stdout
    assert out.splitlines()[0].startswith(f"read file {page} (") and "MATCH iflytek" in out
    as_json = cli("rules", "test", "--json", "-c", str(config), str(page))
    assert as_json.stdout.lstrip().startswith("[") and as_json.stderr.startswith(f"read file {page}")


def test_rules_test_says_it_read_a_url(config, site):
    site.add("/a.html", "<html><head><title>iFlytek</title></head><body><article><p>" + "iFlytek grew. " * 20
             + "</p></article></body></html>")
    out = cli("rules", "test", "-c", str(config), site.url("/a.html")).stdout
    assert out.splitlines()[0].startswith(f"read URL {site.url('/a.html')} (")
