"""Controls over the JET parameters: move a threshold, see each rule's count move.

The coverage table is a display handle updated in place (not an ipywidgets ``Output``,
which can stall headless execution), as in :mod:`ledger_audit.viz.explorer`.
"""

from __future__ import annotations

from dataclasses import replace

import ipywidgets as widgets
import polars as pl
from IPython.display import display

from ledger_audit.analytics.jet.engine import run_jet
from ledger_audit.analytics.jet.params import JetParams
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period


def jet_controls(frames: LedgerFrames, period: Period, params: JetParams) -> None:
    """Sliders for the main JET thresholds over a live table of flagged counts per rule."""
    backdated = widgets.IntSlider(
        value=params.backdated_days, min=0, max=60, description="back-dated d"
    )
    below = widgets.IntSlider(
        value=params.below_bp, min=0, max=5_000, step=50, description="below T (bp)"
    )
    pairs = widgets.IntSlider(value=params.pair_max, min=0, max=20, description="rare pair <=")
    outlier = widgets.FloatSlider(
        value=params.outlier_z, min=1.0, max=10.0, step=0.5, description="outlier z"
    )
    scope = widgets.ToggleButtons(
        options=["manual", "all"], value=params.weekend_scope, description="weekend"
    )
    controls = (backdated, below, pairs, outlier, scope)

    def counts() -> pl.DataFrame:
        chosen = replace(
            params,
            backdated_days=backdated.value,
            below_bp=below.value,
            pair_max=pairs.value,
            outlier_z=outlier.value,
            weekend_scope=scope.value,
        )
        result = run_jet(frames, period, chosen, completeness=False)
        return result.coverage.select("code", "rule", "status", "flagged")

    display(widgets.VBox([widgets.HBox(list(controls[:3])), widgets.HBox(list(controls[3:]))]))
    handle = display(counts(), display_id=True)

    def render(_: object = None) -> None:
        if handle is not None:
            handle.update(counts())

    for control in controls:
        control.observe(render, names="value")
