"""What only Modern Treasury's own objects can show: statements and self-agreement.

A ``LedgerAccountStatement`` states an account's balances at two effective instants: the
starting balance counts entries effective before ``effective_at_lower_bound`` (the bound is
inclusive of the statement period, so exclusive of its starting balance) and the ending
balance those before ``effective_at_upper_bound`` (exclusive). Each is a balance assertion
the replay of the loaded versions written by the statement's ``created_at`` must meet, on
the effective basis: a disagreement is ``balance.assertion_failed``. The records must also
agree with each other: a transaction's current state with its latest version, a
statement's normal balance with its account's (``source.inconsistent``). Each entry's
``resulting_ledger_account_balances`` must follow the running balance of its account
(``balance.running_broken``, see ``running.py``).
"""

from __future__ import annotations

import polars as pl

from ledger_audit.findings import (
    CheckResult,
    Coverage,
    RuleId,
    Severity,
    empty_findings,
    findings_from,
    sort_findings,
)
from ledger_audit.replay.balances import LazyLedger, balances_as_of
from ledger_audit.sources.adapters.adapted import NativeCheck
from ledger_audit.sources.adapters.modern_treasury.canonical import Built
from ledger_audit.sources.adapters.modern_treasury.rows import CELLS
from ledger_audit.sources.adapters.modern_treasury.running import running_cells
from ledger_audit.sources.ledger_frames import LedgerFrames

STATEMENTS = "modern_treasury_statements"
RUNNING = "modern_treasury_running"
CONSISTENCY = "modern_treasury_consistency"
_WIDE = pl.Decimal(38, 0)
_SIDES = (
    ("start", "lower", "starting balance (entries effective before the inclusive lower bound)"),
    ("end", "upper", "ending balance (entries effective before the exclusive upper bound)"),
)


def _replayed(frames: LedgerFrames, asked: list[tuple[int, int]]) -> pl.DataFrame:
    """Replayed cells per account for each (bound, known) pair asked.

    ``known`` is the statement's ``created_at``: only versions written by then count (a
    statement is what the ledger said when it was made), on the effective basis before the
    bound. One replay per distinct pair, not per statement.
    """
    ledger = LazyLedger.of(frames)
    parts = [
        balances_as_of(
            LazyLedger(
                ledger.transactions.filter(pl.col("recorded_ns") <= known),
                ledger.entries,
                ledger.accounts,
            ),
            at - 1,
            "effective",
        )
        .select(
            "account_id",
            pl.lit(at).alias("at"),
            pl.lit(known).alias("known"),
            pl.col("posted_debits").alias("r_posted_debits"),
            pl.col("posted_credits").alias("r_posted_credits"),
            (pl.col("posted_debits") + pl.col("pending_debits")).alias("r_pending_debits"),
            (pl.col("posted_credits") + pl.col("pending_credits")).alias("r_pending_credits"),
        )
        .collect()
        for at, known in asked
    ]
    schema: dict[str, pl.DataType] = {
        "account_id": pl.String(),
        "at": pl.Int64(),
        "known": pl.Int64(),
        **{f"r_{c}": _WIDE for c in CELLS},
    }
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def _cells_text(prefix: str) -> pl.Expr:
    return pl.format(
        "posted {} dr / {} cr, pending (with posted) {} dr / {} cr",
        *(pl.col(f"{prefix}{c}").cast(pl.String) for c in CELLS),
    )


def statements_check(
    frames: LedgerFrames, statements: pl.DataFrame, *, present: bool
) -> NativeCheck:
    """Each statement's starting and ending balance against the replay."""
    rules = (RuleId.BALANCE_ASSERTION_FAILED,)
    if statements.height == 0:
        coverage = Coverage(
            0,
            "statement balances",
            "ledger_account_statements",
            unproven=(
                (
                    "no ledger account statements in the export"
                    if not present
                    else "the statements file holds no statement"
                )
                + ": balances at statement bounds are not proven",
            ),
            unproven_rules=rules,
        )
        return NativeCheck(CheckResult(STATEMENTS, empty_findings(), coverage), rules)
    asserted = pl.concat(
        [
            statements.select(
                "id",
                "ledger_id",
                "account_id",
                "place",
                pl.lit(prefix).alias("side"),
                pl.lit(label).alias("label"),
                pl.col(bound).dt.epoch("ns").alias("at"),
                pl.col("created_at").dt.epoch("ns").alias("known"),
                *(pl.col(f"{prefix}_{c}").cast(_WIDE).alias(f"s_{c}") for c in CELLS),
            )
            for prefix, bound, label in _SIDES
        ]
    )
    asked = sorted(asserted.select("at", "known").unique().rows())
    replayed = _replayed(frames, asked)
    joined = asserted.join(replayed, on=["account_id", "at", "known"], how="left").with_columns(
        pl.col(f"r_{c}").fill_null(pl.lit(0, dtype=_WIDE)) for c in CELLS
    )
    differs = pl.any_horizontal(pl.col(f"s_{c}") != pl.col(f"r_{c}") for c in CELLS)
    failed = joined.filter(differs)
    findings = (
        findings_from(
            failed.lazy(),
            rule=RuleId.BALANCE_ASSERTION_FAILED,
            severity=Severity.HIGH,
            check=STATEMENTS,
            table=None,
            locator=pl.format("{} (statement {}) {}", "place", "id", "side"),
            message=pl.format(
                "statement {} of ledger account {}: its {} is not what the loaded "
                "transactions replay to",
                "id",
                "account_id",
                "label",
            ),
            expected=_cells_text("s_"),
            actual=_cells_text("r_"),
        ).collect()
        if failed.height
        else empty_findings()
    )
    coverage = Coverage(
        asserted.height,
        "statement balances",
        f"{statements.height} ledger account statement(s), starting and ending balance "
        "each, against the replay on the effective basis of the versions written by the "
        "statement's created_at",
    )
    return NativeCheck(CheckResult(STATEMENTS, findings, coverage), rules)


