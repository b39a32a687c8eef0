"""The chain's batches from each canonical source are the loaded frames, in chain order.

For SQLite, PostgreSQL, Parquet and CSV, whatever the batch size: the versions' batches put
together are the loaded transactions in (ledger_id, chain_seq) order and the entries'
batches the loaded entries in their versions' order (dtypes and values, compared with the
frames ``load_ledger`` gives); the streamed verification reports what ``verify_chain``
reports over the loaded frames, on a clean demo and on tampered ones; what a batch cannot
give as the loader would (a rejected row, a SQLite value of another storage class) hands
over; and PostgreSQL is read inside a read-only transaction.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import adbc_driver_manager
import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.pool import NullPool

from ledger_audit.checks.chain import ChainReport, verify_chain
from ledger_audit.checks.chain_stream import StreamedChain, verify_chain_streamed
from ledger_audit.errors import InputError
from ledger_audit.sources.chain_batches import open_chain_batches
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.sources.load import load_ledger
from tests.checks.demo_tampering import tamper
from tests.checks.test_chain_streamed import assert_same, in_stream_order
from tests.conftest import DemoFactory
from tests.sources.sample_ledger import write_sample_ledger


def write_folder(frames: LedgerFrames, folder: Path, fmt: str) -> Path:
    """The frames as a canonical snapshot folder, each table in key order (as loaded)."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, frame in frames.items():
        path = folder / f"{table}.{fmt}"
        if fmt == "parquet":
            frame.write_parquet(path)
        else:
            frame.write_csv(path)
    return folder


def as_source(database: Path, tmp_path: Path, kind: str) -> str:
    """The SQLite ledger ``database`` as a source of ``kind``.

    ``sqlite``: itself (the writer stored its rows in chain order); ``sqlite_keyed``: its
    frames written again in key order (a pending's later version next to its first), so
    only the query's ORDER BY puts them in chain order; ``parquet``/``csv``: a folder.
    """
    if kind == "sqlite":
        return str(database)
    frames, _ = load_ledger(database)
    if kind == "sqlite_keyed":
        url = f"sqlite:///{tmp_path / 'keyed.sqlite'}"
        engine = sa.create_engine(url, poolclass=NullPool)
        write_sample_ledger(engine, {table: frame.to_dicts() for table, frame in frames.items()})
        engine.dispose()
        return url
    return str(write_folder(frames, tmp_path / kind, kind))


def stream(
    source: str, rows: int, read_rows: int | None = None
) -> tuple[StreamedChain, ChainReport, int]:
    """The streamed verification of ``source`` and ``verify_chain`` over its loaded frames."""
    frames, _ = load_ledger(source)
    loads: list[int] = []

    def load() -> tuple[pl.DataFrame, pl.DataFrame]:
        loads.append(1)
        return frames.transactions, frames.entries

    with open_chain_batches(source, batch_rows=rows, read_rows=read_rows) as batches:
        result = verify_chain_streamed(batches.versions, batches.entries, batches.ledgers, load)
    expected = verify_chain(frames.transactions, frames.entries, frames.ledgers)
    return result, expected, len(loads)


def collected(
    source: str, rows: int, read_rows: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, list[int]]:
    """Every batch of both streams put together, and the heights of the version batches."""
    with open_chain_batches(source, batch_rows=rows, read_rows=read_rows) as batches:
        versions = list(batches.versions)
        entries = list(batches.entries)
    return pl.concat(versions), pl.concat(entries), [batch.height for batch in versions]


