"""The runner: every check runs, a crash is a finding, one finding per rule and place."""

from __future__ import annotations

import polars as pl

from ledger_audit.checks.catalogue import CATALOGUE, RULES, Check, Tier
from ledger_audit.checks.loading import check_load_report
from ledger_audit.checks.runner import audit, merge_findings, run_checks
from ledger_audit.findings import (
    CheckResult,
    Coverage,
    Finding,
    NativeCheck,
    RuleId,
    Severity,
    empty_findings,
    findings_frame,
    findings_from,
)
from ledger_audit.sources.ledger_frames import (
    LedgerFrames,
    LoadReport,
    TableCount,
    empty_rejections,
)
from ledger_audit.spec import VerifySpec
from tests.text_ledger import ledger_from_text

SPEC = VerifySpec(suites="off")
LEDGER = """
account assets:bank debit USD/2
account revenue:fees credit USD/2
tx t1 standard posted at=1
  assets:bank debit 5 USD/2
  revenue:fees credit 5 USD/2
"""


def boom(_frames: LedgerFrames, _spec: VerifySpec) -> CheckResult:
    raise ZeroDivisionError("division by zero")


def _deleted(check: str) -> CheckResult:
    rows = pl.LazyFrame({"ledger_id": ["l"], "chain_seq": [7]})
    findings = findings_from(
        rows,
        rule=RuleId.CHAIN_DELETED,
        severity=Severity.CRITICAL,
        check=check,
        table="transactions",
        message=pl.lit(f"seq 7 is missing ({check})"),
    ).collect()
    return CheckResult(check, findings, Coverage(3, "rows", "test"))


def finds_a_gap(_frames: LedgerFrames, _spec: VerifySpec) -> CheckResult:
    return _deleted("gap_a")


def finds_the_same_gap(_frames: LedgerFrames, _spec: VerifySpec) -> CheckResult:
    return _deleted("gap_b")


def _check(name: str, function: str, rules: tuple[RuleId, ...]) -> Check:
    return Check(name, Tier.ALWAYS, rules, "test", f"tests.checks.test_runner:{function}")


def test_a_crashing_check_is_a_critical_finding_and_the_others_still_run() -> None:
    checks = [
        _check("boom", "boom", (RuleId.ENTRY_UNBALANCED,)),
        _check("gap_a", "finds_a_gap", (RuleId.CHAIN_DELETED,)),
    ]
    result = run_checks(ledger_from_text(LEDGER), SPEC, checks)
    assert [r.status for r in result.results] == ["crashed", "failed"]
    crashed = result.findings.filter(pl.col("rule") == "check.crashed").to_dicts()
    assert len(crashed) == 1
    assert crashed[0]["severity"] == "critical"
    assert crashed[0]["message"].startswith(
        "check boom crashed (ZeroDivisionError: division by zero) at test_runner.py:"
    )
    assert crashed[0]["message"].endswith("its rules (entry.unbalanced) are unproven")
    assert result.critical == 2
    summary = {r["rule"]: r for r in result.summary().to_dicts()}
    assert summary["entry.unbalanced"]["status"] == "crashed"
    assert summary["check.crashed"]["count"] == 1
    assert summary["chain.deleted"]["status"] == "failed"


def test_the_same_rule_at_the_same_place_is_one_finding_naming_both_checks() -> None:
    checks = [
        _check("gap_a", "finds_a_gap", (RuleId.CHAIN_DELETED,)),
        _check("gap_b", "finds_the_same_gap", (RuleId.CHAIN_DELETED,)),
    ]
    result = run_checks(ledger_from_text(LEDGER), SPEC, checks)
    (row,) = result.findings.to_dicts()
    assert row["check"] == "gap_a,gap_b"
    assert row["message"] == "seq 7 is missing (gap_a)"
    (line,) = result.summary().filter(pl.col("rule") == "chain.deleted").to_dicts()
    assert (line["count"], line["checks"]) == (1, "gap_a, gap_b")


def test_different_places_are_kept_apart() -> None:
    a, b = _deleted("x").findings, _deleted("y").findings.with_columns(pl.lit(8).alias("chain_seq"))
    assert merge_findings([a, b]).height == 2
    assert merge_findings([]).is_empty()


