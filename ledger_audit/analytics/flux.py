"""Flux (variance) review between two periods per GL account and asset (ANALYTICS.md 3.7).

Values are the GL rollup (``reports.gl_mapping``) of the replayed roll-forward: each GL
account x asset's closing balance (trial-balance flux) or its movement in the period,
oriented by the accounts' normal balances, in exact integer minor units of that asset;
two assets are never added. Delta = current - comparison. A variance needs explaining when
its threshold is met, under one of four modes (``and``, ``or``, ``amount_only``,
``percent_only``), an account-level override winning over the report level. With a zero
comparison the percent is undefined: the row is "new activity" and only the amount test
applies (in ``percent_only`` mode any new activity is flagged). Percent tests are exact
integer comparisons (|delta| * 10,000 >= bp * |comparison|); the percent column is for
display only. Every GL account with a value in either period appears. A trend flag marks
the same sign of delta over ``trend_min`` consecutive period steps, and the drivers are the
current period's transactions whose own effect on a flagged row, in the delta's direction,
is at least ``driver_bp`` of the delta.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from ledger_audit.replay.rollforward import RolledForward, rolled_rows
from ledger_audit.reports.gl_mapping import apply_mapping
from ledger_audit.sources.gl_mapping import GlMapping
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period

Mode = Literal["and", "or", "amount_only", "percent_only"]
MODES: tuple[Mode, ...] = ("and", "or", "amount_only", "percent_only")
EXACT = pl.Decimal(38, 0)
_BP = 10_000
_MAX_SCALE = 18


@dataclass(frozen=True, slots=True)
class Threshold:
    """When a variance needs an explanation.

    Attributes:
        mode: how the two tests combine.
        amount: the amount test, in major units of the row's asset (|delta| >= amount).
        percent_bp: the percent test in basis points of |comparison| (1,000 = 10 %).
    """

    mode: Mode = "and"
    amount: int = 10_000
    percent_bp: int = 1_000


@dataclass(frozen=True, slots=True)
class FluxSpec:
    """A flux review's parameters (all go into the manifest).

    Attributes:
        current: the period under review.
        comparison: the period it is compared with (MoM, QoQ, YoY: the caller's choice).
        threshold: the report-level threshold.
        overrides: (GL account, threshold) pairs that win over the report level.
        measure: ``closing`` balances (trial-balance flux) or period ``movement``.
        history: earlier periods, oldest first, ending just before ``current``, for trends.
        trend_min: consecutive same-sign steps that make a trend (3).
        driver_bp: a driver explains at least this share of delta, in basis points (1,000).
    """

    current: Period
    comparison: Period
    threshold: Threshold = Threshold()
    overrides: tuple[tuple[str, Threshold], ...] = ()
    measure: Literal["closing", "movement"] = "closing"
    history: tuple[Period, ...] = ()
    trend_min: int = 3
    driver_bp: int = 1_000


@dataclass(frozen=True, slots=True, eq=False)
class FluxReport:
    """The flux review as values.

    Attributes:
        spec: its parameters.
        variances: one row per GL account x asset: current, comparison, delta, percent,
            new_activity, the threshold applied (mode, amount_minor, percent_bp, override),
            amount_met, percent_met, explain (threshold met), trend, and empty
            ``explanation`` and ``explained_by`` columns for the reviewer
            (``analytics.flux_explanations`` fills them from a reviewer's file).
        drivers: per flagged row, the transactions that drive it (effect in minor units).
    """

    spec: FluxSpec
    variances: pl.DataFrame
    drivers: pl.DataFrame


def _values(
    frames: LedgerFrames,
    mapping: GlMapping,
    periods: Sequence[Period],
    measure: str,
    rolled: RolledForward | None,
) -> pl.LazyFrame:
    rows = rolled_rows(frames, periods, "effective", rolled).with_columns(
        pl.col(c).cast(EXACT) for c in ("opening", "closing")
    )
    value = pl.col("closing") if measure == "closing" else pl.col("closing") - pl.col("opening")
    return (
        apply_mapping(rows.with_columns(value.alias("value")), mapping)
        .group_by("period", "ledger_id", "gl_account", "asset_id")
        .agg(pl.col("value").sum().cast(EXACT))
    )


def _threshold_frame(spec: FluxSpec) -> pl.LazyFrame:
    rows = [(gl, t.mode, t.amount, t.percent_bp) for gl, t in spec.overrides]
    return pl.LazyFrame(
        rows,
        schema={
            "gl_account": pl.String(),
            "o_mode": pl.String(),
            "o_amount": pl.Int64(),
            "o_bp": pl.Int64(),
        },
        orient="row",
    )


def build_flux(
    frames: LedgerFrames,
    mapping: GlMapping,
    spec: FluxSpec,
    rolled: RolledForward | None = None,
) -> FluxReport:
    """Variances per GL account x asset between ``spec.current`` and ``spec.comparison``.

    ``rolled``: the roll-forward the caller already made of these frames (the close's),
    read where it covers the spec's periods.
    """
    for _, t in (("", spec.threshold), *spec.overrides):
        if t.mode not in MODES:
            msg = f"flux threshold mode {t.mode!r} is not one of {', '.join(MODES)}"
            raise ValueError(msg)
    periods = [*spec.history, spec.comparison, spec.current]
    unique = list({p.label: p for p in periods}.values())
    values = _values(frames, mapping, unique, spec.measure, rolled).collect()
    key = ["ledger_id", "gl_account", "asset_id"]
    cur = values.filter(pl.col("period") == spec.current.label).select(
        *key, pl.col("value").alias("current")
    )
    cmp_ = values.filter(pl.col("period") == spec.comparison.label).select(
        *key, pl.col("value").alias("comparison")
    )
    units = frames.assets.select(
        "asset_id",
        pl.when(pl.col("scale") <= _MAX_SCALE)
        .then(pl.lit(10, dtype=pl.Int64()).pow(pl.col("scale").cast(pl.Int64())))
        .alias("unit"),
    )
    base = spec.threshold
    joined = (
        cur.join(cmp_, on=key, how="full", coalesce=True)
        .with_columns(
            pl.col("current").fill_null(0).cast(EXACT),
            pl.col("comparison").fill_null(0).cast(EXACT),
        )
        .join(units, on="asset_id", how="left")
        .join(_threshold_frame(spec).collect(), on="gl_account", how="left")
        .with_columns(
            pl.col("o_mode").is_not_null().alias("override"),
            pl.coalesce(pl.col("o_mode"), pl.lit(base.mode)).alias("mode"),
            (pl.coalesce(pl.col("o_amount"), pl.lit(base.amount)) * pl.col("unit"))
            .cast(EXACT)
            .alias("amount_minor"),
            pl.coalesce(pl.col("o_bp"), pl.lit(base.percent_bp)).alias("percent_bp"),
        )
        .drop("o_mode", "o_amount", "o_bp", "unit")
        .with_columns((pl.col("current") - pl.col("comparison")).cast(EXACT).alias("delta"))
        .filter((pl.col("current") != 0) | (pl.col("comparison") != 0))
    )
    delta, comparison = pl.col("delta").abs(), pl.col("comparison").abs()
    new = pl.col("comparison") == 0
    amount_met = pl.col("amount_minor").is_not_null() & (delta >= pl.col("amount_minor"))
    percent_met = ~new & (delta * _BP >= comparison * pl.col("percent_bp").cast(EXACT))
    mode = pl.col("mode")
    explain = (
        pl.when(new & (mode == "percent_only"))
        .then(delta > 0)
        .when(new)
        .then(amount_met)
        .when(mode == "and")
        .then(amount_met & percent_met)
        .when(mode == "or")
        .then(amount_met | percent_met)
        .when(mode == "amount_only")
        .then(amount_met)
        .otherwise(percent_met)
    )
    variances = joined.with_columns(
        pl.when(~new)
        .then(pl.col("delta").cast(pl.Float64()) * 100 / comparison.cast(pl.Float64()))
        .alias("percent"),
        new.alias("new_activity"),
        amount_met.alias("amount_met"),
        percent_met.alias("percent_met"),
        explain.alias("explain"),
    )
    variances = (
        variances.join(_trends(values, spec, key), on=key, how="left")
        .with_columns(
            pl.col("trend").fill_null(value=False),
            pl.lit(None, dtype=pl.String()).alias("explanation"),
            pl.lit(None, dtype=pl.String()).alias("explained_by"),
        )
        .sort(key)
    )
    drivers = _drivers(frames, mapping, spec, variances.filter(pl.col("explain")))
    return FluxReport(spec=spec, variances=variances, drivers=drivers)


def _trends(values: pl.DataFrame, spec: FluxSpec, key: list[str]) -> pl.DataFrame:
    """True where delta kept one sign over the last ``trend_min`` steps up to ``current``."""
    labels = [p.label for p in (*spec.history, spec.current)]
    if len(labels) <= spec.trend_min:
        return pl.DataFrame(schema={**{k: pl.String() for k in key}, "trend": pl.Boolean()})
    order = pl.DataFrame({"period": labels, "step": list(range(len(labels)))})
    steps = values.join(order, on="period", how="inner").select(*key, "step", "value")
    grid = steps.select(key).unique().join(order, how="cross")
    full = (
        grid.join(steps, on=[*key, "step"], how="left")
        .with_columns(pl.col("value").fill_null(0).cast(EXACT))
        .sort([*key, "step"])
    )
    sign = (pl.col("value") - pl.col("value").shift(1).over(key)).sign()
    last = len(labels) - 1
    return (
        full.with_columns(sign.alias("sign"))
        .filter(pl.col("step") > last - spec.trend_min)
        .group_by(key)
        .agg(
            (
                (pl.col("sign").n_unique() == 1)
                & (pl.col("sign").first() != 0)
                & pl.col("sign").is_not_null().all()
            ).alias("trend")
        )
    )


def _drivers(
    frames: LedgerFrames, mapping: GlMapping, spec: FluxSpec, flagged: pl.DataFrame
) -> pl.DataFrame:
    """Current-period transactions whose effect on a flagged row is >= driver_bp of delta."""
    period = spec.current
    tx = frames.transactions.lazy().select(
        "ledger_id", "transaction_id", "version", "status", "effective_ns"
    )
    latest = tx.group_by("ledger_id", "transaction_id").agg(pl.all().sort_by("version").last())
    legs = (
        frames.entries.lazy()
        .join(
            latest.filter(
                (pl.col("status") == "posted")
                & pl.col("effective_ns").is_between(period.start_ns, period.end_ns - 1)
            ),
            on=["ledger_id", "transaction_id", "version"],
            how="inner",
        )
        .join(
            frames.accounts.lazy().select("ledger_id", "account_id", "normal_balance"),
            on=["ledger_id", "account_id"],
            how="left",
        )
    )
    signed = (
        pl.when((pl.col("direction") == "debit") == (pl.col("normal_balance") != "credit"))
        .then(pl.col("amount"))
        .otherwise(-pl.col("amount"))
    )
    effects = (
        apply_mapping(legs.with_columns(signed.cast(EXACT).alias("effect")), mapping)
        .group_by("ledger_id", "gl_account", "asset_id", "transaction_id")
        .agg(pl.col("effect").sum().cast(EXACT))
    )
    key = ["ledger_id", "gl_account", "asset_id"]
    return (
        effects.join(flagged.lazy().select(*key, "delta"), on=key, how="inner")
        .filter(
            (pl.col("effect").sign() == pl.col("delta").sign())
            & (pl.col("effect").abs() * _BP >= pl.col("delta").abs() * spec.driver_bp)
        )
        .select(*key, "transaction_id", "effect", "delta")
        .sort([*key, "effect", "transaction_id"], descending=[False, False, False, True, False])
        .collect()
    )
