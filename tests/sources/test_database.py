"""Database readers: read-only, one snapshot, exact types, and SQLite's per-value typing."""

from __future__ import annotations

import gc
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import adbc_driver_manager
import polars as pl
import pyarrow as pa
import pytest
import sqlalchemy as sa

from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.sources import Reason, load_ledger
from ledger_audit.sources.database import open_postgres, open_sqlite, owned_frame
from tests.sources.conftest import make_engine
from tests.sources.sample_ledger import T0, expected_frames

WRITES = (
    f"INSERT INTO ledgers VALUES ('L9', 'intruder', NULL, {T0}, NULL)",
    "UPDATE assets SET scale = 3 WHERE asset_id = 'USD/2'",
    "DELETE FROM balances",
    "CREATE TABLE intruder (x INTEGER)",
)


@pytest.mark.parametrize("statement", WRITES)
def test_sqlite_reader_connection_cannot_write(sqlite_path: Path, statement: str) -> None:
    with open_sqlite(sqlite_path, batch_size=100) as reader:
        reader.read_raw("ledgers")
        cursor = reader.connection.cursor()
        with pytest.raises(adbc_driver_manager.Error, match=r"readonly|read-only|query_only"):
            cursor.execute(statement)
        # switching query_only off does not help: the file is opened mode=ro
        cursor.execute("PRAGMA query_only=OFF")
        with pytest.raises(adbc_driver_manager.Error, match="readonly"):
            cursor.execute(statement)
        cursor.close()
    frames, _ = load_ledger(sqlite_path)
    assert frames.equals(expected_frames())


@pytest.mark.postgres
@pytest.mark.parametrize("statement", WRITES)
def test_postgres_reader_connection_cannot_write(pg_ledger: str, statement: str) -> None:
    with open_postgres(pg_ledger, batch_size=100) as reader:
        reader.read_raw("ledgers")
        cursor = reader.connection.cursor()
        with pytest.raises(adbc_driver_manager.Error, match="read-only transaction"):
            cursor.execute(statement)
        cursor.close()
    frames, _ = load_ledger(pg_ledger)
    assert frames.equals(expected_frames())


@pytest.mark.postgres
def test_postgres_reader_cannot_switch_to_read_write(pg_ledger: str) -> None:
    with open_postgres(pg_ledger, batch_size=100) as reader:
        reader.read_raw("ledgers")
        cursor = reader.connection.cursor()
        with pytest.raises(adbc_driver_manager.Error, match="read-write"):
            cursor.execute("SET TRANSACTION READ WRITE")
        cursor.close()


def _insert_asset(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO assets (asset_id, code, scale, kind) VALUES ('BTC/8', 'BTC', 8, 'crypto')"
        )
    engine.dispose()


def test_sqlite_tables_come_from_one_snapshot(sqlite_path: Path) -> None:
    """A write committed mid-read by another process is not seen by the reader.

    The writer must be another process: ADBC bundles its own SQLite, and two SQLite
    libraries in one process do not see each other's POSIX locks (closing one library's
    file descriptor drops the other's locks), so an in-process writer would checkpoint
    under the reader's feet. Real writers are other processes.
    """
    with sqlite3.connect(sqlite_path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    insert = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1])\n"
        "conn.execute(\"INSERT INTO assets VALUES ('BTC/8', 'BTC', 8, 'crypto')\")\n"
        "conn.commit()\n"
        "conn.close()\n"
    )
    with open_sqlite(sqlite_path, batch_size=100) as reader:
        reader.read_raw("ledgers")
        subprocess.run([sys.executable, "-c", insert, str(sqlite_path)], check=True)
        assert reader.read_raw("assets").height == 3
    frames, _ = load_ledger(sqlite_path)
    assert frames.assets.height == 4


@pytest.mark.postgres
def test_postgres_tables_come_from_one_snapshot(pg_ledger: str) -> None:
    with open_postgres(pg_ledger, batch_size=100) as reader:
        reader.read_raw("ledgers")
        _insert_asset(pg_ledger)
        assert reader.read_raw("assets").height == 3
    frames, _ = load_ledger(pg_ledger)
    assert frames.assets.height == 4


