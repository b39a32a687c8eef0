"""A canonical ledger's chain read a batch at a time, for the streamed LACH-1 verifier.

Why: a chain link needs only its predecessor, so ``checks.chain_stream`` verifies a chain
from the versions in (ledger_id, chain_seq) order and the entries in those versions' order,
one batch in memory, where loading the frames takes 7.3 GiB at 10M versions. This module
reads those batches from the canonical sources, without loading the tables:

- SQLite and PostgreSQL: the database orders the rows (the unique index on (ledger_id,
  chain_seq); each entry joined to its version). SQLite through the loader's read-only
  connection and its type probe; PostgreSQL through two server-side cursors (FETCH) in the
  loader's one REPEATABLE READ READ ONLY transaction.
- A folder of Parquet or CSV files has no index: one pass over the key columns gives each
  version its chain position and each entry its version's. A file already in that order is
  read in slices; another is distributed by position into buckets of one batch each, in a
  temporary folder of its own (never beside the source; ``ledger_audit.scratch``, so a killed
  run's buckets go at the next run), and each bucket is sorted when read.

Every batch goes through the loader's ``conform_table`` (its order kept), so the dtypes and
values are the frames loader's. What a batch cannot give as the loader would (a row conform
rejects, amounts past Int64, a SQLite value of another storage class than declared, two
versions with one key) raises :class:`HandOver` from the iterator: the streamed verifier then
loads the frames, and the load reports what it rejected.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.scratch import ScratchFolder
from ledger_audit.sources.conform import LocateBy, conform_table
from ledger_audit.sources.database import (
    PostgresReader,
    SqliteReader,
    TypeFallback,
    quote_identifier,
)
from ledger_audit.sources.files import FolderReader, table_file
from ledger_audit.sources.load import DEFAULT_BATCH_SIZE, open_source

_VERSION_KEY = ("ledger_id", "transaction_id", "version")
_POS = "__pos"
_NO_VERSION = np.iinfo(np.uint32).max
"""The position of an entry whose version is not in the transactions file (an orphan: the
frame verifier leaves it out of every payload, so the stream does too)."""


class HandOver(Exception):
    """The batches cannot be read as the frames loader reads the tables: load the frames."""


@dataclass(frozen=True, slots=True, eq=False)
class ChainBatches:
    """One canonical source opened for the streamed verifier.

    Attributes:
        label: the source as reports name it (password hidden).
        ledgers: the LEDGERS frame, conformed (which ledgers are chained).
        versions: TRANSACTIONS batches in (ledger_id, chain_seq) order.
        entries: ENTRIES batches in the versions' order.
        connection: the database connection the batches come through (None for files).
    """

    label: str
    ledgers: pl.DataFrame
    versions: Generator[pl.DataFrame]
    entries: Generator[pl.DataFrame]
    connection: object | None = None

    def close(self) -> None:
        """End both streams now: their cursors close and their last batches are freed."""
        self.versions.close()
        self.entries.close()


def conformed_batch(raw: pl.DataFrame, table: str, label: str, locate_by: LocateBy) -> pl.DataFrame:
    """``raw`` through the loader's conversions, in its own order; HandOver if a row is rejected."""
    done = conform_table(raw, table, source=label, locate_by=locate_by, keep_order=True)
    if done.count.rejected:
        first = done.rejections.row(0, named=True)
        raise HandOver(
            f"a row of {table} cannot be loaded ({first['locator']}: {first['column']} "
            f"{first['reason']}); the frames loader reports every such row"
        )
    if table == "entries" and done.frame.schema["amount"] != pl.Int64():
        raise HandOver("entries hold amounts past Int64: the frames loader widens the column")
    return done.frame


def _ledgers(opened: SqliteReader | PostgresReader | FolderReader) -> tuple[pl.DataFrame, bool]:
    """The whole LEDGERS table (small) as the loader conforms it, and whether it rejected a row."""
    done = conform_table(
        opened.read_raw("ledgers"),
        "ledgers",
        source=opened.table_label("ledgers"),
        locate_by=opened.locate_by,
    )
    return done.frame, bool(done.count.rejected)


