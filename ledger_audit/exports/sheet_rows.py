"""A worksheet's rows as SpreadsheetML, byte for byte as openpyxl writes them, from polars columns.

Why. openpyxl keeps a Python object per cell and serialises each through ElementTree: a 1M
close's workpaper held about 27 million cells (gigabytes) and took minutes to write. The
workpaper (``exports.workpaper``) still lets openpyxl write everything else (styles, the
cover, each sheet's settings, and the first rows it fits column widths to) and renders the
rows of its data sheets here, a chunk of rows at a time, with polars string expressions; only
floats and the rare value polars cannot format as openpyxl does go through Python (``%.16g``
is C's printf, which polars does not offer). The workpaper's tests compare the two writers
byte for byte.

What openpyxl 3.1 writes (ElementTree serialiser: lxml is not installed), per row
``<row r="N">cells</row>``, per cell ``<c r="A2"`` then `` s="<style id>"`` when the cell is
styled, then:

- no value: nothing, unless styled: `` t="n" />``;
- text: `` t="inlineStr" />`` when empty, else `` t="inlineStr"><is><t>text</t></is></c>``,
  ``&<>`` escaped, ``xml:space="preserve"`` on ``<t>`` when the text has leading or trailing
  whitespace (Python's ``str.strip``) and is not all whitespace;
- a truth value: `` t="b"><v>1</v></c>`` (or 0);
- a number (int, float, Decimal): `` t="n"><v>%.16g</v></c>``; NaN and infinity as ``<v />``;
- a date or datetime: a number, the Excel serial day (1900 date system).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO

import polars as pl
from openpyxl.utils.datetime import to_excel

from ledger_audit.exports.cells import (
    EXACT_DIGITS,
    MAX_CELL_TEXT,
    Cell,
    cell_text,
    cell_value,
    money_cell,
)

CHUNK_ROWS = 20_000
"""Rows rendered at a time: bounds the text held at once (a few tens of MB)."""

_G16 = "%.16g"
_ILLEGAL = r"[\x00-\x08\x0B\x0C\x0E-\x1F]"
"""openpyxl's ``ILLEGAL_CHARACTERS_RE`` (characters XML 1.0 cannot hold)."""
_SPACES = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
"""What Python's ``str.strip()`` strips (no whitespace character lies above U+3000)."""
_EPOCH_DAYS = 25_569
"""Days from Excel's 1899-12-30 epoch to 1970-01-01."""
_FAKE_LEAP_DAYS = 60
"""Excel serials 1..60 are one day off (Excel's 1900-02-29); openpyxl subtracts one."""
_EXACT_POWERS = 22
"""Powers of ten up to 10**22 are exact doubles."""
_ROW = "\x00row"
_OWN = "\x00cell"


@dataclass(frozen=True, slots=True)
class PlainColumn:
    """A column written as its values are (``cells.cell_value``).

    Attributes:
        letter: the sheet column (``A``, ``B``...).
        source: the frame column.
        style: the style id of every cell of the column (a date or percent format), or None.
    """

    letter: str
    source: str
    style: int | None = None


@dataclass(frozen=True, slots=True)
class MoneyColumn:
    """A money column: the amount in major units (``cells.money_cell``).

    Attributes:
        letter: the sheet column.
        source: the frame column of minor units.
        scale: the frame column of each row's decimal places.
        asset: the frame column naming each row's asset (its currency code picks the
            format), or None.
        styles: style id of a numeric amount cell per (currency code, scale).
        text_style: style id of an amount written as text (right-aligned), if any.
    """

    letter: str
    source: str
    scale: str
    asset: str | None
    styles: Mapping[tuple[str, int], int] = field(default_factory=dict)
    text_style: int | None = None


Column = PlainColumn | MoneyColumn


def write_rows(
    out: BinaryIO,
    frame: pl.DataFrame,
    columns: Sequence[Column],
    *,
    first_row: int = 2,
    chunk_rows: int = CHUNK_ROWS,
) -> None:
    """Write ``<row>`` elements for every row of ``frame`` (sheet rows from ``first_row``)."""
    for offset in range(0, frame.height, chunk_rows):
        chunk = frame.slice(offset, chunk_rows)
        out.write(_chunk_xml(chunk, columns, first_row + offset).encode())


def _chunk_xml(chunk: pl.DataFrame, columns: Sequence[Column], first_row: int) -> str:
    own: dict[str, pl.Series] = {}
    cells = []
    for number, column in enumerate(columns):
        name = f"{_OWN}{number}"
        if isinstance(column, MoneyColumn):
            cells.append(_money(chunk, column, name, own))
        else:
            cells.append(_plain(chunk, column, name, own))
    rows = pl.int_range(first_row, first_row + chunk.height, eager=True).cast(pl.String())
    work = chunk.with_columns(rows.alias(_ROW), *(s.alias(n) for n, s in own.items()))
    xml = work.select(
        pl.concat_str(
            [pl.lit('<row r="'), pl.col(_ROW), pl.lit('">'), *cells, pl.lit("</row>")],
            ignore_nulls=True,
        )
        .str.join("")
        .alias("xml")
    )
    return str(xml.item())


