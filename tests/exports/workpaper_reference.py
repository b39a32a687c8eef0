"""The workpaper writer as it was before the rows were rendered by polars: the reference.

A copy of ``ledger_audit/exports/workpaper.py`` at commit 6b18cea (openpyxl writes every cell,
one Python object each). The tests write the same tables with both and compare the bytes:
the streamed writer must give exactly what this one gives. Do not change it to make a test
pass; change it only with the bytes the workpaper is meant to have.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Sequence
from copy import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.cell import Cell as Cell_
from openpyxl.styles import Alignment, Font
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from ledger_audit.errors import InputError
from ledger_audit.exports.atomic import write_bytes_atomic
from ledger_audit.exports.manifest import Manifest, content_digest
from ledger_audit.exports.signoffs import ROLES, SignOffStatus
from ledger_audit.exports.tables import Table, currency_code, decimal_text
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

_MAX_FORMAT_PLACES = 30
"""Excel's number formats hold at most 30 decimal places."""

MAX_ROWS = 1_048_576
"""Excel's rows per sheet, header included."""

MAX_CELL_TEXT = 32_767
EXACT_DIGITS = 15
"""Excel keeps integers of up to this many digits exactly; longer ones are written as text."""

_FORBIDDEN_IN_NAMES = frozenset("[]:*?/\\")
_MAX_NAME = 31
_WIDTH_SAMPLE = 200
_MIN_WIDTH, _MAX_WIDTH = 8, 60
_ZIP_EPOCH = datetime(1980, 1, 1, tzinfo=UTC)
_BOLD = Font(bold=True)
_RIGHT = Alignment(horizontal="right")
_TITLE = Font(bold=True, size=14)

Cell = object
Convert = Callable[[object], Cell]


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
    for table in tables:
        _data_sheet(book.create_sheet(table.name), table)
    _findings_sheet(book.create_sheet(FINDINGS_SHEET), findings)
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
    data = _repack(raw.getvalue(), max(stamp, _ZIP_EPOCH))

    return write_bytes_atomic(path, data)


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


def _repack(data: bytes, stamp: datetime) -> bytes:
    """The same ZIP members in the same order, each dated ``stamp``, fixed compression."""
    when = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target,
    ):
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(member), compresslevel=6)
    return out.getvalue()


# --- cells --------------------------------------------------------------------------------


def _text(value: str) -> str:
    clean: str = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if len(clean) > MAX_CELL_TEXT:
        note = f" [cut: {len(clean):,} characters, full text in the CSV/Parquet table]"
        clean = clean[: MAX_CELL_TEXT - len(note)] + note
    return clean


def _value(value: object) -> Cell:
    """A Python value as a cell value that Excel holds exactly (see the module docstring)."""
    cell: Cell
    if isinstance(value, bool) or value is None or isinstance(value, (float, str)):
        cell = _text(value) if isinstance(value, str) else value
    elif isinstance(value, int):
        cell = str(value) if len(str(abs(value))) > EXACT_DIGITS else value
    elif isinstance(value, Decimal) and value.as_tuple().exponent == 0:
        cell = _value(int(value))  # a Decimal(38, 0) sum of minor units: as an int would be
    elif isinstance(value, datetime):
        cell = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    elif isinstance(value, date):
        cell = value
    else:  # Decimal (exact as text), and anything nested
        cell = _text(str(value))
    return cell


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


def money_format(code: str, scale: int) -> str:
    """The number format of an amount of ``scale`` decimals in currency ``code``."""
    places = "." + "0" * min(scale, _MAX_FORMAT_PLACES) if scale else ""
    label = code.replace('"', "")
    return f'#,##0{places} "{label}"' if label else f"#,##0{places}"


def _money_cell(amount: object, scale: object, code: str) -> tuple[Cell, str | None]:
    """A money cell: the amount in major units, numeric when a double holds it exactly."""
    if amount is None or not isinstance(scale, int):
        return None, None
    units = int(amount) if isinstance(amount, (int, Decimal)) else None
    if units is None:
        return _text(str(amount)), None
    if len(str(abs(units))) > EXACT_DIGITS or scale > _MAX_FORMAT_PLACES:
        return decimal_text(units, scale), None  # text: a double would round it
    return Decimal(decimal_text(units, scale)), money_format(code, scale)


def _data_sheet(sheet: Worksheet, table: Table) -> None:
    frame = table.frame
    layout = _layout(table)
    _header(sheet, (header for header, _ in layout))
    formats = {name: _number_format(dtype) for name, dtype in frame.schema.items()}
    formats |= dict.fromkeys(table.percent, PERCENT_FORMAT)
    has_asset = table.asset in frame.columns
    styles = _StyleCache()
    for row_no, row in enumerate(frame.iter_rows(named=True), start=2):
        code = currency_code(row[table.asset]) if has_asset else ""
        for column, (header, minor_of) in enumerate(layout, start=1):
            alignment = None
            if minor_of is not None:
                value, number_format = _value(row[minor_of]), None
            elif header in table.money:
                value, number_format = _money_cell(row[header], row[table.scale], code)
                alignment = _RIGHT if isinstance(value, str) else None
            else:
                value, number_format = _value(row[header]), formats[header]
            cell = sheet.cell(row=row_no, column=column)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text begins with
            if number_format is not None or alignment is not None:
                styles.apply(cell, number_format, alignment)
    _finish(sheet, len(layout), frame.height)


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
            cell._style = copy(known)
            return
        if number_format is not None:
            cell.number_format = number_format
        if alignment is not None:
            cell.alignment = alignment
        self._seen[key] = copy(cell._style)


def _findings_sheet(sheet: Worksheet, findings: pl.DataFrame) -> None:
    names = [*FINDINGS_SCHEMA, *REVIEW_COLUMNS]
    _header(sheet, names)
    for row_no, row in enumerate(findings.iter_rows(), start=2):
        for column, value in enumerate(row, start=1):
            _put(sheet, row_no, column, _value(value), None)
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
            _put(sheet, row_no, column, _value(value), None)
        if len(row) == 1 and row[0] in headings:
            sheet.cell(row=row_no, column=1).font = _BOLD
    sheet.cell(row=1, column=1).font = _TITLE
    _fit_widths(sheet, widest, len(rows))