def _refused(reason: str) -> Generator[pl.DataFrame]:
    """An iterator that hands over at its first batch."""
    if reason:
        raise HandOver(reason)
    yield from ()


# --------------------------------------------------------------------------- databases


def _q(name: str) -> str:
    return quote_identifier(name)


def versions_relation() -> str:
    """Every version, in chain order per ledger (the unique (ledger_id, chain_seq) index)."""
    order = ", ".join(_q(c) for c in ("ledger_id", "chain_seq", "transaction_id", "version"))
    return f"(SELECT * FROM {_q('transactions')} ORDER BY {order}) AS {_q('transactions')}"


def entries_relation() -> str:
    """Every entry of a version, in its version's chain order, then by entry_index."""
    on = " AND ".join(f"t.{_q(c)} = e.{_q(c)}" for c in _VERSION_KEY)
    columns = ("ledger_id", "chain_seq", "transaction_id", "version")
    order = ", ".join([*(f"t.{_q(c)}" for c in columns), f"e.{_q('entry_index')}"])
    return (
        f"(SELECT e.* FROM {_q('transactions')} AS t JOIN {_q('entries')} AS e ON {on} "
        f"ORDER BY {order}) AS {_q('entries')}"
    )


def _database_batches(reader: SqliteReader | PostgresReader, table: str) -> Generator[pl.DataFrame]:
    relation = versions_relation() if table == "transactions" else entries_relation()
    label = reader.table_label(table)
    try:
        for raw in reader.read_batches(table, relation):
            yield conformed_batch(raw, table, label, reader.locate_by)
    except TypeFallback as error:
        raise HandOver(
            f"a value of {table} is stored in another type than its column declares: the "
            "frames loader reads such a table as text"
        ) from error


# --------------------------------------------------------------------------- files


def _scan(folder: FolderReader, table: str) -> pl.LazyFrame:
    path = table_file(folder.folder, table, folder.fmt)
    if folder.fmt == "parquet":
        scan = pl.scan_parquet(path)
    else:
        scan = pl.scan_csv(path, infer_schema=False)
    return scan.select(list(FRAME_SCHEMAS[table]))


def _key_hash() -> pl.Expr:
    """One u64 per version key, from the raw columns of either file (text or typed)."""
    return pl.struct(
        pl.col("ledger_id").cast(pl.String, strict=False),
        pl.col("transaction_id").cast(pl.String, strict=False),
        pl.col("version").cast(pl.Int64, strict=False),
    ).hash(seed=16)


@dataclass(frozen=True, slots=True, eq=False)
class _Positions:
    """Where each row of the two files stands in chain order (a pass over their keys)."""

    versions: np.ndarray  # per transactions row: its chain position
    entries: np.ndarray  # per entries row: its version's chain position (_NO_VERSION: none)
    doubt: str | None  # why the files cannot be streamed (None: they can)


