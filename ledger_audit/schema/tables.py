"""The canonical ledger tables (docs/schema.md) as SQLAlchemy 2 Core.

Six canonical tables are what the workbench audits. Three more (``chain_heads``,
``idempotency_keys``, ``balance_projection``) are the reference writer's own bookkeeping: a
real LaaS keeps the same state somewhere, and the readers never need it.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

ledgers = sa.Table(
    "ledgers",
    metadata,
    sa.Column("ledger_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("chain_algorithm", sa.Text, nullable=True),
    sa.Column("created_ns", sa.BigInteger, nullable=False),
    sa.Column("metadata", sa.Text, nullable=True),
)

assets = sa.Table(
    "assets",
    metadata,
    sa.Column("asset_id", sa.Text, primary_key=True),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("scale", sa.Integer, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.CheckConstraint("scale >= 0 AND scale <= 38", name="assets_scale_range"),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("ledger_id", sa.Text, sa.ForeignKey("ledgers.ledger_id"), primary_key=True),
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("normal_balance", sa.Text, nullable=False),
    sa.Column("asset_id", sa.Text, sa.ForeignKey("assets.asset_id"), nullable=True),
    sa.Column("allow_negative", sa.Boolean, nullable=False),
    sa.Column("opened_ns", sa.BigInteger, nullable=False),
    sa.Column("closed_ns", sa.BigInteger, nullable=True),
    sa.Column("external_id", sa.Text, nullable=True),
    sa.Column("metadata", sa.Text, nullable=True),
    sa.CheckConstraint("normal_balance IN ('debit', 'credit')", name="accounts_normal_balance"),
)

transactions = sa.Table(
    "transactions",
    metadata,
    sa.Column("ledger_id", sa.Text, sa.ForeignKey("ledgers.ledger_id"), primary_key=True),
    sa.Column("transaction_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("pending_transaction_id", sa.Text, nullable=True),
    sa.Column("reverses_transaction_id", sa.Text, nullable=True),
    sa.Column("effective_ns", sa.BigInteger, nullable=False),
    sa.Column("recorded_ns", sa.BigInteger, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=True),
    sa.Column("external_id", sa.Text, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("metadata", sa.Text, nullable=True),
    sa.Column("meta_hash", sa.Text, nullable=True),
    sa.Column("chain_seq", sa.BigInteger, nullable=True),
    sa.Column("chain_prev_hash", sa.Text, nullable=True),
    sa.Column("content_hash", sa.Text, nullable=True),
    sa.Column("chain_hash", sa.Text, nullable=True),
    sa.Index("transactions_chain_seq", "ledger_id", "chain_seq", unique=True),
    sa.Index("transactions_idempotency_key", "ledger_id", "idempotency_key"),
    sa.Index("transactions_pending", "ledger_id", "pending_transaction_id"),
    sa.Index("transactions_reverses", "ledger_id", "reverses_transaction_id"),
    sa.Index("transactions_external_id", "ledger_id", "external_id"),
)

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("ledger_id", sa.Text, primary_key=True),
    sa.Column("transaction_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("entry_index", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("asset_id", sa.Text, nullable=False),
    sa.Column("direction", sa.Text, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.ForeignKeyConstraint(
        ["ledger_id", "transaction_id", "version"],
        ["transactions.ledger_id", "transactions.transaction_id", "transactions.version"],
        name="entries_version_fk",
    ),
    sa.Index("entries_account", "ledger_id", "account_id", "asset_id"),
)

balances = sa.Table(
    "balances",
    metadata,
    sa.Column("ledger_id", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("asset_id", sa.Text, primary_key=True),
    sa.Column("posted_debits", sa.BigInteger, nullable=False),
    sa.Column("posted_credits", sa.BigInteger, nullable=False),
    sa.Column("pending_debits", sa.BigInteger, nullable=False),
    sa.Column("pending_credits", sa.BigInteger, nullable=False),
    sa.Column("as_of_ns", sa.BigInteger, nullable=False),
    sa.Column("lock_version", sa.BigInteger, nullable=False),
)

# --- the reference writer's own bookkeeping (not part of the audited mirror) ---

chain_heads = sa.Table(
    "chain_heads",
    metadata,
    sa.Column("ledger_id", sa.Text, sa.ForeignKey("ledgers.ledger_id"), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("head_hash", sa.Text, nullable=False),
    sa.Column("last_recorded_ns", sa.BigInteger, nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("ledger_id", sa.Text, primary_key=True),
    sa.Column("idempotency_key", sa.Text, primary_key=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("transaction_id", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("chain_seq", sa.BigInteger, nullable=False),
)

balance_projection = sa.Table(
    "balance_projection",
    metadata,
    sa.Column("ledger_id", sa.Text, primary_key=True),
    sa.Column("through_seq", sa.BigInteger, nullable=False),
    sa.Column("as_of_ns", sa.BigInteger, nullable=False),
)


def same_version(left: sa.FromClause, right: sa.FromClause) -> sa.ColumnElement[bool]:
    """Join condition: rows of ``left`` and ``right`` that belong to one transaction version."""
    return sa.and_(
        left.c.ledger_id == right.c.ledger_id,
        left.c.transaction_id == right.c.transaction_id,
        left.c.version == right.c.version,
    )


CANONICAL_TABLES: tuple[str, ...] = (
    "ledgers",
    "assets",
    "accounts",
    "transactions",
    "entries",
    "balances",
)
APPEND_ONLY_TABLES: tuple[str, ...] = ("transactions", "entries")
