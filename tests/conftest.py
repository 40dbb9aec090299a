"""Shared fixtures: a local news site, temp stores, and helpers to run the real `newsradar` command."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crawler.cli.main import main as cli_main
from crawler.run import logs
from crawler.store.database import Store
from tests.support.pg import fresh_schema
from tests.support.receivers import closed_port, http_receiver, smtp_server  # noqa: F401  (fixtures)
from tests.support.site import site  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
# Config files the tests write must be owner-writable only (newsradar refuses group/other-writable configs),
# whatever umask the test runner inherited (0002 is common).
os.umask(0o022)
PG_URL = os.environ.get("NEWSRADAR_TEST_PG_URL")
CORPORA = Path(os.environ.get("NEWSRADAR_CORPORA", ROOT.parent / "shared" / "corpora"))


def corpus(name: str) -> Path:
    """A folder of ../shared/corpora, or a clear skip where this checkout has none."""
    path = CORPORA / name
    if not path.is_dir():
        pytest.skip(f"{path} is absent: the shared corpora are not next to this checkout")
    return path


def newsradar(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess (Scrapy's reactor runs once per process, as in production)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "crawler", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"newsradar {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@contextlib.contextmanager
def _process_state(cwd: Path | None, env: dict | None):
    """What a subprocess would have had to itself: the cwd, the environment, the root logger and the log zone,
    set for one in-process command and put back after it."""
    old_cwd, old_env, old_zone = os.getcwd(), dict(os.environ), logs._zone
    root = logging.getLogger()
    old_handlers, old_level = root.handlers[:], root.level
    old_levels = {name: lg.level for name, lg in logging.Logger.manager.loggerDict.items()
                  if isinstance(lg, logging.Logger)}
    try:
        if cwd is not None:
            os.chdir(cwd)
        os.environ.update(env or {})
        yield
    finally:
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_env)
        logs._zone = old_zone
        root.handlers[:] = old_handlers
        root.setLevel(old_level)
        for name, level in old_levels.items():
            logging.getLogger(name).setLevel(level)


def cli(*args: str, cwd: Path | None = None, env: dict | None = None,
        check: bool = True) -> subprocess.CompletedProcess:
    """Run `newsradar` in this process (`crawler.cli.main.main`), with what newsradar() returns: stdout, stderr
    and the exit code (argparse's SystemExit included). For the commands that start no Scrapy reactor (a reactor
    runs once per process): never `run`, and `extract` (a process pool) is left to newsradar() too. Saves the
    ~1.5 s a subprocess spends starting Python and importing newsradar."""
    assert args[:1] not in (("run",), ("extract",)) or "--help" in args, "run and extract: use newsradar()"
    out, err = io.StringIO(), io.StringIO()
    with _process_state(cwd, env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli_main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, (int, type(None))):
                print(exc.code, file=sys.stderr)
    proc = subprocess.CompletedProcess(["newsradar", *args], code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f"newsradar {' '.join(args)} exited {code}\n{proc.stdout}\n{proc.stderr}")
    return proc


def items(config: Path, *extra: str) -> list[dict]:
    """The stored stories as `newsradar items --json` prints them (in-process: it starts no reactor)."""
    out = cli("items", "--json", "--limit", "0", "-c", str(config), *extra).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def _root_logger_back():
    """A test that calls the CLI's main() itself leaves its log handler on the root logger, writing to that
    test's captured stderr (closed after it) at INFO: a later test's threads (aiosmtpd) would log into it."""
    root = logging.getLogger()
    level, zone = root.level, logs._zone
    yield
    # only newsradar's handler (the one with its Demote filter): pytest's own come and go with each phase
    for handler in [h for h in root.handlers if any(isinstance(f, logs.Demote) for f in h.filters)]:
        root.removeHandler(handler)
    root.setLevel(level)
    logs._zone = zone


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@contextmanager
def pg_schema() -> Iterator[str]:
    """A store URL on the machine's PostgreSQL in a fresh schema of its own, dropped afterwards (skips the test
    where no PostgreSQL is configured)."""
    if not PG_URL:
        pytest.skip("NEWSRADAR_TEST_PG_URL is not set: no PostgreSQL to test against")
    with fresh_schema(PG_URL) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """A fresh store on SQLite in a temp dir, and on PostgreSQL (its own schema) where one is configured."""
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'store.db'}")
        yield s
        s.close()
        return
    with pg_schema() as url:
        s = Store(url)
        yield s
        s.close()


# Modules whose tests share a fixture that is expensive to build run on one xdist worker (`--dist loadgroup`),
# which builds it once; every other test goes to whichever worker is free. xdist hands out the groups first
# (largest first), so the minute-long ones do not start last.
XDIST_GROUPS = {
    "test_cli": "cli-world",  # `world`: two real `run --once` passes (module scope)
    "test_report": "report-site",  # `filled`: a real `run --once` (session scope, one per worker) ...
    "test_dashboard": "report-site",
    "test_browser": "report-site",  # ... and a Chromium launched per module
    "test_extract_wcxb": "wcxb",  # `results`: 700+ corpus pages scored (module scope)
}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the xdist_group marks
def pytest_collection_modifyitems(items):
    """Two tiers by folder: tests/unit runs in-process (fast), tests/e2e starts the real CLI or daemon."""
    for item in items:
        tier = "e2e" if "e2e" in item.path.parts else "unit"
        item.add_marker(getattr(pytest.mark, tier))
        if group := XDIST_GROUPS.get(item.path.stem):
            item.add_marker(pytest.mark.xdist_group(group))
