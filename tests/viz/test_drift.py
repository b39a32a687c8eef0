"""Drift figures: the expected traces, amounts as decimals of the asset's scale."""

from __future__ import annotations

from decimal import Decimal

import plotly.graph_objects as go
import pytest

from ledger_audit.reports.drift import DriftReport, build_drift_report
from ledger_audit.viz.drift import LINE_TRACES, drift_lines, drift_waterfall
from tests.reports.drift_cases import (
    BREAKS,
    RECORDS,
    RULES,
    STATEMENT,
    balances,
    day,
    frames,
    match,
    reconciliation,
)


@pytest.fixture(scope="module")
def report() -> DriftReport:
    matches = (
        match("key/l:t1:0:0", "auto", [("t1", 10_000)], [("r1", 10_000)]),
        match("key/l:t2:0:0", "auto", [("t2", -4_000)], [("r2", -4_000)]),
    )
    # the day-4 balance is missing: day 4 carries day 3's, stale after 0 days
    return build_drift_report(
        frames(),
        balances(*STATEMENT[:4]),
        reconciliation(BREAKS, matches),
        RULES,
        records=RECORDS,
        first_day=day(0),
        last_day=day(4),
        stale_after_days=0,
    )


def test_lines_show_both_balances_the_drift_and_its_unexplained_part(report: DriftReport) -> None:
    figure = drift_lines(report, "assets:bank", "USD/2")
    assert isinstance(figure, go.Figure)
    assert tuple(trace.name for trace in figure.data) == LINE_TRACES
    traces = {trace.name: trace for trace in figure.data}
    assert list(traces["ledger"].y) == [
        Decimal("100.00"),
        Decimal("60.00"),
        Decimal("30.00"),
        Decimal("35.00"),
        Decimal("35.00"),
    ]
    assert list(traces["external"].y) == [
        Decimal(v) for v in ("100", "100", "59.75", "59.75", "59.75")
    ]
    assert list(traces["drift"].y) == [Decimal(v) for v in ("0", "40", "29.75", "24.75", "24.75")]
    assert list(traces["unexplained"].y) == [Decimal(0)] * 5
    assert list(traces["stale external"].x) == [day(4)]
    assert traces["drift"].yaxis == "y2"
    assert traces["ledger"].yaxis == "y"


def test_waterfall_walks_from_the_statement_to_the_ledger(report: DriftReport) -> None:
    figure = drift_waterfall(report, "assets:bank", "USD/2", day(3))
    (trace,) = figure.data
    assert isinstance(trace, go.Waterfall)
    assert list(trace.x) == [
        "external (2025-01-04)",
        "missing internal",
        "missing external",
        "in transit",
        "unexplained",
        "ledger",
    ]
    assert list(trace.measure) == [
        "absolute",
        "relative",
        "relative",
        "relative",
        "relative",
        "total",
    ]
    assert list(trace.y) == [Decimal(v) for v in ("59.75", "0.25", "5.00", "-30.00", "0", "35.00")]
    assert sum(trace.y[:-1]) == trace.y[-1]
    assert list(trace.text) == [
        "59.75 USD",
        "0.25 USD",
        "5.00 USD",
        "-30.00 USD",
        "0.00 USD",
        "35.00 USD",
    ]


def test_waterfall_on_a_timing_day_has_a_timing_step(report: DriftReport) -> None:
    trace = drift_waterfall(report, "assets:bank", "USD/2", day(1)).data[0]
    assert list(trace.x) == ["external (2025-01-02)", "timing", "unexplained", "ledger"]
    assert list(trace.y) == [Decimal(v) for v in ("100.00", "-40.00", "0", "60.00")]


def test_figures_refuse_what_the_report_does_not_hold(report: DriftReport) -> None:
    with pytest.raises(ValueError, match="no rows"):
        drift_lines(report, "assets:other", "USD/2")
    with pytest.raises(ValueError, match="outside the drift report"):
        drift_waterfall(report, "assets:bank", "USD/2", day(9))


def test_an_account_without_a_statement_balance_gets_a_figure_saying_so() -> None:
    """Notebook 04 draws every account: one no statement has a balance for must not stop it."""
    without = build_drift_report(
        frames(),
        balances(),
        reconciliation(BREAKS, ()),
        RULES,
        records=RECORDS,
        first_day=day(0),
        last_day=day(4),
    )
    figure = drift_waterfall(without, "assets:bank", "USD/2", day(3))
    assert figure.data == ()
    (note,) = figure.layout.annotations
    assert note.text == f"no statement balance of assets:bank (USD/2) on or before {day(3)}"
