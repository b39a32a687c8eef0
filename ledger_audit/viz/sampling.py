"""Sliders over the sampling parameters: move one, see the sample sizes move.

The table is a display handle updated in place (as in :mod:`ledger_audit.viz.jet`).
"""

from __future__ import annotations

from fractions import Fraction

import ipywidgets as widgets
import polars as pl
from IPython.display import display

from ledger_audit.analytics.sampling.attribute import plan_attribute
from ledger_audit.analytics.sampling.mus import plan_mus

_PERCENT = 100


def sampling_counts(
    book_value: int, confidence: float, tolerable_pct: float, expected_pct: float
) -> pl.DataFrame:
    """Attribute and MUS sample sizes for one set of parameters (percent inputs)."""
    conf = Fraction(str(confidence))
    tolerable = Fraction(str(tolerable_pct)) / _PERCENT
    expected = Fraction(str(expected_pct)) / _PERCENT
    attribute = plan_attribute(conf, tolerable, expected)
    mus = plan_mus(conf, book_value, int(book_value * tolerable), int(book_value * expected))
    return pl.DataFrame(
        {
            "plan": ["attribute", "monetary unit"],
            "n": [attribute.n, mus.n],
            "method": [attribute.method, mus.method],
        }
    )


def sampling_controls(book_value: int, confidence: float, tolerable_pct: float) -> None:
    """Sliders for confidence, tolerable and expected rates over a live table of sizes."""
    conf = widgets.FloatSlider(
        value=confidence, min=0.80, max=0.99, step=0.01, description="confidence"
    )
    tolerable = widgets.FloatSlider(
        value=tolerable_pct, min=1.0, max=20.0, step=0.5, description="tolerable %"
    )
    expected = widgets.FloatSlider(value=0.0, min=0.0, max=5.0, step=0.25, description="expected %")
    controls = (conf, tolerable, expected)

    def counts() -> pl.DataFrame:
        low = min(expected.value, tolerable.value / 2)  # expected must stay below tolerable
        return sampling_counts(book_value, conf.value, tolerable.value, low)

    display(widgets.HBox(list(controls)))
    handle = display(counts(), display_id=True)

    def render(_: object = None) -> None:
        if handle is not None:
            handle.update(counts())

    for control in controls:
        control.observe(render, names="value")
