"""The evidence only pgledger's own rows hold, checked while the adapter holds them.

- ``pgledger_running``: each entry's previous and current balance and account version
  (running.py), and the accounts' cached ``balance`` and ``version`` at the end.
- ``pgledger_entries``: each transfer's two entries (``-amount`` on the from account,
  ``+amount`` on the to account) against the transfer as loaded: a missing, extra or
  duplicated entry is ``source.inconsistent``, a different amount ``source.amount_mismatch``.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.findings import (
    CheckResult,
    Coverage,
    RuleId,
    Severity,
    findings_from,
    sort_findings,
)
from ledger_audit.sources.adapters.adapted import NativeCheck
from ledger_audit.sources.adapters.running import RunningLayout, minor_units

RUNNING = RunningLayout(
    check="pgledger_running",
    rows="pgledger_entries",
    accounts="pgledger_accounts",
    balance="balance",
    opening_version=0,
)
ENTRIES_CHECK = "pgledger_entries"

ENTRIES = (
    "SELECT e.id, e.account_id, e.transfer_id, e.amount::text AS amount, "
    "e.account_previous_balance::text AS account_previous_balance, "
    "e.account_current_balance::text AS account_current_balance, e.account_version, "
    "CASE WHEN e.account_id = t.from_account_id THEN (-t.amount)::text "
    "WHEN e.account_id = t.to_account_id THEN t.amount::text END AS expected, "
    "count(*) OVER (PARTITION BY e.transfer_id, e.account_id) AS copies "
    "FROM pgledger_entries e LEFT JOIN pgledger_transfers t ON t.id = e.transfer_id"
)
"""Each entry beside what its transfer says it should be (the signed amount on its side), and
how many entries share its transfer and account: PostgreSQL joins them on its indexes."""
ENTRY_COLUMNS = (
    "id",
    "account_id",
    "transfer_id",
    "amount",
    "account_previous_balance",
    "account_current_balance",
    "account_version",
    "expected",
    "copies",
)

MISSING = (
    "SELECT t.id AS transfer_id, s.account_id, s.expected FROM pgledger_transfers t "
    "CROSS JOIN LATERAL (VALUES (t.from_account_id, (-t.amount)::text), "
    "(t.to_account_id, t.amount::text)) AS s(account_id, expected) "
    "WHERE NOT EXISTS (SELECT 1 FROM pgledger_entries e "
    "WHERE e.transfer_id = t.id AND e.account_id = s.account_id)"
)
"""The sides of transfers that have no entry (a deleted entry row)."""
MISSING_COLUMNS = ("transfer_id", "account_id", "expected")


def _scale_of(accounts: pl.DataFrame, scales: dict[str, int]) -> pl.DataFrame:
    return accounts.select(
        pl.col("id").alias("account"),
        pl.col("currency")
        .replace_strict(scales, default=None, return_dtype=pl.Int64)
        .alias("scale"),
        pl.concat_str(
            pl.col("currency"),
            pl.lit("/"),
            pl.col("currency").replace_strict(scales, default=None, return_dtype=pl.String),
        ).alias("asset_id"),
    )


def running_inputs(
    entries: pl.DataFrame, accounts: pl.DataFrame, scales: dict[str, int], ledger_id: str
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The pgledger entries and accounts as running.py's rows and cached balances.

    The third frame is each entry's transfer, account and signed amount, for the check of
    the entries against their transfers.
    """
    scale = _scale_of(accounts, scales).lazy()
    rows = minor_units(
        entries.lazy().join(scale, left_on="account_id", right_on="account", how="left"),
        {
            "delta": "amount",
            "before": "account_previous_balance",
            "after": "account_current_balance",
            "expected": "expected",
        },
        "scale",
    )
    collected = rows.select(
        pl.col("transfer_id").cast(pl.String),
        pl.col("expected").alias("expected"),
        pl.col("copies").cast(pl.Int64),
        (pl.col("expected_problem") == "no value").fill_null(value=False).alias("no_side"),
        pl.col("id").cast(pl.String).alias("row_id"),
        pl.lit(ledger_id).alias("ledger_id"),
        pl.col("account_id").cast(pl.String).alias("account"),
        "asset_id",
        pl.lit(None, pl.Int64).alias("version_before"),
        pl.col("account_version").cast(pl.Int64).alias("version"),
        "delta",
        "before",
        "after",
        pl.coalesce(
            pl.format("amount: {}", pl.col("delta_problem")),
            pl.format("account_previous_balance: {}", pl.col("before_problem")),
            pl.format("account_current_balance: {}", pl.col("after_problem")),
        ).alias("problem"),
    ).collect()
    running = collected.drop("transfer_id")
    legs = collected.select(
        "row_id", "transfer_id", pl.col("account").alias("account_id"), "delta", "expected",
        "copies", "no_side",
    )  # fmt: skip
    cached = (
        minor_units(
            accounts.lazy().join(scale, left_on="id", right_on="account", how="left"),
            {"balance": "balance"},
            "scale",
        )
        .select(
            pl.lit(ledger_id).alias("ledger_id"),
            pl.col("id").cast(pl.String).alias("account"),
            "asset_id",
            "balance",
            pl.col("version").cast(pl.Int64),
            pl.format("balance: {}", pl.col("balance_problem")).alias("problem"),
        )
        .collect()
    )
    return running, cached, legs


