"""A SQLite load reads on several connections in one snapshot: the same rows, in the same order."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import polars as pl
import pytest
from adbc_driver_manager.dbapi import Connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.errors import InputError
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources import database, sqlite_parts
from ledger_audit.sources.database import open_sqlite, sqlite_connections
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.sources.load import load_ledger
from ledger_audit.sources.sqlite_parts import rowid_ranges
from tests.conftest import DemoFactory


def _raw(path: Path, connections: int, batch_size: int) -> dict[str, pl.DataFrame]:
    """Every canonical table as read, through ``connections`` connections."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(database, "READ_CONNECTIONS", connections)
        with open_sqlite(path, batch_size=batch_size, side_by_side=True) as reader:
            return {table: reader.read_raw(table) for table in CANONICAL_TABLES}


def _sqlite(path: Path, *statements: str) -> None:
    """``statements`` in one transaction, the ledger's append-only triggers dropped first."""
    with sqlite3.connect(path) as connection:
        triggers = connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        for (name,) in triggers.fetchall():
            connection.execute(f'DROP TRIGGER "{name}"')
        for statement in statements:
            connection.execute(statement)
    connection.close()


def _commit_from_another_process(path: Path, statement: str) -> None:
    """A writer in its own process: ADBC's SQLite and Python's do not share POSIX locks."""
    script = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1])\n"
        "conn.execute(sys.argv[2])\n"
        "conn.commit()\n"
        "conn.close()\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path), statement], check=True)


@pytest.fixture
def demo_copy(demo_factory: DemoFactory, tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite"
    shutil.copy(demo_factory(clean=True).ledger_path, path)
    return path


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    connections=st.integers(2, 4),
    batch_size=st.sampled_from([7, 500, 4096]),
    holes=st.lists(st.integers(1, 20_000), max_size=40),
    moved=st.booleans(),
)
def test_parts_read_the_rows_one_connection_reads_in_its_order(
    demo_copy: Path, connections: int, batch_size: int, holes: list[int], moved: bool
) -> None:
    """Rowid ranges, concatenated, are the full scan; holes and far rowids change nothing."""
    path = demo_copy.with_name(f"ledger-{connections}-{batch_size}-{len(holes)}.sqlite")
    shutil.copy(demo_copy, path)
    deletes = [f"DELETE FROM entries WHERE rowid = {rowid}" for rowid in holes]
    if moved:  # rowids far apart and below zero: ranges of unequal counts, one maybe empty
        deletes += [
            "UPDATE entries SET rowid = -9000000000 WHERE rowid = 3",
            "UPDATE transactions SET rowid = 9000000000000 WHERE rowid = 5",
        ]
    _sqlite(path, *deletes)
    one = _raw(path, 1, batch_size)
    several = _raw(path, connections, batch_size)
    for table in CANONICAL_TABLES:
        assert several[table].equals(one[table], null_equal=True), table
    assert load_ledger(path, batch_size=batch_size)[0].equals(_loaded_on_one(path, batch_size))


def _loaded_on_one(path: Path, batch_size: int) -> LedgerFrames:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(database, "READ_CONNECTIONS", 1)
        return load_ledger(path, batch_size=batch_size)[0]


def test_a_large_table_is_read_in_one_range_per_connection(demo_copy: Path) -> None:
    with sqlite_connections(demo_copy, 3) as (connections, _):
        assert len(connections) == 3
        first = connections[0]
        ranges = rowid_ranges(first, "entries", ["ledger_id"], parts=3, min_rows=100)
        assert len(ranges) == 3
        counts = [_count(first, f"SELECT count(*) FROM entries WHERE {where}") for where in ranges]
        total = _count(first, "SELECT count(*) FROM entries")
        assert sum(counts) == total
        assert min(counts) > total // 4  # dense rowids: about a third each


@pytest.mark.parametrize(
    ("ddl", "columns", "parts", "min_rows"),
    [
        ("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID", ["k", "v"], 2, 1),
        ("CREATE VIEW t AS SELECT 1 AS v", ["v"], 2, 1),
        (
            "CREATE TABLE t (rowid INTEGER, _rowid_ INTEGER, OID INTEGER)",
            ["rowid", "_rowid_", "OID"],
            2,
            1,
        ),
        ("CREATE TABLE t (v INTEGER)", ["v"], 1, 1),
        ("CREATE TABLE t (v INTEGER)", ["v"], 2, 1_000),
    ],
)
def test_a_table_that_cannot_be_cut_is_read_whole(
    tmp_path: Path, ddl: str, columns: list[str], parts: int, min_rows: int
) -> None:
    path = tmp_path / "t.sqlite"
    _sqlite(path, ddl)
    if "VIEW" not in ddl and "WITHOUT" not in ddl:
        names = ", ".join(columns)
        values = ", ".join("1" for _ in columns)
        _sqlite(path, *[f"INSERT INTO t ({names}) VALUES ({values})"] * 20)
    with sqlite_connections(path, 2) as (connections, _):
        assert rowid_ranges(connections[0], "t", columns, parts, min_rows) == (None,)


