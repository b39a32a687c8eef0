"""Read-only access to a user's relations: tables, views, SQL queries and snapshot files.

A mapped source is not the canonical schema, so it is read relation by relation: first the
catalogue (names and column types, nothing else), so that a mapping is checked against what
the source really has before any row is read; then only the columns the mapping names.

Column types are reduced to a :class:`TypeClass`, which is what the mapping rules need to
know (is it an integer, an exact decimal, a float, a timestamp with or without a zone, text).
The read-only rule is the database's, and the connections are the canonical readers' own
(``sources.database``): SQLite opened so that it can neither write nor create a file, with
``query_only``; PostgreSQL inside one ``REPEATABLE READ READ ONLY`` transaction that is
proven read-only before the first query.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import adbc_driver_manager
import polars as pl
import pyarrow as pa
import sqlalchemy as sa
from adbc_driver_manager.dbapi import Connection

from ledger_audit.errors import InputError, excerpt
from ledger_audit.sources.database import (
    frame_from_batches,
    postgres_connection,
    quote_identifier,
    sqlite_connection,
)

_DB_ERRORS = (adbc_driver_manager.Error, pa.ArrowException, OSError)
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
SQLITE_SUFFIXES = frozenset({".sqlite", ".sqlite3", ".db"})
FILE_SUFFIXES = (".parquet", ".csv")
TYPE_SUFFIX = "__sqlite_type"
"""SQLite only: ``typeof(column)`` read beside a column whose values may be REAL (floats)."""


class TypeClass(StrEnum):
    """What a column holds, as far as mapping rules care."""

    INTEGER = "integer"
    DECIMAL = "decimal"
    FLOAT = "float"
    TEXT = "text"
    TIMESTAMP_TZ = "timestamptz"
    TIMESTAMP = "timestamp"
    DATE = "date"
    BOOLEAN = "boolean"
    ANY = "any"
    """SQLite columns without a declared type, CSV columns: values are read as text."""
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a relation: its name, the source's own type name and its class."""

    name: str
    source_type: str
    type_class: TypeClass


@dataclass(frozen=True, slots=True)
class RelationRef:
    """Which relation a mapping section reads: a table/view/file name, or a SQL query."""

    name: str | None = None
    query: str | None = None

    @property
    def label(self) -> str:
        """How errors and rejections name it: the table, or ``query``."""
        return self.name if self.name is not None else "query"


class RelationSource(Protocol):
    """An opened source of user relations."""

    @property
    def label(self) -> str:
        """The source as reports name it (no password)."""
        ...

    @property
    def kind(self) -> str:
        """``sqlite``, ``postgresql`` or ``files``."""
        ...

    def relations(self) -> tuple[str, ...]:
        """The relations (tables and views, or files) this source has, sorted."""
        ...

    def columns(self, relation: RelationRef) -> tuple[Column, ...]:
        """The columns of ``relation`` in source order; InputError when it does not exist."""
        ...

    def read(self, relation: RelationRef, columns: Sequence[str]) -> pl.DataFrame:
        """The named columns of every row of ``relation`` (SQLite: as text, with type tags)."""
        ...

    def sample(self, relation: RelationRef, limit: int) -> pl.DataFrame:
        """Up to ``limit`` rows of every column, for inspection (``init``)."""
        ...

    def head(self, relation: RelationRef, columns: Sequence[str], limit: int) -> pl.DataFrame:
        """The named columns of the first ``limit`` rows (``init``'s value sets)."""
        ...


def sqlite_type_class(declared: str) -> TypeClass:  # noqa: PLR0911 - one rule per class
    """SQLite's affinity rules (section 3.1 of its datatype page), then our classes."""
    upper = declared.upper()
    if "INT" in upper:
        return TypeClass.INTEGER
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return TypeClass.TEXT
    if upper in {"", "BLOB"}:
        return TypeClass.ANY
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return TypeClass.FLOAT
    if "BOOL" in upper:
        return TypeClass.BOOLEAN
    if "TIMESTAMP" in upper or "DATETIME" in upper:
        return TypeClass.TIMESTAMP
    return TypeClass.DECIMAL  # NUMERIC affinity: integers exact, other values may be REAL


