"""Findings: the one record and frame schema every check returns (DESIGN.md section 6).

Rule ids are stable and dotted. They live here, not in ``checks/``, because the demo's
answer key names them too: both sides must agree on one vocabulary.

A finding's place is kept twice: as structured columns (``table``, ``transaction_id``,
``version``, ``chain_seq``, ``account_id``, ``asset_id``) that tools can filter and join on,
and rendered as the ``locator`` text a reader sees (``transactions(transaction_id=tx-1,
version=0, chain_seq=7)``, or ``file:line`` for an input file).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from ledger_audit.schema.lach1 import Checkpoint


class Severity(StrEnum):
    """How urgent a finding is; ``critical`` makes ``verify`` exit non-zero."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


SEVERITY_RANK: dict[Severity, int] = {s: i for i, s in enumerate(Severity)}
"""Most urgent first: sort findings and summaries by this, not by the text."""


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
    CHAIN_META_TAMPERED = "chain.meta_tampered"
    BALANCE_DRIFT = "balance.drift"
    BALANCE_RUNNING_BROKEN = "balance.running_broken"
    BALANCE_ASSERTION_FAILED = "balance.assertion_failed"
    BALANCE_NEGATIVE = "balance.negative_not_allowed"
    IDEMPOTENCY_CONFLICT = "idempotency.conflict"
    PAYMENT_DUPLICATE_SUSPECTED = "payment.duplicate_suspected"
    REVERSAL_NOT_INVERSE = "reversal.not_inverse"
    PERIOD_BACKDATED = "period.backdated_into_closed"
    ENTRY_UNBALANCED = "entry.unbalanced"
    ENTRY_INVALID_AMOUNT = "entry.invalid_amount"
    ENTRY_ASSET_MISMATCH = "entry.asset_mismatch"
    ENTRY_UNKNOWN_ASSET = "entry.unknown_asset"
    ENTRY_UNKNOWN_ACCOUNT = "entry.unknown_account"
    ENTRY_ORPHAN = "entry.orphan"
    ENTRY_EMPTY_VERSION = "entry.empty_version"
    LEDGER_UNBALANCED = "ledger.unbalanced"
    STATUS_INVALID_MOVE = "status.invalid_move"
    PENDING_OVERPOSTED = "pending.overposted"
    REVERSAL_DUPLICATE = "reversal.duplicate"
    STATEMENT_BAD_RECORD = "statement.bad_record"
    STATEMENT_BALANCE_MISMATCH = "statement.balance_mismatch"
    STATEMENT_CONTROL_TOTAL_MISMATCH = "statement.control_total_mismatch"
    STATEMENT_RECORD_COUNT_MISMATCH = "statement.record_count_mismatch"
    SOURCE_REJECTED_ROW = "source.rejected_row"
    SOURCE_AMOUNT_MISMATCH = "source.amount_mismatch"
    SOURCE_INCONSISTENT = "source.inconsistent"
    SOURCE_LOADER_ERROR = "source.loader_error"
    SOURCE_UNSUPPORTED = "source.unsupported"
    ERP_UNMAPPED_ACCOUNT = "erp.unmapped_account"
    ERP_TIEOUT_BROKEN = "erp.tieout_broken"
    DRIFT_UNEXPLAINED = "drift.unexplained"
    DRIFT_STALE_EXTERNAL = "drift.stale_external"
    RECON_MISSING_INTERNAL = "recon.missing_internal"
    RECON_MISSING_EXTERNAL = "recon.missing_external"
    RECON_AMOUNT_MISMATCH = "recon.amount_mismatch"
    RECON_DUPLICATE_EXTERNAL = "recon.duplicate_external"
    RECON_REVERSAL = "recon.reversal"
    RECON_IN_TRANSIT = "recon.in_transit"
    RECON_UNMAPPED_ACCOUNT = "recon.unmapped_account"
    RECON_NOT_BOOKED = "recon.not_booked"
    RECON_AMBIGUOUS_BATCH = "recon.ambiguous_batch"
    RECON_SUGGESTED_MATCH = "recon.suggested_match"
    RECON_PAYOUT_UNTIED = "recon.payout_untied"
    CHECK_CRASHED = "check.crashed"