def _head(letter: str, style: int | None) -> pl.Expr:
    """``<c r="B7"`` and the style attribute."""
    styled = "" if style is None else f' s="{style}"'
    return pl.concat_str([pl.lit(f'<c r="{letter}'), pl.col(_ROW), pl.lit(f'"{styled}')])


def _text_body(text: pl.Expr) -> pl.Expr:
    """The rest of a text cell (``text`` already as the cell holds it)."""
    stripped = text.str.strip_chars(_SPACES)
    preserve = (stripped != "") & (stripped != text)
    escaped = (
        text.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )
    full = pl.concat_str(
        [
            pl.lit(' t="inlineStr"><is><t'),
            pl.when(preserve).then(pl.lit(' xml:space="preserve"')).otherwise(pl.lit("")),
            pl.lit(">"),
            escaped,
            pl.lit("</t></is></c>"),
        ]
    )
    return pl.when(text == "").then(pl.lit(' t="inlineStr" />')).otherwise(full)


def _digits_body(digits: pl.Expr) -> pl.Expr:
    """An integer's cell from its decimal digits: a number, or text beyond 15 digits."""
    long = digits.str.strip_prefix("-").str.len_chars() > EXACT_DIGITS
    return (
        pl.when(long)
        .then(pl.concat_str([pl.lit(' t="inlineStr"><is><t>'), digits, pl.lit("</t></is></c>")]))
        .otherwise(pl.concat_str([pl.lit(' t="n"><v>'), digits, pl.lit("</v></c>")]))
    )


def _number_text_body(text: pl.Expr) -> pl.Expr:
    """A number's cell from its ``%.16g`` text ('' for NaN and infinity)."""
    return (
        pl.when(text == "")
        .then(pl.lit(' t="n"><v /></c>'))
        .otherwise(pl.concat_str([pl.lit(' t="n"><v>'), text, pl.lit("</v></c>")]))
    )


def _g16(value: float | Decimal) -> str:
    return _G16 % value if math.isfinite(value) else ""


def _plain(
    chunk: pl.DataFrame, column: PlainColumn, name: str, own: dict[str, pl.Series]
) -> pl.Expr:
    dtype = chunk.schema[column.source]
    value = pl.col(column.source)
    body: pl.Expr
    if isinstance(dtype, (pl.String, pl.Categorical, pl.Enum)):
        text = value.cast(pl.String())
        series = chunk[column.source].cast(pl.String())
        longest = series.str.len_chars().max()
        if isinstance(longest, int) and longest > MAX_CELL_TEXT:  # rare: cut with a note
            own[name] = series.map_elements(cell_text, return_dtype=pl.String())
            text = pl.col(name)
        body = _text_body(text.str.replace_all(_ILLEGAL, "\ufffd"))
    elif dtype.is_integer() or (isinstance(dtype, pl.Decimal) and dtype.scale == 0):
        body = _digits_body(value.cast(pl.String()))
    elif isinstance(dtype, pl.Boolean):
        flag = pl.when(value).then(pl.lit("1")).otherwise(pl.lit("0"))
        body = pl.concat_str([pl.lit(' t="b"><v>'), flag, pl.lit("</v></c>")])
    elif isinstance(dtype, pl.Date):
        days = value.cast(pl.Int32()).cast(pl.Int64()) + _EPOCH_DAYS
        days = pl.when((days > 0) & (days <= _FAKE_LEAP_DAYS)).then(days - 1).otherwise(days)
        body = pl.concat_str([pl.lit(' t="n"><v>'), days.cast(pl.String()), pl.lit("</v></c>")])
    elif dtype.is_float():
        # per value: C's %.16g has no polars equivalent (floats are a few columns)
        floats = chunk[column.source].to_list()
        own[name] = pl.Series([None if v is None else _g16(v) for v in floats], dtype=pl.String())
        body = _number_text_body(pl.col(name))
    else:  # datetimes, Decimal with places, nested and other types: as openpyxl would
        own[name] = _python_bodies(chunk[column.source].to_list(), cell_value)
        body = pl.col(name)
    empty = pl.lit(None, pl.String()) if column.style is None else pl.lit(' t="n" />')
    head = _head(column.letter, column.style)
    return (
        pl.when(value.is_null())
        .then(pl.concat_str([head, empty]))
        .otherwise(pl.concat_str([head, body]))
    )


