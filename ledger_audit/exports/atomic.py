"""Write a whole file or nothing: a temporary name in the same folder, then a rename.

Every writer in ``exports`` goes through :func:`write_atomic`, so a crash never leaves a
half-written file that looks like a result.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import polars as pl

PARQUET_ROW_GROUP_ROWS = 131_072
"""Rows per Parquet row group, fixed: without it polars writes a row group per chunk of the
frame, and chunking depends on how its threads built the frame, so the same rows gave a
different file (and manifest digest) from run to run (seen on the 1M demo's tables)."""

ZSTD_LEVEL = 1
"""zstd's level for Parquet. On the 1M close's four largest tables (0.8-2.0M rows each),
level 1 wrote each 30-40% faster than polars' default level and the files came out 4-8%
smaller (``docs/scale.md``)."""


_OS_ERROR = re.compile(r"\(os error (\d+)\)")


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write`` on a temporary path beside ``path``, then rename it into place.

    polars reports a failed Parquet write (a full disk) as a ``ComputeError`` naming the
    OS error's number; it is raised as that ``OSError`` on ``path``, so the command line
    says what happened to which file rather than calling it a bug. An ``OSError`` that names
    no file (a full disk met by a nameless temporary file, such as the workpaper's rendered
    sheets) is raised on ``path`` too.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        try:
            write(partial)
        except pl.exceptions.ComputeError as exc:
            found = _OS_ERROR.search(str(exc))
            if found is None:
                raise
            number = int(found.group(1))
            raise OSError(number, os.strerror(number), str(path)) from exc
        except OSError as exc:
            if exc.filename is not None or exc.errno is None:
                raise
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def write_text_atomic(path: Path, text: str, *, newline: str = "\n") -> Path:
    """Write ``text`` (UTF-8, each line ending written as ``newline``) atomically."""

    def write(partial: Path) -> None:
        with partial.open("w", encoding="utf-8", newline=newline) as handle:
            handle.write(text)

    return write_atomic(path, write)


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` atomically."""
    return write_atomic(path, lambda partial: partial.write_bytes(data))


def write_parquet_atomic(
    path: Path,
    frame: pl.DataFrame,
    *,
    compression: Literal["zstd", "snappy", "uncompressed"] = "zstd",
    statistics: bool = False,
) -> Path:
    """Write ``frame`` as Parquet atomically; the bytes depend on its rows, not its chunks.

    zstd at :data:`ZSTD_LEVEL`, not the library's default level.
    """
    return write_atomic(
        path,
        lambda partial: frame.write_parquet(
            partial,
            compression=compression,
            compression_level=ZSTD_LEVEL if compression == "zstd" else None,
            statistics=statistics,
            row_group_size=PARQUET_ROW_GROUP_ROWS,
        ),
    )