def test_a_shadowed_rowid_alias_is_passed_over(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    _sqlite(path, "CREATE TABLE t (_rowid_ INTEGER, v INTEGER)")
    _sqlite(path, *[f"INSERT INTO t VALUES (0, {i})" for i in range(10)])
    with sqlite_connections(path, 1) as (connections, _):
        assert rowid_ranges(connections[0], "t", ["_rowid_", "v"], 2, 2) == (
            "rowid < 6",
            "rowid >= 6",
        )


def _wal(path: Path) -> None:
    """WAL mode, where readers do not hold writers back, and no append-only triggers."""
    _sqlite(path, "PRAGMA journal_mode=WAL")


@contextmanager
def _live_writer(path: Path) -> Iterator[None]:
    """Another process holding the file open in WAL mode, as a running ledger service does.

    With its ``-wal`` and ``-shm`` there, the reader opens in ``wal`` mode and reads the
    live WAL index (``sqlite_readonly``), so commits reach new read transactions.
    """
    _wal(path)
    script = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1])\n"
        "conn.execute('SELECT count(*) FROM entries').fetchall()\n"
        "print('open', flush=True)\n"
        "sys.stdin.read()\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == "open\n"
        yield
    finally:
        assert writer.stdin is not None
        writer.stdin.close()
        writer.wait(timeout=30)


@pytest.mark.parametrize("live", [True, False])
def test_twins_read_the_snapshot_of_the_open_not_a_later_commit(
    demo_copy: Path, live: bool
) -> None:
    """Every part, on every connection, reads the state the block opened on.

    ``live``: a writer holds the file open (``wal`` mode); otherwise the file is read
    ``immutable``, and a commit goes to a WAL the reader never looks at.
    """
    _wal(demo_copy)
    before = _raw(demo_copy, 1, 4096)
    with (
        _live_writer(demo_copy) if live else nullcontext(),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(database, "READ_CONNECTIONS", 3)
        with open_sqlite(demo_copy, batch_size=500, side_by_side=True) as reader:
            reader.read_raw("ledgers")
            _commit_from_another_process(demo_copy, "DELETE FROM entries WHERE rowid % 2 = 0")
            _commit_from_another_process(demo_copy, "DELETE FROM transactions WHERE rowid > 10")
            read = {table: reader.read_raw(table) for table in CANONICAL_TABLES[1:]}
    for table, frame in read.items():
        assert frame.equals(before[table], null_equal=True), table
    assert load_ledger(demo_copy)[0].transactions.height == 10  # the commits did land


def test_a_commit_between_the_starts_is_noticed_and_the_starts_are_made_again(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _wal(demo_copy)
    begun: list[int] = []
    begin = sqlite_parts._begin

    def begin_with_a_commit(connection: Connection) -> None:
        begin(connection)
        begun.append(1)
        if len(begun) == 1:  # after the first connection's start, on the first try only
            _commit_from_another_process(demo_copy, "DELETE FROM entries WHERE rowid > 100")

    monkeypatch.setattr(sqlite_parts, "_begin", begin_with_a_commit)
    with _live_writer(demo_copy), sqlite_connections(demo_copy, 2) as (connections, _):
        assert len(connections) == 2
        assert len(begun) == 4  # two tries of two starts
        heights = [_count(c, "SELECT count(*) FROM entries") for c in connections]
    assert heights == [100, 100]


def test_commits_at_every_try_leave_one_connection_in_no_transaction_yet(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not proven: the load reads on one connection, whose snapshot starts at its first read."""
    _wal(demo_copy)
    begin = sqlite_parts._begin
    commits = iter(range(1000, 0, -100))

    def begin_with_a_commit(connection: Connection) -> None:
        begin(connection)
        _commit_from_another_process(
            demo_copy, f"DELETE FROM entries WHERE rowid > {next(commits)}"
        )

    monkeypatch.setattr(sqlite_parts, "_begin", begin_with_a_commit)
    with _live_writer(demo_copy), sqlite_connections(demo_copy, 2) as (connections, _):
        assert len(connections) == 1
        monkeypatch.undo()
        _commit_from_another_process(demo_copy, "DELETE FROM entries WHERE rowid > 50")
        # its snapshot began after the last commit
        assert _count(connections[0], "SELECT count(*) FROM entries") == 50


def _count(connection: Connection, sql: str) -> int:
    cursor = connection.cursor()
    try:
        cursor.execute(sql)
        row = cursor.fetchone()
    finally:
        cursor.close()
    assert row is not None
    return int(row[0])


def _read_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("sqlite-read")]


def test_a_load_left_early_ends_its_reads(demo_copy: Path) -> None:
    with open_sqlite(demo_copy, batch_size=7, side_by_side=True) as reader:
        reader.read_raw("transactions")
    assert _read_threads() == []


def test_a_failed_part_read_is_the_loads_input_error(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*_: object, **__: object) -> Iterator[pl.DataFrame]:
        raise OSError("disk I/O error")

    monkeypatch.setattr(database.SqliteReader, "_batches", failing)
    with (
        pytest.raises(InputError, match=r"table transactions: cannot read: disk I/O error"),
        open_sqlite(demo_copy, batch_size=7, side_by_side=True) as reader,
    ):
        reader.read_raw("transactions")
    assert _read_threads() == []


def test_a_reader_that_reads_ahead_does_not_stream(demo_copy: Path) -> None:
    with (
        open_sqlite(demo_copy, batch_size=7, side_by_side=True) as reader,
        pytest.raises(RuntimeError, match="lends its connections"),
    ):
        next(iter(reader.read_batches("entries", "entries")))
