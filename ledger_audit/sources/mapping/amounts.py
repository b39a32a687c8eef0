"""Money fields of a relation: currency, asset id, minor units and sign, with their problems."""

from __future__ import annotations

import polars as pl

from ledger_audit.sources.mapping import fields
from ledger_audit.sources.mapping.fields import reason_when
from ledger_audit.sources.mapping.rows import Build, Relation, null_problem
from ledger_audit.sources.mapping.spec import Field

Stages = tuple[tuple[pl.Expr, ...], ...]


def merge_stages(*parts: Stages) -> Stages:
    """Helper-column stages of several fields, stage by stage."""
    depth = max((len(p) for p in parts), default=0)
    return tuple(tuple(e for p in parts if i < len(p) for e in p[i]) for i in range(depth))


def _fits_int64(build: Build, rel: Relation, amount: Field, scales: pl.DataFrame) -> bool:
    """True when every amount and scale fit Int64 arithmetic (one pass over the column)."""
    column = pl.col(str(amount.column))
    dtype = rel.dtypes[str(amount.column)]
    fixed = build.mapping.assets.scale
    declared = [fixed] if fixed is not None else scales["scale"].to_list()
    if isinstance(dtype, pl.Decimal):
        # Read from its unscaled integer, no text: its bounds decide (see fields.amount).
        physical = column.to_physical()
        low, high = rel.frame.select(physical.min().alias("lo"), physical.max().alias("hi")).row(0)
        return fields.decimal_fits_int64(dtype, amount.units, (low, high), declared)
    text = column if dtype == pl.String() else column.cast(pl.String, strict=False)
    longest = rel.frame.select(text.str.len_bytes().max()).item()
    widest = max(declared, default=0)
    if longest is None:
        return True
    return int(longest) + int(widest) <= fields.NARROW_DIGITS


def money_values(
    build: Build, rel: Relation, amount: Field, currency: Field, scales: pl.DataFrame
) -> tuple[dict[str, pl.Expr], list[pl.Expr], Stages]:
    """Currency, asset id, magnitude and sign of a money field, with their problems."""
    code = fields.text(currency, rel.dtypes)
    scale = build.scale_of(code.value, scales)
    money = fields.amount(amount, rel.dtypes, scale, narrow=_fits_int64(build, rel, amount, scales))
    values = {
        "asset_id": build.asset_of(code.value, scales),
        "__magnitude": money.magnitude,
        "__negative": money.negative,
    }
    checks = [
        *fields.problems(code),
        null_problem(code.value, currency.key),
        reason_when(scale.is_null(), f"{currency.key}: currency has no scale in [assets]"),
        *([money.problem] if money.problem is not None else []),
        null_problem(pl.col(str(amount.column)), amount.key),
    ]
    return values, checks, money.stages
