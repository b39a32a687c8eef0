"""Plotly figures of a drift report (display edge: minor units become Decimals here only).

``drift_lines`` draws one bank account's ledger and statement balances over the days, with
the drift and its unexplained part below; ``drift_waterfall`` walks one day from the
statement balance, through the open reconciling items by class and the unexplained
remainder, to the ledger balance.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from ledger_audit.money import format_amount, to_decimal
from ledger_audit.reports.drift import DRIFT_CLASSES, DriftReport

LINE_TRACES = ("ledger", "external", "stale external", "drift", "unexplained")
"""Names of the ``drift_lines`` traces, in order."""


def _decimals(values: list[int | None], asset_id: str) -> list[Decimal | None]:
    return [None if v is None else to_decimal(v, asset_id) for v in values]


def _rows(report: DriftReport, account_id: str, asset_id: str) -> pl.DataFrame:
    rows = report.account(account_id, asset_id).sort("day")
    if rows.is_empty():
        raise ValueError(f"the drift report has no rows for {account_id} {asset_id}")
    return rows


def drift_lines(report: DriftReport, account_id: str, asset_id: str) -> go.Figure:
    """Ledger vs statement balance per day (top) and drift vs its unexplained part (bottom).

    Days on which the statement balance is stale are marked; a day with no statement balance
    yet has no external point and no drift.
    """
    rows = _rows(report, account_id, asset_id)
    days = rows["day"].to_list()
    stale = rows.filter(pl.col("stale") & pl.col("external").is_not_null())
    figure = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.65, 0.35],
        vertical_spacing=0.06,
        subplot_titles=("balances", "drift = external - ledger"),
    )
    figure.add_trace(
        go.Scatter(
            x=days,
            y=_decimals(rows["ledger"].to_list(), asset_id),
            mode="lines+markers",
            name="ledger",
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=days,
            y=_decimals(rows["external"].to_list(), asset_id),
            mode="lines",
            line={"shape": "hv", "dash": "dash"},
            name="external",
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=stale["day"].to_list(),
            y=_decimals(stale["external"].to_list(), asset_id),
            mode="markers",
            marker={"symbol": "x", "size": 8},
            name="stale external",
            text=[f"closing {d}" for d in stale["external_date"].to_list()],
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=days,
            y=_decimals(rows["drift"].to_list(), asset_id),
            mode="lines+markers",
            name="drift",
        ),
        row=2,
        col=1,
    )
    figure.add_trace(
        go.Bar(
            x=days,
            y=_decimals(rows["unexplained"].to_list(), asset_id),
            name="unexplained",
            marker={"color": ["crimson" if m else "grey" for m in rows["material"].to_list()]},
        ),
        row=2,
        col=1,
    )
    code = asset_id.split("/", maxsplit=1)[0]
    figure.update_layout(
        title=f"{account_id} ({asset_id}) against {rows['account_ref'][0]}",
        template="plotly_white",
        barmode="overlay",
    )
    figure.update_yaxes(title_text=code, row=1, col=1)
    figure.update_yaxes(title_text=code, row=2, col=1)
    figure.update_xaxes(title_text="day (UTC)", row=2, col=1)
    return figure


def drift_waterfall(report: DriftReport, account_id: str, asset_id: str, day: dt.date) -> go.Figure:
    """From the statement balance of ``day`` to the ledger balance, one step per class.

    Each open class is a step of minus its amount (drift = external - ledger, so removing
    what explains it walks back to the ledger); classes with nothing open are left out; the
    unexplained step is always shown, and the last bar is the ledger balance. Without a
    statement balance on or before ``day`` the figure says so instead.
    """
    rows = _rows(report, account_id, asset_id).filter(pl.col("day") == day)
    if rows.is_empty():
        raise ValueError(
            f"{day} is outside the drift report ({report.first_day}..{report.last_day})"
        )
    row = rows.row(0, named=True)
    if row["external"] is None:  # a bank account whose statements give no balance yet
        return _no_statement_balance(account_id, asset_id, day)
    steps = [(name, -int(row[name])) for name in DRIFT_CLASSES if row[name]]
    labels = [
        f"external ({row['external_date']})",
        *(name.replace("_", " ") for name, _ in steps),
        "unexplained",
        "ledger",
    ]
    amounts = [row["external"], *(a for _, a in steps), -row["unexplained"], row["ledger"]]
    figure = go.Figure(
        go.Waterfall(
            x=labels,
            y=[to_decimal(a, asset_id) for a in amounts],
            measure=["absolute", *("relative" for _ in steps), "relative", "total"],
            text=[format_amount(a, asset_id) for a in amounts],
            textposition="outside",
            name="drift",
        )
    )
    figure.update_layout(
        title=f"{account_id} ({asset_id}) on {day}: statement to ledger",
        yaxis_title=asset_id.split("/", maxsplit=1)[0],
        template="plotly_white",
        showlegend=False,
    )
    return figure


def _no_statement_balance(account_id: str, asset_id: str, day: dt.date) -> go.Figure:
    """The waterfall of an account no statement has given a balance for: said, not drawn.

    A statement that carries no balance (a CSV of lines, an MT940 without its closing
    balance) is a state of the data, not an error: the notebook goes on to the next account.
    """
    figure = go.Figure()
    figure.add_annotation(
        text=f"no statement balance of {account_id} ({asset_id}) on or before {day}",
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
    )
    figure.update_layout(
        title=f"{account_id} ({asset_id}) on {day}: statement to ledger",
        template="plotly_white",
        xaxis_visible=False,
        yaxis_visible=False,
    )
    return figure
