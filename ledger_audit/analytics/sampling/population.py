"""A monetary-unit sampling population from the ledger: posted entries of one asset.

Each item is one entry of the latest posted version of a transaction (``item_id`` =
``ledger/transaction#entry_index``), its book value the entry's amount in minor units, so
that a selected item points at one line an auditor can vouch.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.sources.ledger_frames import LedgerFrames


def entry_population(frames: LedgerFrames, asset_id: str) -> pl.DataFrame:
    """``item_id``, ``book_value`` of the posted entries in ``asset_id`` (one asset only)."""
    latest = (
        frames.transactions.lazy()
        .filter(pl.col("status") == "posted")
        .group_by("ledger_id", "transaction_id")
        .agg(pl.col("version").max())
    )
    return (
        frames.entries.lazy()
        .filter(pl.col("asset_id") == asset_id)
        .join(latest, on=["ledger_id", "transaction_id", "version"], how="inner")
        .select(
            pl.format(
                "{}/{}#{}", pl.col("ledger_id"), pl.col("transaction_id"), pl.col("entry_index")
            ).alias("item_id"),
            pl.col("amount").alias("book_value"),
        )
        .sort("item_id")
        .collect()
    )
