"""A reviewer's explanations merged into a flux review: data the close keeps.

An explanation is required exactly when a variance's threshold is met (ANALYTICS.md 3.7).
Explanations (``sources.flux_explanations``) join the variances on GL account and asset
(and ledger, when the file names one; a ledger-specific explanation wins over one without).
Nothing is dropped silently: an explanation for a GL account x asset the flux does not have,
for a variance under its threshold (kept on the row all the same), or a second explanation
for a row already explained, is reported as a ``flux.explanation_unused`` finding naming the
file and line; each flagged variance left without one is a ``flux.unexplained`` finding and
is counted as unexplained.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.analytics.flux import FluxReport
from ledger_audit.findings import Severity, empty_findings, findings_from
from ledger_audit.sources.flux_explanations import EXPLANATIONS_SCHEMA

FLUX_CHECK = "analytics.flux"
UNEXPLAINED = "flux.unexplained"
UNUSED = "flux.explanation_unused"
KEY = ("ledger_id", "gl_account", "asset_id")

UNUSED_SCHEMA: dict[str, pl.DataType] = {
    "where": pl.String(),
    "ledger_id": pl.String(),
    "gl_account": pl.String(),
    "asset_id": pl.String(),
    "reason": pl.String(),
    "explanation": pl.String(),
}


@dataclass(frozen=True, slots=True, eq=False)
class ExplainedFlux:
    """A flux review with its explanations merged in.

    Attributes:
        report: the review; its variances carry the explanations that apply.
        unused: explanations not used as a flagged row's explanation, with the reason.
        findings: ``flux.unexplained`` per flagged row without an explanation, then
            ``flux.explanation_unused`` per unused explanation (the findings schema).
        source: the explanations file, or None without one.
    """

    report: FluxReport
    unused: pl.DataFrame
    findings: pl.DataFrame
    source: str | None = None

    def counts(self) -> dict[str, int]:
        """rows, flagged, explained, unexplained, new_activity, trends, drivers, unused."""
        v = self.report.variances
        flagged = v.filter(pl.col("explain"))
        explained = flagged.filter(pl.col("explanation").is_not_null()).height
        return {
            "rows": v.height,
            "flagged": flagged.height,
            "explained": explained,
            "unexplained": flagged.height - explained,
            "new_activity": v.filter(pl.col("new_activity")).height,
            "trends": v.filter(pl.col("trend")).height,
            "drivers": self.report.drivers.height,
            "explanations_unused": self.unused.height,
        }


def merge_explanations(
    report: FluxReport, explanations: pl.DataFrame | None = None, source: str | None = None
) -> ExplainedFlux:
    """Fill the variances' explanation columns from ``explanations`` (EXPLANATIONS_SCHEMA)."""
    given = (
        pl.DataFrame(schema=EXPLANATIONS_SCHEMA) if explanations is None else explanations
    ).with_row_index("order")
    variances = report.variances.drop("explanation", "explained_by")
    keys = variances.select(*KEY, "explain")
    candidates = (
        given.rename({"ledger_id": "only_ledger"})
        .join(keys, on=["gl_account", "asset_id"], how="inner")
        .filter(pl.col("only_ledger").is_null() | (pl.col("only_ledger") == pl.col("ledger_id")))
        # a ledger-specific explanation first, then file order: the first one wins
        .sort([pl.col("only_ledger").is_null(), "order", *KEY])
    )
    chosen = candidates.unique(list(KEY), keep="first", maintain_order=True)
    merged = variances.join(
        chosen.select(*KEY, "explanation", "explained_by"), on=list(KEY), how="left"
    ).sort(list(KEY))
    winner = chosen.select(*KEY, pl.col("where").alias("winner"))
    unused = _unused(given, candidates, chosen, winner, report.spec.current.label)
    explained = FluxReport(spec=report.spec, variances=merged, drivers=report.drivers)
    findings = pl.concat([_unexplained(merged), _unused_findings(unused)])
    return ExplainedFlux(explained, unused, findings, source)


def _unused(
    given: pl.DataFrame,
    candidates: pl.DataFrame,
    chosen: pl.DataFrame,
    winner: pl.DataFrame,
    period: str,
) -> pl.DataFrame:
    """Explanations that explain no flagged row, each with why (see the module docstring)."""
    flagged_use = chosen.group_by("order").agg(pl.col("explain").any())
    used = chosen.select("order").unique()
    lost = (
        candidates.join(used, on="order", how="anti")
        .join(winner, on=list(KEY), how="inner")
        .group_by("order")
        .agg(pl.col("winner").sort().first())
    )
    gl, asset = pl.col("gl_account"), pl.col("asset_id")
    reason = (
        pl.when(pl.col("winner").is_not_null())
        .then(pl.format("another explanation of {} {} is used ({})", gl, asset, pl.col("winner")))
        .when(pl.col("explain").is_null())
        .then(pl.format("no GL account {} in {} in the flux of {}", gl, asset, pl.lit(period)))
        .otherwise(
            pl.format(
                "GL account {} {} is not flagged: its variance is under the threshold", gl, asset
            )
        )
    )
    return (
        given.join(flagged_use, on="order", how="left")
        .join(lost, on="order", how="left")
        .filter(pl.col("winner").is_not_null() | ~pl.col("explain").fill_null(value=False))
        .sort("order")
        .select(
            "where", "ledger_id", "gl_account", "asset_id", reason.alias("reason"), "explanation"
        )
        .cast(UNUSED_SCHEMA)  # type: ignore[arg-type]
    )


def _unexplained(variances: pl.DataFrame) -> pl.DataFrame:
    rows = variances.filter(pl.col("explain") & pl.col("explanation").is_null())
    if rows.height == 0:
        return empty_findings()
    delta = pl.format("{} {}", pl.col("delta").cast(pl.String()), pl.col("asset_id"))
    return findings_from(
        rows.lazy(),
        rule=UNEXPLAINED,
        severity=Severity.MEDIUM,
        check=FLUX_CHECK,
        table=None,
        locator=pl.format("flux(gl_account={}, asset_id={})", "gl_account", "asset_id"),
        message=pl.format(
            "GL account {} in {} met its flux threshold ({}) and has no explanation",
            "gl_account",
            "asset_id",
            "mode",
        ),
        expected=pl.lit("an explanation"),
        actual=pl.format("delta {}", delta),
        difference=delta,
    ).collect()


def _unused_findings(unused: pl.DataFrame) -> pl.DataFrame:
    if unused.height == 0:
        return empty_findings()
    return findings_from(
        unused.lazy(),
        rule=UNUSED,
        severity=Severity.LOW,
        check=FLUX_CHECK,
        table=None,
        locator=pl.col("where"),
        message=pl.format("explanation not used: {}", "reason"),
        expected=pl.lit("an explanation of a flagged variance"),
        actual=pl.col("reason"),
    ).collect()