KINDS = ("sqlite", "sqlite_keyed", "parquet", "csv")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("rows", "read_rows"), [(1, None), (7, 16), (20, 64), (100_000, None)])
def test_batches_are_the_loaded_frames_in_chain_order(
    demo_factory: DemoFactory, tmp_path: Path, kind: str, rows: int, read_rows: int | None
) -> None:
    """Reads (database fetches, file slices and buckets) and batches cut anywhere."""
    source = as_source(demo_factory(clean=True).ledger_path, tmp_path, kind)
    frames, _ = load_ledger(source)
    versions, entries, batches = collected(source, rows, read_rows)
    expected_versions, expected_entries = in_stream_order(frames.transactions, frames.entries)
    assert versions.equals(expected_versions, null_equal=True)
    assert entries.equals(expected_entries, null_equal=True)
    assert max(batches) <= rows
    assert len(batches) >= -(-frames.transactions.height // rows)


def _in_chain_order_folder(database: Path, folder: Path, fmt: str) -> str:
    """A folder whose files are already in chain order: the stream slices them."""
    frames, _ = load_ledger(database)
    versions, legs = in_stream_order(frames.transactions, frames.entries)
    ordered = LedgerFrames(
        frames.ledgers, frames.assets, frames.accounts, versions, legs, frames.balances
    )
    return str(write_folder(ordered, folder, fmt))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_files_in_chain_order_and_in_key_order_give_the_same_batches(
    demo_factory: DemoFactory, tmp_path: Path, fmt: str
) -> None:
    database = demo_factory(clean=True).ledger_path
    keyed = as_source(database, tmp_path, fmt)  # key order: bucketed through the spill folder
    ordered = _in_chain_order_folder(database, tmp_path / "ordered", fmt)  # sliced
    for rows in (5, 64):
        first, second = collected(keyed, rows, 40), collected(ordered, rows, 40)
        assert first[0].equals(second[0], null_equal=True)
        assert first[1].equals(second[1], null_equal=True)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.integers(1, 120), read_rows=st.integers(16, 300))
def test_a_clean_demo_streams_whatever_the_batch_and_read_sizes(
    demo_factory: DemoFactory, rows: int, read_rows: int
) -> None:
    source = str(demo_factory(clean=True).ledger_path)
    result, expected, loads = stream(source, rows, read_rows)
    assert result.streamed, result.reason
    assert loads == 0
    assert_same(result, expected)


@pytest.mark.parametrize("kind", KINDS)
def test_a_clean_demo_streams_from_every_source_kind(
    demo_factory: DemoFactory, tmp_path: Path, kind: str
) -> None:
    source = as_source(demo_factory(clean=True).ledger_path, tmp_path, kind)
    result, expected, loads = stream(source, 50, 64)
    assert result.streamed, result.reason
    assert (loads, expected.findings.height) == (0, 0)
    assert_same(result, expected)


TAMPERINGS = ("amount", "delete", "swap", "reseal", "metadata", "two_legs")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_a_tampered_demo_hands_over_and_reports_as_the_frames(
    demo_factory: DemoFactory, tmp_path: Path, kind: str, tampering: str
) -> None:
    database = tmp_path / "ledger.sqlite"
    shutil.copy(demo_factory(clean=True).ledger_path, database)
    tamper(database, tampering, seed=3)
    source = as_source(database, tmp_path, kind)
    result, expected, loads = stream(source, 40, 100)
    assert not result.streamed
    assert loads == 1
    assert expected.findings.height
    assert_same(result, expected)


def test_the_planted_demo_reports_as_the_frames(demo_factory: DemoFactory) -> None:
    result, expected, _ = stream(str(demo_factory().ledger_path), 64)
    assert expected.findings.height
    assert_same(result, expected)


def _edit(database: Path, statement: str) -> None:
    """Run ``statement`` on the file as an attacker with DDL rights (triggers dropped)."""
    with closing(sqlite3.connect(database)) as conn:
        names = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        ]
        for name in names:
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute(statement)
        conn.commit()


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        # text in an INTEGER column: the loader re-reads the table as text and rejects it
        ("UPDATE entries SET amount = 'lots' WHERE rowid = 5", "another type"),
        # an integer a version cannot hold: conform rejects the row
        ("UPDATE transactions SET version = 99999999999 WHERE rowid = 7", "cannot be loaded"),
    ],
)
def test_a_row_the_loader_would_reject_hands_over(
    demo_factory: DemoFactory, tmp_path: Path, statement: str, reason: str
) -> None:
    database = tmp_path / "ledger.sqlite"
    shutil.copy(demo_factory(clean=True).ledger_path, database)
    _edit(database, statement)
    result, expected, loads = stream(str(database), 50)
    assert not result.streamed
    assert result.reason is not None
    assert reason in result.reason
    assert loads == 1
    assert_same(result, expected)


