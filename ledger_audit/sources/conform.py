"""Cast a raw table to its canonical dtypes; rows that cannot be represented become rejections.

A raw frame is whatever a source hands over: all strings from CSV, native Arrow types from a
database, anything from Parquet. Every column is parsed with polars expressions (no Python
loop per row) into the FRAME_SCHEMAS dtype. A row is rejected only when a value cannot be
represented: it does not parse as the declared type, it is null in a key or NOT NULL column,
or an amount has more than 38 digits. Audit problems that are representable (a zero or
negative amount, an unknown status, an unbalanced transaction) are loaded; checks flag them.

Parsing is strict on purpose: an integer column accepts only ``[+-]digits`` (``12.0``, ``1e3``
and floats are rejected: a float has already lost exactness somewhere upstream), a boolean
column accepts true/false/t/f/1/0 in any case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.gather import gather
from ledger_audit.schema.frames import FRAME_SCHEMAS, KEYS, WIDE_AMOUNT
from ledger_audit.schema.tables import metadata
from ledger_audit.sources.heap import release_free_heap
from ledger_audit.sources.ledger_frames import (
    AMOUNT_COLUMNS,
    REJECTION_SCHEMA,
    TableCount,
    empty_rejections,
)

LocateBy = Literal["row", "key"]
"""How a rejection names its row: ``row N`` (files: 1-based data row) or the key (databases)."""

_INTEGER = r"^[+-]?[0-9]+$"
_SIGN_AND_LEADING_ZEROS = r"^[+-]?0*"
_MAX_DIGITS = 38
_TRUE_WORDS = ("true", "t", "1")
_FALSE_WORDS = ("false", "f", "0")
_ROW = "__row"


class Reason(StrEnum):
    """Why a cell kept its row out of the frames (the ``reason`` column of rejections)."""

    NOT_AN_INTEGER = "not_an_integer"
    OUT_OF_RANGE = "out_of_range"
    AMOUNT_BEYOND_38_DIGITS = "amount_beyond_38_digits"
    NOT_A_BOOLEAN = "not_a_boolean"
    NOT_TEXT = "not_text"
    NULL_IN_KEY = "null_in_key"
    NULL_NOT_ALLOWED = "null_not_allowed"


@dataclass(frozen=True, slots=True, eq=False)
class Conformed:
    """One table after conforming: the canonical frame, its rejections and its counts."""

    frame: pl.DataFrame
    rejections: pl.DataFrame
    count: TableCount


@dataclass(frozen=True, slots=True, eq=False)
class _Parsed:
    """Expressions that parse one raw column.

    ``problem`` is a Reason string or null per row (None: the column cannot fail);
    ``overflow`` is true where an amount fits Decimal(38, 0) but not Int64.
    """

    narrow: pl.Expr
    wide: pl.Expr | None = None
    problem: pl.Expr | None = None
    overflow: pl.Expr | None = None


def _reason(reason: Reason) -> pl.Expr:
    return pl.lit(reason.value, dtype=pl.String)


def _integer_from_text(s: pl.Expr, target: pl.DataType, *, amount: bool) -> _Parsed:
    syntax_ok = s.str.contains(_INTEGER)
    narrow = pl.when(syntax_ok).then(s.cast(target, strict=False))
    if not amount:
        problem = (
            pl.when(s.is_null())
            .then(None)
            .when(~syntax_ok)
            .then(_reason(Reason.NOT_AN_INTEGER))
            .when(narrow.is_null())
            .then(_reason(Reason.OUT_OF_RANGE))
        )
        return _Parsed(narrow=narrow, problem=problem)
    fits = s.str.replace(_SIGN_AND_LEADING_ZEROS, "").str.len_bytes() <= _MAX_DIGITS
    problem = (
        pl.when(s.is_null())
        .then(None)
        .when(~syntax_ok)
        .then(_reason(Reason.NOT_AN_INTEGER))
        .when(~fits)
        .then(_reason(Reason.AMOUNT_BEYOND_38_DIGITS))
    )
    return _Parsed(
        narrow=narrow,
        wide=pl.when(syntax_ok & fits).then(s.cast(WIDE_AMOUNT, strict=False)),
        problem=problem,
        overflow=syntax_ok & fits & narrow.is_null(),
    )


def _integer_from_number(
    x: pl.Expr, raw: pl.DataType, target: pl.DataType, *, amount: bool
) -> _Parsed:
    if raw == target:
        return _Parsed(narrow=x, wide=x.cast(WIDE_AMOUNT) if amount else None)
    narrow = x.cast(target, strict=False)
    lost = x.is_not_null() & narrow.is_null()
    if amount:
        # Any integer or Decimal(p <= 38, 0) fits Decimal(38, 0): overflow only widens.
        return _Parsed(narrow=narrow, wide=x.cast(WIDE_AMOUNT), overflow=lost)
    return _Parsed(narrow=narrow, problem=pl.when(lost).then(_reason(Reason.OUT_OF_RANGE)))


def _boolean(x: pl.Expr, raw: pl.DataType) -> _Parsed:
    if raw == pl.Boolean():
        return _Parsed(narrow=x)
    if raw.is_integer():
        value = pl.when(x == 1).then(pl.lit(value=True)).when(x == 0).then(pl.lit(value=False))
    else:
        words = (x if raw == pl.String() else x.cast(pl.String, strict=False)).str.to_lowercase()
        value = (
            pl.when(words.is_in(_TRUE_WORDS))
            .then(pl.lit(value=True))
            .when(words.is_in(_FALSE_WORDS))
            .then(pl.lit(value=False))
        )
    problem = pl.when(x.is_not_null() & value.is_null()).then(_reason(Reason.NOT_A_BOOLEAN))
    return _Parsed(narrow=value, problem=problem)


def _text(x: pl.Expr, raw: pl.DataType) -> _Parsed:
    if raw == pl.String():
        return _Parsed(narrow=x)
    if raw == pl.Binary():
        return _Parsed(
            narrow=pl.lit(None, dtype=pl.String),
            problem=pl.when(x.is_not_null()).then(_reason(Reason.NOT_TEXT)),
        )
    return _Parsed(narrow=x.cast(pl.String))


def _parse(name: str, raw: pl.DataType, target: pl.DataType, *, amount: bool) -> _Parsed:
    """Pick the parser for one column from its raw and target dtypes."""
    x = pl.col(name)
    if target == pl.String():
        return _text(x, raw)
    if target == pl.Boolean():
        return _boolean(x, raw)
    if raw.is_integer() or (isinstance(raw, pl.Decimal) and raw.scale == 0):
        return _integer_from_number(x, raw, target, amount=amount)
    if raw == pl.Null():
        return _Parsed(narrow=x.cast(target), wide=x.cast(WIDE_AMOUNT) if amount else None)
    text = x if raw == pl.String() else x.cast(pl.String, strict=False)
    return _integer_from_text(text, target, amount=amount)


def _value(parsed: _Parsed, dtype: pl.DataType, *, wide: bool) -> pl.Expr:
    if not wide:
        return parsed.narrow.cast(dtype)
    return parsed.narrow.cast(WIDE_AMOUNT) if parsed.wide is None else parsed.wide


def _with_null_check(name: str, parsed: _Parsed, *, key: bool, not_null: bool) -> pl.Expr | None:
    """The full problem expression: the parser's, or a null in a column that needs a value."""
    if not (key or not_null):
        return parsed.problem
    null_reason = _reason(Reason.NULL_IN_KEY if key else Reason.NULL_NOT_ALLOWED)
    null_problem = pl.when(pl.col(name).is_null()).then(null_reason)
    if parsed.problem is None:
        return null_problem
    return pl.coalesce(parsed.problem, null_problem)


