"""The close report's "Flux review and Benford" section and the tables behind it.

Short on purpose (the report has a height bound): two paragraphs of counts, then two tables
folded under one line each (``Table.collapsed``): the largest flagged variances and the
Benford summary. Every row is in the workpaper's ``Flux variances``, ``Flux drivers``,
``Benford summary`` and ``Benford bins`` sheets and in ``tables/``; the flux sheet has the
``explanation`` and ``explained_by`` columns for the reviewer, read back by
``ledger-audit close --flux-explanations``. Kept out of the close's verdict like every
analytic.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from ledger_audit.analytics.flux import Threshold
from ledger_audit.close.analytics import CloseAnalytics
from ledger_audit.close.benford_section import benford_summary, benford_tables
from ledger_audit.close.flux_section import NO_MAPPING, flux_tables
from ledger_audit.exports.html_report import Section
from ledger_audit.exports.tables import Table

HEADING = "Flux review and Benford"
TOP_ROWS = 5
"""Flagged variances the report shows (folded); the rest are in the workpaper and tables/."""


def flux_benford_tables(analytics: CloseAnalytics) -> tuple[Table, ...]:
    """The workpaper sheets (and ``tables/`` files) of the section."""
    tables: tuple[Table, ...] = ()
    if analytics.flux is not None:
        tables += flux_tables(analytics.flux)
    if analytics.benford:
        tables += benford_tables(analytics.benford)
    return tables


def _threshold_text(t: Threshold) -> str:
    return f"{t.mode}: {t.amount:,} and {t.percent_bp / 100:g} %"


def _flux_text(analytics: CloseAnalytics) -> str:
    flux = analytics.flux
    if flux is None:
        return f"Flux review {NO_MAPPING}."
    spec = flux.report.spec
    c = flux.counts()
    unused = (
        f", {c['explanations_unused']:,} explanation(s) unused" if c["explanations_unused"] else ""
    )
    return (
        f"Flux of closing balances per GL account and currency, {spec.current.label} against "
        f"{spec.comparison.label} ({_threshold_text(spec.threshold)}): {c['rows']:,} rows, "
        f"{c['flagged']:,} flagged, {c['explained']:,} explained, {c['unexplained']:,} "
        f"unexplained{unused} (explanations go in the workpaper's Flux variances sheet; "
        "close --flux-explanations reads them back)."
    )


def _benford_text(analytics: CloseAnalytics) -> str:
    if not analytics.benford:
        return "Benford did not run."
    summary = benford_summary(analytics.benford).sort("asset_id", "test")
    parts = []
    for (asset,), rows in summary.group_by(["asset_id"], maintain_order=True):
        n = int(rows.select(pl.col("n").max()).item() or 0)
        if not rows["applicable"].any():
            parts.append(f"{asset} not applicable ({n:,} amounts)")
            continue
        verdicts = ", ".join(
            f"{_NAMES[str(t)]} {c or 'not applicable'}"
            for t, c in rows.select("test", "conformity").iter_rows()
        )
        parts.append(f"{asset} {verdicts} ({n:,} amounts)")
    return "Benford of the period's posted entry amounts: " + "; ".join(parts) + "."


_NAMES = {"first": "first digits", "first_two": "first-two"}


def _top_flagged(analytics: CloseAnalytics, named: Callable[[str], Table]) -> Table | None:
    if analytics.flux is None:
        return None
    sheet = named("Flux variances")
    top = (
        sheet.frame.filter(pl.col("explain"))
        .sort(
            [pl.col("delta").abs(), "ledger_id", "gl_account", "asset_id"],
            descending=[True, False, False, False],
        )
        .select(
            "gl_account",
            "asset_id",
            "scale",
            "current",
            "comparison",
            "delta",
            "change",
            pl.col("explanation").is_not_null().alias("explained"),
        )
    )
    return Table(
        "Largest flagged variances",
        top,
        ("current", "comparison", "delta"),
        percent=("change",),
        limit=TOP_ROWS,
        full=sheet.name,
        collapsed=True,
    )


def flux_benford_section(
    analytics: CloseAnalytics | None, named: Callable[[str], Table]
) -> Section:
    """The report's section; ``named`` finds a close table by name."""
    if analytics is None:
        return Section(HEADING, paragraphs=("The analytics stage did not run.",))
    tables = []
    top = _top_flagged(analytics, named)
    if top is not None:
        tables.append(top)
    if analytics.benford:
        summary = named("Benford summary")
        tables.append(
            Table(
                summary.name,
                summary.frame.select(
                    "test",
                    "asset_id",
                    "n",
                    pl.col("mad").round(4),
                    "conformity",
                    "suspects",
                ),
                note=summary.note,
                full=summary.name,
                collapsed=True,
            )
        )
    return Section(
        HEADING,
        paragraphs=(f"{_flux_text(analytics)} {_benford_text(analytics)}",),
        tables=tuple(tables),
    )
