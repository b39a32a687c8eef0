"""What only Blnk's redundant fields can tell: amount vs precise_amount, cached cell sums.

Blnk stores each movement twice (the NUMERIC ``amount`` in major units beside the exact
``precise_amount`` in minor units, ``amount x precision = precise_amount``) and each balance
with its derived totals (``balance = credit_balance - debit_balance``, likewise inflight).
The adapter loads ``precise_amount`` only; these checks say where the copies disagree, with
exact text arithmetic (no float, no overflow). It also flags settlements that settle nothing
(a COMMIT or VOID whose parent is not an INFLIGHT row) and a split whose rows disagree on
their state.
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
from ledger_audit.sources.adapters.adapted import NativeCheck
from ledger_audit.sources.adapters.blnk.canonical import LEDGER_ID
from ledger_audit.sources.adapters.blnk.layout import COMMIT, VOID
from ledger_audit.sources.adapters.blnk.read import BlnkRows

AMOUNTS = "blnk_amounts"
CONSISTENCY = "blnk_consistency"
_ZEROS = "0" * 80


def _normal(digits: pl.Expr) -> pl.Expr:
    """An integer's text without sign or leading zeros (``0`` stays ``0``)."""
    stripped = digits.str.strip_chars_start("0")
    return pl.when(stripped == "").then(pl.lit("0")).otherwise(stripped)


def scaled_text(amount: pl.Expr, scale: pl.Expr) -> pl.Expr:
    """``amount`` (NUMERIC text) times 10^scale as integer text; null if not an integer then."""
    negative = amount.str.starts_with("-")
    unsigned = amount.str.strip_chars_start("+-")
    whole = unsigned.str.extract(r"^([0-9]*)", 1)
    fraction = unsigned.str.extract(r"\.([0-9]*)$", 1).fill_null("").str.strip_chars_end("0")
    room = scale - fraction.str.len_chars().cast(pl.Int32)
    digits = _normal(whole + fraction + pl.lit(_ZEROS).str.slice(0, room.clip(0)))
    signed = pl.when(negative & (digits != "0")).then("-" + digits).otherwise(digits)
    well_formed = unsigned.str.contains(r"^[0-9]*(\.[0-9]*)?$")
    return pl.when(well_formed & (room >= 0)).then(signed)


def _signed_normal(text: pl.Expr) -> pl.Expr:
    negative = text.str.starts_with("-")
    digits = _normal(text.str.strip_chars_start("+-"))
    return pl.when(negative & (digits != "0")).then("-" + digits).otherwise(digits)


def check_amounts(rows: pl.DataFrame, label: str) -> NativeCheck:
    """``amount x precision = precise_amount`` on every loaded row (``rows``: canonical roles)."""
    compared = rows.with_columns(
        scaled_text(pl.col("amount_text"), pl.col("_scale")).alias("_scaled"),
        _signed_normal(pl.col("precise_text")).alias("_precise"),
    )
    bad = compared.filter(
        pl.col("amount_text").is_null()
        | pl.col("_scaled").is_null()
        | (pl.col("_scaled") != pl.col("_precise"))
    )
    findings = findings_from(
        bad.lazy().with_columns(
            pl.col("transaction_id").alias("blnk_row"),
            pl.lit(LEDGER_ID).alias("ledger_id"),
            pl.col("group").alias("transaction_id"),
        ),
        rule=RuleId.SOURCE_AMOUNT_MISMATCH,
        severity=Severity.HIGH,
        check=AMOUNTS,
        table="blnk.transactions",
        message=pl.format(
            "amount {} x precision {} is not precise_amount {} (the ledger loads precise_amount)",
            pl.col("amount_text").fill_null("NULL"),
            pl.col("precision_text"),
            pl.col("precise_text"),
        ),
        expected=pl.col("precise_text"),
        actual=pl.coalesce(
            pl.col("_scaled"),
            pl.format("{} (not a whole number of minor units)", pl.col("amount_text")),
            pl.lit("NULL"),
        ),
        locator=pl.format("blnk.transactions(transaction_id={})", pl.col("blnk_row")),
    ).collect()
    coverage = Coverage(
        rows.height,
        "transaction rows",
        f"{label}: NUMERIC amount against precise_amount and precision",
    )
    return NativeCheck(
        CheckResult(
            AMOUNTS, sort_findings(findings) if findings.height else empty_findings(), coverage
        ),
        (RuleId.SOURCE_AMOUNT_MISMATCH,),
    )


