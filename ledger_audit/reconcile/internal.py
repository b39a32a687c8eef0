"""The ledger side of a reconciliation: one item per posted entry on a mapped bank account.

Per transaction the version that counts is the latest one recorded by the cut-off
(``counting_versions`` on the recorded basis); only ``posted`` versions give items, so a
pending, archived or resolved version gives none. Each entry on a bank account the rules map
becomes an item with its amount in the bank's view (a debit to the asset account is money in:
positive; a credit is money out: negative), its date (the UTC day of the effective time), its
rail (from the external id or metadata ``event``) and its references.

``item_id`` is ``ledger_id:transaction_id:version:entry_index``.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.replay.balances import counting_versions
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.sources.match_rules import MatchRules

INTERNAL_SCHEMA: dict[str, pl.DataType] = {
    "item_id": pl.String(),
    "ledger_id": pl.String(),
    "transaction_id": pl.String(),
    "version": pl.Int32(),
    "entry_index": pl.Int32(),
    "account_ref": pl.String(),
    "account_id": pl.String(),
    "asset_id": pl.String(),
    "amount": pl.Int64(),
    "date": pl.Date(),
    "effective_ns": pl.Int64(),
    "rail": pl.String(),
    "kind": pl.String(),
    "reverses_transaction_id": pl.String(),
    "external_id": pl.String(),
    "idempotency_key": pl.String(),
    "batch_key": pl.String(),
    "description": pl.String(),
}
"""Columns of the ledger-side item frame, in this order.

``batch_key`` is the first of the rules' ``group_metadata_keys`` the transaction's metadata
holds (stage 4 groups items by it); ``account_ref`` is the bank account as statements name it.
"""

ITEM_KEY = ("ledger_id", "transaction_id", "version", "entry_index")
"""A total order of items: the entries key."""

_LAST_NS = 2**63 - 1


def internal_items(
    frames: LedgerFrames, rules: MatchRules, *, recorded_by_ns: int | None = None
) -> pl.DataFrame:
    """The ledger items to reconcile, sorted by ITEM_KEY (INTERNAL_SCHEMA).

    Args:
        frames: the loaded ledger(s).
        rules: the bank account mapping and the rails.
        recorded_by_ns: the cut-off: versions recorded after it are ignored (None: all).
    """
    cut = _LAST_NS if recorded_by_ns is None else recorded_by_ns
    versions = counting_versions(frames.transactions, cut, "recorded").filter(
        pl.col("status") == "posted"
    )
    mapping = rules.account_frame().lazy().rename({"ledger_id": "_map_ledger"})
    transactions = frames.transactions.lazy().select(
        "ledger_id",
        "transaction_id",
        "version",
        "kind",
        "reverses_transaction_id",
        "effective_ns",
        "external_id",
        "idempotency_key",
        "description",
        "metadata",
    )
    meta = pl.col("metadata")
    batch = pl.coalesce(
        [meta.str.json_path_match(f"$.{key}") for key in rules.group_metadata_keys]
        or [pl.lit(None, dtype=pl.String())]
    )
    items = (
        frames.entries.lazy()
        .join(mapping, on=["account_id", "asset_id"], how="inner")
        .filter(pl.col("_map_ledger").is_null() | (pl.col("_map_ledger") == pl.col("ledger_id")))
        .join(versions.select(*ITEM_KEY[:3]), on=list(ITEM_KEY[:3]), how="inner")
        .join(transactions, on=list(ITEM_KEY[:3]), how="left")
        .with_columns(
            pl.concat_str([pl.col(c).cast(pl.String()) for c in ITEM_KEY], separator=":").alias(
                "item_id"
            ),
            pl.when(pl.col("direction") == "debit")
            .then(pl.col("amount").cast(pl.Int64()))
            .otherwise(-pl.col("amount").cast(pl.Int64()))
            .alias("amount"),
            pl.from_epoch("effective_ns", time_unit="ns").dt.date().alias("date"),
            rules.rail_expr(pl.col("external_id"), meta.str.json_path_match("$.event")),
            batch.alias("batch_key"),
        )
        .select(list(INTERNAL_SCHEMA))
        .sort(list(ITEM_KEY))
    )
    return items.collect()


def check_internal(frame: pl.DataFrame) -> None:
    """Raise ValueError unless ``frame`` has exactly INTERNAL_SCHEMA."""
    if dict(frame.schema) != INTERNAL_SCHEMA:
        raise ValueError(f"internal items schema {dict(frame.schema)} is not {INTERNAL_SCHEMA}")
