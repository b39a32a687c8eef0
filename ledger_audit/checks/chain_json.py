"""LACH-1 payloads of a chunk of rows written by one compiled pass over their Arrow buffers.

Why: building the canonical JSON with polars string expressions (escaping, ISO times, the
entries arrays, the concatenation) cost about four times the SHA-256 itself (docs/scale.md,
"Chain verification against the hardware"). Here every payload is written straight into one
output buffer per chunk by ``chain_json_kernel`` (numba, GIL released, so the chunks of
``chain_hashes`` still run on every core); the buffer becomes an Arrow string column that
polars-hash hashes. Only chunks go through it: each worker thread holds one chunk's payloads.

numba compiles on first use and caches the machine code under the user's cache folder
(``$XDG_CACHE_HOME/ledger-audit/numba``; a new private temporary folder, compiling again,
when that is not writable; never the package folder). Small ledgers, under
``JIT_MIN_ROWS`` versions, keep the polars path and never import numba. Without numba, or
for amounts beyond Int64, the polars path runs: the bytes are the same either way.
"""

from __future__ import annotations

import functools
import os
import tempfile
import threading
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

JIT_MIN_ROWS = 100_000
"""Versions from which a verification compiles (or loads) the kernel: below it the import
and the first compilation would cost more than they save."""

_LOCAL = threading.local()
_NUMBERS = ("chain_seq", "version", "effective_ns", "recorded_ns")
_LEG_NUMBERS = ("entry_index", "amount")


def _cache_dir() -> Path:
    """The user's cache folder for numba's machine code; a new private one if unwritable."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "ledger-audit" / "numba"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    else:
        if os.access(folder, os.W_OK):
            return folder
    # a fresh private folder (mode 0700): a shared, guessable path could be planted with code
    return Path(tempfile.mkdtemp(prefix="ledger-audit-numba-"))


@functools.cache
def kernel() -> ModuleType | None:
    """The compiled kernel module, or None when numba cannot be imported."""
    os.environ.setdefault("NUMBA_CACHE_DIR", str(_cache_dir()))
    try:
        from ledger_audit.checks import chain_json_kernel  # noqa: PLC0415 - numba only if used
    except ImportError:
        return None
    return chain_json_kernel


def _texts(
    frame: pl.DataFrame, names: tuple[str, ...]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Every named text column's bytes in one buffer, with per-column offsets and validity."""
    n = frame.height
    offsets = np.empty((len(names), n + 1), np.int64)
    valid = np.empty((len(names), n), np.bool_)
    parts: list[npt.NDArray[np.uint8]] = []
    base = 0
    for c, name in enumerate(names):
        column = frame.get_column(name).cast(pl.String())
        array = column.to_arrow(compat_level=pl.CompatLevel.oldest())
        if array.type != pa.large_string():
            array = array.cast(pa.large_string())
        _, offset_buffer, data_buffer = array.buffers()
        assert offset_buffer is not None  # noqa: S101 - a string array has offsets
        own = np.frombuffer(
            memoryview(offset_buffer), np.int64, count=n + 1, offset=array.offset * 8
        )
        lo, hi = int(own[0]), int(own[-1])
        if data_buffer is not None and hi > lo:
            parts.append(np.frombuffer(memoryview(data_buffer), np.uint8)[lo:hi])
        offsets[c] = own - lo + base
        base += hi - lo
        valid[c] = column.is_not_null().to_numpy()
    data = np.concatenate(parts) if parts else np.zeros(1, np.uint8)
    return data, offsets, valid


def _numbers(
    frame: pl.DataFrame, names: tuple[str, ...]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]] | None:
    """The named integer columns as Int64 rows, with validity; None if one does not fit."""
    values = np.empty((len(names), frame.height), np.int64)
    valid = np.empty((len(names), frame.height), np.bool_)
    for c, name in enumerate(names):
        column = frame.get_column(name)
        wide = column.cast(pl.Int64(), strict=False)
        if wide.null_count() != column.null_count():
            return None  # beyond Int64 (a Decimal(38, 0) amount): the polars path
        values[c] = wide.fill_null(0).to_numpy()
        valid[c] = wide.is_not_null().to_numpy()
    return values, valid


def _buffer(size: int, *, reuse: bool) -> npt.NDArray[np.uint8]:
    """An output buffer of at least ``size`` bytes: the thread's own one when ``reuse``.

    Pages never written are never resident; a reused buffer also saves faulting in fresh
    zeroed pages for every chunk (about a fifth of the kernel's time).
    """
    if not reuse:
        return np.empty(size, np.uint8)
    held: npt.NDArray[np.uint8] | None = getattr(_LOCAL, "buffer", None)
    if held is None or held.size < size:
        held = np.empty(size, np.uint8)
        _LOCAL.buffer = held
    return held


def payloads(
    rows: pl.DataFrame, legs: pl.DataFrame, row_legs: pl.Series, *, reuse: bool = False
) -> pl.Series | None:
    """canonical_json(P(row)) of every row, or None when the kernel cannot write them.

    With ``reuse`` the payloads live in this thread's buffer: the caller must be done with
    them before its next call (hashing them and dropping them does).

    Args:
        rows: the chunk's sealed columns (``chain_hashes.SEALED_COLUMNS``), unescaped.
        legs: the chunk's entries (index, account, asset, direction, amount), row by row and
            by entry index within a row.
        row_legs: n + 1 offsets: row r's entries are ``legs[row_legs[r]:row_legs[r + 1]]``.
        reuse: write into this thread's buffer (see above) instead of a new one.
    """
    module = kernel()
    if module is None:
        return None
    numbers = _numbers(rows, _NUMBERS)
    leg_numbers = _numbers(legs, _LEG_NUMBERS)
    if numbers is None or leg_numbers is None:
        return None
    text_data, text_offsets, text_valid = _texts(rows, module.ROW_TEXT)
    leg_data, leg_offsets, leg_valid = _texts(legs, module.ENTRY_TEXT)
    n, m = rows.height, legs.height
    growth = module.ESCAPE_GROWTH
    bound = module.ROW_BYTES * n + module.ENTRY_BYTES * m
    bound += growth * (text_data.size + leg_data.size) + 1
    out = _buffer(bound, reuse=reuse)
    out_offsets = np.empty(n + 1, np.int64)
    out_valid = np.empty(n, np.bool_)
    used = module.write_payloads(
        text_data,
        text_offsets,
        text_valid,
        numbers[0],
        numbers[1],
        leg_data,
        leg_offsets,
        leg_valid,
        leg_numbers[0],
        leg_numbers[1],
        row_legs.cast(pl.Int64()).to_numpy(),
        out,
        out_offsets,
        out_valid,
    )
    validity = pa.py_buffer(np.packbits(out_valid, bitorder="little").data)
    array = pa.LargeStringArray.from_buffers(
        n,
        pa.py_buffer(out_offsets.data),
        pa.py_buffer(out[:used].data),
        validity,
        null_count=int(n - out_valid.sum()),
    )
    return pl.Series("payload", array, dtype=pl.String())
