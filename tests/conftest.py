"""Shared fixtures: a local news site, temp stores, and helpers to run the real `newsradar` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crawler.store.database import Store
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


def items(config: Path, *extra: str) -> list[dict]:
    out = newsradar("items", "--json", "--limit", "0", "-c", str(config), *extra).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """A fresh store on SQLite in a temp dir, and on PostgreSQL (its own schema) where one is configured."""
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'store.db'}")
        yield s
        s.close()
        return
    if not PG_URL:
        pytest.skip("NEWSRADAR_TEST_PG_URL is not set: no PostgreSQL to test against")
    schema = f"nr_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    s = Store(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    yield s
    s.close()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def pytest_collection_modifyitems(items):
    """Two tiers by folder: tests/unit runs in-process (fast), tests/e2e starts the real CLI or daemon."""
    for item in items:
        tier = "e2e" if "e2e" in item.path.parts else "unit"
        item.add_marker(getattr(pytest.mark, tier))
