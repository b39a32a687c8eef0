"""Write the close's XLSX workpaper: cover sheet, one sheet per report table, findings.

Sheets, in order:

- ``Cover``: the run (package version, run time or data as-of, manifest content digest), parameters,
  input and output digests, chain checkpoints, the coverage of each check, and the list of
  sheets with their row counts. It shows the manifest the caller passes: the workpaper's
  own digest cannot be in it, and is in ``manifest.json``.
- one sheet per ``Table``, named by the table, with its columns in order.
- ``Findings``: the findings schema's columns, then empty ``disposition`` (a drop-down:
  open, explained, adjusted, false positive) and ``reviewer`` columns to fill in.

Money. Each money column is written as the amount in major units, a **number** with its
currency's format (``#,##0.00 "USD"``, from the row's asset), so a reviewer can SUM and
pivot it; the file holds the exact decimal text (``1234.50``), written from the integer, no
float involved. Excel reads it into a binary double, so beside it a ``<column>_minor``
column holds the **integer minor units**, exact (Excel keeps integers of up to 15 digits
exactly): the value of record. An amount of 16 or more digits (beyond what a double keeps)
is written as text in both columns, so it is never rounded. Rate columns
(``Table.percent``) are numbers formatted as percentages.

Cells. Text is always a text cell (a value beginning with ``=`` never becomes a formula);
characters XML cannot hold are replaced by U+FFFD and text beyond Excel's 32,767 characters
per cell is cut with a note: the CSV and Parquet tables keep the exact values. Dates are
date cells (``yyyy-mm-dd``). Each data sheet has a bold, frozen header row, an auto-filter,
and column widths fitted to its first rows.

Determinism. openpyxl stamps the save time into ``docProps/core.xml`` and the ZIP entries
get the clock's time too. Here the document's created and modified times are the stamp
(the manifest's run time, or the ``as_of_ns`` passed, which the close does), and the ZIP is
re-packed with every entry dated at the stamp, in openpyxl's order, with fixed compression:
the same manifest, stamp, tables and findings always give the same bytes.

Memory and time. openpyxl writes the workbook with each data sheet holding only the rows it
needs to number styles and fit widths as the whole sheet would (``_stub_rows``); every row
is then rendered by polars (``exports.sheet_rows``) straight into the ZIP, a chunk at a
time. The bytes are those openpyxl gives when it holds every cell
(``tests/exports/workpaper_reference.py``, compared byte for byte in the tests), without a
Python object per cell (``docs/scale.md`` has the figures).
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from copy import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Self

import polars as pl
from openpyxl import Workbook
from openpyxl.cell.cell import Cell as Cell_
from openpyxl.styles import Alignment, Font
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from ledger_audit.errors import InputError
from ledger_audit.exports.atomic import write_atomic
from ledger_audit.exports.cells import (
    EXACT_DIGITS,
    MAX_CELL_TEXT,
    MAX_FORMAT_PLACES,
    Cell,
    cell_value,
    money_cell,
    money_format,
)
from ledger_audit.exports.manifest import Manifest, content_digest
from ledger_audit.exports.sheet_rows import Column, MoneyColumn, PlainColumn, write_rows
from ledger_audit.exports.signoffs import ROLES, SignOffStatus
from ledger_audit.exports.tables import Table, currency_code
from ledger_audit.findings import FINDINGS_SCHEMA
from ledger_audit.schema.times import ns_to_iso

COVER_SHEET = "Cover"
FINDINGS_SHEET = "Findings"
DISPOSITIONS = ("open", "explained", "adjusted", "false positive")
"""The values the ``disposition`` drop-down offers."""

REVIEW_COLUMNS = ("disposition", "reviewer")
"""Columns after the findings schema's, left empty for the reviewer."""

MINOR_SUFFIX = "_minor"
"""Suffix of the exact integer (minor units) column written after each money column."""

PERCENT_FORMAT = "0.00%"
"""The number format of a rate column."""

