"""What a workpaper cell holds for a value: exact in Excel, never a formula, never too long.

The workpaper (``exports.workpaper``) and its row renderer (``exports.sheet_rows``) both turn
frame values into cell values through these functions, so a cell means the same thing
whichever of them writes it (see the workpaper's module docstring for the rules).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ledger_audit.exports.tables import decimal_text

MAX_CELL_TEXT = 32_767
"""Excel's characters per cell."""

EXACT_DIGITS = 15
"""Excel keeps integers of up to this many digits exactly; longer ones are written as text."""

MAX_FORMAT_PLACES = 30
"""Excel's number formats hold at most 30 decimal places."""

Cell = object


def cell_text(value: str) -> str:
    """Text as a cell holds it: illegal XML characters as U+FFFD, cut (with a note) at 32,767."""
    clean: str = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if len(clean) > MAX_CELL_TEXT:
        note = f" [cut: {len(clean):,} characters, full text in the CSV/Parquet table]"
        clean = clean[: MAX_CELL_TEXT - len(note)] + note
    return clean


def cell_value(value: object) -> Cell:
    """A Python value as a cell value that Excel holds exactly (see the module docstring)."""
    cell: Cell
    if isinstance(value, bool) or value is None or isinstance(value, (float, str)):
        cell = cell_text(value) if isinstance(value, str) else value
    elif isinstance(value, int):
        cell = str(value) if len(str(abs(value))) > EXACT_DIGITS else value
    elif isinstance(value, Decimal) and value.as_tuple().exponent == 0:
        cell = cell_value(int(value))  # a Decimal(38, 0) sum of minor units: as an int would be
    elif isinstance(value, datetime):
        cell = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    elif isinstance(value, date):
        cell = value
    else:  # Decimal (exact as text), and anything nested
        cell = cell_text(str(value))
    return cell


def money_format(code: str, scale: int) -> str:
    """The number format of an amount of ``scale`` decimals in currency ``code``."""
    places = "." + "0" * min(scale, MAX_FORMAT_PLACES) if scale else ""
    label = code.replace('"', "")
    return f'#,##0{places} "{label}"' if label else f"#,##0{places}"


def money_cell(amount: object, scale: object, code: str) -> tuple[Cell, str | None]:
    """A money cell: the amount in major units, numeric when a double holds it exactly."""
    if amount is None or not isinstance(scale, int):
        return None, None
    units = int(amount) if isinstance(amount, (int, Decimal)) else None
    if units is None:
        return cell_text(str(amount)), None
    if len(str(abs(units))) > EXACT_DIGITS or scale > MAX_FORMAT_PLACES:
        return decimal_text(units, scale), None  # text: a double would round it
    return Decimal(decimal_text(units, scale)), money_format(code, scale)
