"""Where an invariant's one SQLAlchemy statement runs: DuckDB over the frames, or a database.

Each invariant is written once, as a SELECT over a relation named ``legs``
(``sources.invariant_sql.violations_query``). An engine runs that statement where the data
lives and hands back VIOLATION_SCHEMA rows, so the frame path and the SQL paths cannot drift
apart: there is no second copy to drift.

- :class:`FrameEngine`: the loaded ``legs`` frame registered on an in-process DuckDB
  connection as its Arrow buffers (no copy), the statement compiled as PostgreSQL text. For a
  ledger loaded with amounts past int64 (Decimal(38, 0)), BIGINT is compiled as HUGEINT, so
  the exact sums' halves (``ExactSum``) hold them and never wrap; int64 amounts keep BIGINT
  (their halves are below 2^32, and HUGEINT windows cost a third more memory).
- :class:`DatabaseEngine`: SQLite or PostgreSQL opened read-only, ``legs`` being the
  ``legs_query`` rows (or a stored relation of that name).

Another engine (Spark) only needs ``name``, ``dialect``, ``fetch`` and ``shared_versions``:
:class:`QueryEngine`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import duckdb
import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.base import PGDialect, PGTypeCompiler
from sqlalchemy.pool import NullPool

from ledger_audit.checks.invariant_rules import (
    VIOLATION_KEY,
    VIOLATION_SCHEMA,
    legs_schema,
    violations_from_rows,
    violations_from_text,
)
from ledger_audit.errors import InputError
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.scratch import ScratchFolder
from ledger_audit.sources.invariant_sql import (
    INVARIANTS,
    LEG_COLUMNS,
    VERSION_COLUMNS,
    first_wide_entry,
    legs_query,
    read_only_database,
    versions_query,
    violations_query,
)

INVARIANT_NAMES = tuple(INVARIANTS)
"""Every custom invariant by name, in ``invariant_sql.INVARIANTS`` order."""

LEGS = sa.table("legs", *[sa.column(name) for name in LEG_COLUMNS])
"""The relation every statement reads: the ``legs`` rows (``LEG_COLUMNS``)."""

VIOLATION_ORDER = [
    *VIOLATION_KEY,
    *(name for name in VIOLATION_SCHEMA if name not in VIOLATION_KEY),
]
"""VIOLATION_KEY, then every other column: a total order, whatever order an engine used."""


class QueryEngine(Protocol):
    """Runs one invariant statement over the relation ``legs`` where the data lives."""

    name: str
    """``frames``, ``sqlite``, ``postgresql`` or ``spark``."""
    dialect: str
    """The flavour ``violations_query`` builds for: ``sqlite`` or ``postgresql``."""

    def fetch(self, statement: sa.Select[Any]) -> pl.DataFrame:
        """The statement's rows as a VIOLATION_SCHEMA frame (any order)."""
        ...

    def shared_versions(self) -> sa.TableClause | None:
        """A relation holding ``versions_query``'s rows for every statement, or None.

        None: each statement derives them (a read-only database cannot hold a table).
        """
        ...


def violations_on(engine: QueryEngine, invariant: str) -> pl.DataFrame:
    """One invariant's violations on ``engine``, in a total order (VIOLATION_KEY first)."""
    statement = violations_query(invariant, LEGS, engine.dialect, engine.shared_versions())
    return engine.fetch(statement).sort(VIOLATION_ORDER, nulls_last=True)


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=VIOLATION_SCHEMA)


# --- frames: DuckDB over Arrow ------------------------------------------------------------


class _DuckDBTypes(PGTypeCompiler):
    """PostgreSQL's type names, BIGINT widened to HUGEINT (int128): exact halves past int64."""

    def visit_BIGINT(self, type_: sa.BigInteger, **kw: Any) -> str:  # noqa: ANN401, ARG002, N802 - SQLAlchemy's visitor
        return "HUGEINT"


class _WideDuckDBDialect(PGDialect):
    """PostgreSQL's compiler, BIGINT widened to HUGEINT (DuckDB reads PostgreSQL text)."""

    type_compiler_cls = _DuckDBTypes


