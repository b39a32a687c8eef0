"""Blnk's PostgreSQL layout as the adapter reads it: tables, columns and status words.

Names and types come from Blnk's migrations (``sql/*.sql`` in blnkfinance/blnk): schema
``blnk``; ``transactions`` gained ``precise_amount``/``precision`` in 1712660388,
``parent_transaction`` in 1714213688, ``effective_date`` in 1741007609 (backfilled from
``created_at`` in 1766887982), NUMERIC amounts in 1741885443, and the hash-chain columns plus
``chain_state`` in 1781162328. A database older than the chain migration is still read; its
chain rules are then "not proven".
"""

from __future__ import annotations

from ledger_audit.errors import InputError
from ledger_audit.sources.adapters.layout import require_layout
from ledger_audit.sources.mapping.relations import RelationRef, RelationSource

ADAPTER = "blnk"

LEDGERS = "blnk.ledgers"
BALANCES = "blnk.balances"
TRANSACTIONS = "blnk.transactions"
CHAIN_STATE = "blnk.chain_state"
JOURNAL = "blnk.transaction_journal"

LEDGER_COLUMNS = ("ledger_id", "name", "created_at")
BALANCE_COLUMNS = (
    "balance_id",
    "indicator",
    "ledger_id",
    "currency",
    "balance",
    "credit_balance",
    "debit_balance",
    "inflight_balance",
    "inflight_credit_balance",
    "inflight_debit_balance",
    "version",
    "created_at",
    "meta_data",
)
TRANSACTION_COLUMNS = (
    "id",
    "transaction_id",
    "parent_transaction",
    "source",
    "destination",
    "reference",
    "amount",
    "precise_amount",
    "precision",
    "currency",
    "status",
    "description",
    "created_at",
    "meta_data",
)
EFFECTIVE_COLUMN = "effective_date"
CHAIN_COLUMNS = ("chain_seq", "chain_prev_hash", "chain_hash")
CHAIN_STATE_COLUMNS = ("chain_key", "last_seq", "head_hash", "genesis_hash")
CHAIN_KEY = "global"
"""The one chain Blnk keeps (``chainKey`` in ``database/chain.go``)."""

EXPECTED = {
    LEDGERS: LEDGER_COLUMNS,
    BALANCES: BALANCE_COLUMNS,
    TRANSACTIONS: TRANSACTION_COLUMNS,
}
"""What every Blnk database the adapter reads must have (migrations up to 1714213688)."""

POSTED = "APPLIED"
PENDING = "INFLIGHT"
COMMIT = "COMMIT"
VOID = "VOID"
LEDGER_STATUSES = (POSTED, PENDING, COMMIT, VOID)
"""Statuses with a ledger effect."""
NO_EFFECT_STATUSES = ("QUEUED", "SCHEDULED", "REJECTED")
"""Statuses of requests that never moved money: counted and stated, never loaded."""


def require_postgres(opened: RelationSource) -> None:
    """Blnk runs on PostgreSQL only; its NUMERIC ``::text`` is part of the chain's bytes."""
    if opened.kind != "postgresql":
        raise InputError(
            f"--adapter {ADAPTER}: {opened.label}",
            "Blnk is read from its PostgreSQL database (a postgresql:// URL with schema "
            f"'blnk'); this source is {opened.kind}",
        )


def check_layout(opened: RelationSource) -> None:
    """Raise InputError unless ``opened`` holds Blnk's tables with the columns read."""
    require_postgres(opened)
    require_layout(
        ADAPTER,
        opened,
        EXPECTED,
        hint="(Blnk migrations up to 1714213688, parent_transaction, are required)",
    )


def present_columns(opened: RelationSource, relation: str) -> tuple[str, ...]:
    """The column names ``relation`` has."""
    return tuple(column.name for column in opened.columns(RelationRef(name=relation)))


def has_relation(opened: RelationSource, relation: str) -> bool:
    """True when ``relation`` (schema-qualified, or in the search path) exists."""
    known = opened.relations()
    return relation in known or relation.rsplit(".", maxsplit=1)[-1] in known


PROTECTED_COLUMNS = (
    "transaction_id",
    "source",
    "destination",
    "description",
    "reference",
    "amount",
    "precise_amount",
    "precision",
    "currency",
    "status",
    "hash",
    "created_at",
    "scheduled_for",
)
"""Columns Blnk's immutability trigger forbids changing (migration 1781162328)."""


def has_chain(opened: RelationSource) -> bool:
    """True when the hash-chain migration (1781162328) ran: chain columns and chain_state."""
    if not has_relation(opened, CHAIN_STATE):
        return False
    present = set(present_columns(opened, TRANSACTIONS))
    state = set(present_columns(opened, CHAIN_STATE))
    return set(CHAIN_COLUMNS) <= present and set(CHAIN_STATE_COLUMNS) <= state
