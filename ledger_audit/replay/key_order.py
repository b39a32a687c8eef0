"""Whether loaded versions are stored in key order, which lets a replay read runs by position.

Loaders give ``transactions`` sorted by (ledger_id, transaction_id, version). There a
transaction's versions are one run of rows, rising by version, and a per-transaction
question (the latest version, the earliest later time) is a comparison with the next row
instead of a window over hashed text keys, the slowest part of a replay at scale.
"""

from __future__ import annotations

import polars as pl

TX_KEY = ("ledger_id", "transaction_id")


def versions_in_key_order(transactions: pl.DataFrame | pl.LazyFrame, time: str) -> bool:
    """Whether the rows are in strict (ledger_id, transaction_id, version) order.

    One pass comparing each row with the one before; a null key or ``time``, a lazy frame
    (whose order is not known without reading it) or a repeated key is not.
    """
    if not isinstance(transactions, pl.DataFrame):
        return False
    columns = (*TX_KEY, "version", time)
    if transactions.select(pl.any_horizontal(pl.col(c).is_null().any() for c in columns)).item():
        return False
    ledger, tx, version = pl.col("ledger_id"), pl.col("transaction_id"), pl.col("version")
    follows = (ledger > ledger.shift(1)) | (
        (ledger == ledger.shift(1))
        & ((tx > tx.shift(1)) | ((tx == tx.shift(1)) & (version > version.shift(1))))
    )
    return bool(transactions.select(follows.slice(1).all()).item())


def same_transaction_as(offset: int) -> pl.Expr:
    """True where the row ``offset`` rows away belongs to the same transaction.

    False past the frame's ends; in key order, false at ``-1`` marks a transaction's last row.
    """
    ledger, tx = pl.col("ledger_id"), pl.col("transaction_id")
    return ((ledger == ledger.shift(offset)) & (tx == tx.shift(offset))).fill_null(value=False)
