"""Write a ledger snapshot: one file per canonical table, readable back by ``load_ledger``.

A database ledger snapshotted here reads back identically (``LedgerFrames.equals``) through
the Parquet and the CSV readers, so an audit can ship the exact ledger it judged.

CSV layout: a header row, ``,`` separated, LF line ends, UTF-8; a null is an empty
field and an empty string is a quoted ``""``; booleans are ``true`` / ``false``; integers
and Decimal(38, 0) amounts are written in full (never in exponent form).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from ledger_audit.exports.atomic import write_atomic, write_parquet_atomic
from ledger_audit.sources.files import table_file
from ledger_audit.sources.ledger_frames import LedgerFrames


def _write_atomically(frame: pl.DataFrame, path: Path, fmt: Literal["parquet", "csv"]) -> None:
    """Write beside the target and rename, so a crash never leaves a half-written table."""
    if fmt == "parquet":
        write_parquet_atomic(path, frame, statistics=True)
    else:
        write_atomic(
            path,
            lambda p: frame.write_csv(p, include_header=True, null_value="", line_terminator="\n"),
        )


def write_ledger_snapshot(
    frames: LedgerFrames, folder: Path, fmt: Literal["parquet", "csv"]
) -> list[Path]:
    """Write ``<table>.<fmt>`` for each of the six tables into ``folder`` (created if needed).

    Existing files of the same names are replaced. Returns the paths in CANONICAL_TABLES
    order.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for table, frame in frames.items():
        path = table_file(folder, table, fmt)
        _write_atomically(frame, path, fmt)
        written.append(path)
    return written
