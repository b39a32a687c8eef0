"""Small conventionally named ledgers in the layouts ``init`` must map without edits.

One truth (six transactions over USD and EUR: a deposit, a fee, a pending card hold, a voided
withdrawal, a EUR deposit and a EUR bank fee) written in several layouts, each as polars
frames that the writers put into a SQLite file, a CSV folder or a Parquet folder:

- ``entry_rows``: accounts, transactions, entries with a direction column (``DR``/``CR`` or
  ``debit``/``credit``) and integer cents; ISO text times with ``Z``.
- ``signed_rows``: entries with signed integer amounts (debit positive by default), epoch
  millisecond times, with or without an accounts table.
- ``major_rows``: like ``entry_rows`` with exact decimal amounts in major units (``100.00``).
- ``transfer_rows``: one table ``transfers``, a row per transaction moving ``amount`` from
  ``credit_account_id`` to ``debit_account_id``; no accounts or transactions table.

``expected_entries`` is what a faithful load gives back, in canonical terms.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

Leg = tuple[str, str, str, int]
"""(account, direction, currency, amount in minor units)."""

TRUTH: tuple[tuple[str, str, str, tuple[Leg, ...]], ...] = (
    (
        "t1",
        "settled",
        "2025-01-02T10:00:00Z",
        (
            ("assets:bank:operating:usd", "debit", "USD", 10_000),
            ("liabilities:wallet:alice:usd", "credit", "USD", 10_000),
        ),
    ),
    (
        "t2",
        "settled",
        "2025-01-02T11:00:00Z",
        (
            ("liabilities:wallet:alice:usd", "debit", "USD", 250),
            ("revenue:fees:usd", "credit", "USD", 250),
        ),
    ),
    (
        "t3",
        "pending",
        "2025-01-03T09:30:00Z",
        (
            ("liabilities:wallet:alice:usd", "debit", "USD", 1_999),
            ("liabilities:card:holds:usd", "credit", "USD", 1_999),
        ),
    ),
    (
        "t4",
        "voided",
        "2025-01-03T12:00:00Z",
        (
            ("liabilities:wallet:alice:usd", "debit", "USD", 500),
            ("assets:bank:operating:usd", "credit", "USD", 500),
        ),
    ),
    (
        "t5",
        "settled",
        "2025-01-04T08:00:00Z",
        (
            ("assets:bank:operating:eur", "debit", "EUR", 5_000),
            ("liabilities:wallet:bob:eur", "credit", "EUR", 5_000),
        ),
    ),
    (
        "t6",
        "completed",
        "2025-01-05T16:45:00Z",
        (
            ("expenses:bank-fees:eur", "debit", "EUR", 120),
            ("assets:bank:operating:eur", "credit", "EUR", 120),
        ),
    ),
)
STATUS = {"settled": "posted", "completed": "posted", "pending": "pending", "voided": "archived"}
ACCOUNT_TYPES = {
    "assets": "asset",
    "liabilities": "liability",
    "revenue": "revenue",
    "expenses": "expense",
}


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).astimezone(UTC).timestamp() * 1000)


def _accounts() -> pl.DataFrame:
    rows = sorted({(leg[0], leg[2]) for _, _, _, legs in TRUTH for leg in legs})
    return pl.DataFrame(
        {
            "id": [a for a, _ in rows],
            "name": [a.rsplit(":", 2)[-2].title() for a, _ in rows],
            "type": [ACCOUNT_TYPES[a.split(":")[0]] for a, _ in rows],
            "currency": [c for _, c in rows],
        }
    )


def _transactions(*, epoch_ms: bool = False) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [t for t, _, _, _ in TRUTH],
            "status": [s for _, s, _, _ in TRUTH],
            "created_at": [_ms(at) if epoch_ms else at for _, _, at, _ in TRUTH],
            "idempotency_key": [f"ik-{t}" for t, _, _, _ in TRUTH],
            "reference": [f"ref-{t}" for t, _, _, _ in TRUTH],
            "memo": [f"memo {t}" for t, _, _, _ in TRUTH],
        }
    )


def _legs() -> pl.DataFrame:
    rows = [
        (t, index, account, direction, currency, amount)
        for t, _, _, legs in TRUTH
        for index, (account, direction, currency, amount) in enumerate(legs)
    ]
    return (
        pl.DataFrame(
            rows,
            schema=["transaction_id", "index", "account_id", "direction", "currency", "amount"],
            orient="row",
        )
        .with_row_index("id", offset=1)
        .with_columns(pl.col("id").cast(pl.Int64()))
    )


def entry_rows(*, words: tuple[str, str] = ("DR", "CR")) -> dict[str, pl.DataFrame]:
    """Accounts, transactions, and entries with a direction column of ``words``."""
    entries = _legs().select(
        "id",
        "transaction_id",
        "account_id",
        "amount",
        "currency",
        pl.when(pl.col("direction") == "debit")
        .then(pl.lit(words[0]))
        .otherwise(pl.lit(words[1]))
        .alias("direction"),
    )
    return {"accounts": _accounts(), "transactions": _transactions(), "entries": entries}


def signed_rows(*, accounts: bool = True, sign: str = "debit_positive") -> dict[str, pl.DataFrame]:
    """Entries with signed amounts (no direction), epoch-millisecond transaction times."""
    positive = "debit" if sign == "debit_positive" else "credit"
    entries = _legs().select(
        "id",
        "transaction_id",
        "account_id",
        pl.when(pl.col("direction") == positive)
        .then(pl.col("amount"))
        .otherwise(-pl.col("amount"))
        .alias("amount"),
        "currency",
    )
    tables = {"transactions": _transactions(epoch_ms=True), "entries": entries}
    if accounts:
        tables["accounts"] = _accounts()
    return tables


def major_rows() -> dict[str, pl.DataFrame]:
    """Like ``entry_rows`` (debit/credit words) with exact decimal amounts in major units."""
    tables = entry_rows(words=("debit", "credit"))
    tables["entries"] = tables["entries"].with_columns(
        pl.Series(
            "amount",
            [Decimal(a).scaleb(-2) for a in tables["entries"]["amount"].to_list()],
            dtype=pl.Decimal(18, 2),
        )
    )
    return tables


def transfer_rows() -> dict[str, pl.DataFrame]:
    """One row per transaction: debit and credit account, amount, currency, status, time."""
    rows = []
    for t, status, at, legs in TRUTH:
        debit = next(leg for leg in legs if leg[1] == "debit")
        credit = next(leg for leg in legs if leg[1] == "credit")
        rows.append((t, debit[0], credit[0], debit[3], debit[2], status, at))
    return {
        "transfers": pl.DataFrame(
            rows,
            schema=[
                "id",
                "debit_account_id",
                "credit_account_id",
                "amount",
                "currency",
                "status",
                "created_at",
            ],
            orient="row",
        )
    }


def expected_entries() -> pl.DataFrame:
    """(transaction_id, account_id, asset_id, direction, amount) of the truth, sorted."""
    scale = {"USD": "USD/2", "EUR": "EUR/2"}
    rows = [
        (t, account, scale[currency], direction, amount)
        for t, _, _, legs in TRUTH
        for account, direction, currency, amount in legs
    ]
    return pl.DataFrame(
        rows,
        schema={
            "transaction_id": pl.String(),
            "account_id": pl.String(),
            "asset_id": pl.String(),
            "direction": pl.String(),
            "amount": pl.Int64(),
        },
        orient="row",
    ).sort(pl.all())


def expected_statuses() -> dict[str, str]:
    """Transaction id -> canonical status."""
    return {t: STATUS[s] for t, s, _, _ in TRUTH}


# --- writers ----------------------------------------------------------------------------------


def _declared(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "INTEGER"
    return "TEXT"  # decimals as exact text: SQLite's NUMERIC affinity would make them REAL


def _plain(value: object) -> object:
    return str(value) if isinstance(value, Decimal) else value


def write_sqlite(path: Path, tables: dict[str, pl.DataFrame]) -> Path:
    """Each frame as a table (integers INTEGER, everything else TEXT)."""
    with closing(sqlite3.connect(path)) as connection:
        for name, frame in tables.items():
            columns = ", ".join(f'"{c}" {_declared(t)}' for c, t in frame.schema.items())
            connection.execute(f'CREATE TABLE "{name}" ({columns})')
            marks = ", ".join("?" for _ in frame.columns)
            connection.executemany(
                f'INSERT INTO "{name}" VALUES ({marks})',
                [tuple(_plain(v) for v in row) for row in frame.iter_rows()],
            )
        connection.commit()
    return path


def write_folder(folder: Path, tables: dict[str, pl.DataFrame], suffix: str) -> Path:
    """Each frame as ``folder/<name>.csv`` or ``.parquet``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if suffix == "csv":
            frame.write_csv(folder / f"{name}.csv")
        else:
            frame.write_parquet(folder / f"{name}.parquet")
    return folder


def write_ledger(tmp_path: Path, tables: dict[str, pl.DataFrame], storage: str) -> str:
    """The tables in ``storage`` (``sqlite``, ``csv``, ``parquet``); the source to pass on."""
    if storage == "sqlite":
        return str(write_sqlite(tmp_path / "ledger.sqlite", tables))
    return str(write_folder(tmp_path / "ledger", tables, storage))
