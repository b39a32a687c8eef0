"""Read a reviewer's flux explanations: a CSV, or a filled workpaper's flux sheet (XLSX).

CSV: a header with ``gl_account``, ``asset`` (or ``asset_id``), ``explanation`` and
``explained_by`` (an optional ``ledger_id`` narrows a row to one ledger), UTF-8. XLSX: the
workpaper the close or ``ledger-audit flux`` wrote, its ``Flux variances`` sheet filled in
(header row 1, the same columns). Rows with an empty explanation are the ones the reviewer
left alone and are skipped; every other row is returned with where it was read
(``file:line`` or ``file[sheet]:row``), so the merge can report any it cannot use.

A file that cannot be read as either, a missing column, or a row without its GL account or
asset is an ``InputError`` naming the file, the line or row, and the column.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from ledger_audit.errors import InputError, excerpt

FLUX_SHEET = "Flux variances"
"""The workpaper sheet the reviewer fills in (``close.flux_section`` writes it)."""

EXPLANATIONS_SCHEMA: dict[str, pl.DataType] = {
    "ledger_id": pl.String(),
    "gl_account": pl.String(),
    "asset_id": pl.String(),
    "explanation": pl.String(),
    "explained_by": pl.String(),
    "where": pl.String(),
}
"""One row per explanation read: its key, its text, who wrote it, and where it was read."""

_REQUIRED = ("gl_account", "asset", "explanation", "explained_by")
_ASSET_COLUMNS = ("asset_id", "asset")


def read_explanations(path: Path) -> pl.DataFrame:
    """The explanations in ``path`` (EXPLANATIONS_SCHEMA), in file order."""
    if not path.is_file():
        raise InputError(str(path), "no such flux explanations file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read the flux explanations file: {exc}") from exc
    if data.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(data, str(path))
    else:
        rows = _csv_rows(data, str(path))
    return pl.DataFrame(rows, schema=EXPLANATIONS_SCHEMA, orient="row")


def _text(value: object) -> str | None:
    """A cell as stripped text; empty and None are None (a number becomes its text)."""
    if value is None:
        return None
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return text.strip() or None


def _columns(header: Sequence[object], where: str) -> dict[str, int]:
    names = [(_text(h) or "").lower() for h in header]
    index = {name: i for i, name in reversed(list(enumerate(names))) if name}
    has_asset = any(c in index for c in _ASSET_COLUMNS)
    missing = [c for c in _REQUIRED if c not in index and (c != "asset" or not has_asset)]
    if missing:
        shown = excerpt(", ".join(n for n in names if n) or "(none)")
        raise InputError(
            where,
            f"missing column(s) {', '.join(missing)} (header: {shown}); expected gl_account, "
            "asset, explanation, explained_by",
        )
    asset = next(c for c in _ASSET_COLUMNS if c in index)
    return {
        "ledger_id": index.get("ledger_id", -1),
        "gl_account": index["gl_account"],
        "asset_id": index[asset],
        "explanation": index["explanation"],
        "explained_by": index["explained_by"],
    }


def _row(
    cells: Sequence[object], columns: dict[str, int], where: str
) -> tuple[str | None, ...] | None:
    """One explanation row, or None when its explanation is empty (left for the reviewer)."""

    def cell(name: str) -> str | None:
        i = columns[name]
        return _text(cells[i]) if 0 <= i < len(cells) else None

    explanation = cell("explanation")
    if explanation is None:
        return None
    for name, label in (("gl_account", "gl_account"), ("asset_id", "asset")):
        if cell(name) is None:
            raise InputError(where, f"an explanation without its {label}")
    return (
        cell("ledger_id"),
        cell("gl_account"),
        cell("asset_id"),
        explanation,
        cell("explained_by"),
        where,
    )


def _csv_rows(data: bytes, source: str) -> list[tuple[str | None, ...]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            source, f"not a UTF-8 CSV nor an XLSX workpaper (byte {exc.start} is not UTF-8)"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise InputError(source, "empty: expected a header gl_account, asset, explanation")
        columns = _columns(header, f"{source}:1")
        rows = []
        for cells in reader:
            where = f"{source}:{reader.line_num}"
            if len(cells) > len(header):
                raise InputError(where, f"{len(cells)} fields where the header has {len(header)}")
            found = _row(cells, columns, where)
            if found is not None:
                rows.append(found)
    except csv.Error as exc:
        raise InputError(f"{source}:{reader.line_num}", f"not valid CSV: {exc}") from None
    return rows


def _xlsx_rows(data: bytes, source: str) -> list[tuple[str | None, ...]]:
    from openpyxl import load_workbook  # noqa: PLC0415 - only an XLSX needs it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError(source, f"not a readable XLSX workbook: {exc}") from None
    try:
        if FLUX_SHEET not in book.sheetnames:
            raise InputError(
                source,
                f"no {FLUX_SHEET!r} sheet (sheets: {excerpt(', '.join(book.sheetnames))}): "
                "give the workpaper the close or ledger-audit flux wrote",
            )
        sheet = book[FLUX_SHEET]
        lines: Iterable[tuple[object, ...]] = sheet.iter_rows(values_only=True)
        rows = []
        columns: dict[str, int] | None = None
        for number, cells in enumerate(lines, start=1):
            if columns is None:
                columns = _columns(cells, f"{source}[{FLUX_SHEET}]:{number}")
                continue
            found = _row(cells, columns, f"{source}[{FLUX_SHEET}]:{number}")
            if found is not None:
                rows.append(found)
        if columns is None:
            raise InputError(f"{source}[{FLUX_SHEET}]", "empty sheet: no header row")
    finally:
        book.close()
    return rows