def _difference_text(a: str, b: str) -> pl.Expr:
    """``a - b`` of two integer NUMERIC texts, exactly (Decimal 38)."""
    return pl.col(a).cast(pl.Decimal(38, 0), strict=False) - pl.col(b).cast(
        pl.Decimal(38, 0), strict=False
    )


def check_consistency(blnk: BlnkRows, rows: pl.DataFrame) -> NativeCheck:
    """Cached balance totals, settlements without an inflight, splits in two states."""
    found: list[pl.LazyFrame] = []
    balances = blnk.balances
    for total, credit, debit in (
        ("balance", "credit_balance", "debit_balance"),
        ("inflight_balance", "inflight_credit_balance", "inflight_debit_balance"),
    ):
        derived = balances.with_columns(
            _difference_text(credit, debit).alias("_derived"),
            pl.col(total).cast(pl.Decimal(38, 0), strict=False).alias("_total"),
        )
        bad = derived.filter(
            pl.col("_derived").is_null()
            | pl.col("_total").is_null()
            | (pl.col("_derived") != pl.col("_total"))
        )
        found.append(
            findings_from(
                bad.lazy().with_columns(
                    pl.lit(LEDGER_ID).alias("ledger_id"),
                    pl.coalesce("indicator", "balance_id").alias("account_id"),
                ),
                rule=RuleId.SOURCE_INCONSISTENT,
                severity=Severity.HIGH,
                check=CONSISTENCY,
                table="blnk.balances",
                message=pl.format(
                    f"{total} {{}} is not {credit} {{}} - {debit} {{}}",
                    pl.col(total),
                    pl.col(credit),
                    pl.col(debit),
                ),
                expected=pl.col("_derived").cast(pl.String),
                actual=pl.col(total),
                locator=pl.format("blnk.balances(balance_id={})", pl.col("balance_id")),
            )
        )
    orphans = rows.filter(pl.col("status").is_in([COMMIT, VOID]) & ~pl.col("settles"))
    found.append(
        findings_from(
            orphans.lazy().with_columns(
                pl.col("transaction_id").alias("blnk_row"),
                pl.lit(LEDGER_ID).alias("ledger_id"),
                pl.col("group").alias("transaction_id"),
            ),
            rule=RuleId.SOURCE_INCONSISTENT,
            severity=Severity.HIGH,
            check=CONSISTENCY,
            table="blnk.transactions",
            message=pl.format(
                "a {} row whose parent_transaction {} is not an INFLIGHT row: it settles nothing "
                "(loaded as its own posted or voided transaction)",
                pl.col("status"),
                pl.col("parent_transaction").fill_null("NULL"),
            ),
            expected=pl.lit("parent_transaction naming an INFLIGHT row"),
            actual=pl.col("parent_status").fill_null("no such row"),
            locator=pl.format("blnk.transactions(transaction_id={})", pl.col("blnk_row")),
        )
    )
    mixed = (
        rows.group_by("group", "version")
        .agg(
            pl.col("role").n_unique().alias("_roles"),
            pl.col("role").unique().sort().str.join(", ").alias("_which"),
        )
        .filter(pl.col("_roles") > 1)
    )
    found.append(
        findings_from(
            mixed.lazy().with_columns(
                pl.lit(LEDGER_ID).alias("ledger_id"), pl.col("group").alias("transaction_id")
            ),
            rule=RuleId.SOURCE_INCONSISTENT,
            severity=Severity.HIGH,
            check=CONSISTENCY,
            table="blnk.transactions",
            message=pl.format(
                "the rows of split {} are in different states ({}); the first row's is loaded",
                pl.col("group"),
                pl.col("_which"),
            ),
            expected=pl.lit("one state"),
            actual=pl.col("_which"),
            locator=pl.format("blnk.transactions(parent_transaction={})", pl.col("group")),
        )
    )
    findings = pl.concat(found).collect()
    coverage = Coverage(
        balances.height + rows.height,
        "balance and transaction rows",
        f"{blnk.label}: cached balance totals, settlement parents, split states",
    )
    return NativeCheck(
        CheckResult(
            CONSISTENCY,
            sort_findings(findings) if findings.height else empty_findings(),
            coverage,
        ),
        (RuleId.SOURCE_INCONSISTENT,),
    )
