"""``period.backdated_into_closed``: versions recorded after a close that take effect inside it.

A ledger records its close in ``ledgers.metadata``: ``closed_through_ns`` (the last closed
instant) and, where the ledger keeps it, ``closed_at_ns`` (when the close happened). A
version whose effective time is at or before the closed instant but that was recorded after
the close changes a period that finance has already reported. Without ``closed_at_ns`` the
close is taken to have happened at the end of the closed period, so a version recorded
after that instant is reported; the coverage says so.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.findings import CheckResult, Coverage, RuleId, Severity, findings_from
from ledger_audit.schema.times import iso_expr
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import VerifySpec

CHECK = "period_close"


def _meta_ns(key: str) -> pl.Expr:
    return pl.col("metadata").str.json_path_match(f"$.{key}").cast(pl.Int64(), strict=False)


def check_backdated(frames: LedgerFrames, spec: VerifySpec) -> CheckResult:  # noqa: ARG001 - one signature for every check
    """One finding per version effective inside a closed period but recorded after the close."""
    closes = frames.ledgers.lazy().select(
        "ledger_id",
        _meta_ns("closed_through_ns").alias("closed_through_ns"),
        _meta_ns("closed_at_ns").alias("closed_at_ns"),
    )
    closed = closes.filter(pl.col("closed_through_ns").is_not_null()).collect()
    versions = frames.transactions.lazy().join(closed.lazy(), on="ledger_id", how="inner")
    close_time = pl.coalesce("closed_at_ns", "closed_through_ns")
    late = versions.filter(
        (pl.col("effective_ns") <= pl.col("closed_through_ns"))
        & (pl.col("recorded_ns") > close_time)
    )
    findings = findings_from(
        late,
        rule=RuleId.PERIOD_BACKDATED,
        severity=Severity.HIGH,
        check=CHECK,
        table="transactions",
        message=pl.format(
            "{} version {} ({}) takes effect {}, inside the period closed through {}, but was "
            "recorded {}",
            pl.col("transaction_id"),
            pl.col("version"),
            pl.col("kind"),
            iso_expr(pl.col("effective_ns")),
            iso_expr(pl.col("closed_through_ns")),
            iso_expr(pl.col("recorded_ns")),
        ),
        expected=pl.format("effective after {}", iso_expr(pl.col("closed_through_ns"))),
        actual=pl.format("effective {}", iso_expr(pl.col("effective_ns"))),
    ).collect()
    checked = versions.select(pl.len()).collect().item()
    open_ledgers = sorted(
        set(frames.ledgers["ledger_id"].to_list()) - set(closed["ledger_id"].to_list())
    )
    unproven = [f"ledger {ledger} records no closed period" for ledger in open_ledgers]
    unproven += [
        f"ledger {row['ledger_id']} does not record when its period was closed: versions "
        "recorded after the closed instant are treated as recorded after the close"
        for row in closed.filter(pl.col("closed_at_ns").is_null()).iter_rows(named=True)
    ]
    coverage = Coverage(
        checked=checked,
        unit="transaction versions",
        scope="versions of ledgers with a closed period ("
        + (", ".join(closed["ledger_id"].to_list()) or "none")
        + ")",
        unproven=tuple(unproven),
    )
    return CheckResult(CHECK, findings, coverage)
