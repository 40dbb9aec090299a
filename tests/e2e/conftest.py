"""Fixtures shared by the end-to-end tests (one definition, so session-scoped fixtures are made once)."""

from tests.support.reportsite import filled  # noqa: F401  (fixture: a store filled by one real run --once)