def consistency_check(frames: LedgerFrames, built: Built, statements: pl.DataFrame) -> NativeCheck:
    """Records that disagree with each other."""
    rules = (RuleId.SOURCE_INCONSISTENT,)
    parts = []
    if built.issues.height:
        parts.append(
            findings_from(
                built.issues.lazy(),
                rule=RuleId.SOURCE_INCONSISTENT,
                severity=Severity.HIGH,
                check=CONSISTENCY,
                table=None,
                locator=pl.col("locator"),
                message=pl.col("message"),
                expected=pl.col("expected"),
                actual=pl.col("actual"),
            ).collect()
        )
    normals = statements.join(
        frames.accounts.select("account_id", pl.col("normal_balance").alias("account_normal")),
        on="account_id",
        how="inner",
    ).filter(pl.col("normal_balance") != pl.col("account_normal"))
    if normals.height:
        parts.append(
            findings_from(
                normals.lazy(),
                rule=RuleId.SOURCE_INCONSISTENT,
                severity=Severity.MEDIUM,
                check=CONSISTENCY,
                table=None,
                locator=pl.format("{} (statement {})", "place", "id"),
                message=pl.format(
                    "statement {} states ledger account {} is {}-normal; the account says {}",
                    "id",
                    "account_id",
                    "normal_balance",
                    "account_normal",
                ),
                expected=pl.col("account_normal"),
                actual=pl.col("normal_balance"),
            ).collect()
        )
    findings = sort_findings(pl.concat(parts)) if parts else empty_findings()
    coverage = Coverage(
        built.versioned + statements.height,
        "versioned transactions and statements",
        f"{built.versioned} transaction(s) against their latest version, "
        f"{statements.height} statement(s) against their account's normal balance",
        unproven=(
            ()
            if built.versioned
            else ("no ledger transaction versions: current states are not cross-checked",)
        ),
    )
    return NativeCheck(CheckResult(CONSISTENCY, findings, coverage), rules)


def running_check(built: Built) -> NativeCheck:
    """Each entry's ``resulting_ledger_account_balances`` against the versions' replay."""
    rules = (RuleId.BALANCE_RUNNING_BROKEN,)
    legs = built.legs
    stated = legs.filter(pl.col("resulting_posted_debits").is_not_null())
    if stated.height == 0:
        coverage = Coverage(
            0,
            "entries with resulting balances",
            "ledger entries",
            unproven=(
                (
                    "no ledger entry states resulting_ledger_account_balances: running "
                    "balances are not proven"
                ),
            ),
            unproven_rules=rules,
        )
        return NativeCheck(CheckResult(RUNNING, empty_findings(), coverage), rules)
    running = running_cells(
        legs.select(
            pl.col("transaction_id").alias("chain"),
            "order",
            "status",
            "at",
            "account_id",
            "direction",
            "amount",
        )
    )
    wide = {c: pl.col(f"resulting_{c}").cast(_WIDE) for c in CELLS}
    compared = stated.with_columns(
        wide["posted_debits"].alias("s_posted_debits"),
        wide["posted_credits"].alias("s_posted_credits"),
        (wide["pending_debits"] - wide["posted_debits"]).alias("s_pending_debits"),
        (wide["pending_credits"] - wide["posted_credits"]).alias("s_pending_credits"),
    ).join(running.rename({c: f"r_{c}" for c in CELLS}), on=["account_id", "at"], how="left")
    differs = pl.any_horizontal(pl.col(f"s_{c}").ne_missing(pl.col(f"r_{c}")) for c in CELLS)
    broken = compared.filter(differs)
    findings = (
        findings_from(
            broken.lazy().with_columns(pl.lit(None, dtype=pl.String).alias("ledger_id")),
            rule=RuleId.BALANCE_RUNNING_BROKEN,
            severity=Severity.HIGH,
            check=RUNNING,
            table=None,
            locator=pl.format("{} ledger_entries.{}", "place", "position"),
            message=pl.format(
                "entry {} of ledger transaction {} states balances of ledger account {} that "
                "the versions written up to then do not give",
                "entry_id",
                "transaction_id",
                "account_id",
            ),
            expected=_cells_text("r_"),
            actual=_cells_text("s_"),
        ).collect()
        if broken.height
        else empty_findings()
    )
    coverage = Coverage(
        stated.height,
        "entries with resulting balances",
        "every ledger entry's resulting_ledger_account_balances against the running sum of "
        "the versions written to its account up to its version's created_at",
    )
    return NativeCheck(CheckResult(RUNNING, findings, coverage), rules)
