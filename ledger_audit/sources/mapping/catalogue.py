"""What ``init`` looks at: every relation's columns and a sample of its rows, as text.

The sample is the first rows of each relation (the source's own order), read through the
read-only :mod:`relations` layer. Values are kept as text so that one set of rules reads a
SQLite file (text with type tags), PostgreSQL (NUMERIC as exact text), Parquet and CSV alike;
the column's :class:`TypeClass` says what the source declared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from ledger_audit.sources.mapping import vocabulary as words
from ledger_audit.sources.mapping.relations import (
    FILE_SUFFIXES,
    TYPE_SUFFIX,
    Column,
    RelationRef,
    RelationSource,
    TypeClass,
)

SAMPLE_ROWS = 1_000
"""Rows read per relation: enough for the names, types, number forms and sign convention."""
VALUE_ROWS = 100_000
"""Rows whose distinct values are read for the columns that become value maps (status,
direction, type, kind) or scales (currency): a value the map lacks would reject its rows."""
MAX_VALUES = 41
"""Distinct values kept per such column: more than a map would hold."""
_VALUE_COLUMNS = frozenset(
    (
        *words.STATUS,
        *words.DIRECTION,
        *words.ACCOUNT_TYPE,
        *words.NORMAL_BALANCE,
        *words.KIND,
        *words.CURRENCY,
    )
)


@dataclass(frozen=True, slots=True)
class SampledRelation:
    """One relation: its name, its columns and its first rows (every value as text).

    Attributes:
        name: as the mapping's ``from`` names it (a file keeps its suffix).
        stem: lower-cased name without schema or file suffix, for matching known names.
        columns: in source order.
        rows: the sample, one String column per source column.
        real_columns: SQLite only: columns where a sampled value is stored as REAL (a float,
            whatever the declared type).
        value_sets: the distinct values of the value-map and currency columns over the first
            ``VALUE_ROWS`` rows (at most ``MAX_VALUES`` each, sorted).
        value_rows: how many rows the value sets were read from.
    """

    name: str
    stem: str
    columns: tuple[Column, ...]
    rows: pl.DataFrame
    real_columns: frozenset[str] = frozenset()
    value_sets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    value_rows: int = 0

    def column(self, candidates: Sequence[str]) -> Column | None:
        """The first of ``candidates`` (lower-case names, in preference order) it has."""
        by_name = {c.name.lower(): c for c in self.columns}
        for candidate in candidates:
            if candidate in by_name:
                return by_name[candidate]
        return None

    def values(self, column: str) -> pl.Series:
        """The non-null sampled values of ``column``, as text."""
        return self.rows.get_column(column).drop_nulls()

    def distinct(self, column: str) -> tuple[str, ...]:
        """The distinct non-null values of ``column``, sorted.

        Over the first ``VALUE_ROWS`` rows for value-map and currency columns, else the sample.
        """
        for name, values in self.value_sets:
            if name == column:
                return values
        return tuple(sorted(self.values(column).unique().to_list()))


def stem_of(name: str) -> str:
    """``public.Ledger_Entries`` -> ``ledger_entries``; ``entries.parquet`` -> ``entries``."""
    base = name.rsplit(".", 1)[-1] if not name.lower().endswith(FILE_SUFFIXES) else name
    for suffix in FILE_SUFFIXES:
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
    return base.lower()


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text; nested and binary values (no mapping field reads them) as null."""
    return frame.select(
        pl.lit(None, pl.String()).alias(name)
        if dtype.is_nested() or dtype in {pl.Binary(), pl.Object()}
        else pl.col(name).cast(pl.String(), strict=False)
        for name, dtype in frame.schema.items()
    )


def sample_relation(source: RelationSource, name: str, limit: int) -> SampledRelation:
    """The columns and first ``limit`` rows of relation ``name``."""
    ref = RelationRef(name=name)
    columns = source.columns(ref)
    names = [c.name for c in columns]
    real: frozenset[str] = frozenset()
    if source.kind == "sqlite" and names:
        quoted = '"' + name.replace('"', '""') + '"'
        tagged = source.read(RelationRef(query=f"SELECT * FROM {quoted} LIMIT {int(limit)}"), names)
        real = frozenset(n for n in names if (tagged.get_column(n + TYPE_SUFFIX) == "real").any())
        rows = tagged.select(names)
    else:
        rows = source.sample(ref, limit)
    value_columns = [n for n in names if n.lower() in _VALUE_COLUMNS]
    value_sets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    value_rows = 0
    if value_columns:
        head = _as_text(source.head(ref, value_columns, VALUE_ROWS))
        value_rows = head.height
        value_sets = tuple(
            (n, tuple(head.get_column(n).drop_nulls().unique().sort().head(MAX_VALUES).to_list()))
            for n in value_columns
        )
    return SampledRelation(
        name=name,
        stem=stem_of(name),
        columns=columns,
        rows=_as_text(rows.select(names)) if names else pl.DataFrame(),
        real_columns=real,
        value_sets=value_sets,
        value_rows=value_rows,
    )


def sample_source(source: RelationSource, limit: int = SAMPLE_ROWS) -> tuple[SampledRelation, ...]:
    """Every relation of ``source``, sampled, in name order."""
    return tuple(sample_relation(source, name, limit) for name in source.relations())


def is_text_like(column: Column) -> bool:
    """A column whose values the sample holds as the source wrote them (text or untyped)."""
    return column.type_class in {TypeClass.TEXT, TypeClass.ANY}