def _sqlite_exec(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    with sqlite3.connect(path) as conn:
        for sql, params in statements:
            conn.execute(sql, params)


ENTRY = "INSERT INTO entries VALUES ('L1', ?, 0, ?, 'assets:bank', 'USD/2', 'debit', ?)"


@pytest.mark.parametrize("batch_size", [1, 4, 10_000])
def test_sqlite_values_of_the_wrong_storage_class_are_rejected(
    sqlite_path: Path, batch_size: int
) -> None:
    """SQLite stores per value: text in an INTEGER column must be rejected, not crash or coerce.

    With small batches the bad values arrive after the first batch (ADBC fixes a column's
    type on the first batch), exercising the re-read as text.
    """
    _sqlite_exec(
        sqlite_path,
        (ENTRY, ("tx-9", 0, "abc")),
        (ENTRY, ("tx-9", 1, 12.5)),
        (ENTRY, ("tx-9", 2, 1e30)),  # beyond int64: SQLite keeps it as an inexact REAL
        (ENTRY, ("tx-9", 3, 42)),
        ("UPDATE accounts SET allow_negative = 2 WHERE account_id = 'equity:fx'", ()),
    )
    frames, report = load_ledger(sqlite_path, batch_size=batch_size)
    rejected = report.rejections.select("table", "locator", "column", "reason", "raw_value")
    assert rejected.rows() == [
        (
            "accounts",
            "ledger_id=L1, account_id=equity:fx",
            "allow_negative",
            Reason.NOT_A_BOOLEAN,
            "2",
        ),
        (
            "entries",
            "ledger_id=L1, transaction_id=tx-9, version=0, entry_index=0",
            "amount",
            Reason.NOT_AN_INTEGER,
            "abc",
        ),
        (
            "entries",
            "ledger_id=L1, transaction_id=tx-9, version=0, entry_index=1",
            "amount",
            Reason.NOT_AN_INTEGER,
            "12.5",
        ),
        (
            "entries",
            "ledger_id=L1, transaction_id=tx-9, version=0, entry_index=2",
            "amount",
            Reason.NOT_AN_INTEGER,
            "1.0e+30",
        ),
    ]
    expected = expected_frames()
    assert report.count("entries").read == expected.entries.height + 4
    assert report.count("entries").rejected == 3
    assert frames.entries.schema["amount"] == pl.Int64
    assert frames.entries.filter(pl.col("transaction_id") == "tx-9")["amount"].to_list() == [42]
    assert frames.transactions.equals(expected.transactions)
    assert "sqlite:///" in report.rejections["source"][0]


def test_sqlite_mostly_null_text_column(sqlite_path: Path) -> None:
    """A text column NULL in the whole first batch must still come back as text."""
    _sqlite_exec(
        sqlite_path,
        *(
            (
                "INSERT INTO accounts VALUES ('L3', ?, 'n', 'debit', NULL, 0, 1, NULL, ?, NULL)",
                (f"acct-{i:03d}", None if i < 50 else f"ext-{i}"),
            )
            for i in range(60)
        ),
    )
    frames, report = load_ledger(sqlite_path, batch_size=8)
    assert report.rejected == 0
    l3 = frames.accounts.filter(pl.col("ledger_id") == "L3")
    assert l3["external_id"].null_count() == 50
    assert l3["external_id"].tail(1).to_list() == ["ext-59"]


@pytest.mark.postgres
def test_postgres_numeric_amounts_are_exact(pg_ledger: str) -> None:
    engine = make_engine(pg_ledger)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE entries ALTER COLUMN amount TYPE NUMERIC(39, 0)")
        conn.execute(
            sa.text(
                "INSERT INTO transactions (ledger_id, transaction_id, version, kind, status, "
                "effective_ns, recorded_ns) VALUES ('L1', 'tx-big', 0, 'standard', 'posted', 1, 1)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO entries VALUES ('L1', 'tx-big', 0, :i, 'assets:bank', 'USD/2', "
                ":d, :amount)"
            ),
            [
                {"i": 0, "d": "debit", "amount": 10**30 + 1},
                {"i": 1, "d": "credit", "amount": 10**38},  # 39 digits: not representable
            ],
        )
    engine.dispose()
    frames, report = load_ledger(pg_ledger)
    assert frames.entries.schema["amount"] == WIDE_AMOUNT
    big = frames.entries.filter(pl.col("transaction_id") == "tx-big")
    assert big["amount"].to_list() == [Decimal(10**30 + 1)]
    assert report.rejections.select("locator", "reason", "raw_value").rows() == [
        (
            "ledger_id=L1, transaction_id=tx-big, version=0, entry_index=1",
            Reason.AMOUNT_BEYOND_38_DIGITS,
            str(10**38),
        )
    ]
    # the other amounts are unchanged, only wider; BIGINT columns elsewhere stay Int64
    small = frames.entries.filter(pl.col("transaction_id") != "tx-big")
    assert small["amount"].cast(pl.Int64).equals(expected_frames().entries["amount"])
    assert frames.balances.schema["posted_debits"] == pl.Int64


@pytest.mark.postgres
def test_postgres_numeric_amounts_within_int64_stay_int64(pg_ledger: str) -> None:
    engine = make_engine(pg_ledger)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE entries ALTER COLUMN amount TYPE NUMERIC(39, 0)")
    engine.dispose()
    frames, _ = load_ledger(pg_ledger)
    assert frames.equals(expected_frames())


def arrow_bytes() -> int:
    """Bytes held by pyarrow's pool and by the C heap pool the batches' copies go to."""
    return pa.total_allocated_bytes() + pa.system_memory_pool().bytes_allocated()


def test_a_read_batch_is_released_column_by_column() -> None:
    """A column kept from a driver's batch holds its own bytes, not the whole batch."""
    rows = 50_000
    gc.collect()  # what earlier tests left to the collector is not freed inside the count
    before = arrow_bytes()
    columns: dict[str, pa.Array[pa.Scalar[pa.DataType]]] = {
        "kept": pa.array([f"{n:020d}" for n in range(rows)]),
        "dropped": pa.array([f"{n:060d}" for n in range(rows)]),
        "numbers": pa.array(range(rows), pa.int64()),
        "nothing": pa.nulls(rows, pa.string()),
    }
    # handed over through the C stream interface, as ADBC's drivers hand their batches
    # over: every buffer of an imported batch keeps the whole batch alive
    stream = pa.RecordBatchReader.from_stream(pa.table(columns))
    del columns
    batch = stream.read_next_batch()
    del stream
    frame = owned_frame(batch)
    assert frame.equals(pl.DataFrame(batch))
    assert frame.schema == pl.DataFrame(batch).schema
    del batch
    kept = frame.get_column("kept")
    del frame
    gc.collect()
    held = arrow_bytes() - before
    own_size = 20 * rows + 4 * (rows + 1)  # its bytes and offsets
    assert own_size <= held < own_size + 60 * rows  # not the dropped column's bytes
    assert kept.to_list()[-1] == f"{rows - 1:020d}"
