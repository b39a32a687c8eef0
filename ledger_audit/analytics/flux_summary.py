"""What ``ledger-audit flux`` prints and records: the flagged rows, readable, and the run.

Amounts are shown in their currency with the asset's scale (``money.format_money``, exact:
no float touches an amount); the change is the display-only percent of ``analytics.flux``.
Flagged rows are listed largest |delta| first (ties by ledger, GL account and asset).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ledger_audit.analytics.flux import FluxSpec, Threshold
from ledger_audit.analytics.flux_explanations import ExplainedFlux
from ledger_audit.money import format_money

TOP_ROWS = 25
"""Flagged rows the text shows; every row is in the written tables."""


def flagged_rows(explained: ExplainedFlux) -> pl.DataFrame:
    """The flagged variances, largest |delta| first (a total order)."""
    return explained.report.variances.filter(pl.col("explain")).sort(
        [pl.col("delta").abs(), "ledger_id", "gl_account", "asset_id"],
        descending=[True, False, False, False],
    )


def _flags(row: dict[str, object]) -> str:
    marks = [
        name
        for name, on in (
            ("new", row["new_activity"]),
            ("trend", row["trend"]),
            ("override", row["override"]),
        )
        if on
    ]
    return ", ".join(marks) or "-"


def _aligned(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)]) + "\n"


def render_flux(explained: ExplainedFlux, *, top: int = TOP_ROWS) -> str:
    """The flagged rows as an aligned table, then the counts and any unused explanation."""
    spec = explained.report.spec
    counts = explained.counts()
    lines = [
        (
            f"Flux {spec.current.label} against {spec.comparison.label} ({spec.measure}): "
            f"{counts['rows']:,} GL account x asset row(s), {counts['flagged']:,} flagged, "
            f"{counts['explained']:,} explained, {counts['unexplained']:,} unexplained, "
            f"{counts['new_activity']:,} new activity, {counts['trends']:,} trend(s)"
        ),
        "",
    ]
    flagged = flagged_rows(explained)
    rows = []
    for row in flagged.head(top).iter_rows(named=True):
        asset = str(row["asset_id"])
        change = "new" if row["percent"] is None else f"{row['percent']:+,.1f} %"
        rows.append(
            (
                str(row["gl_account"]),
                asset,
                format_money(int(row["current"]), asset),
                format_money(int(row["comparison"]), asset),
                format_money(int(row["delta"]), asset),
                change,
                _flags(row),
                "yes" if row["explanation"] is not None else "no",
            )
        )
    if rows:
        header = ("gl", "asset", "current", "comparison", "delta", "change", "flags", "explained")
        lines.append(_aligned(header, rows, right={2, 3, 4, 5}).rstrip("\n"))
        if flagged.height > top:
            lines.append(f"... and {flagged.height - top:,} more flagged row(s) in the tables.")
    else:
        lines.append("No variance met its threshold.")
    if explained.unused.height:
        lines += ["", f"Explanations not used ({explained.unused.height:,}):"]
        lines += [f"- {w}: {r}" for w, r in explained.unused.select("where", "reason").iter_rows()]
    return "\n".join(lines) + "\n"


def _threshold(t: Threshold) -> dict[str, object]:
    return {"mode": t.mode, "amount": t.amount, "percent_bp": t.percent_bp}


def spec_json(spec: FluxSpec) -> dict[str, object]:
    """Every parameter of the review, as JSON values."""
    return {
        "period": spec.current.label,
        "compare": spec.comparison.label,
        "measure": spec.measure,
        "threshold": _threshold(spec.threshold),
        "overrides": [{"gl_account": gl, **_threshold(t)} for gl, t in spec.overrides],
        "history": [p.label for p in spec.history],
        "trend_min": spec.trend_min,
        "driver_bp": spec.driver_bp,
    }