_PG_CLASSES: dict[str, TypeClass] = {
    "smallint": TypeClass.INTEGER,
    "integer": TypeClass.INTEGER,
    "bigint": TypeClass.INTEGER,
    "numeric": TypeClass.DECIMAL,
    "real": TypeClass.FLOAT,
    "double precision": TypeClass.FLOAT,
    "text": TypeClass.TEXT,
    "character varying": TypeClass.TEXT,
    "character": TypeClass.TEXT,
    "uuid": TypeClass.TEXT,
    "json": TypeClass.TEXT,
    "jsonb": TypeClass.TEXT,
    "USER-DEFINED": TypeClass.TEXT,
    "timestamp with time zone": TypeClass.TIMESTAMP_TZ,
    "timestamp without time zone": TypeClass.TIMESTAMP,
    "date": TypeClass.DATE,
    "boolean": TypeClass.BOOLEAN,
}
_PG_NATIVE = frozenset(
    {
        "smallint",
        "integer",
        "bigint",
        "text",
        "character varying",
        "character",
        "timestamp with time zone",
        "timestamp without time zone",
        "date",
        "boolean",
    }
)
"""PostgreSQL types read natively; every other (NUMERIC, uuid, enums, json...) as exact text."""


def polars_type_class(dtype: pl.DataType) -> TypeClass:  # noqa: PLR0911 - one rule per class
    """The class of a Parquet or query-result column."""
    if dtype.is_integer():
        return TypeClass.INTEGER
    if isinstance(dtype, pl.Decimal):
        return TypeClass.DECIMAL
    if dtype.is_float():
        return TypeClass.FLOAT
    if isinstance(dtype, pl.Datetime):
        return TypeClass.TIMESTAMP if dtype.time_zone is None else TypeClass.TIMESTAMP_TZ
    if dtype == pl.Date():
        return TypeClass.DATE
    if dtype == pl.Boolean():
        return TypeClass.BOOLEAN
    if dtype in {pl.String(), pl.Categorical(), pl.Null()} or isinstance(dtype, pl.Enum):
        return TypeClass.TEXT
    return TypeClass.OTHER


def _missing_relation(label: str, relation: RelationRef, known: Sequence[str]) -> InputError:
    return InputError(
        label,
        f"no table, view or file {relation.name!r}; it has: {', '.join(known) or 'nothing'}",
    )


