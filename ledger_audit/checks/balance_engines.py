"""The balance and roll-forward statements (``replay.balance_sql``) run where the data lives.

Each function returns the frames path's frame, typed and ordered the same way, so a caller
(or a test) compares whole frames: DuckDB over the loaded frames, a SQLite or PostgreSQL
database opened read-only, and Spark through its own module (``spark.trial_balance``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import polars as pl
import sqlalchemy as sa

from ledger_audit.checks.engines import duckdb_sql, read_only_engine
from ledger_audit.replay.balance_sql import balances_statement, movement_statement
from ledger_audit.replay.balances import BALANCE_SCHEMA, SUM_AMOUNT, Basis
from ledger_audit.replay.events import BALANCE_KEY
from ledger_audit.replay.rollforward import assemble_roll_forward, period_instants
from ledger_audit.reports.trial_balance import TrialBalance, trial_balance_of
from ledger_audit.schema.tables import accounts
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period

Fetch = Callable[[sa.Select[Any]], pl.DataFrame]
"""Runs one statement and gives its rows as a frame (any order, the engine's dtypes)."""

MOVEMENT_SCHEMA: dict[str, pl.DataType] = {
    **{name: pl.String() for name in BALANCE_KEY},
    "debits": SUM_AMOUNT,
    "credits": SUM_AMOUNT,
}

_COLUMNS = {
    "transactions": (
        "ledger_id",
        "transaction_id",
        "version",
        "status",
        "pending_transaction_id",
        "effective_ns",
        "recorded_ns",
    ),
    "entries": (
        "ledger_id",
        "transaction_id",
        "version",
        "account_id",
        "asset_id",
        "direction",
        "amount",
    ),
    "accounts": ("ledger_id", "account_id", "normal_balance"),
}
"""The columns the statements read, all that DuckDB is handed."""


def balances_on(fetch: Fetch, at_ns: int, basis: Basis = "effective") -> pl.DataFrame:
    """``replay.balances.balances_as_of``'s frame, from ``fetch``."""
    rows = fetch(balances_statement(at_ns, basis))
    return (
        rows.select(list(BALANCE_SCHEMA))
        .cast(BALANCE_SCHEMA)  # type: ignore[arg-type]
        .sort("ledger_id", "account_id", "asset_id")
    )


def roll_forward_on(
    fetch: Fetch, periods: Sequence[Period], basis: Basis = "effective"
) -> pl.LazyFrame:
    """``replay.rollforward.roll_forward``'s rows, with the sums done by ``fetch``."""
    posted = {
        at: balances_on(fetch, at, basis).select(*BALANCE_KEY, "posted").lazy()
        for at in period_instants(periods)
    }
    movements = {
        period.label: fetch(movement_statement(period, basis))
        .select(list(MOVEMENT_SCHEMA))
        .cast(MOVEMENT_SCHEMA)  # type: ignore[arg-type]
        .lazy()
        for period in periods
    }
    normal = fetch(_normal_balances()).cast(pl.String()).lazy()
    return assemble_roll_forward(periods, posted, lambda p: movements[p.label], normal)


def trial_balance_on(fetch: Fetch, period: Period, basis: Basis = "effective") -> TrialBalance:
    """``reports.trial_balance.build_trial_balance`` of ``period``, summed by ``fetch``."""
    return trial_balance_of(roll_forward_on(fetch, [period], basis), period, basis)


def _normal_balances() -> sa.Select[Any]:
    return sa.select(accounts.c.ledger_id, accounts.c.account_id, accounts.c.normal_balance)


@contextmanager
def duckdb_fetch(frames: LedgerFrames) -> Iterator[Fetch]:
    """A :data:`Fetch` running the statements in DuckDB over the loaded frames' columns."""
    connection = duckdb.connect()
    try:
        for table, columns in _COLUMNS.items():
            frame = getattr(frames, table).select(columns)
            connection.register(table, frame.to_arrow(compat_level=pl.CompatLevel.newest()))

        def fetch(statement: sa.Select[Any]) -> pl.DataFrame:
            result = pl.from_arrow(
                connection.sql(duckdb_sql(statement, wide=False)).to_arrow_table()
            )
            assert isinstance(result, pl.DataFrame)  # noqa: S101 - a table gives a frame
            return result

        yield fetch
    finally:
        connection.close()


@contextmanager
def database_fetch(url: str) -> Iterator[Fetch]:
    """A :data:`Fetch` running the statements in a SQLite or PostgreSQL database, read-only.

    A ledger with an entry amount beyond int64 is refused (``engines.read_only_engine``).
    """
    with read_only_engine(url) as engine:

        def fetch(statement: sa.Select[Any]) -> pl.DataFrame:
            with engine.connect() as connection:
                result = connection.execute(statement)
                names = list(result.keys())
                rows = [tuple(row) for row in result]
            return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)

        yield fetch
