"""Balances, the roll-forward and the trial balance are one definition on every engine.

``replay.balance_sql`` writes them once in SQLAlchemy Core; DuckDB over the loaded frames,
SQLite and PostgreSQL (read-only) run those statements, and each gives the frames path's
replay exactly: whole frames, the same rows, dtypes and order, at instants before, inside
and after the demo's month, on both bases, on the planted demo, a tampered copy and a
hand-made ledger with superseded versions, resolved and open pending transactions, an
archived version and an account missing from the chart.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ledger_audit.checks.balance_engines import (
    Fetch,
    balances_on,
    database_fetch,
    duckdb_fetch,
    roll_forward_on,
    trial_balance_on,
)
from ledger_audit.errors import InputError
from ledger_audit.replay.balances import balances_as_of
from ledger_audit.replay.rollforward import roll_forward
from ledger_audit.reports.trial_balance import build_trial_balance
from ledger_audit.sources import load_ledger
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period
from tests.checks.demo_tampering import tamper
from tests.checks.test_engines_equal import database
from tests.conftest import DemoFactory
from tests.sources.sample_ledger import write_sample_ledger
from tests.text_ledger import at, ledger_from_text

ENGINES = ["duckdb", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
BASES = ("effective", "recorded")
JANUARY = Period.month("2025-01")
PERIODS = [Period.month("2024-12"), JANUARY, Period.month("2025-02")]
INSTANTS = (
    JANUARY.start_ns - 1,
    JANUARY.start_ns + 9 * 86_400 * 10**9,
    JANUARY.end_ns - 1,
    JANUARY.end_ns + 40 * 86_400 * 10**9,
)

HISTORY = """
account assets:bank debit
account revenue:sales credit
tx s1 standard posted at=100
  assets:bank debit 500 USD/2
  revenue:sales credit 500 USD/2
tx s1/1 standard posted at=200
  assets:bank debit 700 USD/2
  revenue:sales credit 700 USD/2
tx h1 standard pending at=150
  assets:bank credit 90 USD/2
  liabilities:holds debit 90 USD/2
tx h2 standard pending at=160
  assets:bank credit 40 USD/2
  liabilities:holds debit 40 USD/2
tx c1 post_pending posted at=300 pending=h1
  assets:bank credit 90 USD/2
  liabilities:holds debit 90 USD/2
tx a1 standard archived at=120
  assets:bank debit 1000 USD/2
  revenue:sales credit 1000 USD/2
"""
"""A superseded version, a pending transaction resolved later and one left open, an
archived version, and ``liabilities:holds`` missing from the chart (debit-normal)."""


@contextmanager
def fetch_for(
    kind: str, frames: LedgerFrames, folder: Path, request: pytest.FixtureRequest
) -> Iterator[Fetch]:
    """The engine ``kind`` holding ``frames``."""
    if kind == "duckdb":
        with duckdb_fetch(frames) as fetch:
            yield fetch
        return
    url = database(kind, frames, folder, request)
    with database_fetch(url) as fetch:
        yield fetch


def assert_like_the_replay(fetch: Fetch, frames: LedgerFrames, instants: tuple[int, ...]) -> int:
    """Every frame equal to the replay's; the number of balance rows compared."""
    compared = 0
    for basis in BASES:
        for instant in instants:
            ours = balances_on(fetch, instant, basis)  # type: ignore[arg-type]
            theirs = balances_as_of(frames, instant, basis).collect()  # type: ignore[arg-type]
            assert ours.equals(theirs), (basis, instant, ours.to_dicts(), theirs.to_dicts())
            compared += ours.height
        rolled = roll_forward_on(fetch, PERIODS, basis).collect()  # type: ignore[arg-type]
        assert rolled.equals(roll_forward(frames, PERIODS, basis).collect()), basis  # type: ignore[arg-type]
        ours_tb = trial_balance_on(fetch, JANUARY, basis)  # type: ignore[arg-type]
        theirs_tb = build_trial_balance(frames, JANUARY, basis)  # type: ignore[arg-type]
        assert ours_tb.rows.equals(theirs_tb.rows), basis
        assert ours_tb.totals.equals(theirs_tb.totals), basis
    return compared


@pytest.mark.parametrize("kind", ENGINES)
def test_the_planted_demo_balances_alike_everywhere(
    demo_factory: DemoFactory, kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    frames, _ = load_ledger(demo_factory().ledger_path)
    with fetch_for(kind, frames, tmp_path, request) as fetch:
        assert assert_like_the_replay(fetch, frames, INSTANTS) > 0


@pytest.mark.parametrize("kind", ENGINES)
def test_a_tampered_demo_balances_alike_everywhere(
    demo_factory: DemoFactory, kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    path = tmp_path / "tampered.sqlite"
    shutil.copy(demo_factory(clean=True).ledger_path, path)
    for edit in ("amount", "insert", "swap", "delete"):
        tamper(path, edit, seed=3)
    frames, _ = load_ledger(path)
    with fetch_for(kind, frames, tmp_path, request) as fetch:
        assert assert_like_the_replay(fetch, frames, INSTANTS) > 0


@pytest.mark.parametrize("kind", ENGINES)
def test_versions_pending_and_archived_balance_alike_everywhere(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    frames = ledger_from_text(HISTORY)
    instants = tuple(at(s) for s in (99, 100, 149, 150, 155, 199, 200, 299, 300, 10**6))
    with fetch_for(kind, frames, tmp_path, request) as fetch:
        assert assert_like_the_replay(fetch, frames, instants) > 0
        held = (
            balances_on(fetch, at(250), "effective")
            .filter(account_id="assets:bank")
            .row(0, named=True)
        )
    # version 1 (700) replaced version 0; h1 and h2 (90 + 40) pending; a1 archived
    assert (held["posted"], held["pending_credits"], held["available"]) == (700, 130, 570)


def test_a_database_refuses_amounts_past_int64(tmp_path: Path) -> None:
    """SQLite holds one past int64 as a REAL, and would read it as 2**63 - 1: refused."""
    url = f"sqlite:///{tmp_path / 'wide.sqlite'}"
    engine = sa.create_engine(url, poolclass=NullPool)
    rows = {table: frame.to_dicts() for table, frame in ledger_from_text(HISTORY).items()}
    rows["entries"][0]["amount"] = 1e30
    write_sample_ledger(engine, rows)
    engine.dispose()
    with (
        pytest.raises(InputError, match=r"transaction_id=a1, .* beyond int64"),
        database_fetch(url),
    ):
        pass
