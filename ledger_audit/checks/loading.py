"""``source.rejected_row``: rows the reader could not load were not audited; say which.

The reader loads every row it can represent and lists the rest (DESIGN.md: every input
record is either loaded or reported). For a mapped source, the rows are the user's own
relations' rows, and what the mapping could not give (no chain, no stored balances...) is
stated as unproven in this check's coverage. Each rejected row becomes one finding, so a verify
run over a partly unreadable source can never look clean.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.findings import CheckResult, Coverage, RuleId, Severity, findings_from
from ledger_audit.sources.ledger_frames import LoadReport

CHECK = "load"


def check_load_report(report: LoadReport) -> CheckResult:
    """One finding per rejected source row (its cells' reasons joined)."""
    per_row = report.rejections.group_by("source", "table", "locator", maintain_order=True).agg(
        pl.format("{}: {} (value {})", "column", "reason", "raw_value")
        .str.join("; ")
        .alias("reasons")
    )
    findings = findings_from(
        per_row.lazy().with_columns(pl.lit(None, dtype=pl.String()).alias("ledger_id")),
        rule=RuleId.SOURCE_REJECTED_ROW,
        severity=Severity.HIGH,
        check=CHECK,
        table=None,
        locator=pl.format("{} {}", "source", "locator"),
        message=pl.format("row not loaded, so not audited: {}", "reasons"),
        expected=pl.lit("a row of the canonical schema"),
        actual=pl.col("reasons"),
    ).collect()
    scope = f"read from {report.source}"
    if report.mapping is not None:
        scope += f" through the mapping {report.mapping}"
    coverage = Coverage(checked=report.read, unit="source rows", scope=scope, unproven=report.notes)
    return CheckResult(CHECK, findings, coverage)