LOCATOR_COLUMNS: dict[str, pl.DataType] = {
    "table": pl.String(),
    "transaction_id": pl.String(),
    "version": pl.Int32(),
    "chain_seq": pl.Int64(),
    "account_id": pl.String(),
    "asset_id": pl.String(),
}
"""The structured locator: which canonical table, and the key parts that apply."""

FINDINGS_SCHEMA: dict[str, pl.DataType] = {
    "rule": pl.String(),
    "severity": pl.String(),
    "check": pl.String(),
    "ledger_id": pl.String(),
    **LOCATOR_COLUMNS,
    "locator": pl.String(),
    "message": pl.String(),
    "expected": pl.String(),
    "actual": pl.String(),
    "difference": pl.String(),
}
"""Columns of every findings frame, in this order."""

_ORDER = (
    "ledger_id",
    "rule",
    "chain_seq",
    "transaction_id",
    "version",
    "account_id",
    "asset_id",
    "locator",
    "check",
)


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
        check: the check that raised it (a catalogue name).
        table: the canonical table the locator points into, if any.
        transaction_id: the transaction concerned, if any.
        version: that transaction's version, if one.
        chain_seq: the chain position concerned, if any (for a deletion, the missing seq).
        account_id: the account concerned, if any.
        asset_id: the asset concerned, if any.
    """

    rule: str
    severity: Severity
    ledger_id: str | None
    locator: str
    message: str
    expected: str | None = None
    actual: str | None = None
    difference: str | None = None
    check: str | None = None
    table: str | None = None
    transaction_id: str | None = None
    version: int | None = None
    chain_seq: int | None = None
    account_id: str | None = None
    asset_id: str | None = None


def findings_frame(findings: Iterable[Finding]) -> pl.DataFrame:
    """Findings as a frame with the fixed schema (none gives an empty frame)."""
    frame = pl.DataFrame(
        [{name: getattr(f, name) for name in FINDINGS_SCHEMA} for f in findings],
        schema=FINDINGS_SCHEMA,
    )
    return sort_findings(frame)


_TOTAL = (*_ORDER, *(c for c in FINDINGS_SCHEMA if c not in _ORDER))
"""Every column: two findings that tie on the locating ones still have one order."""


def sort_findings(frame: pl.DataFrame) -> pl.DataFrame:
    """The canonical order of a findings frame (total over every column; nulls first)."""
    return frame.select(list(FINDINGS_SCHEMA)).sort(list(_TOTAL), nulls_last=False)


def empty_findings() -> pl.DataFrame:
    """A findings frame with no rows."""
    return pl.DataFrame(schema=FINDINGS_SCHEMA)


def render_locator(table: str) -> pl.Expr:
    """``table(key=value, ...)`` from whichever structured locator columns are not null."""
    parts = [
        pl.when(pl.col(name).is_not_null()).then(
            pl.concat_str(pl.lit(f"{name}="), pl.col(name).cast(pl.String()))
        )
        for name in ("ledger_id", *LOCATOR_COLUMNS)
        if name != "table"
    ]
    return pl.concat_str(
        pl.lit(f"{table}("),
        pl.concat_str(parts, separator=", ", ignore_nulls=True),
        pl.lit(")"),
    )


def findings_from(
    rows: pl.LazyFrame,
    *,
    rule: RuleId | str,
    severity: Severity,
    check: str,
    table: str | None,
    message: pl.Expr,
    expected: pl.Expr | None = None,
    actual: pl.Expr | None = None,
    difference: pl.Expr | None = None,
    locator: pl.Expr | None = None,
) -> pl.LazyFrame:
    """Turn rows that broke a rule into findings, vectorised.

    ``rows`` carries ``ledger_id`` and any of the structured locator columns (missing ones
    become null); the expressions are evaluated over ``rows`` and cast to text. ``locator``
    replaces the rendered ``table(key=value, ...)`` text (``file:line`` for an input file).
    """
    present = set(rows.collect_schema().names())
    if "ledger_id" not in present:
        rows = rows.with_columns(pl.lit(None, dtype=pl.String()).alias("ledger_id"))
    located = rows.with_columns(
        [
            pl.lit(None, dtype=dtype).alias(name)
            for name, dtype in LOCATOR_COLUMNS.items()
            if name not in present and name != "table"
        ]
    )

    def text(expr: pl.Expr | None) -> pl.Expr:
        return pl.lit(None, dtype=pl.String()) if expr is None else expr.cast(pl.String())

    return located.select(
        pl.lit(str(rule)).alias("rule"),
        pl.lit(str(severity)).alias("severity"),
        pl.lit(check).alias("check"),
        pl.col("ledger_id").cast(pl.String()),
        pl.lit(table, dtype=pl.String()).alias("table"),
        pl.col("transaction_id").cast(pl.String()),
        pl.col("version").cast(pl.Int32()),
        pl.col("chain_seq").cast(pl.Int64()),
        pl.col("account_id").cast(pl.String()),
        pl.col("asset_id").cast(pl.String()),
        _locator(table, locator).alias("locator"),
        text(message).alias("message"),
        text(expected).alias("expected"),
        text(actual).alias("actual"),
        text(difference).alias("difference"),
    )


def _locator(table: str | None, locator: pl.Expr | None) -> pl.Expr:
    if locator is not None:
        return locator.cast(pl.String())
    if table is None:
        raise ValueError("a finding needs a table or an explicit locator")
    return render_locator(table)


@dataclass(frozen=True, slots=True)
class Coverage:
    """What a check looked at: "no finding" over zero rows is not a pass.

    Attributes:
        checked: how many units the check examined.
        unit: what one unit is ("transaction versions", "entries", "balance rows").
        scope: where it looked (ledgers, period, source) in words.
        unproven: what the check could not establish, one sentence each.
        unproven_rules: rules the check could not test at all on this data (a ledger with no
            ``meta_hash``): without a finding they read "not proven", never "passed".
    """

    checked: int
    unit: str
    scope: str
    unproven: tuple[str, ...] = ()
    unproven_rules: tuple[RuleId, ...] = ()

    @property
    def vacuous(self) -> bool:
        """True when nothing was examined: the check neither passed nor failed."""
        return self.checked == 0


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's outcome: its findings frame (FINDINGS_SCHEMA) and its coverage.

    Attributes:
        check: the catalogue name of the check.
        findings: the findings, in the canonical order.
        coverage: what was examined.
        crashed: the check did not finish (its findings hold the ``check.crashed`` finding).
        checkpoints: chain positions this check vouched for (the chain check's verified
            heads), for the evidence manifest and the next audit.
    """

    check: str
    findings: pl.DataFrame
    coverage: Coverage
    crashed: bool = False
    checkpoints: tuple[Checkpoint, ...] = ()

    @property
    def status(self) -> str:
        """``crashed``, ``failed``, ``passed`` or ``no data`` (nothing examined is no pass)."""
        if self.crashed:
            return "crashed"
        if self.findings.height:
            return "failed"
        return "no data" if self.coverage.vacuous else "passed"


@dataclass(frozen=True, slots=True)
class NativeCheck:
    """A check run outside the catalogue (a vendor adapter's, on the vendor's own rows).

    Attributes:
        result: its findings and coverage (``result.check`` names it, e.g. ``formance_chain``).
        rules: the rules it covers, so the summary lists them as passed, failed or not proven.
    """

    result: CheckResult
    rules: tuple[RuleId, ...]
