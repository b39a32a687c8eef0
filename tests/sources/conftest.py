"""Fixtures: the sample ledger written into a fresh SQLite file and a fresh PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tests.sources.sample_ledger import write_sample_ledger


def make_engine(url: str) -> sa.Engine:
    """An engine that keeps no pooled connection (the tests drop databases afterwards)."""
    return sa.create_engine(url, poolclass=NullPool)


@pytest.fixture
def sqlite_ledger(sqlite_url: str) -> str:
    """URL of a SQLite file holding the sample ledger."""
    engine = make_engine(sqlite_url)
    write_sample_ledger(engine)
    engine.dispose()
    return sqlite_url


@pytest.fixture
def sqlite_path(sqlite_ledger: str) -> Path:
    """The same SQLite ledger as a file path."""
    database = sa.make_url(sqlite_ledger).database
    assert database is not None
    return Path(database)


@pytest.fixture
def pg_ledger(pg_url: str) -> str:
    """URL (``postgresql+psycopg://``) of a fresh PostgreSQL database holding the sample ledger."""
    engine = make_engine(pg_url)
    write_sample_ledger(engine)
    engine.dispose()
    return pg_url
