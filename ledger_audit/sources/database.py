"""Read the six canonical tables from SQLite or PostgreSQL in one read-only snapshot.

Both databases are read through ADBC, which streams Arrow record batches straight into
polars (no Python object per row); see ``benchmarks/bench_load.py`` for the comparison with
a plain DB-API cursor (about 2x slower) and connectorx. connectorx is not used: it opens
its own connections per query, so the six tables would not come from one snapshot, and it
reads PostgreSQL NUMERIC as decimal128(38, 10), failing beyond 28 digits.

The read-only rule is enforced by the database, not by us: SQLite is opened so that it cannot
create or write any file (``sources.sqlite_readonly``: ``mode=ro`` with a read-only ``-shm``,
or ``immutable=1``) and with ``PRAGMA query_only=ON``; PostgreSQL runs every read inside one
``REPEATABLE READ READ ONLY`` transaction, verified before the first table is read. A write
through the reader's connection fails.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

import adbc_driver_manager
import adbc_driver_postgresql.dbapi
import adbc_driver_sqlite.dbapi
import polars as pl
import pyarrow as pa
import sqlalchemy as sa
from adbc_driver_manager.dbapi import Connection

from ledger_audit.errors import InputError
from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources.conform import LocateBy
from ledger_audit.sources.hints import NOT_CANONICAL
from ledger_audit.sources.sqlite_parts import (
    READ_CONNECTIONS,
    PartReads,
    Stopped,
    rowid_ranges,
    share_snapshot,
)
from ledger_audit.sources.sqlite_readonly import read_failure, read_only_sqlite, sqlite_label

_PROBE = "__probe"

_DB_ERRORS = (adbc_driver_manager.Error, pa.ArrowException, OSError)
_PG_BYTES_PER_ROW = 256
"""PostgreSQL batches are sized in bytes: ``batch_size`` rows x this hint."""
_HEAP = pa.system_memory_pool()
"""Where a read batch's copies go: the C heap, whose free pages ``release_free_heap`` hands
back after the load; pyarrow's own pool (mimalloc) kept up to 0.67 GiB of them at 1M."""

_PG_NATIVE: dict[type[pl.DataType], frozenset[str]] = {
    pl.String: frozenset({"text", "character varying", "character"}),
    pl.Int64: frozenset({"bigint", "integer", "smallint"}),
    pl.Int32: frozenset({"bigint", "integer", "smallint"}),
    pl.Boolean: frozenset({"boolean"}),
}
"""PostgreSQL column types read natively; any other (NUMERIC amounts, ...) is read as text,
which is exact, and parsed by ``conform``."""


class TypeFallback(Exception):
    """SQLite handed back a column in another type than declared: re-read it as text."""


def quote_identifier(identifier: str) -> str:
    """A SQL identifier in double quotes (quotes inside doubled), for any name a source has."""
    return '"' + identifier.replace('"', '""') + '"'


def _missing_tables(label: str, catalog: dict[str, dict[str, str]]) -> None:
    """Raise InputError naming every canonical table or column the database lacks."""
    missing_tables = [table for table in CANONICAL_TABLES if table not in catalog]
    if missing_tables:
        raise InputError(label, f"missing table(s) {', '.join(missing_tables)}{NOT_CANONICAL}")
    missing_columns = [
        f"{table}.{column}"
        for table in CANONICAL_TABLES
        for column in FRAME_SCHEMAS[table]
        if column not in catalog[table]
    ]
    if missing_columns:
        raise InputError(label, f"missing column(s) {', '.join(missing_columns)}{NOT_CANONICAL}")


def owned_frame(batch: pa.RecordBatch) -> pl.DataFrame:
    """The batch as a frame whose columns each own their memory, so the driver's goes now.

    polars takes an Arrow batch over without copying it, and then any one of its columns (a
    text view points into the batch's data buffer) keeps the whole batch alive, with the
    slack of buffers the driver grew by doubling, until every column made from it is gone.
    A frame that is sorted afterwards was copied by the sort; one read in key order was
    not, and held the batches: 2,048 MiB after loading the 1M demo stored in key order,
    1,114 with this copy (``docs/scale.md``). Each column is copied into a buffer of its
    own size.
    """
    return pl.DataFrame(
        [
            pl.Series(name, pa.concat_arrays([column], memory_pool=_HEAP))  # a copy
            for name, column in zip(batch.schema.names, batch.columns, strict=True)
        ]
    )