def _positions(folder: FolderReader) -> _Positions:
    """One pass over the key columns of both files (the only whole-file arrays held).

    An entry finds its version by a 64-bit hash of the key: a collision can only hand an
    entry to a wrong version, whose recomputed content then differs, so the stream hands over;
    two versions with one hash hand over at once. Never a false proof.
    """
    keys = (
        _scan(folder, "transactions")
        .select(
            pl.col("ledger_id").cast(pl.String, strict=False),
            pl.col("chain_seq").cast(pl.Int64, strict=False),
            _key_hash().alias("h"),
        )
        .collect()
    )
    order = (
        keys.select(
            pl.arg_sort_by(["ledger_id", "chain_seq"], nulls_last=True, maintain_order=True)
        )
        .to_series()
        .to_numpy()
    )
    versions = np.empty(keys.height, dtype=np.uint32)
    versions[order] = np.arange(keys.height, dtype=np.uint32)
    hashes = keys.get_column("h").to_numpy()
    del keys, order
    by_hash = np.argsort(hashes, kind="stable")
    sorted_hashes = hashes[by_hash]
    doubt = None
    if sorted_hashes.size > 1 and bool(np.any(sorted_hashes[1:] == sorted_hashes[:-1])):
        doubt = "two versions have the same key (or key hash)"
    entry_hashes = _scan(folder, "entries").select(_key_hash()).collect().to_series().to_numpy()
    at = np.searchsorted(sorted_hashes, entry_hashes)
    at_clipped = np.minimum(at, max(sorted_hashes.size - 1, 0))
    found = (at < sorted_hashes.size) & (
        sorted_hashes[at_clipped] == entry_hashes if sorted_hashes.size else False
    )
    entries = np.full(entry_hashes.size, _NO_VERSION, dtype=np.uint32)
    if sorted_hashes.size:
        entries[found] = versions[by_hash[at_clipped[found]]]
    return _Positions(versions, entries, doubt)


def _in_order(positions: np.ndarray) -> bool:
    """True when the rows already come in chain order (no orphan, never going back)."""
    if positions.size == 0:
        return True
    return bool(positions.max() != _NO_VERSION and np.all(positions[1:] >= positions[:-1]))


def _rebatched(frames: Generator[pl.DataFrame], rows: int) -> Generator[pl.DataFrame]:
    """``frames`` cut into batches of at most ``rows`` rows (zero-copy slices)."""
    try:
        for frame in frames:
            for start in range(0, frame.height, rows):
                yield frame.slice(start, rows)
    finally:
        frames.close()


def _sliced(folder: FolderReader, table: str, rows: int, total: int) -> Generator[pl.DataFrame]:
    """The file ``rows`` rows at a time, in file order (it is already in chain order)."""
    scan, label = _scan(folder, table), folder.table_label(table)
    for start in range(0, total, rows):
        yield conformed_batch(scan.slice(start, rows).collect(), table, label, folder.locate_by)