_WIDE = _WideDuckDBDialect()  # type: ignore[no-untyped-call]  # SQLAlchemy dialects are untyped
_NARROW = PGDialect()  # type: ignore[no-untyped-call]


def duckdb_sql(statement: sa.Select[Any], *, wide: bool) -> str:
    """The statement as DuckDB text (literals inlined: DuckDB gets no bound parameters).

    ``wide``: the amounts go past int64, so every BIGINT is compiled as HUGEINT.
    """
    dialect = _WIDE if wide else _NARROW
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


DUCKDB_MEMORY_FLOOR = 2**30
DUCKDB_MEMORY_CEILING = 4 * 2**30
DUCKDB_BYTES_PER_LEG = 72


def duckdb_memory_limit(legs: int) -> int:
    """DuckDB's working memory over ``legs`` rows, in bytes; beyond it, operators spill.

    They spill to a private temporary folder. :data:`DUCKDB_BYTES_PER_LEG` a leg (a third
    of a leg's size in the demo, 228 bytes), from :data:`DUCKDB_MEMORY_FLOOR` up to
    :data:`DUCKDB_MEMORY_CEILING`. It grows with the legs because a window or a hash
    aggregate over them needs room in proportion, and a fixed limit spills more the larger
    the ledger. It is counted in rows, so a ledger gets the same limit whichever way its
    text columns are held (shared, spilled, as read).

    The floor: unbounded, ``balance_negative``'s windows took 3.2 GiB over the 1M demo's 3M
    legs; at 512 MiB ``ledger_unbalanced`` took 2.5x as long; at 1 GiB the suites' heap peak
    was 1.34-1.35 GiB, and the audit set the 1M close's peak, which must stay under 2 GiB.
    The rate and the ceiling: over the 10M demo's 29.6M legs the statements took 366-398 s
    at 1 GiB, 317 s at 2 GiB (1.2 GB more at the peak), 297 s at 4 GiB (3.3 GB more); at
    2 GiB the audit's heap stays below the close's own peak (``docs/scale.md``).
    """
    return max(DUCKDB_MEMORY_FLOOR, min(DUCKDB_MEMORY_CEILING, legs * DUCKDB_BYTES_PER_LEG))


_SHARED_VERSIONS = "inv_versions_shared"


class FrameEngine:
    """A ``legs`` frame on its own in-process DuckDB connection (zero copy through Arrow).

    The frame crosses as Arrow string views, which are polars' own buffers; the default
    export (``large_string``) would copy every string of the legs once more. A wide
    ledger's amounts (Decimal(38, 0)) are read as HUGEINT by a view, since DuckDB
    shifts and masks integers only; everything else is the frame's buffers as they are.
    DuckDB works within :func:`duckdb_memory_limit` and spills into a temporary folder of
    its own (never the working directory, DuckDB's default), removed on :meth:`close`, or
    by a later engine when this run was killed (``ledger_audit.scratch``).
    """

    name = "frames"
    dialect = "postgresql"

    def __init__(self, legs: pl.DataFrame) -> None:
        schema = legs_schema(legs.schema["amount"])
        self._legs = legs.select([pl.col(n).cast(d) for n, d in schema.items()])
        self._spill = ScratchFolder("ledger-audit-duckdb-")
        limit = duckdb_memory_limit(self._legs.height)
        self._connection = duckdb.connect(
            config={
                "memory_limit": f"{limit // 2**20}MiB",
                "temp_directory": str(self._spill.path),
            }
        )
        self._connection.register(
            "legs_frame", self._legs.to_arrow(compat_level=pl.CompatLevel.newest())
        )
        self._wide = schema["amount"] == WIDE_AMOUNT
        self._versions_made = False
        amount = "CAST(amount AS HUGEINT) AS amount" if self._wide else "amount"
        columns = ", ".join(amount if n == "amount" else n for n in LEG_COLUMNS)
        self._connection.execute(f"CREATE VIEW legs AS SELECT {columns} FROM legs_frame")

    @property
    def legs(self) -> pl.DataFrame:
        """The frame the engine reads (LEGS_SCHEMA, amount Int64 or wide)."""
        return self._legs

    def shared_versions(self) -> sa.TableClause:
        """A DuckDB table of ``versions_query``'s rows, made at the first call.

        Every invariant but one starts from the versions (a distinct over the legs and a
        chain-order rank); at 1M transactions deriving them took several seconds per
        statement.
        """
        if not self._versions_made:
            query = duckdb_sql(versions_query(LEGS, self.dialect), wide=self._wide)
            self._connection.execute(f"CREATE TABLE {_SHARED_VERSIONS} AS {query}")
            self._versions_made = True
        return sa.table(_SHARED_VERSIONS, *[sa.column(name) for name in VERSION_COLUMNS])

    def fetch(self, statement: sa.Select[Any]) -> pl.DataFrame:
        """Run the statement in DuckDB; its result comes back through Arrow."""
        text = duckdb_sql(statement, wide=self._wide)
        result = pl.from_arrow(self._connection.sql(text).to_arrow_table())
        assert isinstance(result, pl.DataFrame)  # noqa: S101 - a table gives a frame
        return violations_from_text(result)

    def close(self) -> None:
        """Release the DuckDB connection and its spill folder (the frame stays the caller's)."""
        self._connection.close()
        self._spill.remove()


