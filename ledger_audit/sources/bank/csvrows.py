"""CSV rows with their line numbers, for the CSV layouts (Stripe, canonical).

The standard ``csv`` module reads the file so that a quoted field may hold commas and
newlines; each row carries the line it starts on. Header names are normalised (trimmed,
lower-case, spaces and brackets to ``_``) so that ``Created (UTC)`` and ``created_utc``
are the same column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from ledger_audit.errors import InputError
from ledger_audit.sources.bank.text import decode, read_bytes


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row: the line it starts on and its cells by normalised header name.

    ``problem`` is set when the row's cell count differs from the header's.
    """

    line: int
    cells: dict[str, str]
    problem: str | None = None


def normalise(name: str) -> str:
    """``Created (UTC)`` -> ``created_utc``."""
    return re.sub(r"[^a-z0-9\[\]]+", "_", name.strip().lower()).strip("_")


def read_csv(path: str | Path) -> tuple[list[str], list[CsvRow]]:
    """The normalised header and the data rows (blank lines skipped)."""
    names, rows = read_csv_values(path)
    return names, [csv_row(names, line, values) for line, values in rows]


def csv_row(names: list[str], line: int, values: list[str]) -> CsvRow:
    """A row's cells by header name; ``problem`` when its cell count is not the header's."""
    problem = None
    if len(values) != len(names):
        problem = f"{len(values)} cells where the header has {len(names)}"
    return CsvRow(line, dict(zip(names, values, strict=False)), problem)


def read_csv_values(path: str | Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The normalised header and each data row as (its first line, its cells as read).

    Blank lines are skipped. For a parser that reads the cells by column (Stripe's large
    reports); :func:`read_csv` makes them :class:`CsvRow` records.
    """
    text = decode(read_bytes(path))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise InputError(f"{path}:1", "empty file: a CSV file starts with a header row")
        names = [normalise(name) for name in header]
        rows: list[tuple[int, list[str]]] = []
        start = reader.line_num + 1
        for values in reader:
            line, start = start, reader.line_num + 1
            if not "".join(values).strip():  # blank: every cell empty or white space
                continue
            rows.append((line, values))
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}", f"not readable as CSV: {exc}") from exc
    return names, rows