def _bucketed(
    folder: FolderReader, table: str, positions: np.ndarray, rows: int, spill: Path
) -> Generator[pl.DataFrame]:
    """The file in chain order, through buckets on disk.

    Each slice's rows go to the bucket of their position (one batch's worth each, Arrow IPC
    files in ``spill``); each bucket is read, sorted and deleted in turn. Only one slice or
    one bucket is in memory at a time.
    """
    scan, label = _scan(folder, table), folder.table_label(table)
    sort = [_POS, "entry_index"] if table == "entries" else [_POS]
    for start in range(0, positions.size, rows):
        frame = conformed_batch(scan.slice(start, rows).collect(), table, label, folder.locate_by)
        placed = frame.with_columns(
            pl.Series(_POS, positions[start : start + frame.height])
        ).filter(pl.col(_POS) != _NO_VERSION)
        keyed = placed.with_columns((pl.col(_POS) // rows).alias("__b"))
        for (bucket,), part in keyed.partition_by("__b", as_dict=True).items():
            part.drop("__b").write_ipc(spill / f"{table}-{int(bucket):010d}-{start:012d}.arrow")
    buckets = sorted({p.name.split("-")[1] for p in spill.glob(f"{table}-*.arrow")})
    for bucket in buckets:
        parts = sorted(spill.glob(f"{table}-{bucket}-*.arrow"))
        frame = pl.concat([pl.read_ipc(path) for path in parts])
        for path in parts:
            path.unlink()
        yield frame.sort(sort, maintain_order=True).drop(_POS)


def _file_batches(
    folder: FolderReader, rows: int, spill: Path
) -> tuple[Generator[pl.DataFrame], Generator[pl.DataFrame]]:
    """Versions and entries of a folder, in chain order (sliced or bucketed, per file)."""
    state: dict[str, _Positions] = {}

    def positions() -> _Positions:
        if "p" not in state:
            state["p"] = _positions(folder)
        return state["p"]

    def versions() -> Generator[pl.DataFrame]:
        where = positions()
        if where.doubt is not None:
            raise HandOver(where.doubt)
        in_order = where.versions.size == 0 or bool(
            np.all(where.versions == np.arange(where.versions.size, dtype=np.uint32))
        )
        if in_order:
            yield from _sliced(folder, "transactions", rows, where.versions.size)
        else:
            yield from _bucketed(folder, "transactions", where.versions, rows, spill)

    def entries() -> Generator[pl.DataFrame]:
        where = positions()
        if _in_order(where.entries):
            yield from _sliced(folder, "entries", rows, where.entries.size)
        else:
            yield from _bucketed(folder, "entries", where.entries, rows, spill)

    return _read_or_hand_over(folder, versions()), _read_or_hand_over(folder, entries())


def _read_or_hand_over(
    folder: FolderReader, frames: Generator[pl.DataFrame]
) -> Generator[pl.DataFrame]:
    """``frames``, where a read the stream cannot make hands over.

    The frames loader then reads the file whole and names the file and line of what is
    wrong (a CSV quote left open, ...) in its own one-line error.
    """
    try:
        yield from frames
    except (pl.exceptions.PolarsError, OSError) as error:
        first = str(error).strip().split("\n", 1)[0]
        raise HandOver(f"{folder.label} could not be read a slice at a time ({first})") from error


# --------------------------------------------------------------------------- opening


@contextmanager
def open_chain_batches(
    source: str | Path, *, batch_rows: int = DEFAULT_BATCH_SIZE, read_rows: int | None = None
) -> Iterator[ChainBatches]:
    """Open a canonical ``source`` (SQLite, PostgreSQL, a Parquet or CSV folder) for the stream.

    Batches hold at most ``batch_rows`` rows; the source is read (and conformed, and a
    folder bucketed) ``read_rows`` rows at a time, by default ``batch_rows`` but at least
    ``DEFAULT_BATCH_SIZE``, so tiny batches do not cost a read each. Raises
    InputError as ``load_ledger`` does on a source that cannot be opened or lacks a
    canonical table or column. A database keeps its read-only snapshot until the block ends;
    a folder's temporary buckets are removed when it ends.
    """
    if batch_rows < 1 or (read_rows is not None and read_rows < 1):
        raise InputError("--batch-rows", f"must be at least 1, got {batch_rows} ({read_rows})")
    if read_rows is None:
        read_rows = max(batch_rows, DEFAULT_BATCH_SIZE)
    with ExitStack() as stack:
        opened = stack.enter_context(_open(source, read_rows))
        ledgers, rejected = _ledgers(opened)
        if rejected:
            reason = "a row of ledgers cannot be loaded; the frames loader reports it"
            yield ChainBatches(opened.label, ledgers, _refused(reason), _refused(""))
            return
        if isinstance(opened, FolderReader):
            spill = ScratchFolder("ledger-audit-chain-")
            stack.callback(spill.remove)
            versions, entries = _file_batches(opened, read_rows, spill.path)
            connection = None
        else:
            versions = _database_batches(opened, "transactions")
            entries = _database_batches(opened, "entries")
            connection = opened.connection
        yield ChainBatches(
            opened.label,
            ledgers,
            _rebatched(versions, batch_rows),
            _rebatched(entries, batch_rows),
            connection,
        )


@contextmanager
def _open(
    source: str | Path, batch_rows: int
) -> Iterator[SqliteReader | PostgresReader | FolderReader]:
    """The loader's own reader of ``source`` (``load.open_source``)."""
    with open_source(source, batch_size=batch_rows) as opened:
        if not isinstance(opened, SqliteReader | PostgresReader | FolderReader):
            raise InputError(str(source), "this source kind cannot be streamed")
        yield opened
