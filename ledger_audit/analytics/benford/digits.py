"""Leading and trailing digits of integer minor units, as polars string operations.

The first k significant digits are the first k characters of the decimal integer (no
float, no logarithm: 29 minor units is "29" even where 0.29 * 100 is 28.999999999999996).
Two conventions (ANALYTICS.md 3.1), recorded with every result:

- ``nigrini``: an amount is used only when it is at least 10 major units (its integer has
  at least ``scale + 2`` digits), as Nigrini's tests and benford_py do;
- ``benford_analysis``: every non-zero amount is used, a short one padded with zeros on the
  right (5 -> "50" for the first two digits), as the benford.analysis R package does.

The last-two-digits test reads the two final digits of amounts with at least three digits.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from ledger_audit.analytics.benford.expected import TestName, prefix_width

Convention = Literal["nigrini", "benford_analysis"]
Sign = Literal["positive", "negative", "both"]
_LAST_TWO_MIN_DIGITS = 3


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
