"""From a balance to the entries and transactions behind it (the explorer's drill-down).

The rows are exactly the entries ``balances_as_of`` sums for one account x asset at an
instant: the counting version of each transaction, posted or still pending, with the
transaction fields an auditor follows up (versions, idempotency key, external id).
"""

from __future__ import annotations

import polars as pl

from ledger_audit.replay.balances import Basis, counting_versions
from ledger_audit.sources.ledger_frames import LedgerFrames

DRILLDOWN_COLUMNS = (
    "ledger_id",
    "transaction_id",
    "version",
    "versions",
    "status",
    "kind",
    "entry_index",
    "direction",
    "amount",
    "asset_id",
    "effective_ns",
    "recorded_ns",
    "chain_seq",
    "idempotency_key",
    "external_id",
    "description",
)


def balance_entries(
    frames: LedgerFrames,
    account_id: str,
    asset_id: str,
    at_ns: int,
    basis: Basis = "effective",
) -> pl.LazyFrame:
    """The entries that make up ``account_id``'s ``asset_id`` balance at ``at_ns``, newest first.

    ``versions`` is how many versions the transaction has in the whole ledger (a later one
    may exist after ``at_ns``).
    """
    tx = frames.transactions.lazy()
    counting = counting_versions(frames.transactions, at_ns, basis).filter(
        pl.col("status").is_in(["posted", "pending"])
    )
    versions = tx.group_by("ledger_id", "transaction_id").agg(pl.len().alias("versions"))
    details = tx.select(
        "ledger_id",
        "transaction_id",
        "version",
        "kind",
        "effective_ns",
        "recorded_ns",
        "chain_seq",
        "idempotency_key",
        "external_id",
        "description",
    )
    keys = ["ledger_id", "transaction_id", "version"]
    return (
        frames.entries.lazy()
        .filter((pl.col("account_id") == account_id) & (pl.col("asset_id") == asset_id))
        .join(counting, on=keys, how="inner")
        .join(details, on=keys, how="left")
        .join(versions, on=["ledger_id", "transaction_id"], how="left")
        .select(DRILLDOWN_COLUMNS)
        .sort(f"{basis}_ns", "transaction_id", "entry_index", descending=[True, False, False])
    )
