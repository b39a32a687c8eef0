"""Aging: how old a break is on the as-of date, in the buckets a finance team reports.

A break dated after the as-of date (a future-dated item) has a negative age and falls in
the first bucket.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.schema.frames import WIDE_AMOUNT

BUCKETS = ("0-2", "3-7", "8-30", "31-60", "61-90", "over 90")
"""Bucket labels, youngest first: 0-2, 3-7, 8-30, 31-60, 61-90 and over 90 days."""

_UPPER = (2, 7, 30, 60, 90)
"""Inclusive upper bound of each bucket but the last."""

AGING_SCHEMA: dict[str, pl.DataType] = {
    "account_ref": pl.String(),
    "asset_id": pl.String(),
    "side": pl.String(),
    "class": pl.String(),
    "bucket": pl.String(),
    "count": pl.UInt32(),
    "amount": WIDE_AMOUNT,
}
"""Per bank account x asset x side x break class x bucket: how many breaks, their net amount
(an exact Decimal(38, 0) sum: an Int64 sum wraps past 2^63 - 1)."""


def bucket(age_days: pl.Expr) -> pl.Expr:
    """The bucket label of an age in days (vectorised)."""
    expr: pl.Expr = pl.lit(BUCKETS[-1])
    for upper, label in reversed(tuple(zip(_UPPER, BUCKETS, strict=False))):
        expr = pl.when(age_days <= upper).then(pl.lit(label)).otherwise(expr)
    return expr


def aging(breaks: pl.DataFrame) -> pl.DataFrame:
    """AGING_SCHEMA rows from a breaks frame, buckets in BUCKETS order.

    ``breaks`` holds ``account_ref``, ``asset_id``, ``side``, ``class``, ``bucket``, ``amount``.
    """
    order = pl.col("bucket").replace_strict(
        {label: index for index, label in enumerate(BUCKETS)}, return_dtype=pl.Int8()
    )
    return (
        breaks.group_by("account_ref", "asset_id", "side", "class", "bucket")
        .agg(pl.len().alias("count"), pl.col("amount").cast(WIDE_AMOUNT).sum().alias("amount"))
        .with_columns(order.alias("_order"))
        .sort("account_ref", "asset_id", "side", "class", "_order", nulls_last=False)
        .select(list(AGING_SCHEMA))
        .cast(pl.Schema(AGING_SCHEMA))
    )
