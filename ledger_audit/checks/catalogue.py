"""The catalogue: every rule with its severity and meaning, and every check in run order.

A check is a pure function ``(frames, spec) -> CheckResult``; a rule is what a finding is
raised under. Checks that pull in heavy libraries (great-expectations) are imported only
when they run, so listing the catalogue stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from importlib import import_module

from ledger_audit.findings import CheckResult, RuleId, Severity
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import VerifySpec

CheckFunction = Callable[[LedgerFrames, VerifySpec], CheckResult]


class Tier(StrEnum):
    """When a check runs: always, only in strict audits, or only when asked for."""

    ALWAYS = "always"
    STRICT = "strict"
    OPT_IN = "opt-in"


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule findings are raised under.

    Attributes:
        id: the stable dotted id.
        severity: the severity of its findings.
        doc: one line: what breaking it means.
    """

    id: RuleId
    severity: Severity
    doc: str


@dataclass(frozen=True, slots=True)
class Check:
    """A check in the catalogue.

    Attributes:
        name: stable name (the ``check`` column of its findings).
        tier: when it runs.
        rules: the rules it can raise.
        doc: one line: what it verifies.
        target: ``module:function`` of the check, imported when it runs.
    """

    name: str
    tier: Tier
    rules: tuple[RuleId, ...]
    doc: str
    target: str

    def load(self) -> CheckFunction:
        """Import and return the check function."""
        module, _, function = self.target.partition(":")
        found: CheckFunction = getattr(import_module(module), function)
        return found


_C, _H, _M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM
RULES: dict[RuleId, Rule] = {
    rule.id: rule
    for rule in (
        Rule(RuleId.CHAIN_TAMPERED, _C, "a sealed row's fields changed; its links are intact"),
        Rule(RuleId.CHAIN_RESEALED, _C, "a row was edited and re-hashed; its successor dangles"),
        Rule(RuleId.CHAIN_DELETED, _C, "a chain position is missing"),
        Rule(RuleId.CHAIN_INSERTED, _C, "a row that fits nowhere in the chain (fork, duplicate)"),
        Rule(RuleId.CHAIN_REORDERED, _C, "rows sealed in one order are stored in another"),
        Rule(RuleId.CHAIN_TRUNCATED, _C, "the chain ends before a checkpoint"),
        Rule(RuleId.CHAIN_REWRITTEN, _C, "the history up to a checkpoint was re-hashed"),
        Rule(RuleId.CHAIN_GENESIS_MISMATCH, _C, "the first row does not start from genesis"),
        Rule(RuleId.CHAIN_UNCHAINED, _H, "rows of a chained ledger without chain fields"),
        Rule(
            RuleId.CHAIN_META_TAMPERED,
            _C,
            "a row's description or metadata no longer match its meta_hash",
        ),
        Rule(RuleId.ENTRY_UNBALANCED, _C, "a transaction version does not balance per asset"),
        Rule(RuleId.ENTRY_INVALID_AMOUNT, _C, "an entry amount is not a positive integer"),
        Rule(RuleId.ENTRY_ASSET_MISMATCH, _H, "an entry's asset differs from its account's"),
        Rule(RuleId.ENTRY_UNKNOWN_ASSET, _H, "an entry's asset is not registered"),
        Rule(RuleId.ENTRY_UNKNOWN_ACCOUNT, _H, "an entry's account does not exist"),
        Rule(RuleId.ENTRY_ORPHAN, _H, "an entry belongs to no transaction version"),
        Rule(RuleId.ENTRY_EMPTY_VERSION, _C, "a posted transaction version has no entries"),
        Rule(RuleId.LEDGER_UNBALANCED, _C, "posted or pending debits and credits differ"),
        Rule(RuleId.STATUS_INVALID_MOVE, _H, "a status change other than pending -> final"),
        Rule(RuleId.PENDING_OVERPOSTED, _H, "more was posted than the pending amount"),
        Rule(RuleId.IDEMPOTENCY_CONFLICT, _H, "one idempotency key, two different payloads"),
        Rule(RuleId.PAYMENT_DUPLICATE_SUSPECTED, _M, "the same payment recorded twice"),
        Rule(RuleId.REVERSAL_NOT_INVERSE, _H, "a reversal is not the exact inverse"),
        Rule(RuleId.REVERSAL_DUPLICATE, _H, "a transaction was reversed more than once"),
        Rule(RuleId.BALANCE_NEGATIVE, _H, "a no-negative account went below zero"),
        Rule(RuleId.BALANCE_DRIFT, _H, "a cached balance differs from the replay"),
        Rule(RuleId.PERIOD_BACKDATED, _H, "a version recorded after a close takes effect in it"),
        Rule(RuleId.SOURCE_REJECTED_ROW, _H, "a source row could not be loaded: unaudited"),
        Rule(
            RuleId.BALANCE_RUNNING_BROKEN,
            _H,
            "a vendor's running balance on an entry does not follow from the one before",
        ),
        Rule(
            RuleId.BALANCE_ASSERTION_FAILED,
            _H,
            "a balance the source asserts (Beancount, hledger, a statement) does not hold",
        ),
        Rule(
            RuleId.SOURCE_AMOUNT_MISMATCH,
            _H,
            "a vendor's redundant amount fields disagree (float amount vs integer amount)",
        ),
        Rule(
            RuleId.SOURCE_INCONSISTENT,
            _H,
            "two records of the vendor contradict each other (a revert mark without a revert)",
        ),
        Rule(RuleId.SOURCE_LOADER_ERROR, _H, "the vendor's own loader refused part of the input"),
        Rule(
            RuleId.SOURCE_UNSUPPORTED,
            Severity.MEDIUM,
            "the source holds what the adapter cannot audit (lots, prices): stated, not dropped",
        ),
        Rule(RuleId.CHECK_CRASHED, _C, "a check could not run: its rules are unproven"),
    )
}

