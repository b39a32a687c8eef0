"""Balances as of any instant (docs/schema.md), replayed from the canonical frames.

Per transaction, the latest version whose time on the chosen basis is at or before the
instant counts: its entries as posted or pending by its status (archived counts nowhere).
A pending transaction that a separate ``post_pending``/``void_pending`` transaction resolved
by then no longer counts as pending. Sums are per account x asset; assets never mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from ledger_audit.replay.key_order import same_transaction_as, versions_in_key_order
from ledger_audit.schema.frames import BALANCES, WIDE_AMOUNT
from ledger_audit.sources.ledger_frames import LedgerFrames

Basis = Literal["effective", "recorded"]

SUM_AMOUNT = WIDE_AMOUNT
"""The dtype of every sum of minor units: Decimal(38, 0). Polars sums Int64 with wrap-around
and Int128 has no Arrow type (no Parquet, no pandas, no GX); a Decimal sum is exact and
raises rather than wraps past 38 digits, and downstream already reads it (wide ledgers)."""

_CELLS = ("posted_debits", "posted_credits", "pending_debits", "pending_credits")

BALANCE_SCHEMA: dict[str, pl.DataType] = {
    **{
        name: SUM_AMOUNT if name in _CELLS else dtype
        for name, dtype in BALANCES.items()
        if name not in ("as_of_ns", "lock_version")
    },
    "posted": SUM_AMOUNT,
    "available": SUM_AMOUNT,
}
"""The stored balance columns, without cache bookkeeping, plus the oriented balances."""

_TX_KEY = ("ledger_id", "transaction_id")


@dataclass(frozen=True, slots=True)
class LazyLedger:
    """The three tables the replay reads, as lazy frames.

    From loaded frames, or straight from lazy scans (``pl.scan_parquet``) of canonical files,
    so that a ledger larger than memory is read column by column, only as far as needed.

    Attributes:
        transactions: canonical ``transactions`` rows.
        entries: canonical ``entries`` rows.
        accounts: canonical ``accounts`` rows.
    """

    transactions: pl.LazyFrame
    entries: pl.LazyFrame
    accounts: pl.LazyFrame

    @classmethod
    def of(cls, frames: LedgerFrames | LazyLedger) -> LazyLedger:
        """The lazy view of loaded frames (a LazyLedger is returned as it is)."""
        if isinstance(frames, LazyLedger):
            return frames
        return cls(frames.transactions.lazy(), frames.entries.lazy(), frames.accounts.lazy())


def counting_versions(
    transactions: pl.DataFrame | pl.LazyFrame, at_ns: int, basis: Basis
) -> pl.LazyFrame:
    """(ledger_id, transaction_id, version, status) of the version of each transaction that counts.

    ``status`` is ``resolved`` for a pending version that another transaction resolved by then.
    Loaded frames (a DataFrame) in key order find each transaction's latest version seen as
    the last of its run, without a window (``replay.key_order``).
    """
    time = f"{basis}_ns"
    seen = transactions.lazy().filter(pl.col(time) <= at_ns)
    if versions_in_key_order(transactions, time):
        latest = seen.filter(~same_transaction_as(-1))
    else:
        latest = seen.filter(pl.col("version") == pl.col("version").max().over(_TX_KEY))
    resolved = (
        seen.filter(pl.col("pending_transaction_id").is_not_null())
        .select(pl.col("ledger_id"), pl.col("pending_transaction_id").alias("transaction_id"))
        .unique()
        .with_columns(pl.lit(value=True).alias("_resolved"))
    )
    return latest.join(resolved, on=list(_TX_KEY), how="left").select(
        *_TX_KEY,
        "version",
        pl.when(pl.col("_resolved") & (pl.col("status") == "pending"))
        .then(pl.lit("resolved"))
        .otherwise(pl.col("status"))
        .alias("status"),
    )


def balances_as_of(
    frames: LedgerFrames | LazyLedger, at_ns: int, basis: Basis = "effective"
) -> pl.LazyFrame:
    """Posted, pending and available balances per account x asset at ``at_ns``.

    Sums are SUM_AMOUNT (Decimal(38, 0)) whatever the amount dtype: an Int64 sum past
    2^63 - 1 would wrap around without a word, a Decimal one is exact. ``posted`` and
    ``available`` are oriented by the account's normal balance; an account
    missing from ``accounts`` is oriented as debit-normal (checks report it separately).
    """
    ledger = LazyLedger.of(frames)
    stored = frames.transactions if isinstance(frames, LedgerFrames) else ledger.transactions
    versions = counting_versions(stored, at_ns, basis).filter(
        pl.col("status").is_in(["posted", "pending"])  # archived and resolved count nowhere
    )
    legs = ledger.entries.join(versions, on=[*_TX_KEY, "version"], how="inner")
    posted, debit = pl.col("status") == "posted", pl.col("direction") == "debit"
    zero = pl.lit(0).cast(SUM_AMOUNT)

    def total(picked: pl.Expr) -> pl.Expr:
        return pl.when(picked).then(pl.col("amount").cast(SUM_AMOUNT)).otherwise(zero).sum()

    sums = legs.group_by("ledger_id", "account_id", "asset_id").agg(
        total(posted & debit).alias("posted_debits"),
        total(posted & ~debit).alias("posted_credits"),
        total(~posted & debit).alias("pending_debits"),
        total(~posted & ~debit).alias("pending_credits"),
    )
    return (
        oriented(sums, ledger.accounts)
        .select(list(BALANCE_SCHEMA))
        .sort("ledger_id", "account_id", "asset_id")
    )


def oriented(cells: pl.LazyFrame, accounts: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``normal_balance``, ``posted`` and ``available`` to rows holding the four cells.

    An account missing from ``accounts`` is oriented as debit-normal (checks report it).
    """
    normal = accounts.select("ledger_id", "account_id", "normal_balance")
    credit = pl.col("normal_balance") == "credit"
    return (
        cells.join(normal, on=["ledger_id", "account_id"], how="left")
        .with_columns(
            pl.when(credit)
            .then(pl.col("posted_credits") - pl.col("posted_debits"))
            .otherwise(pl.col("posted_debits") - pl.col("posted_credits"))
            .alias("posted"),
        )
        .with_columns(
            pl.when(credit)
            .then(pl.col("posted") - pl.col("pending_debits"))
            .otherwise(pl.col("posted") - pl.col("pending_credits"))
            .alias("available"),
        )
    )
