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
    empty_findings,
    findings_from,
    sort_findings,
)
from ledger_audit.sources.adapters.adapted import NativeCheck
from ledger_audit.sources.adapters.running import RunningLayout, minor_units
from ledger_audit.sources.ledger_frames import LedgerFrames

RUNNING = RunningLayout(
    check="pgledger_running",
    rows="pgledger_entries",
    accounts="pgledger_accounts",
    balance="balance",
    opening_version=0,
)
ENTRIES_CHECK = "pgledger_entries"
ENTRIES_RULES = (RuleId.SOURCE_INCONSISTENT, RuleId.SOURCE_AMOUNT_MISMATCH)


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
        },
        "scale",
    )
    collected = rows.select(
        pl.col("transfer_id").cast(pl.String),
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
    legs = collected.select("row_id", "transfer_id", pl.col("account").alias("account_id"), "delta")
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


def pgledger_entries(legs: pl.DataFrame, frames: LedgerFrames) -> NativeCheck:
    """Each loaded transfer against its two pgledger entries.

    ``legs`` (row_id, transfer_id, account_id, delta) are the entries as read. They meet the
    loaded legs through 64-bit hashes of the transfer and account ids (an integer join; text
    joins of ids with long shared prefixes were the slowest step), and every pair that met is
    then compared as text, so a hash collision shows as a finding, never as a match.
    """
    key = [
        pl.col("transfer_id").hash(seed=1).alias("t"),
        pl.col("account_id").hash(seed=2).alias("a"),
    ]
    loaded = (
        frames.entries.lazy()
        .select(
            pl.col("transaction_id").alias("transfer_id"),
            "account_id",
            pl.when(pl.col("direction") == "debit")
            .then(-pl.col("amount").cast(pl.Int64))
            .otherwise(pl.col("amount").cast(pl.Int64))
            .alias("expected"),
        )
        .with_columns(key)
    )
    transfers = loaded.select("t").unique()
    # An entry of a transfer that was not loaded (rejected) is left to its rejection.
    stored = (
        legs.lazy()
        .select("row_id", "transfer_id", "account_id", pl.col("delta").alias("stored"))
        .with_columns(key)
        .join(transfers, on="t", how="semi")
        .with_columns(pl.len().over("t", "a").alias("copies"))
    )
    both = stored.join(loaded, on=["t", "a"], how="full", coalesce=True)
    ledger = frames.ledgers.get_column("ledger_id").first() if frames.ledgers.height else None
    both = (
        both.with_columns(
            (
                (pl.col("transfer_id") != pl.col("transfer_id_right"))
                | (pl.col("account_id") != pl.col("account_id_right"))
            )
            .fill_null(value=False)
            .alias("collided"),
            pl.coalesce("transfer_id", "transfer_id_right").alias("transfer_id"),
            pl.coalesce("account_id", "account_id_right").alias("account_id"),
        )
        .with_columns(
            pl.lit(ledger, pl.String).alias("ledger_id"),
            pl.col("transfer_id").alias("transaction_id"),
        )
        .collect()
        .rechunk()
        .lazy()  # joined once; each rule filters it (rechunked, as in running.py)
    )
    at_entry = pl.format("pgledger_entries(id={})", pl.col("row_id"))
    at_transfer = pl.format("pgledger_transfers(id={})", pl.col("transfer_id"))
    parts = [
        findings_from(
            both.filter(pl.col("collided")),
            rule=RuleId.SOURCE_INCONSISTENT,
            severity=Severity.HIGH,
            check=ENTRIES_CHECK,
            table=None,
            locator=at_entry,
            message=pl.format(
                "the entry could not be matched to transfer {} (its ids hash like another "
                "leg's): it is reported rather than assumed to match",
                pl.col("transfer_id"),
            ),
            expected=pl.lit("a matching leg"),
            actual=pl.col("account_id"),
        ),
        findings_from(
            both.filter(pl.col("row_id").is_null()),
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
            both.filter(pl.col("expected").is_null()),
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
            both.filter(pl.col("expected").is_not_null() & (pl.col("copies") > 1)),
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
            both.filter(
                pl.col("expected").is_not_null()
                & pl.col("stored").is_not_null()
                & (pl.col("stored") != pl.col("expected"))
            ),
            rule=RuleId.SOURCE_AMOUNT_MISMATCH,
            severity=Severity.HIGH,
            check=ENTRIES_CHECK,
            table=None,
            locator=at_entry,
            message=pl.format(
                "the entry's amount {} is not the signed amount {} of transfer {}",
                pl.col("stored"),
                pl.col("expected"),
                pl.col("transfer_id"),
            ),
            expected=pl.col("expected"),
            actual=pl.col("stored"),
            difference=pl.col("stored") - pl.col("expected"),
        ),
    ]
    findings = sort_findings(pl.concat(parts).collect()) if parts else empty_findings()
    coverage = Coverage(
        frames.entries.height,
        "transfer legs",
        f"{frames.transactions.height} loaded transfers against {legs.height} pgledger_entries",
    )
    return NativeCheck(CheckResult(ENTRIES_CHECK, findings, coverage), ENTRIES_RULES)
