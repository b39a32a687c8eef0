"""Parquet exports: the bytes depend on the rows, never on how polars chunked the frame."""

from __future__ import annotations

import errno
import itertools
import os
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.exports.atomic import (
    PARQUET_ROW_GROUP_ROWS,
    write_atomic,
    write_parquet_atomic,
)
from ledger_audit.exports.findings import write_frame

ROWS = pl.DataFrame(
    {
        "transaction_id": [f"tx-{i:05d}" for i in range(1_000)],
        "amount": list(range(1_000)),
        "note": [None if i % 7 else "seven" for i in range(1_000)],
    }
)


def chunked(frame: pl.DataFrame, cuts: list[int]) -> pl.DataFrame:
    """The same rows in pieces cut at ``cuts`` (as a parallel build leaves them)."""
    bounds = [0, *sorted(set(cuts)), frame.height]
    pieces = [frame.slice(a, b - a) for a, b in itertools.pairwise(bounds) if b > a]
    return pl.concat(pieces, rechunk=False)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, ROWS.height - 1), max_size=6))
def test_the_same_rows_in_any_chunks_write_the_same_file(
    tmp_path_factory: pytest.TempPathFactory, cuts: list[int]
) -> None:
    folder: Path = tmp_path_factory.mktemp("tables")
    pieces = chunked(ROWS, cuts)
    assert pieces.n_chunks() == len(set(cuts)) + 1
    whole, _ = write_frame(ROWS, folder / "whole", "t")
    split, _ = write_frame(pieces, folder / "split", "t")
    assert whole.read_bytes() == split.read_bytes()
    assert pl.read_parquet(split).equals(ROWS)


def test_row_groups_have_the_fixed_size(tmp_path: Path) -> None:
    frame = pl.DataFrame({"n": range(PARQUET_ROW_GROUP_ROWS + 5)})
    path = write_parquet_atomic(tmp_path / "n.parquet", chunked(frame, [3, 10, 70_000]))
    meta = pq.ParquetFile(path).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes == [PARQUET_ROW_GROUP_ROWS, 5]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_full_disk_is_an_os_error_on_the_file_and_leaves_nothing(tmp_path: Path) -> None:
    """polars reports a failed Parquet write as a ComputeError; the writer raises the OSError.

    ``/dev/full`` fails every write with ENOSPC, as a full disk does; the command line
    prints an ``OSError`` as one line with exit 2, anything else as a bug.
    """
    path = tmp_path / "entries.parquet"
    with pytest.raises(OSError, match="No space left on device") as raised:
        write_atomic(path, lambda _partial: ROWS.write_parquet("/dev/full"))
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == str(path)
    assert isinstance(raised.value.__cause__, pl.exceptions.ComputeError)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(pl.exceptions.ComputeError, match="not an OS error"):
        write_atomic(path, lambda _partial: _raise(pl.exceptions.ComputeError("not an OS error")))
    assert list(tmp_path.iterdir()) == []


def test_an_os_error_on_no_named_file_is_raised_on_the_file_written(tmp_path: Path) -> None:
    """A temporary file has no name: a full disk met there still names the file written."""
    path = tmp_path / "workpaper.xlsx"
    nameless = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    with pytest.raises(OSError, match="No space left on device") as raised:
        write_atomic(path, lambda _partial: _raise(nameless))
    assert (raised.value.errno, raised.value.filename) == (errno.ENOSPC, str(path))
    assert raised.value.__cause__ is nameless
    named = OSError(errno.EACCES, os.strerror(errno.EACCES), "/elsewhere/file")
    with pytest.raises(OSError, match="Permission denied") as kept:
        write_atomic(path, lambda _partial: _raise(named))
    assert kept.value is named  # a file it names already stays named
    assert list(tmp_path.iterdir()) == []


def _raise(exc: Exception) -> None:
    raise exc
