"""The flux review's tables and coverage, as the close and ``ledger-audit flux`` ship them.

``Flux variances`` (one row per GL account x asset: current, comparison, delta and the
change as a rate, the threshold applied, the flags, then ``explanation`` and
``explained_by`` for the reviewer to fill in: ``sources.flux_explanations`` reads that sheet
back) and ``Flux drivers`` (per flagged row, the current period's transactions that drive
it). Both are workpaper sheets and ``tables/flux_variances`` and ``tables/flux_drivers``.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.analytics.flux import FluxSpec, build_flux
from ledger_audit.analytics.flux_explanations import ExplainedFlux, merge_explanations
from ledger_audit.analytics.flux_params import month_before
from ledger_audit.exports.tables import Table
from ledger_audit.findings import CheckResult, Coverage, empty_findings
from ledger_audit.replay.rollforward import RolledForward
from ledger_audit.reports.trial_balance import asset_scale
from ledger_audit.sources.flux_explanations import FLUX_SHEET
from ledger_audit.sources.gl_mapping import GlMapping
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period

FLUX_CHECK = "analytics.flux"
DRIVERS_SHEET = "Flux drivers"
NO_MAPPING = "not run: no GL mapping"
HISTORY = 3
"""Months before the closed one read for trend flags (a trend is three same-sign steps)."""


def close_flux_spec(period: Period) -> FluxSpec:
    """The close's review: closing balances against the month before, default thresholds."""
    return FluxSpec(
        current=period,
        comparison=Period.month(month_before(period.label)),
        measure="closing",
        history=tuple(Period.month(month_before(period.label, k)) for k in range(HISTORY, 0, -1)),
    )


def close_roll_periods(period: Period, flux: bool) -> tuple[Period, ...]:
    """The months the close rolls forward once: the flux review's, or the month alone.

    The trial balance and JET completeness read the month; the flux review also the months
    before it. All read them from one roll-forward.
    """
    if not flux:
        return (period,)
    spec = close_flux_spec(period)
    return (*spec.history, spec.comparison, spec.current)


def run_close_flux(
    frames: LedgerFrames,
    period: Period,
    mapping: GlMapping,
    explanations: pl.DataFrame | None = None,
    source: str | None = None,
    *,
    rolled: RolledForward | None = None,
) -> ExplainedFlux:
    """The close's flux review with the reviewer's explanations (``source``) merged in.

    ``rolled``: the close's roll-forward (:func:`close_roll_periods`), read instead of
    replaying the months again.
    """
    report = build_flux(frames, mapping, close_flux_spec(period), rolled)
    return merge_explanations(report, explanations, source)


def flux_tables(explained: ExplainedFlux) -> tuple[Table, Table]:
    """(``Flux variances``, ``Flux drivers``): see the module docstring."""
    report = explained.report
    variances = report.variances.select(
        "ledger_id",
        "gl_account",
        "asset_id",
        asset_scale(pl.col("asset_id")).alias("scale"),
        "current",
        "comparison",
        "delta",
        (pl.col("percent") / 100).alias("change"),
        "new_activity",
        "trend",
        "mode",
        pl.col("amount_minor").alias("threshold_amount"),
        "percent_bp",
        "override",
        "amount_met",
        "percent_met",
        "explain",
        "explanation",
        "explained_by",
    )
    drivers = report.drivers.select(
        "ledger_id",
        "gl_account",
        "asset_id",
        asset_scale(pl.col("asset_id")).alias("scale"),
        "transaction_id",
        "effect",
        "delta",
        (pl.col("effect").cast(pl.Float64()) / pl.col("delta").cast(pl.Float64())).alias("share"),
    )
    spec = report.spec
    return (
        Table(
            FLUX_SHEET,
            variances,
            ("current", "comparison", "delta", "threshold_amount"),
            percent=("change",),
            note=(
                f"{spec.measure} of {spec.current.label} against {spec.comparison.label}, per GL "
                "account and currency; explain is true where the threshold is met: fill in "
                "explanation and explained_by for each such row."
            ),
        ),
        Table(
            DRIVERS_SHEET,
            drivers,
            ("effect", "delta"),
            percent=("share",),
            note="The period's transactions that each explain a tenth or more of a flagged delta.",
        ),
    )


def flux_result(explained: ExplainedFlux | None) -> CheckResult:
    """The flux review's coverage; without a GL mapping it says it did not run."""
    if explained is None:
        return CheckResult(
            FLUX_CHECK,
            empty_findings(),
            Coverage(0, "GL account x asset rows", "not run", unproven=(NO_MAPPING,)),
        )
    counts = explained.counts()
    spec = explained.report.spec
    unproven = []
    if counts["unexplained"]:
        unproven.append(f"{counts['unexplained']:,} flagged variance(s) have no explanation")
    return CheckResult(
        FLUX_CHECK,
        explained.findings,
        Coverage(
            checked=counts["rows"],
            unit="GL account x asset rows",
            scope=(
                f"{spec.measure} {spec.current.label} against {spec.comparison.label}: "
                f"{counts['flagged']:,} flagged, {counts['explained']:,} explained"
            ),
            unproven=tuple(unproven),
        ),
    )
