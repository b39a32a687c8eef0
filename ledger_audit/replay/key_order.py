"""Whether loaded versions are stored in key order, which lets a replay read runs by position.

Loaders give ``transactions`` sorted by (ledger_id, transaction_id, version). There a
transaction's versions are one run of rows, rising by version, and a per-transaction
question (the latest version, the earliest later time) is a comparison with the next row
instead of a window over hashed text keys, the slowest part of a replay at scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

TX_KEY = ("ledger_id", "transaction_id")


def versions_in_key_order(transactions: pl.DataFrame | pl.LazyFrame, time: str) -> bool:
    """Whether the versions are in strict key order with no null ``time``.

    The key is (ledger_id, transaction_id, version): :func:`rows_in_key_order`.
    """
    return rows_in_key_order(transactions, (*TX_KEY, "version"), not_null=(time,))


def rows_in_key_order(
    frame: pl.DataFrame | pl.LazyFrame, key: Sequence[str], *, not_null: Sequence[str] = ()
) -> bool:
    """Whether the rows are in strict ``key`` order, no key column (nor ``not_null``) null.

    One pass comparing each row with the one before. A lazy frame, whose order is not known
    without reading it, is not; nor is a repeated key.
    """
    if not isinstance(frame, pl.DataFrame):
        return False
    columns = (*key, *not_null)
    if frame.select(pl.any_horizontal(pl.col(c).is_null().any() for c in columns)).item():
        return False
    follows = pl.col(key[-1]) > pl.col(key[-1]).shift(1)
    for name in reversed(key[:-1]):
        column = pl.col(name)
        follows = (column > column.shift(1)) | ((column == column.shift(1)) & follows)
    return bool(frame.select(follows.slice(1).all()).item())


def same_transaction_as(offset: int) -> pl.Expr:
    """True where the row ``offset`` rows away belongs to the same transaction.

    False past the frame's ends; in key order, false at ``-1`` marks a transaction's last row.
    """
    ledger, tx = pl.col("ledger_id"), pl.col("transaction_id")
    return ((ledger == ledger.shift(offset)) & (tx == tx.shift(offset))).fill_null(value=False)
