"""``load_ledger``: one call from a URL or path to canonical frames and a load report.

Sources are keyed by URL scheme or path (STYLE.md habit 7):

- ``sqlite:///path.db``, or a ``.sqlite`` / ``.sqlite3`` / ``.db`` file path: SQLite;
- ``postgresql://...`` or ``postgresql+psycopg://...``: PostgreSQL;
- a folder of ``<table>.parquet`` or of ``<table>.csv`` files: a ledger snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from ledger_audit.errors import InputError
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources.conform import conform_table
from ledger_audit.sources.database import open_postgres, open_sqlite
from ledger_audit.sources.files import FILE_FORMATS, FileFormat, FolderReader, table_file
from ledger_audit.sources.heap import release_free_heap
from ledger_audit.sources.ledger_frames import LedgerFrames, LoadReport, TableCount
from ledger_audit.sources.mapping import SourceMapping, build_tables, open_relations, read_mapping
from ledger_audit.sources.mapping.relations import RelationSource
from ledger_audit.sources.mapping.validate import check_against_catalogue
from ledger_audit.sources.raw_source import LedgerSource
from ledger_audit.sources.spill import spilled

DEFAULT_BATCH_SIZE = 65_536
"""Rows per database batch: large enough to amortise per-batch work, small enough to stream."""

SQLITE_SUFFIXES = frozenset({".sqlite", ".sqlite3", ".db"})
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")


def _folder_format(folder: Path) -> FileFormat:
    """The one file format a snapshot folder uses; a mix or neither is an InputError."""
    found = [
        fmt
        for fmt in FILE_FORMATS
        if any(table_file(folder, table, fmt).is_file() for table in CANONICAL_TABLES)
    ]
    if len(found) == 1:
        return found[0]
    expected = " or ".join(f"<table>.{fmt}" for fmt in FILE_FORMATS)
    if not found:
        raise InputError(str(folder), f"no ledger files ({expected}) in this folder")
    raise InputError(str(folder), f"both {expected} files: keep one format per folder")


def _open_url(url: str, scheme: str, batch_size: int, side_by_side: bool) -> Iterator[LedgerSource]:
    backend = scheme.split("+", 1)[0].lower()
    if backend == "sqlite":
        database = sa.make_url(url).database
        if not database or database == ":memory:":
            raise InputError(url, "an in-memory SQLite database has no ledger to read")
        with open_sqlite(
            Path(database), batch_size=batch_size, side_by_side=side_by_side
        ) as reader:
            yield reader
    elif backend in {"postgresql", "postgres"}:
        with open_postgres(url, batch_size=batch_size) as reader:
            yield reader
    else:
        raise InputError(url, f"unsupported source scheme {scheme!r}: use sqlite or postgresql")


@contextmanager
def open_source(
    source: str | Path, *, batch_size: int = DEFAULT_BATCH_SIZE, side_by_side: bool = False
) -> Iterator[LedgerSource]:
    """Open ``source`` for reading; a database holds one read-only snapshot until the block ends.

    ``side_by_side``: the caller reads whole tables only (``read_raw``); a SQLite file then
    reads each in rowid ranges on a connection per core (``sources.sqlite_parts``).
    """
    if batch_size < 1:
        raise InputError("batch_size", f"must be at least 1, got {batch_size}")
    if isinstance(source, str) and (match := _URL.match(source)):
        yield from _open_url(source, match["scheme"], batch_size, side_by_side)
        return
    path = Path(source)
    if path.is_dir():
        yield FolderReader(path, _folder_format(path))
    elif path.is_file() and path.suffix.lower() in SQLITE_SUFFIXES:
        with open_sqlite(path, batch_size=batch_size, side_by_side=side_by_side) as reader:
            yield reader
    elif path.exists():
        raise InputError(str(path), "not a ledger source: expected a SQLite file or a folder")
    else:
        raise InputError(str(path), "no such file or folder")


def check_source(source: str | Path, *, mapping: str | Path | None = None) -> None:
    """Open ``source`` and check its catalogue (or the mapping against it); read no row.

    Raises the InputError a load would raise on a missing table, file, column or a mapping
    the source cannot serve, in the time it takes to read a catalogue.
    """
    if mapping is None:
        with open_source(source):
            return
    spec = read_mapping(Path(mapping))
    with open_relations(source) as opened:
        check_against_catalogue(spec, opened)


def load_mapped(source: str | Path, mapping: SourceMapping) -> tuple[LedgerFrames, LoadReport]:
    """Read a user's own relations through ``mapping`` into canonical frames.

    The mapping is checked against the source's catalogue before any row is read; rows the
    mapping cannot convert, and canonical rows ``conform`` cannot represent, are reported.
    """
    with open_relations(source) as opened:
        return load_mapped_from(opened, mapping)


def load_mapped_from(
    opened: RelationSource, mapping: SourceMapping, *, notes: tuple[str, ...] = ()
) -> tuple[LedgerFrames, LoadReport]:
    """:func:`load_mapped` over a source already open.

    An adapter reads its own rows from the same read-only snapshot; ``notes`` (what the
    source cannot give) join the report's.
    """
    mapped = build_tables(mapping, opened)
    label = opened.label
    conformed = {
        table: conform_table(
            mapped.tables[table],
            table,
            source=f"{label} (mapped {table})",
            locate_by="key",
            in_key_order=table in mapped.in_key_order,
        )
        for table in CANONICAL_TABLES
    }
    frames = LedgerFrames.from_tables({table: c.frame for table, c in conformed.items()})
    report = LoadReport(
        source=label,
        counts=tuple(c.count for c in conformed.values()),
        rejections=pl.concat([mapped.rejections, *(c.rejections for c in conformed.values())]),
        source_counts=mapped.counts,
        notes=(*mapped.notes, *notes),
        mapping=str(mapping.path),
    )
    return frames, report


def load_ledger(
    source: str | Path,
    *,
    mapping: str | Path | SourceMapping | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> tuple[LedgerFrames, LoadReport]:
    """Read a ledger into canonical frames, with what was read, loaded and rejected.

    Rows that cannot be represented are rejected (listed in the report); everything else,
    audit problems included, is loaded for the checks to judge. Raises InputError when the
    source cannot be opened or a table, file or column is missing. With ``mapping`` (a
    ``mapping.toml`` path or a read mapping), the source is the user's own tables, read
    through the mapping (``docs/mapping.md``). Inside a close's spill area
    (``sources.spill``), each table is moved to a mapped file as soon as it is conformed,
    before the next is read.
    """
    if mapping is not None:
        spec = mapping if isinstance(mapping, SourceMapping) else read_mapping(Path(mapping))
        return load_mapped(source, spec)
    tables: dict[str, pl.DataFrame] = {}
    counts: list[TableCount] = []
    rejections: list[pl.DataFrame] = []
    with open_source(source, batch_size=batch_size, side_by_side=True) as opened:
        for table in CANONICAL_TABLES:
            conformed = conform_table(
                opened.read_raw(table),
                table,
                source=opened.table_label(table),
                locate_by=opened.locate_by,
                consume=True,  # the rows as read go column by column as they are conformed
            )
            tables[table] = spilled(conformed.frame)  # out of the heap before the next read
            counts.append(conformed.count)
            rejections.append(conformed.rejections)
            del conformed
            release_free_heap()  # what conform freed, and the table now in a mapped file
        label = opened.label
    frames = LedgerFrames.from_tables(tables, hand_over=True)  # each replaced column goes
    report = LoadReport(source=label, counts=tuple(counts), rejections=pl.concat(rejections))
    release_free_heap()  # the batches' copies and those columns: give their pages back
    return frames, report
