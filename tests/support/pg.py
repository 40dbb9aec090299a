"""A fresh schema on a PostgreSQL server, for one test or one benchmark run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text


@contextmanager
def fresh_schema(server_url: str, prefix: str = "nr_") -> Iterator[str]:
    """A store URL on `server_url` whose search_path is a new schema of its own, dropped (with everything in it)
    on exit."""
    schema = f"{prefix}{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