def _raw_text(name: str, raw: pl.DataType) -> pl.Expr:
    x = pl.col(name)
    if raw == pl.String():
        return x
    if raw == pl.Binary():
        return x.bin.encode("hex")
    return x.cast(pl.String, strict=False)


def _bytes_text(value: bytes | None) -> str | None:
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return f"<bytes {value.hex()}>"  # parses as no number or boolean: the row is rejected


def _binary_numbers_as_text(raw: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Binary columns bound for numbers or booleans, as text the parsers can read.

    polars refuses to cast bytes that are not UTF-8 to text even when told not to be strict,
    so such a value would end the load with a traceback. A column that casts cleanly is cast;
    one that does not is decoded value by value (only on that failure path), each bad value
    becoming ``<bytes HEX>``, which no integer or boolean parser accepts: its row is rejected
    with the bytes named.
    """
    binary = [
        name
        for name, dtype in raw.schema.items()
        if dtype == pl.Binary() and schema[name] != pl.String()
    ]
    for name in binary:
        column = raw.get_column(name)
        try:
            text = column.cast(pl.String)
        except pl.exceptions.ComputeError:
            text = pl.Series(name, [_bytes_text(v) for v in column.to_list()], dtype=pl.String)
        raw = raw.with_columns(text.alias(name))
    return raw


def _locator(table: str, raw_schema: pl.Schema, locate_by: LocateBy) -> pl.Expr:
    if locate_by == "row":
        return pl.format("row {}", pl.col(_ROW))
    parts: list[pl.Expr] = []
    for i, column in enumerate(KEYS[table]):
        parts.append(pl.lit(f"{', ' if i else ''}{column}="))
        parts.append(_raw_text(column, raw_schema[column]).fill_null("null"))
    return pl.concat_str(parts)


def _rejections(
    bad_raw: pl.DataFrame,
    bad_problems: pl.DataFrame,
    table: str,
    *,
    source: str,
    locate_by: LocateBy,
) -> pl.DataFrame:
    """One row per failing cell of the rejected rows, in row then column order."""
    locator = bad_raw.select(_locator(table, bad_raw.schema, locate_by)).to_series()
    parts = [
        pl.DataFrame(
            {
                _ROW: bad_raw[_ROW],
                "__column_order": pl.repeat(order, bad_raw.height, dtype=pl.Int32, eager=True),
                "locator": locator,
                "column": pl.repeat(column, bad_raw.height, dtype=pl.String, eager=True),
                "reason": bad_problems[column],
                "raw_value": bad_raw.select(_raw_text(column, bad_raw.schema[column])).to_series(),
            }
        ).filter(pl.col("reason").is_not_null())
        for order, column in enumerate(bad_problems.columns)
    ]
    return (
        pl.concat(parts)
        .sort(_ROW, "__column_order")
        .select(
            source=pl.lit(source, dtype=pl.String),
            table=pl.lit(table, dtype=pl.String),
            locator="locator",
            column="column",
            reason="reason",
            raw_value="raw_value",
        )
        .cast(pl.Schema(REJECTION_SCHEMA))
    )


def _in_key_order(frame: pl.DataFrame, keys: tuple[str, ...]) -> pl.DataFrame:
    """Sort by ``keys`` (stable); a frame already in order is returned as is, without a copy.

    Databases usually hand rows back in key order, and a sort would copy every column. When
    it must, the columns are taken out of ``frame`` (which the caller gives up) and sorted
    one at a time, each read column's pages handed back as soon as it is sorted (a reader's
    columns are in the C heap, ``sources.heap``). Once nothing else holds the columns as
    read, the sort then holds one column twice and not the table: sorting the 1M demo's
    versions all at once held 0.85 GiB more, this way nothing measurable (``docs/scale.md``).

    A key column holding one value throughout (``ledger_id`` in a one-ledger file) cannot
    change the order, and leaving it out of the sort keys is most of the sort's time: a
    multi-column sort compares rows key by key, and that one never decides.
    """
    varying = [key for key in keys if not _single_value(frame[key])]
    if not varying:
        return frame
    order = frame.select(pl.arg_sort_by(varying, maintain_order=True)).to_series()
    if order.is_sorted():
        return frame
    columns = []
    for name in frame.columns:
        columns.append(gather(frame.drop_in_place(name), order))
        release_free_heap()
    return pl.DataFrame(columns)


def _single_value(column: pl.Series) -> bool:
    """True when ``column`` holds one value in every row and no null (an empty one too)."""
    return column.null_count() == 0 and bool(column.min() == column.max())


def _typed_clean(
    raw: pl.DataFrame,
    parsed: dict[str, _Parsed],
    schema: dict[str, pl.DataType],
    required: set[str],
) -> bool:
    """True when no row can be bad and no amount can overflow, seen without a row pass.

    Holds when every column either cannot fail (its dtype is already the target's, or it
    becomes text) or is an integer whose smallest and largest values fit an integer target,
    and no required column holds a null (a count kept with each column). A frame a mapping
    built, or a typed file, qualifies; anything else takes the full pass, which then finds
    exactly the rows this would have proved absent.
    """
    if any(raw[column].null_count() for column in required):
        return False
    ranged = [c for c, p in parsed.items() if p.problem is not None or p.overflow is not None]
    if not all(raw.schema[c].is_integer() and schema[c] in _INTEGER_RANGES for c in ranged):
        return False
    if not ranged:
        return True
    bounds = raw.select(
        *(pl.col(c).min().alias(f"{c}.min") for c in ranged),
        *(pl.col(c).max().alias(f"{c}.max") for c in ranged),
    ).row(0, named=True)
    return all(_fits(bounds[f"{c}.min"], bounds[f"{c}.max"], schema[c]) for c in ranged)


def _fits(low: int | None, high: int | None, dtype: pl.DataType) -> bool:
    """Both bounds (None: no value) within the integer ``dtype``."""
    info = _INTEGER_RANGES[dtype]
    return (low is None or low >= info[0]) and (high is None or high <= info[1])


_INTEGER_RANGES: dict[pl.DataType, tuple[int, int]] = {
    pl.Int8(): (-(2**7), 2**7 - 1),
    pl.Int16(): (-(2**15), 2**15 - 1),
    pl.Int32(): (-(2**31), 2**31 - 1),
    pl.Int64(): (-(2**63), 2**63 - 1),
}


def conform_table(
    raw: pl.DataFrame,
    table: str,
    *,
    source: str,
    locate_by: LocateBy,
    in_key_order: bool = False,
    keep_order: bool = False,
    consume: bool = False,
) -> Conformed:
    """Conform one raw table to FRAME_SCHEMAS[table], sorted by KEYS[table].

    Args:
        raw: the table as read; extra columns are ignored, missing ones are an InputError.
        table: canonical table name.
        source: how rejections name the source (a path, or a URL without password).
        locate_by: how rejections name a row.
        in_key_order: the caller has proved the rows are in KEYS[table] order (a mapped
            build sees it while it looks for repeated keys); the order is not checked again.
        keep_order: the rows stay in the order read, not sorted by KEYS[table] (a batch of
            a stream in chain order, ``sources.chain_batches``).
        consume: the caller hands ``raw`` over and does not read it again: its columns are
            taken out of it, so each goes as soon as its conformed column is made and the
            table is not held twice while it is sorted (a loader's read).
    """
    return _conform(
        raw,
        table,
        source=source,
        locate_by=locate_by,
        in_key_order=in_key_order or keep_order,
        typed=True,
        consume=consume,
    )


def _conform(
    raw: pl.DataFrame,
    table: str,
    *,
    source: str,
    locate_by: LocateBy,
    in_key_order: bool,
    typed: bool,
    consume: bool = False,
) -> Conformed:
    """:func:`conform_table`; ``typed=False`` always takes the full pass (for tests)."""
    schema = FRAME_SCHEMAS[table]
    missing = [column for column in schema if column not in raw.columns]
    if missing:
        raise InputError(f"{source} table {table}", f"missing column(s) {', '.join(missing)}")
    raw = _binary_numbers_as_text(
        pl.DataFrame([raw.drop_in_place(column) for column in schema])
        if consume
        else raw.select(list(schema)),
        schema,
    )
    read = raw.height
    sa_columns = metadata.tables[table].c
    amounts = AMOUNT_COLUMNS.get(table, ())
    parsed = {
        column: _parse(column, raw.schema[column], dtype, amount=column in amounts)
        for column, dtype in schema.items()
    }
    required = {
        column for column in schema if column in KEYS[table] or not sa_columns[column].nullable
    }
    if typed and _typed_clean(raw, parsed, schema, required):
        values = raw.select(_value(p, schema[c], wide=False).alias(c) for c, p in parsed.items())
        del raw  # the values share its columns: once sorted, only the sorted ones are held
        frame = values if in_key_order else _in_key_order(values, KEYS[table])
        count = TableCount(table=table, read=read, loaded=frame.height, rejected=0)
        return Conformed(frame=frame, rejections=empty_rejections(), count=count)
    # One boolean pass finds the bad rows; reasons (strings) are built for those rows only.
    bad_exprs = [p.problem.is_not_null() for p in parsed.values() if p.problem is not None]
    bad_exprs += [pl.col(column).is_null() for column in required]
    overflow_exprs = [p.overflow for p in parsed.values() if p.overflow is not None]
    flags = raw.select(
        bad=pl.any_horizontal(bad_exprs) if bad_exprs else pl.repeat(value=False, n=pl.len()),
        overflow=(
            pl.any_horizontal(overflow_exprs).fill_null(value=False)
            if overflow_exprs
            else pl.repeat(value=False, n=pl.len())
        ),
    )
    bad = flags["bad"]
    n_bad = int(bad.sum())
    wide = bool((flags["overflow"] & ~bad).any())
    values = raw.select(
        _value(p, schema[column], wide=wide and column in amounts).alias(column)
        for column, p in parsed.items()
    )
    rejections = empty_rejections()
    if n_bad:
        values = values.filter(~bad)
        bad_raw = raw.with_row_index(_ROW, offset=1).filter(bad)
        problem_exprs = {
            column: expr
            for column, p in parsed.items()
            if (
                expr := _with_null_check(
                    column,
                    p,
                    key=column in KEYS[table],
                    not_null=column in required,
                )
            )
            is not None
        }
        problems = bad_raw.select(
            expr.cast(pl.String).alias(column) for column, expr in problem_exprs.items()
        )
        rejections = _rejections(bad_raw, problems, table, source=source, locate_by=locate_by)
    del raw
    frame = values if in_key_order else _in_key_order(values, KEYS[table])
    count = TableCount(table=table, read=read, loaded=frame.height, rejected=n_bad)
    return Conformed(frame=frame, rejections=rejections, count=count)
