"""Run the Benford tests per asset: bins with Z and suspects, and a summary per asset.

Statistics (ANALYTICS.md 3.1): MAD = mean |AP - EP| over the bins; chi-square over the bins
(df = bins - 1); Z = (|AP - EP| - 1/(2N)) / sqrt(EP(1 - EP)/N) with the numerator floored at
0 (the continuity term never makes a Z negative); KS = max |cum AP - cum EP| with critical
value 1.36/sqrt(N). A suspect bin has Z above ``z_critical`` and more than its expected
share. A population below ``min_n`` amounts, or spanning fewer than ``min_magnitudes``
orders of magnitude, is "not applicable": its figures are shown, never a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from ledger_audit.analytics.benford.conformity import BANDS, LABELS
from ledger_audit.analytics.benford.digits import (
    Convention,
    Sign,
    binned,
    histogram,
    last_two_binned,
    signed_amounts,
)
from ledger_audit.analytics.benford.expected import TestName, expected

SuiteTest = Literal[
    "first", "second", "first_two", "first_three", "last_two", "summation", "second_order"
]
SUITE_TESTS: tuple[SuiteTest, ...] = (
    "first",
    "second",
    "first_two",
    "first_three",
    "last_two",
    "summation",
    "second_order",
)
BINS_SCHEMA: dict[str, pl.DataType] = {
    "asset_id": pl.String(),
    "digit": pl.Int32(),
    "count": pl.Int64(),
    "amount_sum": pl.Int128(),
    "observed": pl.Float64(),
    "expected": pl.Float64(),
    "abs_diff": pl.Float64(),
    "z": pl.Float64(),
    "suspect": pl.Boolean(),
}


@dataclass(frozen=True, slots=True)
class BenfordParams:
    """Choices recorded with every result (and in the manifest)."""

    convention: Convention = "nigrini"
    sign: Sign = "positive"
    min_n: int = 300
    min_magnitudes: int = 2
    z_critical: float = 1.96


@dataclass(frozen=True, slots=True)
class BenfordResult:
    """One test over every asset: ``bins`` (BINS_SCHEMA) and ``summary`` (one row per asset).

    ``summary``: asset_id, n, excluded, mad, chi2, df, ks, ks_critical, conformity,
    applicable, reason. The summation test has no chi-square (null) and no band.
    """

    test: SuiteTest
    params: BenfordParams
    bins: pl.DataFrame
    summary: pl.DataFrame
    method: str = field(default="")

    def suspects(self) -> pl.DataFrame:
        """The suspect bins, most significant first (ties by asset and digit)."""
        return self.bins.filter(pl.col("suspect")).sort(
            ["z", "asset_id", "digit"], descending=[True, False, False]
        )


def _grid(assets: pl.LazyFrame, test: TestName) -> pl.LazyFrame:
    probabilities = expected(test)
    bins = pl.LazyFrame(
        {"digit": list(probabilities), "expected": list(probabilities.values())},
        schema={"digit": pl.Int32, "expected": pl.Float64},
    )
    return assets.join(bins, how="cross")


def _band_expr(test: str) -> pl.Expr:
    limits = BANDS.get(test)
    if limits is None:
        return pl.lit(None, pl.String)
    mad = pl.col("mad")
    close, acceptable, marginal = limits
    return (
        pl.when(mad < close)
        .then(pl.lit(LABELS[0]))
        .when(mad < acceptable)
        .then(pl.lit(LABELS[1]))
        .when(mad < marginal)
        .then(pl.lit(LABELS[2]))
        .otherwise(pl.lit(LABELS[3]))
    )


def _digit_stats(  # noqa: PLR0917 (one private call site; each frame has its role)
    counted: pl.LazyFrame,
    rows: pl.LazyFrame,
    test: SuiteTest,
    grid_test: TestName,
    params: BenfordParams,
    assets: pl.LazyFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Bins and summary from BINNED_SCHEMA rows (``counted``) and each asset's ``rows``."""
    by_value = test == "summation"
    counts = counted.select("asset_id", "digit", "count", "amount_sum")
    n_used = counted.group_by("asset_id").agg(
        pl.col("count").sum().cast(pl.UInt32).alias("n"),
        pl.col("low").min(),
        pl.col("high").max(),
    )
    bins = (
        _grid(assets, grid_test)
        .join(counts, on=["asset_id", "digit"], how="left")
        .with_columns(pl.col("count").fill_null(0), pl.col("amount_sum").fill_null(0))
        .with_columns(
            (pl.col("amount_sum") if by_value else pl.col("count").cast(pl.Int128)).alias("value")
        )
        .with_columns(pl.col("value").sum().over("asset_id").alias("total"))
        .join(n_used, on="asset_id", how="left")
        .with_columns(pl.col("n").fill_null(0))
    )
    if test == "summation":
        bins = bins.with_columns(pl.lit(1 / 90).alias("expected"))
    share = pl.col("value").cast(pl.Float64) / pl.col("total").cast(pl.Float64)
    bins = bins.with_columns(
        pl.when(pl.col("total") > 0).then(share).otherwise(0.0).alias("observed")
    )
    bins = bins.with_columns((pl.col("observed") - pl.col("expected")).abs().alias("abs_diff"))
    n = pl.col("n").cast(pl.Float64)
    numerator = pl.max_horizontal(pl.col("abs_diff") - 1 / (2 * n), pl.lit(0.0))
    spread = (pl.col("expected") * (1 - pl.col("expected")) / n).sqrt()
    chi_part = (pl.col("count").cast(pl.Float64) - n * pl.col("expected")) ** 2 / (
        n * pl.col("expected")
    )
    table = (
        bins.with_columns(
            pl.when(pl.col("n") > 0).then(numerator / spread).otherwise(None).alias("z"),
            pl.when(pl.col("n") > 0).then(chi_part).otherwise(None).alias("chi_part"),
        )
        .with_columns(
            ((pl.col("z") > params.z_critical) & (pl.col("observed") > pl.col("expected")))
            .fill_null(value=False)
            .alias("suspect")
        )
        .sort("asset_id", "digit")
        .with_columns(
            (pl.col("observed").cum_sum() - pl.col("expected").cum_sum())
            .abs()
            .over("asset_id")
            .alias("cum_diff")
        )
        .collect()
    )
    total_rows = (
        assets.join(rows, on="asset_id", how="left")
        .with_columns(pl.col("rows").fill_null(0))
        .collect()
    )
    applicable = (pl.col("n") >= params.min_n) & (
        pl.col("high") >= pl.col("low") * 10**params.min_magnitudes
    )
    summary = (
        table.group_by("asset_id")
        .agg(
            pl.col("n").first(),
            pl.col("low").first(),
            pl.col("high").first(),
            pl.col("abs_diff").mean().alias("mad"),
            pl.col("chi_part").sum().alias("chi2"),
            (pl.len() - 1).cast(pl.Int64).alias("df"),
            pl.col("cum_diff").max().alias("ks"),
        )
        .join(total_rows, on="asset_id", how="left")
        .with_columns(
            (pl.col("rows") - pl.col("n")).cast(pl.Int64).alias("excluded"),
            (1.36 / pl.col("n").cast(pl.Float64).sqrt()).alias("ks_critical"),
            _band_expr(test).alias("conformity"),
            applicable.fill_null(value=False).alias("applicable"),
        )
        .with_columns(
            pl.when(pl.col("applicable"))
            .then(pl.lit(None, pl.String))
            .when(pl.col("n") < params.min_n)
            .then(
                pl.format(
                    "not applicable: {} amounts used, fewer than {}", "n", pl.lit(params.min_n)
                )
            )
            .otherwise(
                pl.lit(
                    "not applicable: amounts span fewer than "
                    f"{params.min_magnitudes} orders of magnitude"
                )
            )
            .alias("reason"),
        )
        .with_columns(
            pl.when(pl.col("applicable"))
            .then(pl.col("conformity"))
            .otherwise(None)
            .alias("conformity"),
            pl.col("chi2") if test != "summation" else pl.lit(None, pl.Float64).alias("chi2"),
        )
        .select(
            "asset_id",
            "n",
            "excluded",
            "mad",
            "chi2",
            "df",
            "ks",
            "ks_critical",
            "conformity",
            "applicable",
            "reason",
        )
        .sort("asset_id")
    )
    return _bins_out(table), summary