def frame_from_batches(reader: pa.RecordBatchReader) -> pl.DataFrame:
    """Build a polars frame batch by batch, so the Arrow batches can be freed as we go."""
    frames = [owned_frame(batch) for batch in reader]
    if not frames:
        return pl.DataFrame(reader.schema.empty_table())
    return pl.concat(frames, rechunk=False)


class SqliteReader:
    """A SQLite ledger opened read-only, one deferred read transaction for its lifetime.

    SQLite types are per value, not per column, and ADBC infers a column's Arrow type from
    the first batch. Each query therefore starts with a probe row of the declared types (so
    a mostly-NULL text column is still text), and a table whose values do not all have the
    declared storage class (text in an INTEGER column, a REAL amount) is re-read with every
    column cast to TEXT, so that ``conform`` can reject exactly the offending cells.
    """

    locate_by: LocateBy = "key"

    def __init__(
        self,
        connections: Sequence[Connection],
        label: str,
        batch_size: int,
    ) -> None:
        """``connections``: the first, and any twins sharing its snapshot (``sqlite_parts``).

        With twins, :meth:`read_raw` reads each canonical table in rowid ranges side by
        side, and the connections are lent only to those reads: :meth:`read_batches` and
        ``connection`` are for a reader without twins.
        """
        self.connection = connections[0]
        self.label = label
        self._batch_size = batch_size
        self._catalog = self._read_catalog()
        _missing_tables(label, self._catalog)
        self._parts: PartReads | None = None
        if len(connections) > 1:
            ranges = {
                table: rowid_ranges(
                    self.connection,
                    table,
                    self._catalog[table],
                    parts=len(connections),
                    min_rows=2 * batch_size,
                )
                for table in CANONICAL_TABLES
            }
            self._parts = PartReads(connections, self._part, ranges)

    def close(self) -> None:
        """Stop the part reads; every thread has ended when this returns."""
        if self._parts is not None:
            self._parts.close()

    def _read_catalog(self) -> dict[str, dict[str, str]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            names = {str(row[0]) for row in cursor.fetchall()}
            catalog: dict[str, dict[str, str]] = {}
            for table in CANONICAL_TABLES:
                if table in names:
                    cursor.execute(f"SELECT name, type FROM pragma_table_info('{table}')")
                    catalog[table] = {str(name): str(kind) for name, kind in cursor.fetchall()}
            return catalog
        finally:
            cursor.close()

    def _query(
        self, table: str, *, as_text: bool, relation: str | None = None, where: str | None = None
    ) -> str:
        schema = FRAME_SCHEMAS[table]
        probe = ", ".join(
            ("'' AS " if as_text or dtype == pl.String() else "0 AS ") + quote_identifier(column)
            for column, dtype in schema.items()
        )
        columns = ", ".join(
            f"CAST({quote_identifier(column)} AS TEXT)" if as_text else quote_identifier(column)
            for column in schema
        )
        source = relation or quote_identifier(table)
        rows = f" WHERE {where}" if where else ""
        return f"SELECT 1 AS {_PROBE}, {probe} UNION ALL SELECT 0, {columns} FROM {source}{rows}"

    def _expected(self, table: str, *, as_text: bool) -> pa.Schema:
        return pa.schema(
            [(_PROBE, pa.int64())]
            + [
                (column, pa.string() if as_text or dtype == pl.String() else pa.int64())
                for column, dtype in FRAME_SCHEMAS[table].items()
            ]
        )

    def _batches(
        self,
        connection: Connection,
        table: str,
        *,
        as_text: bool,
        relation: str | None = None,
        where: str | None = None,
    ) -> Generator[pl.DataFrame]:
        """``table``'s columns (from ``relation``, else the table), batch by batch, in order.

        ``where``: only those rows. The probe row is checked and dropped; a value of another
        storage class than declared raises TypeFallback (unless the columns are read as text
        already).
        """
        cursor = connection.cursor()
        try:
            cursor.adbc_statement.set_options(
                **{adbc_driver_sqlite.StatementOptions.BATCH_ROWS.value: str(self._batch_size)}
            )
            cursor.execute(self._query(table, as_text=as_text, relation=relation, where=where))
            reader = cursor.fetch_record_batch()
            if not reader.schema.equals(self._expected(table, as_text=as_text)):
                raise TypeFallback
            probed = False
            try:
                for batch in reader:  # each Arrow batch freed once it is a frame
                    frame = owned_frame(batch)
                    if not probed:
                        if frame.height == 0 or frame[_PROBE][0] != 1:
                            break
                        frame, probed = frame.slice(1), True
                    yield frame.drop(_PROBE)
            except _DB_ERRORS as error:
                if "Type mismatch" in str(error) and not as_text:
                    raise TypeFallback from error
                raise
            if not probed:
                raise InputError(f"{self.label} table {table}", "type probe row out of place")
        finally:
            cursor.close()

    def _read(
        self,
        connection: Connection,
        table: str,
        *,
        as_text: bool,
        where: str | None = None,
        stop: threading.Event | None = None,
    ) -> pl.DataFrame:
        """``table`` (only the rows of ``where``) whole; once ``stop`` is set, ``Stopped``."""
        frames = []
        with closing(self._batches(connection, table, as_text=as_text, where=where)) as read:
            for frame in read:
                if stop is not None and stop.is_set():
                    raise Stopped
                frames.append(frame)
        return pl.concat(frames, rechunk=False)

    def _part(
        self, connection: Connection, table: str, where: str | None, stop: threading.Event
    ) -> pl.DataFrame:
        """One rowid range of ``table`` on ``connection`` (``sqlite_parts.PartRead``)."""
        return self._read(connection, table, as_text=False, where=where, stop=stop)

    def read_batches(self, table: str, relation: str) -> Iterator[pl.DataFrame]:
        """``table``'s columns from ``relation`` (a subquery), a batch at a time, in its order.

        The probe row types the stream as ``read_raw`` types the table; a value of another
        storage class raises TypeFallback (``read_raw`` would re-read the whole table as
        text: a stream hands over to it instead).
        """
        if self._parts is not None:
            raise RuntimeError("a reader that reads side by side lends its connections to read_raw")
        with closing(
            self._batches(self.connection, table, as_text=False, relation=relation)
        ) as read:
            yield from (frame for frame in read if frame.height)

    def table_label(self, table: str) -> str:  # noqa: ARG002 - one database, one label
        """Rejections name the database URL; the table has its own column."""
        return self.label

    def read_raw(self, table: str) -> pl.DataFrame:
        """The table as stored; text in the declared types' place triggers a text re-read."""
        parts = self._parts
        try:
            try:
                if parts is None:
                    return self._read(self.connection, table, as_text=False)
                return parts.take(table)
            except TypeFallback:
                if parts is None:
                    return self._read(self.connection, table, as_text=True)
                return parts.run(lambda connection: self._read(connection, table, as_text=True))
        except _DB_ERRORS as error:
            raise InputError(
                f"{self.label} table {table}", f"cannot read: {_first_line(error)}"
            ) from error


class PostgresReader:
    """A PostgreSQL ledger read inside one REPEATABLE READ READ ONLY transaction."""

    locate_by: LocateBy = "key"

    def __init__(self, connection: Connection, label: str, batch_size: int) -> None:
        self.connection = connection
        self.label = label
        self._batch_size = batch_size
        self._catalog = self._read_catalog()
        _missing_tables(label, self._catalog)

    def _read_catalog(self) -> dict[str, dict[str, str]]:
        names = ", ".join(f"'{table}'" for table in CANONICAL_TABLES)
        cursor = self.connection.cursor()
        try:
            cursor.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                f"WHERE table_schema = current_schema() AND table_name IN ({names})"
            )
            catalog: dict[str, dict[str, str]] = {}
            for table, column, data_type in cursor.fetchall():
                catalog.setdefault(str(table), {})[str(column)] = str(data_type)
            return catalog
        finally:
            cursor.close()

    def _query(self, table: str, relation: str | None = None) -> str:
        columns = []
        for column, dtype in FRAME_SCHEMAS[table].items():
            native = self._catalog[table][column] in _PG_NATIVE[type(dtype)]
            quoted = quote_identifier(column)
            columns.append(quoted if native else f"{quoted}::text AS {quoted}")
        return f"SELECT {', '.join(columns)} FROM {relation or quote_identifier(table)}"

    def read_batches(self, table: str, relation: str) -> Iterator[pl.DataFrame]:
        """``table``'s columns from ``relation`` (a subquery), a batch at a time, in its order.

        A server-side cursor in the reader's read-only snapshot: FETCH returns ``batch_size``
        rows a time (COPY cannot read a cursor, so these statements go without it).
        """
        name = quote_identifier(f"ledger_audit_{table}")
        cursor = self.connection.cursor()
        try:
            cursor.execute(f"DECLARE {name} NO SCROLL CURSOR FOR {self._query(table, relation)}")
        finally:
            cursor.close()
        while True:
            fetch = self.connection.cursor()
            try:
                fetch.adbc_statement.set_options(
                    **{adbc_driver_postgresql.StatementOptions.USE_COPY.value: "false"}
                )
                fetch.execute(f"FETCH FORWARD {self._batch_size} FROM {name}")
                batch = pl.DataFrame(fetch.fetch_arrow_table())
            finally:
                fetch.close()
            if batch.height == 0:
                return
            yield batch

    def table_label(self, table: str) -> str:  # noqa: ARG002 - one database, one label
        """Rejections name the database URL; the table has its own column."""
        return self.label

    def read_raw(self, table: str) -> pl.DataFrame:
        """The table in its PostgreSQL types; NUMERIC and other non-native types as text."""
        cursor = self.connection.cursor()
        try:
            cursor.adbc_statement.set_options(
                **{
                    adbc_driver_postgresql.StatementOptions.BATCH_SIZE_HINT_BYTES.value: str(
                        self._batch_size * _PG_BYTES_PER_ROW
                    )
                }
            )
            cursor.execute(self._query(table))
            return frame_from_batches(cursor.fetch_record_batch())
        except _DB_ERRORS as error:
            raise InputError(
                f"{self.label} table {table}", f"cannot read: {_first_line(error)}"
            ) from error
        finally:
            cursor.close()


