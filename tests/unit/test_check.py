"""`newsradar check` catches configs that cannot work, through the CLI's entry point (in-process): file:line
errors (exit 2), warnings for a config that would do nothing, and `--connect` for a database that cannot be
reached."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import cli

SOURCE = "sources:\n  - name: s\n    type: feed\n    url: https://example.com/rss\n"
RULE = "rules:\n  - name: r\n    any: [iFlytek]\n"


def _check(tmp_path: Path, text: str, *extra: str):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path, cli("check", *extra, "-c", str(path), check=False)


@pytest.mark.parametrize("text, line, says", [
    ("watchlists:\n  iflytek: iFlytek, 科大讯飞\n", 2,
     "watchlists.iflytek: needs a list of terms, not the string 'iFlytek, 科大讯飞'; write [iFlytek, 科大讯飞]"),
    ("rules:\n  - name: r\n    any: iFlytek\n", 3, "rules[0].any: needs a list of terms, not the string 'iFlytek'"),
    ("rules:\n  - name: r\n    any: [x]\n    none: advertorial, 广告\n", 4, "rules[0].none: needs a list of terms"),
    ("store: newsradar.db\n", 1, "store: 'newsradar.db' is not a database URL; did you mean 'sqlite:///newsradar.db'?"),
    ("store: sqlite:///no/such/folder/x.db\n", 1, "/no/such/folder does not exist"),
    ("notifiers:\n  desk: {url: \"slak://T000/B000/XXXXsecret\"}\n", 2,
     "notifier 'desk': apprise cannot use slak://***/***/***: unknown scheme slak://; did you mean slack://?"),
], ids=["watchlist-string", "any-string", "none-string", "store-path", "sqlite-folder", "apprise-scheme"])
def test_check_fails_with_file_and_line(tmp_path, text, line, says):
    path, proc = _check(tmp_path, text)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{path}:{line}: " in proc.stderr and says in proc.stderr, proc.stderr
    assert "XXXXsecret" not in proc.stderr


def test_a_bad_mail_url_shows_scheme_host_and_the_wrong_part_but_not_the_password(tmp_path):
    _, proc = _check(tmp_path, "notifiers:\n  desk: {url: \"mailtoz://user:s3cretpw@smtp.example.com?to=desk@example.com\"}\n")
    assert proc.returncode == 2 and "mailtoz://user:****@smtp.example.com" in proc.stderr, proc.stderr
    assert "did you mean mailto" in proc.stderr and "s3cretpw" not in proc.stderr


@pytest.mark.parametrize("text, warns", [
    ("", ["no sources", "no rules"]),
    ("sources: []\n" + RULE, ["no sources"]),
    (SOURCE, ["no rules"]),
    (SOURCE + RULE, []),
])
def test_check_warns_on_a_config_that_would_do_nothing(tmp_path, text, warns):
    path, proc = _check(tmp_path, text)
    assert proc.returncode == 0 and "ok (" in proc.stdout, proc.stderr
    found = [line for line in proc.stderr.splitlines() if line.startswith(f"{path}: warning: ")]
    assert len(found) == len(warns) and all(any(w in line for line in found) for w in warns), proc.stderr


def test_check_connect_reports_an_unreachable_database(tmp_path, closed_port):
    url = f"postgresql+psycopg://newsradar:s3cretpw@127.0.0.1:{closed_port}/news"
    _, plain = _check(tmp_path, f"store: {url}\n" + SOURCE + RULE)
    assert plain.returncode == 0, "without --connect the store is not opened"
    _, proc = _check(tmp_path, f"store: {url}\n" + SOURCE + RULE, "--connect")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"cannot open store postgresql+psycopg://newsradar:***@127.0.0.1:{closed_port}/news" in proc.stderr
    assert "s3cretpw" not in proc.stderr


def test_check_connect_opens_a_sqlite_store(tmp_path):
    _, proc = _check(tmp_path, "store: sqlite:///store.db\n" + SOURCE + RULE, "--connect")
    assert proc.returncode == 0 and "store reachable" in proc.stdout and (tmp_path / "store.db").exists()