def _bins_out(bins: pl.DataFrame) -> pl.DataFrame:
    return bins.select(
        "asset_id",
        "digit",
        "count",
        "amount_sum",
        "observed",
        "expected",
        "abs_diff",
        "z",
        "suspect",
    )


def benford_test(
    frame: pl.DataFrame | pl.LazyFrame, test: SuiteTest, params: BenfordParams | None = None
) -> BenfordResult:
    """Run one test over ``frame`` (``asset_id``, ``amount`` integer minor units) per asset.

    ``summation`` sums the amounts per first-two-digit bin (expected 1/90 each);
    ``second_order`` runs the first-two-digit test on the differences of the sorted amounts
    (per asset, zeros dropped), all in integers.
    """
    return benford_suite(frame, (test,), params)[test]


def benford_suite(
    frame: pl.DataFrame | pl.LazyFrame,
    tests: tuple[SuiteTest, ...] = SUITE_TESTS,
    params: BenfordParams | None = None,
) -> dict[SuiteTest, BenfordResult]:
    """Run ``tests`` over ``frame`` sharing one pass over the amounts (:func:`histogram`)."""
    params = params or BenfordParams()
    amounts = signed_amounts(frame.lazy(), params.sign).collect()
    assets = frame.lazy().select(pl.col("asset_id").cast(pl.String)).unique()
    leading = [t for t in tests if t not in ("last_two", "second_order")]
    hist = histogram(amounts).collect().lazy() if leading else None
    rows = (
        hist.group_by("asset_id").agg(pl.col("count").sum().cast(pl.UInt32).alias("rows"))
        if hist is not None
        else amounts.lazy().group_by("asset_id").agg(pl.len().alias("rows"))
    )
    results: dict[SuiteTest, BenfordResult] = {}
    for test in tests:
        grid_test: TestName
        if test == "second_order":
            diffs = (  # sorted within each asset (parallel), not one global two-key sort
                amounts.lazy()
                .group_by("asset_id")
                .agg(pl.col("abs_amount").sort().diff())
                .explode("abs_amount")
                .filter(pl.col("abs_amount") > 0)
                .collect()
            )
            grid_test = "first_two"
            counted = binned(histogram(diffs), grid_test, params.convention)
            population = diffs.lazy().group_by("asset_id").agg(pl.len().alias("rows"))
        elif test == "last_two":
            grid_test, counted, population = test, last_two_binned(amounts.lazy()), rows
        else:
            assert hist is not None  # noqa: S101 - leading is not empty here
            grid_test = "first_two" if test == "summation" else test
            counted, population = binned(hist, grid_test, params.convention), rows
        bins, summary = _digit_stats(counted, population, test, grid_test, params, assets)
        results[test] = BenfordResult(
            test, params, bins, summary, f"benford.{test}.{params.convention}"
        )
    return results