def _first_line(error: BaseException) -> str:
    """A driver error's own line: ADBC appends the whole query on the next lines."""
    return str(error).strip().split("\n", 1)[0]


def _close(connection: Connection) -> None:
    """End the read transaction and close; nothing was written, so rollback is the end."""
    try:
        connection.rollback()
    finally:
        connection.close()


@contextmanager
def open_sqlite(
    path: Path, *, batch_size: int, side_by_side: bool = False
) -> Iterator[SqliteReader]:
    """Open a SQLite ledger file read-only for the duration of the block.

    Nothing is written or created beside the file, in any journal mode or folder permission
    (``ledger_audit.sources.sqlite_readonly``); an immutable read that the file changed
    under is refused when the block ends. ``side_by_side``: the canonical tables are read
    in rowid ranges on a connection per core, in one snapshot (``sqlite_parts``).
    """
    path = path.resolve()
    label = sqlite_label(path)
    if not path.is_file():
        raise InputError(label, "no such SQLite file")
    count = READ_CONNECTIONS if side_by_side else 1
    with sqlite_connections(path, count) as (connections, label):
        try:
            reader = SqliteReader(connections, label, batch_size)
            try:
                yield reader
            finally:
                reader.close()  # its threads end before the connections close
        except _DB_ERRORS as error:
            reason = read_failure(path, f"cannot read: {_first_line(error)}")
            raise InputError(label, reason) from error


