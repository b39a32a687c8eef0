"""Run the catalogue over one ledger: every check runs, a crash is a finding, not an exit.

The same rule at the same place found by two checks (the chain verifier and the contiguity
invariant both see a deleted row) is one finding; its ``check`` column names both. A gap the
chain verifier explained otherwise (a row whose ``chain_seq`` was moved) is not reported again
by the invariant (:func:`one_cause`).
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from ledger_audit.checks.catalogue import CATALOGUE, RULES, Check
from ledger_audit.checks.loading import check_load_report
from ledger_audit.errors import REASON_CHARS, excerpt
from ledger_audit.findings import (
    FINDINGS_SCHEMA,
    SEVERITY_RANK,
    CheckResult,
    Coverage,
    Finding,
    NativeCheck,
    RuleId,
    Severity,
    empty_findings,
    findings_frame,
    sort_findings,
)
from ledger_audit.schema.lach1 import Checkpoint
from ledger_audit.sources.ledger_frames import LedgerFrames, LoadReport
from ledger_audit.spec import VerifySpec

_SAME_PLACE = (
    "rule",
    "ledger_id",
    "table",
    "transaction_id",
    "version",
    "chain_seq",
    "account_id",
    "asset_id",
    "locator",
)

SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "rule": pl.String(),
    "severity": pl.String(),
    "count": pl.UInt32(),
    "status": pl.String(),
    "checks": pl.String(),
    "coverage": pl.String(),
}


@dataclass(frozen=True, slots=True)
class AuditResult:
    """Everything one run found.

    Attributes:
        results: each check's own result, in run order.
        findings: all findings, merged and in the canonical order.
        rules: (check name, the rules it covers) for each check that ran.
    """

    results: tuple[CheckResult, ...]
    findings: pl.DataFrame
    rules: tuple[tuple[str, tuple[RuleId, ...]], ...]

    @property
    def checkpoints(self) -> tuple[Checkpoint, ...]:
        """Every chain checkpoint the checks vouched for."""
        return tuple(c for result in self.results for c in result.checkpoints)

    @property
    def critical(self) -> int:
        """How many critical findings there are (``verify`` exits 1 when any)."""
        return self.findings.filter(pl.col("severity") == Severity.CRITICAL).height

    def summary(self) -> pl.DataFrame:
        """One row per rule the checks covered: severity, count, status and coverage."""
        counts = dict(
            self.findings.group_by("rule").len().iter_rows()  # rule -> number of findings
        )
        rows = []
        covered = dict(self.rules)
        for result in self.results:
            rules = covered.get(result.check, ())
            crashes = result.findings.filter(pl.col("rule") == RuleId.CHECK_CRASHED.value)
            if result.status == "crashed" or crashes.height:  # whole, or part of the check
                rules = (*rules, RuleId.CHECK_CRASHED)
            for rule in rules:
                count = counts.get(str(rule), 0)
                if result.status in ("crashed", "no data"):
                    status = result.status
                elif count:
                    status = "failed"
                else:
                    unproven = rule in result.coverage.unproven_rules
                    status = "not proven" if unproven else "passed"
                rows.append(
                    {
                        "rule": str(rule),
                        "severity": str(RULES[rule].severity),
                        "count": count,
                        "status": status,
                        "checks": result.check,
                        "coverage": describe(result.coverage),
                    }
                )
        frame = pl.DataFrame(rows, schema=SUMMARY_SCHEMA)
        merged = frame.group_by("rule", "severity", maintain_order=True).agg(
            pl.col("count").max(),
            pl.col("status").sort_by(pl.col("status").replace_strict(_STATUS_RANK)).first(),
            pl.col("checks").unique(maintain_order=True).str.join(", "),
            pl.col("coverage").unique(maintain_order=True).str.join("; "),
        )
        rank = pl.col("severity").replace_strict({str(k): v for k, v in SEVERITY_RANK.items()})
        return merged.sort(rank, "rule").select(list(SUMMARY_SCHEMA))


_STATUS_RANK = {"crashed": 0, "failed": 1, "passed": 2, "not proven": 3, "no data": 4}
"""A rule covered by several checks reads the worst verdict among those that tested it: any
crash or finding wins; else "passed" when at least one check tested the rule (a vendor chain
an adapter verified proves ``chain.deleted`` although the canonical frames carry no LACH-1
chain for the contiguity suite); "not proven" only when no check could test it, and "no data"
only when every check had nothing to look at. Each check's coverage stays in the summary."""


