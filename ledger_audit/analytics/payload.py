"""A transaction's payload as one comparable text: its legs, sorted, and its inverse.

Two transactions have the same payload when their entry multisets (account, asset,
direction, amount) are equal; a reversal's inverse payload swaps every direction. The
text is built column-wise (one sort, one group-by), never per row in Python.
"""

from __future__ import annotations

import polars as pl

KEY = ("ledger_id", "transaction_id", "version")


def _leg(direction: pl.Expr) -> pl.Expr:
    return pl.concat_str(
        pl.col("account_id"),
        pl.col("asset_id"),
        direction,
        pl.col("amount").cast(pl.String),
        separator="|",
    )


def payloads(entries: pl.LazyFrame) -> pl.LazyFrame:
    """Per (ledger, transaction, version): ``payload`` and ``inverse_payload`` texts."""
    swapped = (
        pl.when(pl.col("direction") == "debit").then(pl.lit("credit")).otherwise(pl.lit("debit"))
    )
    legs = entries.select(
        *KEY, _leg(pl.col("direction")).alias("leg"), _leg(swapped).alias("inverse_leg")
    )
    return legs.group_by(*KEY).agg(
        pl.col("leg").sort().str.join(";").alias("payload"),
        pl.col("inverse_leg").sort().str.join(";").alias("inverse_payload"),
    )
