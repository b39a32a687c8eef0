"""Running balances of Modern Treasury accounts, replayed from the transaction versions.

Each version writes its entries at its ``created_at``: a posted version's into the posted
cells, a pending version's into the pending cells (an archived version's nowhere), and the
version it replaces stops counting at that same instant. Summed per account in time order,
this is the account's balance after every instant, which is what each entry's
``resulting_ledger_account_balances`` states (after all versions written at that instant:
instants are microseconds, so versions written in the same one cannot be ordered).

Cells here are pending-only, as in the canonical ``balances``; Modern Treasury's
``pending_balance`` includes posted, so stated values are converted before comparing.
"""

from __future__ import annotations

import polars as pl

CELLS = ("posted_debits", "posted_credits", "pending_debits", "pending_credits")
WIDE = pl.Decimal(38, 0)
LEG_COLUMNS = ("chain", "order", "status", "at", "account_id", "direction", "amount")
"""What ``running_cells`` reads: one row per entry of a version (``chain`` is the MT
transaction id, ``order`` its version number, ``at`` its ``created_at`` in ns)."""


def _cells(sign: int) -> list[pl.Expr]:
    amount = pl.col("amount").cast(WIDE) * sign
    zero = pl.lit(0, dtype=WIDE)
    debit = pl.col("direction") == "debit"
    posted = pl.col("status") == "posted"
    pending = pl.col("status") == "pending"
    return [
        pl.when(posted & debit).then(amount).otherwise(zero).alias("posted_debits"),
        pl.when(posted & ~debit).then(amount).otherwise(zero).alias("posted_credits"),
        pl.when(pending & debit).then(amount).otherwise(zero).alias("pending_debits"),
        pl.when(pending & ~debit).then(amount).otherwise(zero).alias("pending_credits"),
    ]


def running_cells(legs: pl.DataFrame) -> pl.DataFrame:
    """Per account and instant at which it changed: the four cells after that instant."""
    versions = (
        legs.select("chain", "order", "at")
        .unique(["chain", "order"])
        .sort("chain", "order")
        .with_columns(pl.col("at").shift(-1).over("chain").alias("until"))
    )
    added = legs.select("account_id", "at", *_cells(1))
    removed = (
        legs.drop("at")
        .join(versions.select("chain", "order", pl.col("until").alias("at")), on=["chain", "order"])
        .filter(pl.col("at").is_not_null())
        .select("account_id", "at", *_cells(-1))
    )
    return (
        pl.concat([added, removed])
        .group_by("account_id", "at")
        .agg(pl.col(c).sum() for c in CELLS)
        .sort("account_id", "at")
        .with_columns(pl.col(c).cum_sum().over("account_id") for c in CELLS)
    )
