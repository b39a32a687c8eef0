"""Polars schemas of the canonical frames: every reader produces exactly these dtypes.

Amounts are Int64 minor units. A source whose amounts exceed int64 (u128 ledgers) is read
with ``amount`` as Decimal(38, 0) instead; never a float.
"""

from __future__ import annotations

import polars as pl

LEDGERS: dict[str, pl.DataType] = {
    "ledger_id": pl.String(),
    "name": pl.String(),
    "chain_algorithm": pl.String(),
    "created_ns": pl.Int64(),
    "metadata": pl.String(),
}

ASSETS: dict[str, pl.DataType] = {
    "asset_id": pl.String(),
    "code": pl.String(),
    "scale": pl.Int32(),
    "kind": pl.String(),
}

ACCOUNTS: dict[str, pl.DataType] = {
    "ledger_id": pl.String(),
    "account_id": pl.String(),
    "name": pl.String(),
    "normal_balance": pl.String(),
    "asset_id": pl.String(),
    "allow_negative": pl.Boolean(),
    "opened_ns": pl.Int64(),
    "closed_ns": pl.Int64(),
    "external_id": pl.String(),
    "metadata": pl.String(),
}

TRANSACTIONS: dict[str, pl.DataType] = {
    "ledger_id": pl.String(),
    "transaction_id": pl.String(),
    "version": pl.Int32(),
    "kind": pl.String(),
    "status": pl.String(),
    "pending_transaction_id": pl.String(),
    "reverses_transaction_id": pl.String(),
    "effective_ns": pl.Int64(),
    "recorded_ns": pl.Int64(),
    "idempotency_key": pl.String(),
    "external_id": pl.String(),
    "description": pl.String(),
    "metadata": pl.String(),
    "meta_hash": pl.String(),
    "chain_seq": pl.Int64(),
    "chain_prev_hash": pl.String(),
    "content_hash": pl.String(),
    "chain_hash": pl.String(),
}

ENTRIES: dict[str, pl.DataType] = {
    "ledger_id": pl.String(),
    "transaction_id": pl.String(),
    "version": pl.Int32(),
    "entry_index": pl.Int32(),
    "account_id": pl.String(),
    "asset_id": pl.String(),
    "direction": pl.String(),
    "amount": pl.Int64(),
}

BALANCES: dict[str, pl.DataType] = {
    "ledger_id": pl.String(),
    "account_id": pl.String(),
    "asset_id": pl.String(),
    "posted_debits": pl.Int64(),
    "posted_credits": pl.Int64(),
    "pending_debits": pl.Int64(),
    "pending_credits": pl.Int64(),
    "as_of_ns": pl.Int64(),
    "lock_version": pl.Int64(),
}

WIDE_AMOUNT = pl.Decimal(38, 0)
"""The amount dtype used instead of Int64 when a source holds values beyond int64."""

FRAME_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "ledgers": LEDGERS,
    "assets": ASSETS,
    "accounts": ACCOUNTS,
    "transactions": TRANSACTIONS,
    "entries": ENTRIES,
    "balances": BALANCES,
}

KEYS: dict[str, tuple[str, ...]] = {
    "ledgers": ("ledger_id",),
    "assets": ("asset_id",),
    "accounts": ("ledger_id", "account_id"),
    "transactions": ("ledger_id", "transaction_id", "version"),
    "entries": ("ledger_id", "transaction_id", "version", "entry_index"),
    "balances": ("ledger_id", "account_id", "asset_id"),
}
"""Primary key of each canonical table: frames are sorted by it, so sources compare equal."""
