"""Findings: the one record and frame schema every check returns (DESIGN.md section 6).

Rule ids are stable and dotted. They live here, not in ``checks/``, because the demo's
answer key names them too: both sides must agree on one vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import polars as pl


class Severity(StrEnum):
    """How urgent a finding is; ``critical`` makes ``verify`` exit non-zero."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class RuleId(StrEnum):
    """Stable rule ids raised by checks and named in the demo answer key."""

    CHAIN_TAMPERED = "chain.tampered"
    CHAIN_RESEALED = "chain.resealed"
    CHAIN_DELETED = "chain.deleted"
    CHAIN_INSERTED = "chain.inserted"
    CHAIN_REORDERED = "chain.reordered"
    CHAIN_TRUNCATED = "chain.truncated"
    CHAIN_REWRITTEN = "chain.rewritten"
    CHAIN_GENESIS_MISMATCH = "chain.genesis_mismatch"
    CHAIN_UNCHAINED = "chain.unchained"
    BALANCE_DRIFT = "balance.drift"
    BALANCE_NEGATIVE = "balance.negative_not_allowed"
    IDEMPOTENCY_CONFLICT = "idempotency.conflict"
    PAYMENT_DUPLICATE_SUSPECTED = "payment.duplicate_suspected"
    REVERSAL_NOT_INVERSE = "reversal.not_inverse"
    PERIOD_BACKDATED = "period.backdated_into_closed"
    CHECK_CRASHED = "check.crashed"


@dataclass(frozen=True, slots=True)
class Finding:
    """One audit finding.

    Attributes:
        rule: stable dotted rule id.
        severity: how urgent.
        ledger_id: the ledger it concerns (None for a file-level finding).
        locator: where: ``table(key=value, ...)`` or ``file:line``.
        message: one sentence for a human.
        expected: what the rule expected, as text (amounts in minor units with the asset).
        actual: what was found.
        difference: expected vs actual where it is a number, else None.
    """

    rule: str
    severity: Severity
    ledger_id: str | None
    locator: str
    message: str
    expected: str | None = None
    actual: str | None = None
    difference: str | None = None


FINDINGS_SCHEMA: dict[str, pl.DataType] = {
    "rule": pl.String(),
    "severity": pl.String(),
    "ledger_id": pl.String(),
    "locator": pl.String(),
    "message": pl.String(),
    "expected": pl.String(),
    "actual": pl.String(),
    "difference": pl.String(),
}


def findings_frame(findings: list[Finding]) -> pl.DataFrame:
    """Findings as a frame with the fixed schema (an empty list gives an empty frame)."""
    return pl.DataFrame(
        [
            {
                "rule": f.rule,
                "severity": str(f.severity),
                "ledger_id": f.ledger_id,
                "locator": f.locator,
                "message": f.message,
                "expected": f.expected,
                "actual": f.actual,
                "difference": f.difference,
            }
            for f in findings
        ],
        schema=FINDINGS_SCHEMA,
    )