def test_rejected_source_rows_are_findings() -> None:
    rejections = pl.DataFrame(
        {
            "source": ["ledger.csv/entries.csv"] * 2,
            "table": ["entries"] * 2,
            "locator": ["line 3"] * 2,
            "column": ["amount", "direction"],
            "reason": ["not an integer", "not debit or credit"],
            "raw_value": ["1.5", "up"],
        }
    )
    report = LoadReport(
        source="ledger.csv",
        counts=(TableCount("entries", read=4, loaded=3, rejected=1),),
        rejections=rejections,
    )
    result = check_load_report(report)
    (row,) = result.findings.to_dicts()
    assert row["rule"] == "source.rejected_row"
    assert row["locator"] == "ledger.csv/entries.csv line 3"
    assert row["message"] == (
        "row not loaded, so not audited: amount: not an integer (value 1.5); "
        "direction: not debit or credit (value up)"
    )
    assert result.coverage.checked == 4


def test_an_empty_ledger_is_no_data_not_a_pass() -> None:
    checks = [c for c in CATALOGUE if c.name in ("balance_drift", "duplicate_payments")]
    empty = LedgerFrames.empty()
    report = LoadReport(source="empty", counts=(), rejections=empty_rejections())
    result = audit(empty, report, SPEC, checks)
    statuses = set(result.summary()["status"].to_list())
    assert statuses == {"no data"}


def test_every_catalogued_rule_has_a_severity_and_every_check_loads() -> None:
    for check in CATALOGUE:
        assert all(rule in RULES for rule in check.rules)
    for check in CATALOGUE:
        assert callable(check.load())


def test_docs_checks_md_is_the_catalogue() -> None:
    """Regenerate with the command at the top of docs/checks.md."""
    from pathlib import Path

    from ledger_audit.checks.docs import catalogue_markdown

    docs = Path(__file__).resolve().parents[2] / "docs" / "checks.md"
    assert docs.read_text(encoding="utf-8") == catalogue_markdown()


def loud_boom(_frames: LedgerFrames, _spec: VerifySpec) -> CheckResult:
    raise ValueError("[SQL: SELECT\n" + "x, " * 100_000 + "]")  # a driver quoting its query


def test_a_crash_quotes_a_short_excerpt_of_its_error_on_one_line() -> None:
    result = run_checks(
        ledger_from_text(LEDGER), SPEC, [_check("loud", "loud_boom", (RuleId.ENTRY_UNBALANCED,))]
    )
    (message,) = result.findings.filter(pl.col("rule") == "check.crashed")["message"].to_list()
    assert message.startswith("check loud crashed (ValueError: [SQL: SELECT\\nx, x, ")
    assert "chars]" in message
    assert "\n" not in message
    assert len(message) < 500


def test_a_check_with_no_data_does_not_mask_another_checks_verdict_on_the_same_rule() -> None:
    def _result(check: str, checked: int, findings: pl.DataFrame) -> CheckResult:
        return CheckResult(check, findings, Coverage(checked, "rows", "here"))

    chain_rules = (RuleId.CHAIN_TAMPERED,)
    empty = LedgerFrames.empty()
    report = LoadReport(source="empty", counts=(), rejections=empty_rejections())
    chain = [c for c in CATALOGUE if c.name == "chain"]

    def status(native: CheckResult) -> str:
        result = audit(empty, report, SPEC, chain, native=[NativeCheck(native, chain_rules)])
        summary = result.summary().filter(pl.col("rule") == RuleId.CHAIN_TAMPERED.value)
        return str(summary["status"].item())

    assert status(_result("vendor_chain", 10, empty_findings())) == "passed"
    unproven = CheckResult(
        "vendor_chain",
        empty_findings(),
        Coverage(10, "rows", "here", ("no chain",), chain_rules),
    )
    assert status(unproven) == "not proven"
    assert status(_result("vendor_chain", 0, empty_findings())) == "no data"
    tampered = findings_frame(
        [Finding(RuleId.CHAIN_TAMPERED, Severity.CRITICAL, "l", "row 3", "edited", check="v")]
    )
    assert status(_result("vendor_chain", 10, tampered)) == "failed"