@contextmanager
def sqlite_connection(path: Path) -> Iterator[tuple[Connection, str]]:
    """An ADBC connection to ``path`` that can neither write nor create a file, and its label.

    Every reader of an audited SQLite file opens it here (``sqlite_readonly``), with
    ``query_only`` on; the connection is rolled back and closed when the block ends.
    """
    with sqlite_connections(path, 1) as (connections, label):
        yield connections[0], label


@contextmanager
def sqlite_connections(path: Path, count: int) -> Iterator[tuple[list[Connection], str]]:
    """Up to ``count`` connections as :func:`sqlite_connection` opens one, in one snapshot.

    The first is always there; the others only when they were opened and proven to read
    the same state as it (``sqlite_parts.share_snapshot``), else the block gets one.
    """
    path = path.resolve()
    label = sqlite_label(path)
    if not path.is_file():
        raise InputError(label, "no such SQLite file")
    with read_only_sqlite(path, label) as plan:
        connections = [_open_read_only(plan.uri, label)]
        try:
            for _ in range(count - 1):
                try:
                    connections.append(_open_read_only(plan.uri, label))
                except InputError:
                    break  # a busy or limited file: read on fewer
            twins = connections[1:]
            if twins and not share_snapshot(plan.uri, connections[0], twins):
                while len(connections) > 1:
                    _close(connections.pop())
            yield connections, label
        finally:
            for connection in reversed(connections):
                _close(connection)