def pgledger_entries(legs: pl.DataFrame, missing: pl.DataFrame, ledger_id: str) -> NativeCheck:
    """Each transfer against its two pgledger entries.

    ``legs`` (from ``running_inputs``) are the entries with the signed amount their transfer
    gives their side (``expected``, null where it could not be read exactly: that transfer's
    own rejection says so) and how many entries share their transfer and account; ``missing``
    are the transfer sides no entry has. PostgreSQL paired them (ENTRIES, MISSING): no join
    here.
    """
    rows = legs.lazy().with_columns(
        pl.lit(ledger_id).alias("ledger_id"), pl.col("transfer_id").alias("transaction_id")
    )
    absent = missing.lazy().select(
        pl.lit(ledger_id).alias("ledger_id"),
        pl.col("transfer_id").cast(pl.String),
        pl.col("transfer_id").cast(pl.String).alias("transaction_id"),
        pl.col("account_id").cast(pl.String),
        pl.col("expected").cast(pl.String),
    )
    at_entry = pl.format("pgledger_entries(id={})", pl.col("row_id"))
    at_transfer = pl.format("pgledger_transfers(id={})", pl.col("transfer_id"))
    parts = [
        findings_from(
            absent,
            rule=RuleId.SOURCE_INCONSISTENT,
            severity=Severity.HIGH,
            check=ENTRIES_CHECK,
            table=None,
            locator=at_transfer,
            message=pl.format(
                "the transfer has no entry for its account {} in pgledger_entries",
                pl.col("account_id"),
            ),
            expected=pl.format("an entry of {}", pl.col("expected")),
            actual=pl.lit("none"),
        ),
        findings_from(
            rows.filter(pl.col("no_side")),
            rule=RuleId.SOURCE_INCONSISTENT,
            severity=Severity.HIGH,
            check=ENTRIES_CHECK,
            table=None,
            locator=at_entry,
            message=pl.format(
                "the entry's account {} is neither the from nor the to account of transfer {}",
                pl.col("account_id"),
                pl.col("transfer_id"),
            ),
            expected=pl.lit("the transfer's from or to account"),
            actual=pl.col("account_id"),
        ),
        findings_from(
            rows.filter(pl.col("copies") > 1),
            rule=RuleId.SOURCE_INCONSISTENT,
            severity=Severity.HIGH,
            check=ENTRIES_CHECK,
            table=None,
            locator=at_entry,
            message=pl.format(
                "transfer {} has {} entries for account {}",
                pl.col("transfer_id"),
                pl.col("copies"),
                pl.col("account_id"),
            ),
            expected=pl.lit("1"),
            actual=pl.col("copies"),
        ),
        findings_from(
            rows.filter(
                pl.col("expected").is_not_null()
                & pl.col("delta").is_not_null()
                & (pl.col("delta") != pl.col("expected"))
            ),
            rule=RuleId.SOURCE_AMOUNT_MISMATCH,
            severity=Severity.HIGH,
            check=ENTRIES_CHECK,
            table=None,
            locator=at_entry,
            message=pl.format(
                "the entry's amount {} is not the signed amount {} of transfer {}",
                pl.col("delta"),
                pl.col("expected"),
                pl.col("transfer_id"),
            ),
            expected=pl.col("expected"),
            actual=pl.col("delta"),
            difference=pl.col("delta") - pl.col("expected"),
        ),
    ]
    findings = sort_findings(pl.concat(parts).collect())
    coverage = Coverage(
        legs.height + missing.height,
        "transfer sides",
        f"{legs.height} pgledger_entries against their transfers, and every transfer side "
        "for an entry",
    )
    return NativeCheck(
        CheckResult(ENTRIES_CHECK, findings, coverage),
        (RuleId.SOURCE_INCONSISTENT, RuleId.SOURCE_AMOUNT_MISMATCH),
    )
