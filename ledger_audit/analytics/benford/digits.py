"""Leading and trailing digits of integer minor units, as polars string operations.

The first k significant digits are the first k characters of the decimal integer (no
float, no logarithm: 29 minor units is "29" even where 0.29 * 100 is 28.999999999999996).
Two conventions (ANALYTICS.md 3.1), recorded with every result:

- ``nigrini``: an amount is used only when it is at least 10 major units (its integer has
  at least ``scale + 2`` digits), as Nigrini's tests and benford_py do;
- ``benford_analysis``: every non-zero amount is used, a short one padded with zeros on the
  right (5 -> "50" for the first two digits), as the benford.analysis R package does.

The last-two-digits test reads the two final digits of amounts with at least three digits.

The suite does not extract digits per test: :func:`histogram` groups the amounts once by
asset, digit count and leading three digits (right-padded with zeros), and each leading-digit
test is read from that small table (:func:`binned`): the first digit is ``lead // 100``, the
second ``lead // 10 % 10``, the first two ``lead // 10``, and a convention's "usable" is a
condition on the digit count. :func:`with_digits` is the direct per-row definition; tests hold
the two equal.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from ledger_audit.analytics.benford.expected import TestName, prefix_width

Convention = Literal["nigrini", "benford_analysis"]
Sign = Literal["positive", "negative", "both"]
_LAST_TWO_MIN_DIGITS = 3
_LEAD = 3
_INT64_MAX = 2**63 - 1
_INT64_DIGITS = 19  # the digits of 2**63 - 1
BINNED_SCHEMA: dict[str, pl.DataType] = {
    "asset_id": pl.String(),
    "digit": pl.Int32(),
    "count": pl.Int64(),
    "amount_sum": pl.Int128(),
    "low": pl.Int128(),
    "high": pl.Int128(),
}
"""Rows a test counts, per asset x digit: how many, their sum, their smallest and largest."""


def asset_scale() -> pl.Expr:
    """The scale in an ``asset_id`` of the form CODE/scale (0 when the id has none)."""
    return pl.col("asset_id").str.extract(r"/(\d+)$").cast(pl.Int32).fill_null(0)


def signed_amounts(frame: pl.LazyFrame, sign: Sign) -> pl.LazyFrame:
    """``asset_id``, ``abs_amount`` (Int128) of the non-zero amounts of the chosen sign."""
    amount = pl.col("amount").cast(pl.Int128)
    keep = {"positive": amount > 0, "negative": amount < 0, "both": amount != 0}[sign]
    return frame.filter(keep).select(
        pl.col("asset_id").cast(pl.String), amount.abs().alias("abs_amount")
    )


def with_digits(amounts: pl.LazyFrame, test: TestName, convention: Convention) -> pl.LazyFrame:
    """Add ``digit`` (Int32) and keep the rows the test can use under ``convention``."""
    text = pl.col("abs_amount").cast(pl.String)
    length = text.str.len_bytes()
    width = prefix_width(test)
    if test == "last_two":
        return amounts.filter(length >= _LAST_TWO_MIN_DIGITS).with_columns(
            (pl.col("abs_amount") % 100).cast(pl.Int32).alias("digit")
        )
    if convention == "nigrini":
        usable = length >= asset_scale() + 2
        if width > 1:
            usable &= length >= width
        padded = text
    else:
        usable = pl.lit(value=True)
        padded = text.str.pad_end(width, "0")
    digit = padded.str.slice(1, 1) if test == "second" else padded.str.slice(0, width)
    return amounts.filter(usable).with_columns(digit.str.to_integer().cast(pl.Int32).alias("digit"))


def histogram(amounts: pl.DataFrame) -> pl.LazyFrame:
    """Per asset x digit count x leading three digits: count, sum, min and max (one pass).

    Amounts that fit Int64 get their digit count from comparisons with powers of ten and
    their lead from one integer division (twice as fast as their text); larger ones are read
    from their decimal text. Both are exact; tests hold them equal.
    """
    high = amounts.get_column("abs_amount").max()
    frame = amounts.lazy()
    if isinstance(high, int) and high <= _INT64_MAX:
        value = pl.col("_value")
        powers = pl.lit(pl.Series([10**i for i in range(_INT64_DIGITS)], dtype=pl.Int64))
        n_digits = pl.col("n_digits")
        frame = (
            frame.with_columns(pl.col("abs_amount").cast(pl.Int64).alias("_value"))
            .with_columns(
                (
                    pl.sum_horizontal(
                        [(value >= 10**i).cast(pl.Int32) for i in range(1, _INT64_DIGITS)]
                    )
                    + pl.lit(1, pl.Int32)
                ).alias("n_digits")
            )
            .with_columns(
                pl.when(n_digits >= _LEAD)
                .then(value // powers.gather(n_digits - _LEAD))
                .otherwise(value * powers.gather(_LEAD - n_digits))
                .cast(pl.Int32)
                .alias("lead")
            )
        )
    else:
        text = pl.col("abs_amount").cast(pl.String)
        frame = frame.with_columns(
            pl.col("abs_amount").alias("_value"),
            text.str.len_bytes().cast(pl.Int32).alias("n_digits"),
            text.str.slice(0, _LEAD)
            .str.pad_end(_LEAD, "0")
            .str.to_integer()
            .cast(pl.Int32)
            .alias("lead"),
        )
    return frame.group_by("asset_id", "n_digits", "lead").agg(
        pl.len().cast(pl.Int64).alias("count"),
        pl.col("abs_amount").sum().alias("amount_sum"),
        pl.col("_value").min().cast(pl.Int128).alias("low"),
        pl.col("_value").max().cast(pl.Int128).alias("high"),
    )


def binned(hist: pl.LazyFrame, test: TestName, convention: Convention) -> pl.LazyFrame:
    """BINNED_SCHEMA rows of a leading-digit ``test`` from :func:`histogram`'s table."""
    width = prefix_width(test)
    lead = pl.col("lead")
    digit = {
        "first": lead // 100,
        "second": lead // 10 % 10,
        "first_two": lead // 10,
        "first_three": lead,
    }[test]
    rows = hist
    if convention == "nigrini":
        rows = hist.filter(
            (pl.col("n_digits") >= asset_scale() + 2) & (pl.col("n_digits") >= width)
        )
    return rows.group_by("asset_id", digit.cast(pl.Int32).alias("digit")).agg(
        pl.col("count").sum(),
        pl.col("amount_sum").sum(),
        pl.col("low").min(),
        pl.col("high").max(),
    )


def last_two_binned(amounts: pl.LazyFrame) -> pl.LazyFrame:
    """BINNED_SCHEMA rows of the last-two-digits test (amounts of at least three digits)."""
    return (
        amounts.filter(pl.col("abs_amount") >= 10 ** (_LAST_TWO_MIN_DIGITS - 1))
        .group_by("asset_id", (pl.col("abs_amount") % 100).cast(pl.Int32).alias("digit"))
        .agg(
            pl.len().cast(pl.Int64).alias("count"),
            pl.col("abs_amount").sum().alias("amount_sum"),
            pl.col("abs_amount").min().alias("low"),
            pl.col("abs_amount").max().alias("high"),
        )
    )
