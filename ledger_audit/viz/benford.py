"""Observed against expected digit proportions for one Benford test and asset (plotly)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from ledger_audit.analytics.benford.suite import BenfordResult


def benford_figure(result: BenfordResult, asset_id: str) -> go.Figure:
    """Bars for the observed shares, a line for Benford's, suspect bins in a second colour."""
    bins = result.bins.filter(pl.col("asset_id") == asset_id).sort("digit")
    width = 1 if result.test in {"first", "second"} else 2
    labels = [str(d).zfill(width) for d in bins["digit"].to_list()]
    colours = ["#d62728" if s else "#1f77b4" for s in bins["suspect"].to_list()]
    figure = go.Figure()
    figure.add_bar(x=labels, y=bins["observed"].to_list(), name="observed", marker_color=colours)
    figure.add_scatter(x=labels, y=bins["expected"].to_list(), name="expected", mode="lines")
    summary = result.summary.filter(pl.col("asset_id") == asset_id).row(0, named=True)
    verdict = summary["conformity"] or summary["reason"] or "no band for this test"
    figure.update_layout(
        title=(
            f"{result.test} digits, {asset_id}: N={summary['n']}, "
            f"MAD={summary['mad']:.5f} ({verdict})"
        ),
        xaxis_title="digits",
        yaxis_title="proportion",
    )
    return figure
