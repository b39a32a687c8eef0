"""Fixtures shared by every test: throwaway databases and the shared sample files.

A missing prerequisite (PostgreSQL binaries, the shared samples) skips the tests that need it
on a developer's machine, but fails them when ``CI`` is set (to anything but ``0``/``false``):
CI must never go green by skipping what it was meant to test.

The shared samples are looked for in ``$LEDGER_AUDIT_SAMPLES``, else ``../shared/samples``
beside the project. Nothing reads them while tests are collected: only the
``shared_samples`` fixture looks, when a test that needs them runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from ledger_audit.demo.build import build_demo
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.testing.browser import ChromiumNotFoundError, find_chromium
from ledger_audit.testing.pgserver import (
    DatabaseFactory,
    ExistingPostgres,
    PostgresNotFoundError,
    PostgresServer,
    find_postgres_bin_dir,
    unique_database_name,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_ENV = "LEDGER_AUDIT_SAMPLES"
SHARED_SAMPLES = Path(os.environ.get(SAMPLES_ENV) or PROJECT_ROOT.parent / "shared" / "samples")
PG_URL_ENV = "LEDGER_AUDIT_TEST_PG_URL"
_PG_FIXTURES = frozenset({"pg_server", "pg_url", "pg_bin_dir"})


def on_ci() -> bool:
    """``CI`` is set to something other than empty, ``0`` or ``false``."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def missing_prerequisite(message: str) -> NoReturn:
    """Skip locally, fail on CI (see ``on_ci``)."""
    if on_ci():
        pytest.fail(f"{message} [CI is set, so this fails instead of skipping]", pytrace=False)
    pytest.skip(message)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a PostgreSQL fixture, so ``-m 'not postgres'`` deselects it."""
    for item in items:
        if _PG_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def pg_bin_dir() -> Path:
    """Directory of the PostgreSQL server binaries (skip or fail if there are none)."""
    try:
        return find_postgres_bin_dir()
    except PostgresNotFoundError as exc:
        missing_prerequisite(str(exc))


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> Iterator[DatabaseFactory]:
    """One PostgreSQL server for the session: ours on loopback, or ``$LEDGER_AUDIT_TEST_PG_URL``."""
    admin_url = os.environ.get(PG_URL_ENV)
    if admin_url:
        yield ExistingPostgres(admin_url)
        return
    bin_dir: Path = request.getfixturevalue("pg_bin_dir")
    with PostgresServer(bin_dir=bin_dir, fsync=False) as server:
        yield server


@pytest.fixture
def pg_url(pg_server: DatabaseFactory, request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty PostgreSQL database, dropped after the test."""
    name = unique_database_name(request.node.name)
    url = pg_server.create_database(name)
    yield url
    pg_server.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """SQLAlchemy URL of a SQLite file that does not exist yet, in the test's own directory."""
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture(scope="session")
def shared_samples() -> Path:
    """The folder of real bank files; without it the tests that need it skip (fail on CI)."""
    if not SHARED_SAMPLES.is_dir():
        missing_prerequisite(
            f"shared samples directory {SHARED_SAMPLES} is missing (a clone without "
            f"../shared/samples beside {PROJECT_ROOT}, or ${SAMPLES_ENV} pointing elsewhere): "
            "the tests that read the real bank files need it"
        )
    return SHARED_SAMPLES


# --- demo ledgers, built once per parameter set for the whole session ---------------------

SMALL_N = 600
SEED = 7

DemoFactory = Callable[..., DemoSummary]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Headless Chromium for the browser tests (scripts/ensure-chromium.sh installs it)."""
    try:
        return find_chromium()
    except ChromiumNotFoundError as exc:
        missing_prerequisite(str(exc))


@pytest.fixture(scope="session")
def demo_factory(tmp_path_factory: pytest.TempPathFactory) -> DemoFactory:
    """Build a demo once per parameter set for the whole session (``copy`` builds it again)."""
    built: dict[tuple[int, int, bool, str, int], DemoSummary] = {}

    def build(
        *,
        transactions: int = SMALL_N,
        seed: int = SEED,
        clean: bool = False,
        month: str = "2025-01",
        copy: int = 0,
    ) -> DemoSummary:
        key = (transactions, seed, clean, month, copy)
        if key not in built:
            out = tmp_path_factory.mktemp(f"demo-{transactions}-{seed}-{clean}-{copy}")
            built[key] = build_demo(
                out, transactions=transactions, seed=seed, clean=clean, month=month
            )
        return built[key]

    return build
