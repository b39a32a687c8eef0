"""Plotly figures of a reconciliation: match rates per stage, open breaks by age."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from ledger_audit.reconcile.aging import BUCKETS


def rates_figure(rates: pl.DataFrame) -> go.Figure:
    """Share of ledger items and bank records each stage matched (a ``Reconciliation.rates``)."""
    rows = rates.filter(pl.col("matches") > 0)
    labels = [f"{s} {n} ({st})" for s, n, st in rows.select("stage", "stage_name", "status").rows()]
    figure = go.Figure()
    for column, name in (("internal_share", "ledger items"), ("external_share", "bank records")):
        figure.add_trace(go.Bar(x=labels, y=rows[column].to_list(), name=name))
    figure.update_layout(
        title="Matched per stage",
        yaxis_tickformat=".0%",
        barmode="group",
        template="plotly_white",
        height=320,
    )
    return figure


def aging_figure(aging: pl.DataFrame) -> go.Figure:
    """Open breaks per age bucket, stacked by class (a ``Reconciliation.aging``)."""
    counts = aging.group_by("bucket", "class").agg(pl.col("count").sum())
    figure = go.Figure()
    for cls in sorted(counts["class"].unique().to_list()):
        mine = dict(counts.filter(pl.col("class") == cls).select("bucket", "count").iter_rows())
        figure.add_trace(go.Bar(x=list(BUCKETS), y=[mine.get(b, 0) for b in BUCKETS], name=cls))
    figure.update_layout(
        title="Open breaks by age (days)",
        barmode="stack",
        template="plotly_white",
        height=320,
    )
    return figure