def describe(coverage: Coverage) -> str:
    """Coverage in one line: ``1,234 entries (scope)``."""
    return f"{coverage.checked:,} {coverage.unit} ({coverage.scope})"


def run_check(check: Check, frames: LedgerFrames, spec: VerifySpec) -> CheckResult:
    """Run one check; a check that raises becomes one ``check.crashed`` finding."""
    try:
        return check.load()(frames, spec)
    except Exception as exc:  # noqa: BLE001 - any crash must become a finding, never an exit
        where = traceback.extract_tb(exc.__traceback__)[-1]
        crash = Finding(
            rule=RuleId.CHECK_CRASHED,
            severity=RULES[RuleId.CHECK_CRASHED].severity,
            ledger_id=None,
            locator=f"check {check.name}",
            message=(
                f"check {check.name} crashed ({type(exc).__name__}: "
                f"{excerpt(str(exc), REASON_CHARS)}) at "
                f"{where.filename.rsplit('/', 1)[-1]}:{where.lineno}; its rules "
                f"({', '.join(check.rules)}) are unproven"
            ),
            check=check.name,
        )
        nothing = Coverage(0, "rows", "the check crashed before it examined anything")
        return CheckResult(check.name, findings_frame([crash]), nothing, crashed=True)


def merge_findings(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Concatenate findings; the same rule at the same place is kept once (first check wins)."""
    if not frames:
        return empty_findings()
    everything = pl.concat(
        [f.select(list(FINDINGS_SCHEMA)).cast(pl.Schema(FINDINGS_SCHEMA)) for f in frames]
    )
    finders = everything.group_by(_SAME_PLACE, maintain_order=True).agg(
        pl.col("check").unique(maintain_order=True).str.join(",").alias("_checks")
    )
    merged = (
        everything.unique(_SAME_PLACE, keep="first", maintain_order=True)
        .join(finders, on=list(_SAME_PLACE), how="left", nulls_equal=True)
        .with_columns(pl.col("_checks").alias("check"))
        .drop("_checks")
    )
    return sort_findings(merged)


def one_cause(findings: pl.DataFrame, results: Sequence[CheckResult]) -> pl.DataFrame:
    """Drop what another check explained: one cause, one finding.

    On a ledger the chain check verified, every gap in ``chain_seq`` is accounted for by the
    chain verifier: a deletion it reports itself (the contiguity invariant's finding merges
    into it), or the old place of a row it reports moved (``chain_seq`` edited, reordered).
    The invariant's ``chain.deleted`` findings it did not confirm are that second kind and
    are dropped. Without a chain result (crashed, not run) the invariant's findings stay.
    """
    verified = sorted(
        {
            c.ledger_id
            for r in results
            if r.check == "chain" and not r.crashed
            for c in r.checkpoints
        }
    )
    if not verified:
        return findings
    explained = (
        (pl.col("rule") == RuleId.CHAIN_DELETED.value)
        & (pl.col("check") == "invariants")
        & pl.col("ledger_id").is_in(verified)
    )
    return findings.filter(~explained.fill_null(value=False))


def audit(
    frames: LedgerFrames,
    report: LoadReport,
    spec: VerifySpec,
    checks: Sequence[Check] = CATALOGUE,
    native: Sequence[NativeCheck] = (),
) -> AuditResult:
    """What was not loaded (as findings), then every check over what was.

    ``native`` holds checks a vendor adapter ran on the vendor's own data (its hash chain,
    running balances), each with the rules it covers; they join the catalogue's.
    """
    loaded = check_load_report(report)
    checked = run_checks(frames, spec, checks)
    results = (loaded, *checked.results, *(n.result for n in native))
    rules = (
        ("load", (RuleId.SOURCE_REJECTED_ROW,)),
        *checked.rules,
        *((n.result.check, n.rules) for n in native),
    )
    findings = one_cause(merge_findings([r.findings for r in results]), results)
    return AuditResult(results, findings, rules)


def run_checks(
    frames: LedgerFrames, spec: VerifySpec, checks: Sequence[Check] = CATALOGUE
) -> AuditResult:
    """Run ``checks`` in order over ``frames``; every check runs whatever the others did."""
    results = tuple(run_check(check, frames, spec) for check in checks)
    rules = tuple((check.name, check.rules) for check in checks)
    findings = one_cause(merge_findings([r.findings for r in results]), results)
    return AuditResult(results, findings, rules)
