"""Plotly figures of balances and findings (display edge: minor units become Decimals here)."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl

from ledger_audit.money import format_amount, to_decimal


def use_offline_notebook_renderer() -> None:
    """Embed plotly.js in notebook outputs, so figures survive nbconvert and need no network."""
    pio.renderers.default = "notebook"


def history_figure(history: pl.DataFrame, account_id: str, asset_id: str) -> go.Figure:
    """Daily posted and available balance of one account x asset (a ``balance_history`` frame)."""
    rows = history.filter(
        (pl.col("account_id") == account_id) & (pl.col("asset_id") == asset_id)
    ).sort("day")
    days = rows["day"].to_list()
    figure = go.Figure()
    for column in ("posted", "available"):
        values = [to_decimal(v, asset_id) for v in rows[column].to_list()]
        figure.add_trace(go.Scatter(x=days, y=values, mode="lines+markers", name=column))
    figure.update_layout(
        title=f"{account_id} ({asset_id}), daily closing balance",
        xaxis_title="day (UTC)",
        yaxis_title=asset_id.split("/", maxsplit=1)[0],
        template="plotly_white",
    )
    return figure


SEVERITY_COLOURS: dict[str, str] = {
    "critical": "#b91c1c",
    "high": "#ea580c",
    "medium": "#ca8a04",
    "low": "#2563eb",
    "info": "#6b7280",
}
"""A bar's colour says its severity: red for critical down to grey for info."""

_WHOLE_TICKS = 10
"""Up to this many findings on a bar, the axis ticks every whole number."""


def findings_figure(summary: pl.DataFrame) -> go.Figure:
    """Findings per rule: one readable bar per rule, in the summary's order, top down.

    ``summary`` has ``rule``, ``severity`` and ``count`` (a verify summary or the close's
    findings by rule); rules without findings are left out.
    """
    rows = summary.filter(pl.col("count") > 0)
    most = int(rows["count"].max() or 0)  # type: ignore[arg-type]
    figure = go.Figure(
        go.Bar(
            x=rows["count"].to_list(),
            y=rows["rule"].to_list(),
            orientation="h",
            text=[f"{n} ({s})" for n, s in rows.select("count", "severity").rows()],
            textposition="outside",
            cliponaxis=False,
            marker={"color": [SEVERITY_COLOURS.get(s, "#6b7280") for s in rows["severity"]]},
        )
    )
    figure.update_layout(
        title="Findings per rule",
        template="plotly_white",
        height=120 + 28 * rows.height,
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={"title": "findings", "dtick": 1 if most <= _WHOLE_TICKS else None},
        margin={"r": 80},
    )
    return figure


def money_column(frame: pl.DataFrame, column: str, asset_column: str = "asset_id") -> pl.Series:
    """A minor-unit column formatted with each row's asset (``12.34 USD``)."""
    return pl.Series(
        column,
        [
            format_amount(amount, asset)
            for amount, asset in zip(
                frame[column].to_list(), frame[asset_column].to_list(), strict=True
            )
        ],
        dtype=pl.String(),
    )
