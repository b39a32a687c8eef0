"""Large frames moved out of the heap into memory-mapped Arrow files.

A close holds the loaded ledger and what each stage made until the bundle is written: at
1M transactions the ledger's frames are about 1.1 GiB of heap, and the journals'
drill-down, the JET findings, the statements' records, the reconciliation's links and the
idempotency classes about 1.5 GiB more; at 10M they would be ten times that. Most of it is
not read again until the bundle writes it out.

:class:`Spill` writes such a frame once to an uncompressed Arrow IPC file, maps the file
and hands back a polars frame over the mapping (pyarrow reads it without a copy, polars
imports it without a copy), then unlinks the file: the mapping keeps its pages, the
kernel frees them when the frame goes. The values, dtypes and column order are the same;
the pages are the page cache's, read back on demand and evictable under memory pressure,
so they count in RSS only while they are resident.

Why not polars' own readers: ``read_ipc`` copies into the heap (polars 2.1 has no
``memory_map`` option any more), and a lazy ``scan_parquet`` would change the type every
reader of these fields gets. Columns pyarrow cannot read back (128-bit integers) stay in
memory beside the mapped ones. A folder that cannot be written (full, read-only) keeps the
frame in memory: the result is the same, only the memory is not saved, and the
``Spill`` counts it.

The folder must be on disk: on a ``tmpfs`` the file's pages are memory whatever happens
(Debian 13 mounts ``/tmp`` as ``tmpfs``), hence the default under the user's cache folder.
A run that is killed leaves at most its empty private folder: every file is unlinked as
soon as it is mapped.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import tempfile
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

SPILL_MIN_BYTES = 64 * 2**20
"""Frames smaller than this (polars' estimate) stay in memory: a small frame saves little."""

SPILL_ENV = "LEDGER_AUDIT_SPILL"
"""Environment variable: a folder to spill into, or ``off`` to keep every frame in memory."""

_UNMAPPABLE = (pl.Int128, pl.UInt128)
_ACTIVE: ContextVar[Spill | None] = ContextVar("ledger_audit_spill", default=None)
"""The spill of the run in progress (``spill_area``), for frames made deep inside a stage."""

R = TypeVar("R")


def default_folder() -> Path | None:
    """Where a close spills: ``$LEDGER_AUDIT_SPILL``, else the user's cache folder; None: off."""
    chosen = os.environ.get(SPILL_ENV, "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ledger-audit" / "spill"


class Spill:
    """Moves frames of at least ``min_bytes`` into mapped files in a private folder.

    The private folder is made under ``root`` at the first frame moved, and removed by
    :meth:`close`; each file in it is unlinked as soon as it is mapped.

    Attributes:
        root: where the private folder is made.
        min_bytes: the smallest frame (``estimated_size``) moved.
        frames: how many frames were moved.
        bytes: their estimated size in all.
        written: the bytes of the files written for them (each unlinked once mapped).
        failed: how many could not be written and stayed in memory.
    """

    def __init__(self, root: Path, min_bytes: int = SPILL_MIN_BYTES) -> None:
        self.root = root
        self.min_bytes = min_bytes
        self.frames = 0
        self.bytes = 0
        self.written = 0
        self.failed = 0
        self._names = itertools.count()
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        # the frames this spill handed back, so that moving one again writes nothing
        self._mapped: dict[int, weakref.ref[pl.DataFrame]] = {}

    def close(self) -> None:
        """Remove the private folder (the mapped frames stay valid: their files are gone)."""
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame``'s rows over a mapped file; ``frame`` itself when small or unwritable.

        A frame this spill already handed back is returned as it is: a stage may move its
        results as it makes them and the close move the whole record again afterwards.
        """
        if self.moved(frame):
            return frame
        if frame.estimated_size() < self.min_bytes:
            return frame
        return self._move(frame)

    def columns(self, columns: Iterable[pl.Series]) -> pl.DataFrame:
        """A frame of ``columns``, moved a group at a time as they come.

        For a large frame made column by column (the audit's legs): each group of columns
        of at least ``min_bytes`` is moved before the next column is made, so the heap
        holds about one group rather than the frame. Columns that add up to less than
        ``min_bytes`` stay in memory, as :meth:`frame` keeps a small frame.
        """
        failed = self.failed
        parts: list[pl.DataFrame] = []
        group: list[pl.Series] = []
        size = 0
        for column in columns:
            group.append(column)
            size += int(column.estimated_size())
            if size >= self.min_bytes:
                parts.append(self._move(pl.DataFrame(group)))
                group, size = [], 0
        if group:  # the rest goes where the rest of the frame went
            rest = pl.DataFrame(group)
            parts.append(self._move(rest) if parts else rest)
        if not parts:
            return pl.DataFrame()
        whole = pl.concat(parts, how="horizontal")
        # moved as far as it can be (128-bit columns stay in memory, as in ``frame``)
        if self.failed == failed and any(self.moved(part) for part in parts):
            self._remember(whole)
        return whole

    def _move(self, frame: pl.DataFrame) -> pl.DataFrame:
        size = int(frame.estimated_size())
        if frame.width == 0:
            return frame
        kept = [name for name, dtype in frame.schema.items() if _unmappable(dtype)]
        moved = frame.drop(kept)
        if moved.width == 0:
            return frame
        try:
            mapped = self._map(moved)
        except OSError:
            self.failed += 1
            return frame
        if kept:
            mapped = mapped.with_columns(frame.select(kept)).select(frame.columns)
        if mapped.schema != frame.schema:  # never expected; the frame is kept as it was
            self.failed += 1
            return frame
        self.frames += 1
        self.bytes += size
        self._remember(mapped)
        return mapped

    def _remember(self, mapped: pl.DataFrame) -> None:
        key = id(mapped)
        self._mapped[key] = weakref.ref(mapped, lambda _: self._mapped.pop(key, None))

    def moved(self, frame: pl.DataFrame) -> bool:
        """True when ``frame`` is one this spill handed back (its rows over a mapped file)."""
        known = self._mapped.get(id(frame))
        return known is not None and known() is frame

    def record(self, record: R) -> R:
        """``record`` with each large frame field moved, nested records' fields included.

        ``record`` is a dataclass instance; other values (tuples, scalars) are left as they
        are. The copy is made by ``dataclasses.replace``, so its checks run again.
        """
        if not dataclasses.is_dataclass(record) or isinstance(record, type):
            return record
        changes: dict[str, Any] = {}
        for field in dataclasses.fields(record):
            if not field.init:
                continue
            value = getattr(record, field.name)
            if isinstance(value, pl.DataFrame):
                moved: Any = self.frame(value)
            elif dataclasses.is_dataclass(value) and not isinstance(value, type):
                moved = self.record(value)
            else:
                continue
            if moved is not value:
                changes[field.name] = moved
        return dataclasses.replace(record, **changes) if changes else record

    def _map(self, frame: pl.DataFrame) -> pl.DataFrame:
        import pyarrow as pa  # noqa: PLC0415 - only a close that spills needs it
        from pyarrow import ipc  # noqa: PLC0415

        if self._folder is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self._folder = tempfile.TemporaryDirectory(prefix="run-", dir=self.root)
        path = Path(self._folder.name) / f"frame-{next(self._names)}.arrow"
        try:
            frame.write_ipc(path, compression="uncompressed")
            self.written += path.stat().st_size
            table = ipc.open_file(pa.memory_map(str(path))).read_all()
        finally:
            path.unlink(missing_ok=True)  # the mapping keeps the pages; nothing is left on disk
        return pl.DataFrame(pl.from_arrow(table, rechunk=False))


@contextmanager
def spill_area(root: Path | None, min_bytes: int = SPILL_MIN_BYTES) -> Iterator[Spill | None]:
    """One run's :class:`Spill` under ``root``, its folder removed at the end; None: off.

    Within the block :func:`spilled` uses it.
    """
    if root is None:
        yield None
        return
    spill = Spill(root, min_bytes)
    token = _ACTIVE.set(spill)
    try:
        yield spill
    finally:
        _ACTIVE.reset(token)
        spill.close()


def spilled(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` moved by the run's spill (inside ``spill_area``); as it is outside one.

    For a large frame a stage makes and reads many times, such as the audit's legs.
    """
    spill = _ACTIVE.get()
    return frame if spill is None else spill.frame(frame)


def spilled_columns(columns: Iterable[pl.Series]) -> pl.DataFrame:
    """A frame of ``columns`` moved by the run's spill as they come (``Spill.columns``).

    Outside a spill area, the frame of them in memory.
    """
    spill = _ACTIVE.get()
    return pl.DataFrame(list(columns)) if spill is None else spill.columns(columns)


def spilled_record(record: R) -> R:
    """``record``'s large frames moved by the run's spill (``Spill.record``); as it is outside one.

    For a stage that makes several results in turn: each leaves the heap before the next is
    made, rather than all of them at the stage's end.
    """
    spill = _ACTIVE.get()
    return record if spill is None else spill.record(record)


def _unmappable(dtype: pl.DataType) -> bool:
    """True when pyarrow cannot read the column back (a 128-bit integer, at any depth)."""
    if isinstance(dtype, _UNMAPPABLE):
        return True
    inner = getattr(dtype, "inner", None)
    if isinstance(inner, pl.DataType) and _unmappable(inner):
        return True
    fields = getattr(dtype, "fields", None) or ()
    return any(_unmappable(f.dtype) for f in fields)