def _money(
    chunk: pl.DataFrame, column: MoneyColumn, name: str, own: dict[str, pl.Series]
) -> pl.Expr:
    """Amounts of up to 15 digits and 22 places as numbers; the rest through Python.

    The number is the minor units divided by ten to the scale in floating point: both are
    exact doubles, so the quotient is the double nearest the amount, as Python's
    ``float(Decimal(...))`` (what openpyxl formats) gives it.
    """
    amount, scale = pl.col(column.source), pl.col(column.scale)
    code = (
        pl.lit("")
        if column.asset is None
        else pl.col(column.asset).str.split("/").list.first().fill_null("")
    )
    places = scale.cast(pl.Int64())
    common = (
        (amount.cast(pl.String()).str.strip_prefix("-").str.len_chars() <= EXACT_DIGITS)
        & (places <= _EXACT_POWERS)
    ).fill_null(value=False)
    powers = {p: float(10**p) for p in range(_EXACT_POWERS + 1)}
    keys = {f"{c}\x00{p}": style for (c, p), style in column.styles.items()}
    frame = chunk.select(
        common.alias("common"),
        pl.when(common)
        .then(amount.cast(pl.Float64()) / places.replace_strict(powers, default=None))
        .alias("major"),
        pl.when(common)
        .then(
            pl.concat_str([code, pl.lit("\x00"), places.cast(pl.String())]).replace_strict(
                keys, default=None, return_dtype=pl.String()
            )
        )
        .alias("style"),
        (amount.is_null() | scale.is_null()).alias("missing"),
    )
    if (frame["common"] & frame["style"].is_null()).any():  # the workpaper's stub missed one
        raise LookupError(f"money column {column.source}: an amount's currency has no style")
    # per value: C's %.16g has no polars equivalent
    own[name] = pl.Series(
        [None if v is None else _G16 % v for v in frame["major"].to_list()], dtype=pl.String()
    )
    own[f"{name}s"] = frame["style"]
    number = pl.concat_str(
        [
            pl.lit(f'<c r="{column.letter}'),
            pl.col(_ROW),
            pl.lit('" s="'),
            pl.col(f"{name}s"),
            pl.lit('" t="n"><v>'),
            pl.col(name),
            pl.lit("</v></c>"),
        ]
    )
    rare = ~frame["common"] & ~frame["missing"]
    other = pl.lit(None, pl.String())
    if rare.any():
        own[f"{name}r"] = _rare_money(chunk, column, rare)
        other = pl.concat_str([pl.lit(f'<c r="{column.letter}'), pl.col(_ROW), pl.col(f"{name}r")])
    return (
        pl.when(amount.is_null() | scale.is_null())
        .then(pl.lit(None, pl.String()))
        .when(pl.col(name).is_not_null())
        .then(number)
        .otherwise(other)
    )


def _rare_money(chunk: pl.DataFrame, column: MoneyColumn, rows: pl.Series) -> pl.Series:
    """Cells (after the reference) of amounts beyond 15 digits or 22 places, in Python."""
    amounts = chunk[column.source].to_list()
    scales = chunk[column.scale].to_list()
    assets = chunk[column.asset].to_list() if column.asset else [None] * chunk.height
    out: list[str | None] = []
    for amount, scale, asset, wanted in zip(amounts, scales, assets, rows.to_list(), strict=True):
        if not wanted:
            out.append(None)
            continue
        code = "" if asset is None else str(asset).split("/", 1)[0]
        value, number_format = money_cell(amount, scale, code)
        style = column.text_style if number_format is None else column.styles[(code, int(scale))]
        styled = "" if style is None else f' s="{style}"'
        out.append(f'"{styled}{python_body(value)}')
    return pl.Series(out, dtype=pl.String())


def _python_bodies(values: list[object], convert: Callable[[object], Cell]) -> pl.Series:
    bodies = [None if v is None else python_body(convert(v)) for v in values]
    return pl.Series(bodies, dtype=pl.String())


def python_body(value: Cell) -> str:
    """A cell after its reference and style, for a value (not None) as ``cell_value`` gives it."""
    if isinstance(value, str):
        if value == "":
            return ' t="inlineStr" />'
        stripped = value.strip()
        preserve = ' xml:space="preserve"' if stripped and stripped != value else ""
        escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f' t="inlineStr"><is><t{preserve}>{escaped}</t></is></c>'
    if isinstance(value, bool):
        return f' t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float, Decimal)):
        text = _g16(value)
        return f' t="n"><v>{text}</v></c>' if text else ' t="n"><v /></c>'
    if isinstance(value, (datetime, date)):
        return python_body(to_excel(value))
    raise TypeError(f"no cell for {type(value).__name__}")