MAX_ROWS = 1_048_576
"""Excel's rows per sheet, header included."""

__all__ = [
    "COVER_SHEET",
    "DISPOSITIONS",
    "EXACT_DIGITS",
    "FINDINGS_SHEET",
    "MAX_CELL_TEXT",
    "MAX_ROWS",
    "MINOR_SUFFIX",
    "PERCENT_FORMAT",
    "REVIEW_COLUMNS",
    "money_format",
    "write_workpaper",
]

_FORBIDDEN_IN_NAMES = frozenset("[]:*?/\\")
_MAX_NAME = 31
_WIDTH_SAMPLE = 200
_MIN_WIDTH, _MAX_WIDTH = 8, 60
_ZIP_EPOCH = datetime(1980, 1, 1, tzinfo=UTC)
_BOLD = Font(bold=True)
_RIGHT = Alignment(horizontal="right")
_TITLE = Font(bold=True, size=14)

_TEXT = "text"
"""The style key of an amount written as text (right-aligned)."""
_SHEET_DATA, _SHEET_DATA_END = b"<sheetData>", b"</sheetData>"


def write_workpaper(
    path: Path,
    manifest: Manifest,
    tables: Sequence[Table],
    findings: pl.DataFrame,
    *,
    as_of_ns: int | None = None,
    signoffs: Sequence[SignOffStatus] = (),
) -> Path:
    """Write the workpaper to ``path`` (atomically, parents created) and return the path.

    ``signoffs`` are the close's sign-offs held against this bundle (``exports.signoffs``):
    the cover shows each one's role, name, date and whether it is still valid; with none,
    it shows empty preparer and reviewer lines to sign.

    ``as_of_ns`` (UTC epoch ns), when given, is the instant the workbook is stamped with and
    the cover shows, instead of the run time: the data's as-of (the close passes its
    period's end), so a rerun at another time gives the same bytes.

    Raises:
        InputError: a table name Excel cannot take (or taken twice, or reserved), a table
            longer than Excel's rows, or findings without the findings schema's columns.
    """
    _check_names(tables)
    missing = [name for name in FINDINGS_SCHEMA if name not in findings.columns]
    if missing:
        raise InputError("findings", f"missing column(s) {', '.join(missing)}")
    findings = findings.select(list(FINDINGS_SCHEMA))
    for table in (*tables, Table(FINDINGS_SHEET, findings)):
        if table.frame.height + 1 > MAX_ROWS:
            raise InputError(
                f"table {table.name}",
                f"{table.frame.height:,} rows exceed Excel's {MAX_ROWS - 1:,}: "
                "ship it as CSV/Parquet instead",
            )

    book = Workbook()
    cover = book.active
    cover.title = COVER_SHEET
    rows = [_data_sheet(book.create_sheet(table.name), table) for table in tables]
    rows.append(_findings_sheet(book.create_sheet(FINDINGS_SHEET), findings))
    stamp_ns = manifest.run_time_ns if as_of_ns is None else as_of_ns
    when = ("run time (UTC)" if as_of_ns is None else "data as of (UTC)", ns_to_iso(stamp_ns))
    _cover_sheet(cover, manifest, tables, findings.height, when, signoffs=signoffs)

    stamp = datetime.fromtimestamp(stamp_ns // 10**9, tz=UTC)
    book.properties.creator = f"ledger-audit {manifest.version}"
    book.properties.title = "ledger-audit workpaper"
    book.properties.lastModifiedBy = None
    book.properties.created = stamp.replace(tzinfo=None)  # openpyxl takes naive UTC
    book.properties.modified = stamp.replace(tzinfo=None)
    raw = io.BytesIO()
    ExcelWriter(book, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    # openpyxl has written each data sheet with its first rows only, and given out the style
    # ids: the rows are rendered now, straight into the final archive
    by_member = {r.sheet.path.lstrip("/"): r for r in rows}
    data, dated = raw.getvalue(), max(stamp, _ZIP_EPOCH)
    return write_atomic(path, lambda partial: _pack(data, dated, by_member, partial))


def _check_names(tables: Sequence[Table]) -> None:
    seen = {COVER_SHEET.casefold(), FINDINGS_SHEET.casefold(), "history"}
    for table in tables:
        name = table.name
        bad = sorted(_FORBIDDEN_IN_NAMES.intersection(name))
        if len(name) > _MAX_NAME or bad or name.startswith("'") or name.endswith("'"):
            raise InputError(
                f"table {name!r}",
                f"an Excel sheet name has at most {_MAX_NAME} characters, none of []:*?/\\ "
                "and no leading or trailing apostrophe",
            )
        if name.casefold() in seen:
            raise InputError(f"table {name!r}", "sheet name is taken (or reserved)")
        seen.add(name.casefold())


def _pack(data: bytes, stamp: datetime, rows: Mapping[str, _SheetRows], path: Path) -> None:
    """The ZIP members openpyxl wrote, in its order, each dated ``stamp``, compression level 6.

    A data sheet's member is openpyxl's with its ``sheetData`` replaced by every row,
    rendered into a temporary file first: its size is then known before it is compressed, as
    it was when the whole sheet was one string (it decides the ZIP64 header), and nothing
    holds the sheet in memory. Its compressor is zlib's default, which is level 6.

    The data sheets are rendered in order on a helper thread, each into a temporary file in
    the output's folder (never ``/tmp``, which may be memory), while the sheets before are
    compressed: both run outside the GIL (polars renders, zlib compresses). Each file is
    removed once its sheet is in the archive, so at most every data sheet's XML is on disk at
    once (about 0.5 GiB at 1M transactions, where one sheet at a time held 0.23 GiB).
    """
    when = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target,
        _Rendered(source, rows, path.parent) as rendered,
    ):
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            if member.filename not in rows:
                target.writestr(info, source.read(member), compresslevel=6)
                continue
            with rendered.take(member.filename) as xml:
                info.file_size = xml.tell()
                xml.seek(0)
                with target.open(info, "w") as out:
                    shutil.copyfileobj(xml, out, 1 << 20)


class _Rendered:
    """Each data sheet's XML rendered in archive order on a helper thread, into a file.

    The files are temporary files in ``folder``. ``take`` hands the sheets over in that
    order (the caller closes each, which removes it); a rendering error is raised there. A
    sheet rendered but not taken is closed on exit.
    """

    def __init__(
        self, source: zipfile.ZipFile, rows: Mapping[str, _SheetRows], folder: Path
    ) -> None:
        self._source = source
        self._rows = rows
        self._folder = folder
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workpaper-rows")
        self._ahead: dict[str, Future[BinaryIO]] = {}

    def __enter__(self) -> Self:
        for member in self._source.infolist():
            if member.filename in self._rows:
                stub = self._source.read(member)  # the archive is read on this thread only
                self._ahead[member.filename] = self._pool.submit(
                    self._render, self._rows[member.filename], stub
                )
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for future in self._ahead.values():
            if not future.cancelled() and future.exception() is None:  # each done or cancelled
                future.result().close()

    def take(self, name: str) -> BinaryIO:
        """The rendered sheet ``name``, positioned at its end (its size)."""
        return self._ahead.pop(name).result()

    def _render(self, sheet: _SheetRows, stub: bytes) -> BinaryIO:
        xml = tempfile.TemporaryFile(dir=self._folder)  # noqa: SIM115 - closed by the taker
        try:
            sheet.write_xml(xml, stub)
        except BaseException:
            xml.close()
            raise
        return xml


# --- cells --------------------------------------------------------------------------------


def _put(sheet: Worksheet, row: int, column: int, value: Cell, number_format: str | None) -> None:
    cell = sheet.cell(row=row, column=column)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text begins with
    if number_format is not None:
        cell.number_format = number_format


def _number_format(dtype: pl.DataType) -> str | None:
    if dtype == pl.Date():
        return "yyyy-mm-dd"
    if isinstance(dtype, pl.Datetime):
        return "yyyy-mm-dd hh:mm:ss"
    return None


def _header(sheet: Worksheet, names: Iterable[str]) -> None:
    for column, name in enumerate(names, start=1):
        _put(sheet, 1, column, name, None)
        sheet.cell(row=1, column=column).font = _BOLD


def _finish(sheet: Worksheet, columns: int, rows: int) -> None:
    """Freeze and filter the header row; fit column widths to the header and first rows."""
    sheet.freeze_panes = "A2"
    last = get_column_letter(max(columns, 1))
    sheet.auto_filter.ref = f"A1:{last}{max(rows + 1, 1)}"
    _fit_widths(sheet, columns, min(rows + 1, _WIDTH_SAMPLE))


def _fit_widths(sheet: Worksheet, columns: int, rows: int) -> None:
    for column in range(1, columns + 1):
        longest = max(
            (
                len(str(sheet.cell(row=row, column=column).value or ""))
                for row in range(1, rows + 1)
            ),
            default=0,
        )
        width = min(max(longest + 2, _MIN_WIDTH), _MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(column)].width = width


# --- sheets -------------------------------------------------------------------------------


def _layout(table: Table) -> list[tuple[str, str | None]]:
    """(header, money column it is the minor units of, or None) per written column."""
    layout: list[tuple[str, str | None]] = []
    for name in table.frame.columns:
        layout.append((name, None))
        if name in table.money:
            layout.append((f"{name}{MINOR_SUFFIX}", name))
    return layout


@dataclass(eq=False)
class _StubColumn:
    """One written column of a data sheet, and the first stub cell of each style it uses.

    A builder, filled while openpyxl's stub is: the style ids exist only once openpyxl has
    written the stub, so the column is resolved (``column``) after that.
    """

    letter: str
    source: str
    money: bool = False
    scale: str = "scale"
    asset: str | None = None
    first: dict[object, Cell_] = field(default_factory=dict)

    def column(self) -> Column:
        """The renderer's column, with the style ids openpyxl gave out."""
        ids = {key: cell.style_id for key, cell in self.first.items()}
        if not self.money:
            return PlainColumn(self.letter, self.source, ids.get(None))
        text = ids.pop(_TEXT, None)
        styles = {key: style for key, style in ids.items() if isinstance(key, tuple)}
        return MoneyColumn(self.letter, self.source, self.scale, self.asset, styles, text)


@dataclass(frozen=True, slots=True, eq=False)
class _SheetRows:
    """A sheet openpyxl writes with its first rows only, and the frame of all its rows."""

    sheet: Worksheet
    frame: pl.DataFrame
    columns: tuple[_StubColumn, ...]

    def write_xml(self, out: BinaryIO, stub: bytes) -> None:
        """Write the sheet XML openpyxl wrote (``stub``) with every row in place of its rows."""
        start = stub.index(_SHEET_DATA) + len(_SHEET_DATA)
        header_end = stub.index(b"</row>", start) + len(b"</row>")  # row 1: the header
        out.write(stub[:header_end])
        write_rows(out, self.frame, [c.column() for c in self.columns])
        out.write(stub[stub.index(_SHEET_DATA_END, header_end) :])


def _stub_rows(table: Table) -> list[int]:
    """The rows (from 0) openpyxl itself writes: every first use of a style and of a date.

    openpyxl numbers formats and styles in the order cells first use them, and fits column
    widths to the first rows: writing the first rows, the first row of every money column's
    currency, scale and kind (number or text), the first date of each temporal column (its
    value sets a number format) and the last row (the sheet's dimension) gives the workbook
    the same numbering as writing every row would.
    """
    frame = table.frame
    if frame.height == 0:
        return []
    rows = {*range(min(frame.height, _WIDTH_SAMPLE - 1)), frame.height - 1}
    index = pl.int_range(pl.len(), dtype=pl.Int64()).alias("_row")
    for name in table.money:
        code = (
            pl.col(table.asset).str.split("/").list.first().fill_null("")
            if table.asset in frame.columns
            else pl.lit("")
        )
        long = pl.col(name).cast(pl.String()).str.strip_prefix("-").str.len_chars()
        firsts = (
            frame.select(
                index,
                code.alias("_code"),
                pl.col(table.scale).alias("_scale"),
                ((long > EXACT_DIGITS) | (pl.col(table.scale) > MAX_FORMAT_PLACES)).alias("_text"),
                pl.col(name).is_null().alias("_missing"),
            )
            .filter(~pl.col("_missing") & pl.col("_scale").is_not_null())
            .group_by("_code", "_scale", "_text")
            .agg(pl.col("_row").min())
        )
        rows.update(firsts["_row"].to_list())
    for name, dtype in frame.schema.items():
        if isinstance(dtype, (pl.Date, pl.Datetime)):
            found = frame.select(pl.col(name).is_not_null().arg_true().first()).item()
            if found is not None:
                rows.add(int(found))
    return sorted(rows)


def _data_sheet(sheet: Worksheet, table: Table) -> _SheetRows:
    frame = table.frame
    layout = _layout(table)
    _header(sheet, (header for header, _ in layout))
    formats = {name: _number_format(dtype) for name, dtype in frame.schema.items()}
    formats |= dict.fromkeys(table.percent, PERCENT_FORMAT)
    has_asset = table.asset in frame.columns
    columns = tuple(
        _StubColumn(
            get_column_letter(number),
            minor_of or header,
            money=minor_of is None and header in table.money,
            scale=table.scale,
            asset=table.asset if has_asset else None,
        )
        for number, (header, minor_of) in enumerate(layout, start=1)
    )
    styles = _StyleCache()
    rows = _stub_rows(table)
    stub = frame.select(pl.all().gather(rows))
    for index, row in zip(rows, stub.iter_rows(named=True), strict=True):
        code = currency_code(row[table.asset]) if has_asset else ""
        for column, (header, minor_of) in enumerate(layout, start=1):
            alignment, key = None, None
            if minor_of is not None:
                value, number_format = cell_value(row[minor_of]), None
            elif header in table.money:
                value, number_format = money_cell(row[header], row[table.scale], code)
                alignment = _RIGHT if isinstance(value, str) else None
                key = _TEXT if alignment is not None else (code, row[table.scale])
            else:
                value, number_format = cell_value(row[header]), formats[header]
            cell = sheet.cell(row=index + 2, column=column)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text begins with
            if number_format is not None or alignment is not None:
                styles.apply(cell, number_format, alignment)
                columns[column - 1].first.setdefault(key, cell)
    _finish(sheet, len(layout), frame.height)
    return _SheetRows(sheet, frame, columns)


class _StyleCache:
    """Give a cell a number format and alignment, resolved once per combination.

    Setting ``cell.number_format`` or ``cell.alignment`` makes openpyxl look the style up
    in the workbook's style lists, which is most of the cost of a big sheet; a cell styled
    like one before gets a copy of that cell's style reference instead (openpyxl's own
    worksheet copier does the same).
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[str | None, Alignment | None], StyleArray] = {}

    def apply(self, cell: Cell_, number_format: str | None, alignment: Alignment | None) -> None:
        key = (number_format, alignment)
        known = self._seen.get(key)
        if known is not None:
            cell._style = copy(known)  # noqa: SLF001 - see the class docstring
            return
        if number_format is not None:
            cell.number_format = number_format
        if alignment is not None:
            cell.alignment = alignment
        self._seen[key] = copy(cell._style)  # noqa: SLF001


def _findings_sheet(sheet: Worksheet, findings: pl.DataFrame) -> _SheetRows:
    names = [*FINDINGS_SCHEMA, *REVIEW_COLUMNS]
    _header(sheet, names)
    rows = _stub_rows(Table(FINDINGS_SHEET, findings))  # no styles: the widths' rows, the last
    stub = findings.select(pl.all().gather(rows))
    for index, row in zip(rows, stub.iter_rows(), strict=True):
        for column, value in enumerate(row, start=1):
            _put(sheet, index + 2, column, cell_value(value), None)
    letter = get_column_letter(names.index("disposition") + 1)
    choice = DataValidation(
        type="list",
        formula1='"' + ",".join(DISPOSITIONS) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="disposition",
        error="Choose one of: " + ", ".join(DISPOSITIONS),
    )
    choice.add(f"{letter}2:{letter}{MAX_ROWS}")
    sheet.add_data_validation(choice)
    _finish(sheet, len(names), findings.height)
    sheet.column_dimensions[letter].width = 16
    sheet.column_dimensions[get_column_letter(len(names))].width = 16
    columns = tuple(
        _StubColumn(get_column_letter(number), name)
        for number, name in enumerate(FINDINGS_SCHEMA, start=1)
    )
    return _SheetRows(sheet, findings, columns)


def _cover_sheet(
    sheet: Worksheet,
    manifest: Manifest,
    tables: Sequence[Table],
    findings: int,
    when: tuple[str, str],
    *,
    signoffs: Sequence[SignOffStatus],
) -> None:
    signed: list[tuple[Cell, ...]] = [
        (s.signoff.role, s.signoff.name, s.signoff.signed_on, s.state, "; ".join(s.changed))
        for s in signoffs
    ] or [(role, "", "", "not signed", "") for role in ROLES]
    rows: list[tuple[Cell, ...]] = [
        ("ledger-audit evidence workpaper",),
        (),
        ("Sign-off",),
        ("role", "name", "signed on", "status", "what changed since"),
        *signed,
        (),
        ("Run",),
        ("package", f"ledger-audit {manifest.version}"),
        when,
        ("manifest content digest (SHA-256, without run time)", content_digest(manifest)),
        (
            "money",
            (
                "each money column holds the amount in its currency as a number (SUM works), "
                "formatted with its currency; the _minor column beside it holds the exact "
                "integer minor units. Balances are signed debit minus credit (Dr positive)."
            ),
        ),
        (),
        ("Parameters",),
        ("name", "value"),
        *manifest.parameters,
        (),
        ("Inputs",),
        ("name", "kind", "sha256", "size (bytes or rows)"),
        *((d.name, d.kind, d.sha256, d.size) for d in manifest.inputs),
        (),
        ("Outputs",),
        ("name", "kind", "sha256", "size (bytes)"),
        *((d.name, d.kind, d.sha256, d.size) for d in manifest.outputs),
        (),
        ("Chain checkpoints",),
        ("ledger_id", "seq", "head_hash", "row_count"),
        *((c.ledger_id, c.seq, c.head_hash, c.row_count) for c in manifest.checkpoints),
        (),
        ("Check coverage",),
        ("check", "status", "findings", "checked", "unit", "scope", "unproven"),
        *(
            (c.check, c.status, c.findings, c.checked, c.unit, c.scope, "; ".join(c.unproven))
            for c in manifest.coverage
        ),
        (),
        ("Sheets",),
        ("sheet", "rows", "money columns"),
        *((t.name, t.frame.height, ", ".join(t.money)) for t in tables),
        (FINDINGS_SHEET, findings, ""),
    ]
    headings = {"Sign-off", "Run", "Parameters", "Inputs", "Outputs", "Chain checkpoints"}
    headings |= {"Check coverage", "Sheets"}
    widest = 0
    for row_no, row in enumerate(rows, start=1):
        widest = max(widest, len(row))
        for column, value in enumerate(row, start=1):
            _put(sheet, row_no, column, cell_value(value), None)
        if len(row) == 1 and row[0] in headings:
            sheet.cell(row=row_no, column=1).font = _BOLD
    sheet.cell(row=1, column=1).font = _TITLE
    _fit_widths(sheet, widest, len(rows))