CATALOGUE: tuple[Check, ...] = (
    Check(
        "chain",
        Tier.ALWAYS,
        tuple(r for r in RULES if r.value.startswith("chain.")),
        "LACH-1: recompute every row's content, link and meta_hash; extend the checkpoints",
        "ledger_audit.checks.chain:check_chain",
    ),
    Check(
        "invariants",
        Tier.ALWAYS,
        (
            RuleId.ENTRY_UNBALANCED,
            RuleId.ENTRY_INVALID_AMOUNT,
            RuleId.ENTRY_ASSET_MISMATCH,
            RuleId.ENTRY_UNKNOWN_ASSET,
            RuleId.ENTRY_UNKNOWN_ACCOUNT,
            RuleId.ENTRY_ORPHAN,
            RuleId.ENTRY_EMPTY_VERSION,
            RuleId.LEDGER_UNBALANCED,
            RuleId.STATUS_INVALID_MOVE,
            RuleId.PENDING_OVERPOSTED,
            RuleId.IDEMPOTENCY_CONFLICT,
            RuleId.PAYMENT_DUPLICATE_SUSPECTED,
            RuleId.REVERSAL_NOT_INVERSE,
            RuleId.REVERSAL_DUPLICATE,
            RuleId.BALANCE_NEGATIVE,
            RuleId.CHAIN_DELETED,
        ),
        "the double-entry invariants (DESIGN.md section 5) as great-expectations suites",
        "ledger_audit.checks.invariants:check_invariant_suites",
    ),
    Check(
        "balance_drift",
        Tier.ALWAYS,
        (RuleId.BALANCE_DRIFT,),
        "stored balances against the replay at their own as_of",
        "ledger_audit.checks.drift:check_balance_drift",
    ),
    Check(
        "period_close",
        Tier.ALWAYS,
        (RuleId.PERIOD_BACKDATED,),
        "nothing recorded after a close takes effect inside it",
        "ledger_audit.checks.period:check_backdated",
    ),
    Check(
        "duplicate_payments",
        Tier.ALWAYS,
        (RuleId.PAYMENT_DUPLICATE_SUSPECTED,),
        "no payment repeats another's legs within the window",
        "ledger_audit.checks.duplicates:check_duplicate_payments",
    ),
)
"""Every check, in the order the runner runs them."""
