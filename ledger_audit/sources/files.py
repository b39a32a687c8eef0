"""Read a ledger snapshot folder: one ``<table>.parquet`` or ``<table>.csv`` file per table.

CSV is read with every column as text (no type inference), so ``conform`` sees exactly what
the file holds: an empty field is null, a quoted empty field ``""`` is the empty string, and
``12.5`` in an integer column is a rejection, not a silent float.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources.conform import LocateBy
from ledger_audit.sources.hints import NOT_CANONICAL

FileFormat = Literal["parquet", "csv"]
FILE_FORMATS: tuple[FileFormat, ...] = ("parquet", "csv")


def table_file(folder: Path, table: str, fmt: FileFormat) -> Path:
    """Where table ``table`` lives in a snapshot folder."""
    return folder / f"{table}.{fmt}"


class FolderReader:
    """A folder with the six canonical tables as Parquet or CSV files.

    A rejected row is named ``row N``: the N-th data row of the file (the header is not
    counted), which is line N + 1 of a CSV file when no field spans lines.
    """

    locate_by: LocateBy = "row"

    def __init__(self, folder: Path, fmt: FileFormat) -> None:
        self.folder = folder
        self.fmt: FileFormat = fmt
        self.label = str(folder)
        missing = [
            table_file(folder, table, fmt).name
            for table in CANONICAL_TABLES
            if not table_file(folder, table, fmt).is_file()
        ]
        if missing:
            raise InputError(str(folder), f"missing file(s) {', '.join(missing)}{NOT_CANONICAL}")
        for table in CANONICAL_TABLES:  # like a database's catalogue: checked when opened
            self._check_columns(table)

    def table_label(self, table: str) -> str:
        """Rejections name the table's file."""
        return str(table_file(self.folder, table, self.fmt))

    def _columns(self, path: Path) -> list[str]:
        if self.fmt == "parquet":
            return list(pl.read_parquet_schema(path))
        return list(pl.scan_csv(path, infer_schema=False).collect_schema())

    def _check_columns(self, table: str) -> None:
        """Raise InputError naming the columns of FRAME_SCHEMAS[table] the file lacks."""
        path = table_file(self.folder, table, self.fmt)
        try:
            present = set(self._columns(path))
        except (pl.exceptions.PolarsError, OSError) as error:
            raise InputError(str(path), f"cannot read: {error}") from error
        missing = [column for column in FRAME_SCHEMAS[table] if column not in present]
        if missing:
            raise InputError(str(path), f"missing column(s) {', '.join(missing)}{NOT_CANONICAL}")

    def read_raw(self, table: str) -> pl.DataFrame:
        """The file's columns of FRAME_SCHEMAS[table], as stored (CSV: all text)."""
        path = table_file(self.folder, table, self.fmt)
        wanted = list(FRAME_SCHEMAS[table])
        self._check_columns(table)  # again: the file may have changed since the folder opened
        try:
            if self.fmt == "parquet":
                return pl.read_parquet(path, columns=wanted)
            return pl.read_csv(path, infer_schema=False, columns=wanted)
        except (pl.exceptions.PolarsError, OSError) as error:
            line = _unclosed_quote_line(path) if self.fmt == "csv" else None
            where = str(path) if line is None else f"{path}:{line}"
            raise InputError(where, f"cannot read: {error}") from error


def _unclosed_quote_line(path: Path) -> int | None:
    """The line of the quote a CSV parser leaves open; None when every quote closes.

    Quotes pair up in order (an escaped ``""`` too), so with an odd count the last one is
    the opener left open. Polars' error quotes the rest of the file from that quote but not
    its line. Only called on the error path; numpy over the bytes, no loop per line.
    """
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    quotes = np.flatnonzero(raw == ord('"'))
    if quotes.size % 2 == 0:
        return None
    return int(np.count_nonzero(raw[: quotes[-1]] == ord("\n"))) + 1
