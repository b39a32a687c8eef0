"""Read a SQLite ledger's large tables in rowid ranges, on connections that share a snapshot.

SQLite decodes rows on the thread that steps the statement, so one connection reads on
one core: 86 s of the 10M demo's 209-s load. A load opens a connection per core
(:data:`READ_CONNECTIONS`) and reads each large table as that many rowid ranges side by
side: the 1M demo's load in 8.9 s instead of 10.5-11.6. (A file larger than the page cache
gains nothing: the 10M demo's read waits on the disk.) It does not read the next table
while the caller conforms the last: that held two tables' rows at once (a first version
did; at 10M its heap peak was 14.4 GiB against 10.5, ``docs/scale.md``).

*One snapshot.* Each connection holds its own read transaction, and a table's parts must
come from the same state of the file. ADBC offers no way to hand one connection's
snapshot to another (SQLite's ``sqlite3_snapshot_open`` is a C call the driver does not
expose), so it is proven instead: a third connection in autocommit reads ``PRAGMA
data_version`` before the first read transaction starts and after the last one has
started. The value changes whenever another connection commits, so an unchanged value
means no commit fell between the starts, and every connection reads the same state.
Otherwise the transactions are started again, and after :data:`_TRIES` attempts the load
reads on one connection, as it always did.

*Same rows, same order.* A full scan of a rowid table visits it in rowid order, and so do
the ranges, one after the other; a table without rowid (or a view, or one whose columns
shadow every rowid alias) is read whole.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from itertools import pairwise
from typing import TypeVar

import adbc_driver_manager
import adbc_driver_sqlite.dbapi
import polars as pl
import pyarrow as pa
from adbc_driver_manager.dbapi import Connection

READ_CONNECTIONS = max(1, min(4, os.cpu_count() or 1))
"""Connections a load reads on: one per core, at most four."""

_TRIES = 3
"""Attempts at starting every connection's read transaction between two commits."""

_ROWID_ALIASES = ("_rowid_", "rowid", "oid")
_ERRORS = (adbc_driver_manager.Error, pa.ArrowException, OSError)

T = TypeVar("T")
PartRead = Callable[[Connection, str, "str | None", threading.Event], pl.DataFrame]
"""Reads ``table`` on a connection, only the rows of a WHERE clause (None: all), stopping
early once the event is set."""


class Stopped(Exception):
    """A part read left early because the reads were closed; nobody reads its result."""


def _scalar(connection: Connection, sql: str) -> object:
    cursor = connection.cursor()
    try:
        cursor.execute(sql)
        row = cursor.fetchone()
        return None if row is None else row[0]
    finally:
        cursor.close()


def _begin(connection: Connection) -> None:
    """Start the connection's read transaction (ADBC's BEGIN is deferred to the first read)."""
    _scalar(connection, "SELECT count(*) FROM sqlite_master")


def _data_version(probe: Connection) -> int:
    value = _scalar(probe, "PRAGMA data_version")
    return int(value) if isinstance(value, int) else -1


def _rollback(connections: Sequence[Connection]) -> None:
    """End each read transaction; a connection that cannot is left to fail at its next read."""
    for connection in connections:
        try:
            connection.rollback()
        except _ERRORS:
            continue


def share_snapshot(uri: str, first: Connection, twins: Sequence[Connection]) -> bool:
    """Start ``first``'s and the twins' read transactions on one state of the file.

    True once proven (module doc); False when :data:`_TRIES` attempts each saw a commit
    between the starts, or a read failed (the probe's, or a start's: a file SQLite cannot
    read fails again at ``first``'s next read, where the reader says why): then no
    transaction is left started, and ``first`` starts its own at its next read.
    """
    try:
        probe = adbc_driver_sqlite.dbapi.connect(uri, autocommit=True)
    except _ERRORS:
        return False
    try:
        for _ in range(_TRIES):
            try:
                before = _data_version(probe)
                for connection in (first, *twins):
                    _begin(connection)
                if _data_version(probe) == before:
                    return True
            except _ERRORS:
                _rollback((first, *twins))
                return False
            _rollback((first, *twins))
        return False
    finally:
        probe.close()


def rowid_ranges(
    connection: Connection, table: str, columns: Collection[str], parts: int, min_rows: int
) -> tuple[str | None, ...]:
    """WHERE clauses that cut ``table`` into ``parts`` rowid ranges, in rowid order.

    ``(None,)``, one read of the whole table, when ``parts`` is 1, the table spans fewer
    than ``min_rows`` rowids, it is not a rowid table of the main schema (a view, WITHOUT
    ROWID, an attached table), or its own columns take every rowid alias.
    """
    taken = {column.lower() for column in columns}
    alias = next((name for name in _ROWID_ALIASES if name not in taken), None)
    if parts <= 1 or alias is None:
        return (None,)
    quoted = '"' + table.replace('"', '""') + '"'
    literal = "'" + table.replace("'", "''") + "'"
    try:
        kind = _scalar(
            connection,
            "SELECT type || ':' || wr FROM pragma_table_list "
            f"WHERE schema = 'main' AND name = {literal}",
        )
        if kind != "table:0":
            return (None,)
        cursor = connection.cursor()
        try:
            cursor.execute(f"SELECT min({alias}), max({alias}) FROM {quoted}")
            low, high = cursor.fetchone() or (None, None)
        finally:
            cursor.close()
    except _ERRORS:
        return (None,)
    if not isinstance(low, int) or not isinstance(high, int) or high - low + 1 < min_rows:
        return (None,)
    cuts = [low + (high - low + 1) * i // parts for i in range(1, parts)]
    first = f"{alias} < {cuts[0]}"
    middle = [f"{alias} >= {a} AND {alias} < {b}" for a, b in pairwise(cuts)]
    return (first, *middle, f"{alias} >= {cuts[-1]}")


class PartReads:
    """A table's parts read on a thread per connection, handed over whole.

    Every connection is lent to one part read at a time; the caller never reads on them
    while the reads are open.
    """

    def __init__(
        self,
        connections: Sequence[Connection],
        read: PartRead,
        ranges: Mapping[str, tuple[str | None, ...]],
    ) -> None:
        self._read = read
        self._ranges = ranges
        self._free: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        for connection in connections:
            self._free.put(connection)
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(len(connections), thread_name_prefix="sqlite-read")

    def _lend(self, work: Callable[[Connection], T]) -> T:
        connection = self._free.get()
        try:
            return work(connection)
        finally:
            self._free.put(connection)

    def _part(self, table: str, where: str | None) -> pl.DataFrame:
        return self._lend(lambda connection: self._read(connection, table, where, self._stop))

    def take(self, table: str) -> pl.DataFrame:
        """``table``'s rows in rowid order (its parts concatenated, not copied)."""
        parts = [
            self._pool.submit(self._part, table, where)
            for where in self._ranges.get(table, (None,))
        ]
        try:
            frames = [part.result() for part in parts]
        except BaseException:
            self._stop.set()  # the other parts stop at their next batch
            for part in parts:
                part.cancel()
            wait(parts)
            self._stop.clear()
            raise
        return frames[0] if len(frames) == 1 else pl.concat(frames, rechunk=False)

    def run(self, work: Callable[[Connection], T]) -> T:
        """``work`` on a free connection, waited for."""
        return self._pool.submit(self._lend, work).result()

    def close(self) -> None:
        """Stop the reads in flight, drop those queued, and wait for every thread."""
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