@contextmanager
def frame_engine(legs: pl.DataFrame) -> Iterator[FrameEngine]:
    """A :class:`FrameEngine` for the block."""
    engine = FrameEngine(legs)
    try:
        yield engine
    finally:
        engine.close()


# --- databases: SQLite and PostgreSQL, read-only ------------------------------------------


class DatabaseEngine:
    """A read-only SQLite or PostgreSQL connection; ``legs`` is the ``legs_query`` rows.

    With ``stored_legs`` the database holds a relation named ``legs`` itself (a test's table).
    """

    def __init__(self, engine: sa.Engine, *, stored_legs: bool = False) -> None:
        self._engine = engine
        self.dialect = engine.dialect.name
        self.name = self.dialect
        self._stored = stored_legs

    def shared_versions(self) -> None:
        """None: the database is read-only, so each statement derives the versions."""

    def fetch(self, statement: sa.Select[Any]) -> pl.DataFrame:
        """Run the statement in the database (bound parameters, the ``legs`` rows as a CTE)."""
        if not self._stored:
            statement = statement.add_cte(legs_query().cte("legs"))
        with self._engine.connect() as connection:
            rows: Sequence[Mapping[str, Any]] = [
                dict(row._mapping)  # noqa: SLF001 - SQLAlchemy's public row API
                for row in connection.execute(statement)
            ]
        return violations_from_rows(rows) if rows else _empty()


@contextmanager
def read_only_engine(url: str, *, exact_sums: bool = True) -> Iterator[sa.Engine]:
    """A SQLAlchemy engine on ``url`` for the block, opened so it cannot write.

    ``exact_sums``: a ledger with an entry amount beyond int64 is refused. The statements
    read amounts as BIGINT, which PostgreSQL refuses and SQLite clamps (a REAL 1e30 reads
    as 2^63 - 1), so the sums would be wrong or missing; the frames sum it exactly.
    """
    wide = first_wide_entry(url) if exact_sums else None
    if wide is not None:
        raise InputError(
            url, f"{wide} has an amount beyond int64, which SQL cannot sum exactly: use the frames"
        )
    with read_only_database(url) as read_only:
        engine = sa.create_engine(read_only, poolclass=NullPool)
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def database_engine(url: str, *, stored_legs: bool = False) -> Iterator[DatabaseEngine]:
    """A :class:`DatabaseEngine` on ``url`` for the block (:func:`read_only_engine`).

    With ``stored_legs`` (a test's own ``legs`` table) the int64 check is skipped.
    """
    with read_only_engine(url, exact_sums=not stored_legs) as engine:
        yield DatabaseEngine(engine, stored_legs=stored_legs)