class SqliteRelations:
    """User relations of a SQLite file opened read-only."""

    kind = "sqlite"

    def __init__(self, connection: Connection, label: str) -> None:
        self.connection = connection
        self.label = label

    def _fetch(self, sql: str) -> list[tuple[object, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def relations(self) -> tuple[str, ...]:
        """Tables and views, SQLite's own excluded."""
        try:
            rows = self._fetch(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        except _DB_ERRORS as error:  # not a database, or damaged
            raise InputError(
                self.label, f"cannot read its catalogue: {excerpt(str(error))}"
            ) from error
        return tuple(str(row[0]) for row in rows)

    def _from(self, relation: RelationRef) -> str:
        if relation.query is not None:
            return f"({relation.query})"
        return quote_identifier(str(relation.name))

    def columns(self, relation: RelationRef) -> tuple[Column, ...]:
        """Declared types of a table or view; a query's columns are typed by its first row."""
        try:
            if relation.query is None:
                if relation.name not in self.relations():
                    raise _missing_relation(self.label, relation, self.relations())
                rows = self._fetch(f"SELECT name, type FROM pragma_table_info({_q(relation)})")
                return tuple(
                    Column(str(name), str(kind), sqlite_type_class(str(kind)))
                    for name, kind in rows
                )
            cursor = self.connection.cursor()
            try:
                cursor.execute(f"SELECT * FROM {self._from(relation)} LIMIT 0")
                names = [d[0] for d in cursor.description or ()]
            finally:
                cursor.close()
            return tuple(Column(str(n), "", TypeClass.ANY) for n in names)
        except _DB_ERRORS as error:
            raise InputError(f"{self.label} {relation.label}", f"cannot read: {error}") from error

    def read(self, relation: RelationRef, columns: Sequence[str]) -> pl.DataFrame:
        """Every value as TEXT (SQLite types are per value), beside ``typeof`` for each column.

        Text is exact for integers and decimal text; a REAL value (a float, whatever the
        column's declared type) is recognised by its type tag, so a mapping can refuse it.
        """
        select = ", ".join(
            f"CAST({q} AS TEXT) AS {q}, typeof({q}) AS {quote_identifier(c + TYPE_SUFFIX)}"
            for c in columns
            for q in (quote_identifier(c),)
        )
        probe = ", ".join(
            f"'' AS {quote_identifier(c)}, '' AS {quote_identifier(c + TYPE_SUFFIX)}"
            for c in columns
        )
        sql = (
            f"SELECT 1 AS __probe, {probe} UNION ALL SELECT 0, {select} FROM {self._from(relation)}"
        )
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
            frame = frame_from_batches(cursor.fetch_record_batch())
        except _DB_ERRORS as error:
            raise InputError(f"{self.label} {relation.label}", f"cannot read: {error}") from error
        finally:
            cursor.close()
        return frame.slice(1).drop("__probe")

    def sample(self, relation: RelationRef, limit: int) -> pl.DataFrame:
        """The first ``limit`` rows as text."""
        names = [c.name for c in self.columns(relation)]
        if not names:
            return pl.DataFrame()
        select = ", ".join(
            f"CAST({quote_identifier(c)} AS TEXT) AS {quote_identifier(c)}" for c in names
        )
        probe = ", ".join(f"'' AS {quote_identifier(c)}" for c in names)
        sql = (
            f"SELECT {probe} UNION ALL SELECT * FROM (SELECT {select} FROM "
            f"{self._from(relation)} LIMIT {int(limit)})"
        )
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
            return frame_from_batches(cursor.fetch_record_batch()).slice(1)
        except _DB_ERRORS as error:
            raise InputError(f"{self.label} {relation.label}", f"cannot read: {error}") from error
        finally:
            cursor.close()

    def head(self, relation: RelationRef, columns: Sequence[str], limit: int) -> pl.DataFrame:
        """The named columns of the first ``limit`` rows, as text."""
        inner = ", ".join(quote_identifier(c) for c in columns)
        first = f"SELECT {inner} FROM {self._from(relation)} LIMIT {int(limit)}"
        return self.read(RelationRef(query=first), columns).select(columns)


def _q(relation: RelationRef) -> str:
    return "'" + str(relation.name).replace("'", "''") + "'"


_ARROW = "arrow "
"""Prefix of the type of a query column that ADBC decodes itself."""
_DECODED = frozenset(
    {
        TypeClass.INTEGER,
        TypeClass.TEXT,
        TypeClass.FLOAT,
        TypeClass.TIMESTAMP_TZ,
        TypeClass.TIMESTAMP,
        TypeClass.DATE,
        TypeClass.BOOLEAN,
    }
)
"""Query columns read as ADBC decodes them; any other (uuid as bytes...) is read as text."""


def _query_column(field: pa.Field[Any]) -> Column:
    """A query result's column, typed as ADBC decodes it.

    PostgreSQL types that ADBC passes through opaque (``numeric``, enums...) keep their
    PostgreSQL name and are read as exact text, like a table's.
    """
    if isinstance(field.type, pa.OpaqueType):
        name = str(field.type.type_name)
        return Column(field.name, name, _PG_CLASSES.get(name, TypeClass.TEXT))
    dtype = pl.DataFrame(pa.schema([field]).empty_table()).schema[field.name]
    return Column(field.name, f"{_ARROW}{dtype}", polars_type_class(dtype))


class PostgresRelations:
    """User relations of a PostgreSQL database, inside one read-only snapshot."""

    kind = "postgresql"

    def __init__(self, connection: Connection, label: str) -> None:
        self.connection = connection
        self.label = label

    def _fetch(self, *statements: str) -> list[tuple[object, ...]]:
        cursor = self.connection.cursor()
        try:
            for sql in statements:
                cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def _split(self, name: str) -> tuple[str | None, str]:
        schema, _, table = name.rpartition(".")
        return (schema or None), table

    def relations(self) -> tuple[str, ...]:
        """Tables and views of the search path's first schema, and schema-qualified others."""
        try:
            rows = self._fetch(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
                "ORDER BY table_schema <> current_schema(), table_schema, table_name"
            )
            current = str(self._fetch("SELECT current_schema()")[0][0])
        except _DB_ERRORS as error:
            raise InputError(
                self.label, f"cannot read its catalogue: {excerpt(str(error))}"
            ) from error
        return tuple(
            str(table) if schema == current else f"{schema}.{table}" for schema, table in rows
        )

    def columns(self, relation: RelationRef) -> tuple[Column, ...]:
        """``information_schema`` types of a table or view; a query's from its result."""
        try:
            if relation.query is not None:
                cursor = self.connection.cursor()
                try:
                    cursor.execute(f"SELECT * FROM ({relation.query}) AS q LIMIT 0")
                    schema = cursor.fetch_arrow_table().schema
                finally:
                    cursor.close()
                return tuple(_query_column(field) for field in schema)
            schema_name, table = self._split(str(relation.name))
            where = "current_schema()" if schema_name is None else f"'{schema_name}'"
            rows = self._fetch(
                "SELECT column_name, data_type FROM information_schema.columns WHERE "
                f"table_schema = {where} AND table_name = '{table.replace(chr(39), '')}' "
                "ORDER BY ordinal_position"
            )
        except _DB_ERRORS as error:
            raise InputError(f"{self.label} {relation.label}", f"cannot read: {error}") from error
        if not rows:
            raise _missing_relation(self.label, relation, self.relations())
        return tuple(
            Column(str(name), str(kind), _PG_CLASSES.get(str(kind), TypeClass.OTHER))
            for name, kind in rows
        )

    def _from(self, relation: RelationRef) -> str:
        if relation.query is not None:
            return f"({relation.query}) AS q"
        schema_name, table = self._split(str(relation.name))
        return (
            quote_identifier(table)
            if schema_name is None
            else f"{quote_identifier(schema_name)}.{quote_identifier(table)}"
        )

    def _select(self, relation: RelationRef, columns: Sequence[str]) -> str:
        known = {c.name: c for c in self.columns(relation)}
        parts = []
        for column in columns:
            quoted = quote_identifier(column)
            found = known.get(column)
            native = found is not None and (
                found.source_type in _PG_NATIVE
                or (found.source_type.startswith(_ARROW) and found.type_class in _DECODED)
            )
            parts.append(quoted if native else f"{quoted}::text AS {quoted}")
        return ", ".join(parts)

    def _query(self, sql: str, relation: RelationRef) -> pl.DataFrame:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
            return frame_from_batches(cursor.fetch_record_batch())
        except _DB_ERRORS as error:
            raise InputError(f"{self.label} {relation.label}", f"cannot read: {error}") from error
        finally:
            cursor.close()

    def read(self, relation: RelationRef, columns: Sequence[str]) -> pl.DataFrame:
        """The named columns; NUMERIC and other non-native types as exact text."""
        return self._query(
            f"SELECT {self._select(relation, columns)} FROM {self._from(relation)}", relation
        )

    def sample(self, relation: RelationRef, limit: int) -> pl.DataFrame:
        """The first ``limit`` rows of every column."""
        names = [c.name for c in self.columns(relation)]
        sql = f"SELECT {self._select(relation, names)} FROM {self._from(relation)} LIMIT {limit}"
        return self._query(sql, relation)

    def head(self, relation: RelationRef, columns: Sequence[str], limit: int) -> pl.DataFrame:
        """The named columns of the first ``limit`` rows."""
        select = self._select(relation, columns)
        sql = f"SELECT {select} FROM {self._from(relation)} LIMIT {int(limit)}"
        return self._query(sql, relation)


class FileRelations:
    """A folder of Parquet or CSV files, one relation per file (CSV read as text)."""

    kind = "files"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.label = str(folder)

    def relations(self) -> tuple[str, ...]:
        """The files' names with their suffix."""
        return tuple(
            sorted(
                p.name
                for p in self.folder.iterdir()
                if p.is_file() and p.suffix.lower() in FILE_SUFFIXES
            )
        )

    def path(self, relation: RelationRef) -> Path:
        """The file of ``relation``: ``name`` with its suffix, or ``name.parquet|.csv``."""
        if relation.query is not None:
            raise InputError(self.label, "a folder of files has no SQL: use from = <file>")
        name = str(relation.name)
        candidates = [self.folder / name] + [self.folder / f"{name}{s}" for s in FILE_SUFFIXES]
        found = [p for p in candidates if p.suffix.lower() in FILE_SUFFIXES and p.is_file()]
        if len(found) > 1 and (self.folder / name) not in found:
            raise InputError(
                str(self.folder / name), "both .parquet and .csv exist: name the suffix"
            )
        if not found:
            raise _missing_relation(self.label, relation, self.relations())
        return found[0]

    def _scan(self, path: Path) -> pl.LazyFrame:
        if path.suffix.lower() == ".parquet":
            return pl.scan_parquet(path)
        return pl.scan_csv(path, infer_schema=False)

    def columns(self, relation: RelationRef) -> tuple[Column, ...]:
        """Parquet types; CSV columns are text (the mapping says how to read them)."""
        path = self.path(relation)
        try:
            schema = self._scan(path).collect_schema()
        except (pl.exceptions.PolarsError, OSError) as error:
            raise InputError(str(path), f"cannot read: {excerpt(str(error))}") from error
        csv = path.suffix.lower() == ".csv"
        return tuple(
            Column(
                name,
                "text" if csv else str(dtype),
                TypeClass.ANY if csv else polars_type_class(dtype),
            )
            for name, dtype in schema.items()
        )

    def read(self, relation: RelationRef, columns: Sequence[str]) -> pl.DataFrame:
        """The named columns of the file."""
        path = self.path(relation)
        try:
            return self._scan(path).select(list(columns)).collect()
        except (pl.exceptions.PolarsError, OSError) as error:
            raise InputError(str(path), f"cannot read: {excerpt(str(error))}") from error

    def sample(self, relation: RelationRef, limit: int) -> pl.DataFrame:
        """The first ``limit`` rows."""
        path = self.path(relation)
        try:
            return self._scan(path).head(limit).collect()
        except (pl.exceptions.PolarsError, OSError) as error:
            raise InputError(str(path), f"cannot read: {excerpt(str(error))}") from error

    def head(self, relation: RelationRef, columns: Sequence[str], limit: int) -> pl.DataFrame:
        """The named columns of the first ``limit`` rows."""
        path = self.path(relation)
        try:
            return self._scan(path).select(list(columns)).head(limit).collect()
        except (pl.exceptions.PolarsError, OSError) as error:
            raise InputError(str(path), f"cannot read: {excerpt(str(error))}") from error


@contextmanager
def _sqlite(path: Path) -> Iterator[SqliteRelations]:
    with sqlite_connection(path) as (connection, label):
        yield SqliteRelations(connection, label)


@contextmanager
def _postgres(url: str) -> Iterator[PostgresRelations]:
    with postgres_connection(url) as (connection, label):
        yield PostgresRelations(connection, label)


@contextmanager
def open_relations(source: str | Path) -> Iterator[RelationSource]:
    """Open a SQLite file or URL, a PostgreSQL URL, or a folder of files, read-only."""
    if isinstance(source, str) and (match := _URL.match(source)):
        backend = match["scheme"].split("+", 1)[0].lower()
        if backend == "sqlite":
            database = sa.make_url(source).database
            if not database or database == ":memory:":
                raise InputError(source, "an in-memory SQLite database has no ledger to read")
            with _sqlite(Path(database)) as opened:
                yield opened
            return
        if backend in {"postgresql", "postgres"}:
            with _postgres(source) as opened_pg:
                yield opened_pg
            return
        raise InputError(source, f"unsupported source scheme {match['scheme']!r}")
    path = Path(source)
    if path.is_dir():
        yield FileRelations(path)
    elif path.is_file() and path.suffix.lower() in SQLITE_SUFFIXES:
        with _sqlite(path) as opened:
            yield opened
    elif path.exists():
        raise InputError(str(path), "not a ledger source: expected a SQLite file or a folder")
    else:
        raise InputError(str(path), "no such file or folder")