def _open_read_only(uri: str, label: str) -> Connection:
    try:
        connection: Connection = adbc_driver_sqlite.dbapi.connect(uri)
    except _DB_ERRORS as error:
        raise InputError(label, f"cannot open: {_first_line(error)}") from error
    try:
        cursor = connection.cursor()
        try:
            cursor.execute("PRAGMA query_only=ON")
        finally:
            cursor.close()
    except BaseException:
        connection.close()
        raise
    return connection


def postgres_label(url: str | sa.URL) -> str:
    """The URL as reports show it: password hidden."""
    return sa.make_url(url).render_as_string(hide_password=True)


@contextmanager
def open_postgres(url: str | sa.URL, *, batch_size: int) -> Iterator[PostgresReader]:
    """Open a PostgreSQL ledger in one read-only snapshot for the duration of the block.

    ``url`` is a SQLAlchemy URL (``postgresql://`` or ``postgresql+psycopg://``); the
    driver part is dropped because ADBC speaks libpq directly.
    """
    with postgres_connection(url) as (connection, label):
        try:
            yield PostgresReader(connection, label, batch_size)
        except _DB_ERRORS as error:
            raise InputError(label, f"cannot read: {_first_line(error)}") from error


@contextmanager
def postgres_connection(url: str | sa.URL) -> Iterator[tuple[Connection, str]]:
    """An ADBC connection inside one REPEATABLE READ READ ONLY transaction, and its label.

    ``url`` is a SQLAlchemy URL (``postgresql://`` or ``postgresql+psycopg://``); the
    driver part is dropped because ADBC speaks libpq directly. The transaction is proven
    read-only before the block runs, and rolled back when it ends.
    """
    parsed = sa.make_url(url)
    label = postgres_label(parsed)
    libpq_uri = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection: Connection = adbc_driver_postgresql.dbapi.connect(libpq_uri)
    except _DB_ERRORS as error:
        raise InputError(label, f"cannot connect: {_first_line(error)}") from error
    try:
        start_read_only_snapshot(connection, label)
        yield connection, label
    except _DB_ERRORS as error:
        raise InputError(label, f"cannot read: {_first_line(error)}") from error
    finally:
        _close(connection)


def start_read_only_snapshot(connection: Connection, label: str) -> None:
    """Make the open transaction read-only and repeatable-read, and prove that it is.

    ADBC opens the transaction (autocommit off); SET TRANSACTION outside a transaction
    would be a warning and a no-op, so the settings are read back.
    """
    cursor = connection.cursor()
    try:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute(
            "SELECT current_setting('transaction_isolation'), "
            "current_setting('transaction_read_only')"
        )
        settings = tuple(cursor.fetchall()[0])
    finally:
        cursor.close()
    if settings != ("repeatable read", "on"):
        raise InputError(label, f"could not start a read-only snapshot: {settings}")
