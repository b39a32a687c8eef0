"""The ledger explorer control: pick account, asset and day; see balance, history, entries.

All wiring lives here so the notebook stays one call (STYLE.md habit 11). Headless runs show
the first selection; in JupyterLab the controls re-render on change.
"""

from __future__ import annotations

from datetime import date

import ipywidgets as widgets
import plotly.graph_objects as go
import polars as pl
from IPython.display import display

from ledger_audit.replay.balances import balances_as_of
from ledger_audit.replay.drilldown import balance_entries
from ledger_audit.replay.history import balance_history
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period
from ledger_audit.viz.balances import history_figure, money_column


def _accounts(frames: LedgerFrames) -> list[tuple[str, str]]:
    pairs = frames.entries.select("account_id", "asset_id").unique().sort("account_id", "asset_id")
    return [(a, s) for a, s in pairs.iter_rows()]


def explorer(
    frames: LedgerFrames,
    first_day: date,
    last_day: date,
    account_id: str | None = None,
) -> None:
    """Show controls (account x asset, day, basis) over the balance, its history and entries.

    The three views are display handles updated in place when a control changes, not an
    ipywidgets ``Output``: outputs captured by an Output widget can stall headless
    execution (nbclient), and handles render the same in JupyterLab and in nbconvert HTML.
    """
    pairs = _accounts(frames)
    options = [(f"{a} ({s})", (a, s)) for a, s in pairs]
    start = next((p for p in pairs if p[0] == account_id), pairs[0] if pairs else ("", ""))
    pick = widgets.Dropdown(options=options, value=start, description="account")
    day = widgets.DatePicker(value=last_day, description="as of (UTC)")
    basis = widgets.ToggleButtons(options=["effective", "recorded"], description="basis")
    history = balance_history(frames, first_day, last_day).collect()

    def views() -> tuple[pl.DataFrame, go.Figure, pl.DataFrame]:
        account, asset = pick.value
        at = Period.day(day.value or last_day).end_ns - 1
        shown = (
            balances_as_of(frames, at, basis.value)
            .filter((pl.col("account_id") == account) & (pl.col("asset_id") == asset))
            .collect()
        )
        balance = shown.with_columns(
            money_column(shown, "posted"), money_column(shown, "available")
        )
        entries = balance_entries(frames, account, asset, at, basis.value).collect()
        return balance, history_figure(history, account, asset), entries

    display(widgets.HBox([pick, day, basis]))
    handles = [display(view, display_id=True) for view in views()]

    def render(_: object = None) -> None:
        for handle, view in zip(handles, views(), strict=True):
            handle.update(view)

    for control in (pick, day, basis):
        control.observe(render, names="value")
