"""The findings chart: one bar per rule, coloured by its severity."""

from __future__ import annotations

import polars as pl

from ledger_audit.viz.balances import SEVERITY_COLOURS, findings_figure


def test_bar_colours_follow_severity() -> None:
    summary = pl.DataFrame(
        {
            "rule": ["chain.tampered", "balance.drift", "recon.in_transit", "none"],
            "severity": ["critical", "high", "info", "low"],
            "count": [4, 2, 1, 0],
        }
    )
    bar = findings_figure(summary).data[0]
    assert list(bar.y) == ["chain.tampered", "balance.drift", "recon.in_transit"]
    assert list(bar.marker.color) == [
        SEVERITY_COLOURS["critical"],
        SEVERITY_COLOURS["high"],
        SEVERITY_COLOURS["info"],
    ]
    assert len(set(SEVERITY_COLOURS.values())) == len(SEVERITY_COLOURS)
