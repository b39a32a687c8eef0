"""Midaz as a source mapping: everything the mapping format can say about it.

Balances (one canonical account per Midaz balance: its alias, asset, ``direction`` as the
normal balance), transactions (one row each, status mapped, ``parent_transaction_id`` as the
reversed transaction), operations as entries (``type`` DEBIT or CREDIT as the direction, DECIMAL
amounts scaled exactly) and the balances' cached ``available``/``on_hold`` as stored balances
are SQL queries over the transaction component's tables, inside the mapping. Only the asset
scale is decided in code: Midaz stores an asset code and decimals, not a scale.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger_audit.sources.adapters.pgledger.mapping import resolve_scales, toml_key

__all__ = ["STATUS", "TABLES", "mapping_text", "resolve_scales"]

TABLES: dict[str, tuple[str, ...]] = {
    "transaction": (
        "id",
        "parent_transaction_id",
        "description",
        "status",
        "amount",
        "asset_code",
        "ledger_id",
        "organization_id",
        "created_at",
    ),
    "operation": (
        "id",
        "transaction_id",
        "type",
        "asset_code",
        "amount",
        "available_balance",
        "on_hold_balance",
        "available_balance_after",
        "on_hold_balance_after",
        "status",
        "account_id",
        "balance_id",
        "ledger_id",
        "created_at",
        "balance_affected",
        "balance_key",
        "balance_version_before",
        "balance_version_after",
    ),
    "balance": (
        "id",
        "ledger_id",
        "account_id",
        "alias",
        "asset_code",
        "available",
        "on_hold",
        "version",
        "account_type",
        "created_at",
        "updated_at",
        "key",
        "direction",
    ),
}
"""The columns the adapter reads, per table (migrations 000000-000031 of the transaction
component: ``balance_version_*`` came in 000014, ``balance.direction`` in 000031)."""

STATUS = {"APPROVED": "posted", "CREATED": "posted", "PENDING": "pending", "CANCELED": "archived"}
"""Midaz transaction statuses; NOTED (an annotation, no balance effect) is not a ledger entry."""

_ACCOUNTS = """
SELECT b.id::text AS id, b.ledger_id::text AS ledger_id, b.asset_code, b.direction,
       CASE WHEN b.key = 'default' THEN b.alias ELSE b.alias || '#' || b.key END AS name,
       b.account_type = 'external' AS allow_negative, b.created_at
FROM balance b"""

_TRANSACTIONS = """
SELECT t.id::text AS id, t.ledger_id::text AS ledger_id, t.status, t.description,
       t.parent_transaction_id::text AS parent_id, t.created_at
FROM "transaction" t WHERE t.status <> 'NOTED'"""

_LEGS = """
SELECT o.id::text AS id, o.ledger_id::text AS ledger_id, o.transaction_id::text AS tx,
       o.balance_id::text AS balance_id, o.type, o.amount, o.asset_code
FROM operation o JOIN "transaction" t ON t.id = o.transaction_id
WHERE o.balance_affected AND t.status <> 'NOTED'
  AND (o.balance_version_after <> o.balance_version_before OR t.status IN ('PENDING', 'CANCELED'))
  AND (o.type IN ('DEBIT', 'CREDIT')
       OR (o.type = 'ON_HOLD' AND t.status IN ('PENDING', 'CANCELED')))"""
"""Ledger movements: DEBIT and CREDIT; a pending (or cancelled) transaction's source leg is its
ON_HOLD and its destination leg the CREDIT that did not move the balance yet (its version
unchanged). Once approved, only the operations that moved a balance are the legs, so the
pending phase's CREDIT is not counted twice. RELEASE and the other hold bookkeeping rows move
money between a balance's available and on-hold parts, not between accounts: the
running-balance check reads them."""

_STORED = """
SELECT b.id::text AS id, b.ledger_id::text AS ledger_id, b.asset_code, b.updated_at, b.version,
       CASE WHEN b.direction = 'debit' THEN b.available + b.on_hold + COALESCE(m.credits, 0)
            ELSE COALESCE(m.debits, 0) END AS posted_debits,
       CASE WHEN b.direction = 'debit' THEN COALESCE(m.credits, 0)
            ELSE b.available + b.on_hold + COALESCE(m.debits, 0) END AS posted_credits,
       b.on_hold AS pending_debits, COALESCE(m.pending_credits, 0) AS pending_credits
FROM balance b LEFT JOIN (
    SELECT o.balance_id,
           SUM(CASE WHEN o.type = 'DEBIT' AND t.status IN ('APPROVED', 'CREATED')
                    THEN o.amount ELSE 0 END) AS debits,
           SUM(CASE WHEN o.type = 'CREDIT' AND t.status IN ('APPROVED', 'CREATED')
                    THEN o.amount ELSE 0 END) AS credits,
           SUM(CASE WHEN o.type = 'CREDIT' AND t.status = 'PENDING'
                    THEN o.amount ELSE 0 END) AS pending_credits
    FROM operation o JOIN "transaction" t ON t.id = o.transaction_id
    WHERE o.balance_affected
      AND (o.balance_version_after <> o.balance_version_before OR t.status = 'PENDING')
    GROUP BY o.balance_id
) m ON m.balance_id = b.id"""
"""Midaz caches one signed ``available`` (plus ``on_hold``) per balance. The canonical stored
balance has debits and credits apart: the side the balance's direction subtracts is taken
from the operations, the other is the cached balance plus it, so a drifted cache shows."""


def _scales(scales: Mapping[str, int]) -> str:
    if not scales:
        return (
            'query = "SELECT CAST(NULL AS TEXT) AS code, CAST(NULL AS INTEGER) AS scale '
            'WHERE false"\ncode = "code"\nscale = "scale"'
        )
    inline = ", ".join(f"{toml_key(code)} = {scale}" for code, scale in sorted(scales.items()))
    return f"scales = {{ {inline} }}"


def mapping_text(scales: Mapping[str, int]) -> str:
    """The Midaz mapping, with the scales of the asset codes present."""
    status = ", ".join(f'{k} = "{v}"' for k, v in STATUS.items())
    return f"""format = "ledger-audit/mapping/1"

[ledger]
id = "midaz"
name = "Midaz"

[assets]
{_scales(scales)}

[accounts]
query = '''{_ACCOUNTS}'''
ledger_id = "ledger_id"
id = "id"
name = "name"
normal_balance = "direction"
currency = "asset_code"
allow_negative = "allow_negative"
opened_at = "created_at"

[transactions]
query = '''{_TRANSACTIONS}'''
ledger_id = "ledger_id"
shape = "row"
id = "id"
status = {{ column = "status", map = {{ {status} }} }}
recorded_at = "created_at"
reverses_id = "parent_id"
description = "description"

[entries]
query = '''{_LEGS}'''
ledger_id = "ledger_id"
row_id = "id"
transaction_id = "tx"
account = "balance_id"
direction = {{ column = "type", map = {{ DEBIT = "debit", CREDIT = "credit", ON_HOLD = "debit" }} }}
amount = {{ column = "amount", units = "major" }}
currency = "asset_code"

[balances]
query = '''{_STORED}'''
ledger_id = "ledger_id"
account = "id"
currency = "asset_code"
posted_debits = {{ column = "posted_debits", units = "major" }}
posted_credits = {{ column = "posted_credits", units = "major" }}
pending_debits = {{ column = "pending_debits", units = "major" }}
pending_credits = {{ column = "pending_credits", units = "major" }}
as_of = "updated_at"
lock_version = "version"
"""
