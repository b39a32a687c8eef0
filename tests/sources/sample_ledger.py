"""A small ledger written row by row, and the frames every reader must turn it into.

Two ledgers, three assets, a multi-asset account (NULL asset_id), transactions with several
versions, and a few audit problems that are representable and so must be LOADED (a zero
amount, a negative amount, an unknown status, an unbalanced transaction). Text values cover
the empty string (distinct from NULL), commas, quotes, newlines and non-ASCII.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from ledger_audit.schema import tables
from ledger_audit.schema.ddl import create_schema
from ledger_audit.schema.frames import FRAME_SCHEMAS, KEYS
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources.ledger_frames import LedgerFrames

T0 = 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z
MINUTE = 60_000_000_000
H = "ab" * 32  # a 64-char hex-looking hash

Row = dict[str, Any]


def _ledger(ledger_id: str, name: str, chain: str | None, metadata: str | None) -> Row:
    return {
        "ledger_id": ledger_id,
        "name": name,
        "chain_algorithm": chain,
        "created_ns": T0,
        "metadata": metadata,
    }


def _account(
    ledger_id: str,
    account_id: str,
    normal: str,
    asset_id: str | None,
    *,
    allow_negative: bool = True,
    closed_ns: int | None = None,
    external_id: str | None = None,
) -> Row:
    return {
        "ledger_id": ledger_id,
        "account_id": account_id,
        "name": account_id.rsplit(":", 1)[-1],
        "normal_balance": normal,
        "asset_id": asset_id,
        "allow_negative": allow_negative,
        "opened_ns": T0,
        "closed_ns": closed_ns,
        "external_id": external_id,
        "metadata": None,
    }


def _tx(
    ledger_id: str,
    transaction_id: str,
    version: int,
    kind: str,
    status: str,
    *,
    minute: int,
    seq: int | None,
    pending: str | None = None,
    reverses: str | None = None,
    idempotency_key: str | None = None,
    external_id: str | None = None,
    description: str | None = None,
) -> Row:
    return {
        "ledger_id": ledger_id,
        "transaction_id": transaction_id,
        "version": version,
        "kind": kind,
        "status": status,
        "pending_transaction_id": pending,
        "reverses_transaction_id": reverses,
        "effective_ns": T0 + minute * MINUTE,
        "recorded_ns": T0 + minute * MINUTE + 123_456_789,
        "idempotency_key": idempotency_key,
        "external_id": external_id,
        "description": description,
        "metadata": '{"k": "v"}' if seq else None,
        "meta_hash": H if seq else None,
        "chain_seq": seq,
        "chain_prev_hash": H if seq else None,
        "content_hash": H if seq else None,
        "chain_hash": H if seq else None,
    }


def _entries(
    ledger_id: str, transaction_id: str, version: int, *legs: tuple[str, str, str, int]
) -> list[Row]:
    return [
        {
            "ledger_id": ledger_id,
            "transaction_id": transaction_id,
            "version": version,
            "entry_index": i,
            "account_id": account_id,
            "asset_id": asset_id,
            "direction": direction,
            "amount": amount,
        }
        for i, (account_id, asset_id, direction, amount) in enumerate(legs)
    ]


def _balance(ledger_id: str, account_id: str, asset_id: str, *amounts: int) -> Row:
    posted_debits, posted_credits, pending_debits, pending_credits = amounts
    return {
        "ledger_id": ledger_id,
        "account_id": account_id,
        "asset_id": asset_id,
        "posted_debits": posted_debits,
        "posted_credits": posted_credits,
        "pending_debits": pending_debits,
        "pending_credits": pending_credits,
        "as_of_ns": T0 + 99 * MINUTE,
        "lock_version": 3,
    }


def sample_rows() -> dict[str, list[Row]]:
    """The rows of each canonical table, deliberately not in key order."""
    bank, alice, fx = "assets:bank", "liabilities:wallet:alice", "equity:fx"
    return {
        "ledgers": [
            _ledger("L2", 'Side, "quoted" ledger', None, None),
            _ledger("L1", "Main ledger €", "lach/1", '{"region": "eu"}'),
        ],
        "assets": [
            {"asset_id": "USD/2", "code": "USD", "scale": 2, "kind": "fiat"},
            {"asset_id": "JPY/0", "code": "JPY", "scale": 0, "kind": "fiat"},
            {"asset_id": "EUR/2", "code": "EUR", "scale": 2, "kind": "fiat"},
        ],
        "accounts": [
            _account("L1", bank, "debit", "USD/2"),
            _account("L1", alice, "credit", "USD/2", allow_negative=False, external_id=""),
            _account("L1", fx, "credit", None),  # multi-asset
            _account("L1", "assets:bank:eur", "debit", "EUR/2", closed_ns=T0 + 50 * MINUTE),
            _account("L2", "assets:cash", "debit", "JPY/0", external_id="ext-1"),
            _account("L2", "equity:opening", "credit", "JPY/0"),
        ],
        "transactions": [
            _tx("L1", "tx-2", 1, "pending", "posted", minute=5, seq=3, pending="tx-2"),
            _tx("L1", "tx-1", 0, "standard", "posted", minute=1, seq=1, idempotency_key="ik-1"),
            _tx("L1", "tx-2", 0, "pending", "pending", minute=2, seq=2, idempotency_key=""),
            _tx(
                "L1",
                "tx-3",
                0,
                "reversal",
                "posted",
                minute=7,
                seq=4,
                reverses="tx-1",
                description="reverse tx-1,\nline two",
            ),
            _tx(
                "L1",
                "tx-4",
                0,
                "adjustment",
                "weird-status",
                minute=8,
                seq=5,
                external_id="card-auth-77",
            ),
            _tx("L1", "tx-5", 0, "standard", "posted", minute=9, seq=6, description=""),
            _tx("L2", "tx-1", 0, "opening", "posted", minute=3, seq=None, description="ópening"),
        ],
        "entries": [
            *_entries(
                "L1",
                "tx-1",
                0,
                (bank, "USD/2", "debit", 10_000),
                (alice, "USD/2", "credit", 10_000),
            ),
            *_entries(
                "L1", "tx-2", 0, (alice, "USD/2", "debit", 2_500), (fx, "USD/2", "credit", 2_500)
            ),
            *_entries(
                "L1", "tx-2", 1, (alice, "USD/2", "debit", 2_500), (fx, "USD/2", "credit", 2_500)
            ),
            *_entries(
                "L1",
                "tx-3",
                0,
                (bank, "USD/2", "credit", 10_000),
                (alice, "USD/2", "debit", 10_000),
            ),
            # representable audit problems: loaded, flagged later by checks
            *_entries("L1", "tx-4", 0, (fx, "EUR/2", "debit", 0), (fx, "EUR/2", "credit", -7)),
            *_entries(
                "L1",
                "tx-5",
                0,
                (bank, "USD/2", "debit", 9_223_372_036_854_775_807),
                (alice, "USD/2", "credit", 1),
            ),
            *_entries(
                "L2",
                "tx-1",
                0,
                ("assets:cash", "JPY/0", "debit", 500_000),
                ("equity:opening", "JPY/0", "credit", 500_000),
            ),
        ],
        "balances": [
            _balance("L1", alice, "USD/2", 12_500, 10_000, 0, 0),
            _balance("L1", bank, "USD/2", 10_000, 10_000, 0, 0),
            _balance("L1", fx, "USD/2", 0, 2_500, 0, 2_500),
            _balance("L2", "assets:cash", "JPY/0", 500_000, 0, 0, 0),
        ],
    }


def expected_frames(rows: dict[str, list[Row]] | None = None) -> LedgerFrames:
    """What a reader must produce from ``rows``: declared dtypes, sorted by key."""
    rows = sample_rows() if rows is None else rows
    return LedgerFrames.from_tables(
        {
            table: pl.DataFrame(rows[table], schema=FRAME_SCHEMAS[table], orient="row").sort(
                list(KEYS[table])
            )
            for table in CANONICAL_TABLES
        }
    )


def write_sample_ledger(engine: sa.Engine, rows: dict[str, list[Row]] | None = None) -> None:
    """Create the schema and insert ``rows`` with plain SQLAlchemy inserts."""
    rows = sample_rows() if rows is None else rows
    create_schema(engine)
    with engine.begin() as conn:
        for table in CANONICAL_TABLES:
            if rows[table]:
                conn.execute(tables.metadata.tables[table].insert(), rows[table])