def test_an_orphan_entry_in_a_folder_is_left_out_as_the_frames_leave_it_out(
    demo_factory: DemoFactory, tmp_path: Path
) -> None:
    frames, _ = load_ledger(demo_factory(clean=True).ledger_path)
    stray = frames.entries.head(1).with_columns(transaction_id=pl.lit("tx-none"))
    entries = pl.concat([frames.entries, stray]).sort("ledger_id", "transaction_id")
    with_orphan = LedgerFrames(
        frames.ledgers,
        frames.assets,
        frames.accounts,
        frames.transactions,
        entries,
        frames.balances,
    )
    source = str(write_folder(with_orphan, tmp_path / "parquet", "parquet"))
    result, expected, _ = stream(source, 32, 50)
    assert result.streamed, result.reason
    assert_same(result, expected)


def test_a_source_that_is_not_a_ledger_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "transactions.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="missing file"), open_chain_batches(tmp_path):
        pass
    with pytest.raises(InputError, match="no such"), open_chain_batches(tmp_path / "nowhere"):
        pass


# --------------------------------------------------------------------------- PostgreSQL


def _to_postgres(database: Path, url: str) -> None:
    frames, _ = load_ledger(database)
    engine = sa.create_engine(url, poolclass=NullPool)
    write_sample_ledger(engine, {table: frame.to_dicts() for table, frame in frames.items()})
    engine.dispose()


@pytest.mark.parametrize("clean", [True, False])
def test_postgresql_batches_and_report_are_the_frames(
    demo_factory: DemoFactory, pg_url: str, *, clean: bool
) -> None:
    _to_postgres(demo_factory(clean=clean).ledger_path, pg_url)
    frames, _ = load_ledger(pg_url)
    versions, entries, _ = collected(pg_url, 37, 100)  # several FETCHes
    expected_versions, expected_entries = in_stream_order(frames.transactions, frames.entries)
    assert versions.equals(expected_versions, null_equal=True)
    assert entries.equals(expected_entries, null_equal=True)
    result, expected, loads = stream(pg_url, 37, 100)
    assert result.streamed == clean
    assert loads == (0 if clean else 1)
    assert_same(result, expected)


def test_postgresql_is_streamed_inside_a_read_only_transaction(
    demo_factory: DemoFactory, pg_url: str
) -> None:
    _to_postgres(demo_factory(clean=True).ledger_path, pg_url)
    before, _ = load_ledger(pg_url)
    with open_chain_batches(pg_url, batch_rows=16, read_rows=16) as batches:
        first = next(batches.versions)
        assert first.height == 16
        cursor = batches.connection.cursor()  # type: ignore[attr-defined]
        with pytest.raises(adbc_driver_manager.Error, match="read-only transaction"):
            cursor.execute("INSERT INTO ledgers (ledger_id, name) VALUES ('x', 'x')")
    after, _ = load_ledger(pg_url)
    assert after.equals(before)


def test_a_version_stored_twice_in_a_folder_hands_over(
    demo_factory: DemoFactory, tmp_path: Path
) -> None:
    frames, _ = load_ledger(demo_factory(clean=True).ledger_path)
    doubled = pl.concat([frames.transactions, frames.transactions.slice(10, 1)]).sort(
        "ledger_id", "transaction_id", "version"
    )
    ledger = LedgerFrames(
        frames.ledgers, frames.assets, frames.accounts, doubled, frames.entries, frames.balances
    )
    source = str(write_folder(ledger, tmp_path / "parquet", "parquet"))
    result, expected, loads = stream(source, 32, 50)
    assert not result.streamed
    assert result.reason == "two versions have the same key (or key hash)"
    assert loads == 1
    assert expected.findings.height
    assert_same(result, expected)


def test_a_ledgers_row_the_loader_rejects_hands_over(
    demo_factory: DemoFactory, tmp_path: Path
) -> None:
    frames, _ = load_ledger(demo_factory(clean=True).ledger_path)
    folder = write_folder(frames, tmp_path / "csv", "csv")
    ledgers = pl.read_csv(folder / "ledgers.csv", infer_schema=False)
    extra = ledgers.with_columns(ledger_id=pl.lit("other"), created_ns=pl.lit("soon"))
    pl.concat([ledgers, extra]).write_csv(folder / "ledgers.csv")
    result, expected, loads = stream(str(folder), 32, 50)
    assert not result.streamed
    assert result.reason is not None
    assert "a row of ledgers cannot be loaded" in result.reason
    assert loads == 1
    assert_same(result, expected)
