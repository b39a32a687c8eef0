"""Read Blnk's rows from one read-only snapshot, with the chain's fields exactly as hashed.

NUMERIC columns are selected as PostgreSQL ``::text`` (the chainer's own rendering, trailing
zeros kept), so the recomputed chain hash and the exact amounts both start from the stored
text, never from a float.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.sources.adapters.blnk.layout import (
    BALANCES,
    CHAIN_KEY,
    CHAIN_STATE,
    EFFECTIVE_COLUMN,
    JOURNAL,
    LEDGERS,
    TRANSACTIONS,
    has_chain,
    has_relation,
    present_columns,
)
from ledger_audit.sources.mapping.relations import RelationRef, RelationSource


@dataclass(frozen=True, slots=True, eq=False)
class ChainState:
    """The ``chain_state`` bookmark of the global chain (``None`` fields: no row)."""

    last_seq: int | None
    head_hash: str | None
    genesis_hash: str | None


@dataclass(frozen=True, slots=True, eq=False)
class BlnkRows:
    """Everything the adapter reads from one Blnk database.

    Attributes:
        label: the source as reports name it.
        ledgers: ledger_id, name, created_at.
        balances: the balance columns, NUMERIC cells as text, meta_data as JSON text.
        transactions: id, transaction_id, parent_transaction, source, destination, reference,
            amount_text, precise_text, precision_text, currency, status, description,
            meta_data, created_at, effective_date (created_at where the column is absent),
            created_text (RFC 3339 nano, filled by the chain module), chain_seq,
            chain_prev_hash, chain_hash (null columns when the database has no chain).
        chained: the chain migration ran (chain columns and ``chain_state`` exist).
        has_effective: ``effective_date`` exists.
        state: the ``global`` chain_state row.
        journal: the UPDATE and DELETE entries of ``transaction_journal`` (id, transaction_id,
            action_type, at, client_addr, backend_pid, old_data, new_data as JSON text);
            None when the database has no journal.
        journal_inserts: how many INSERT entries the journal holds (not read row by row).
    """

    label: str
    ledgers: pl.DataFrame
    balances: pl.DataFrame
    transactions: pl.DataFrame
    chained: bool
    has_effective: bool
    state: ChainState
    journal: pl.DataFrame | None = None
    journal_inserts: int = 0


def _query(opened: RelationSource, sql: str) -> pl.DataFrame:
    ref = RelationRef(query=sql)
    names = [column.name for column in opened.columns(ref)]
    return opened.read(ref, names)


def _transactions_sql(chained: bool, has_effective: bool) -> str:
    effective = EFFECTIVE_COLUMN if has_effective else "created_at"
    chain = (
        "chain_seq, chain_prev_hash::text AS chain_prev_hash, chain_hash::text AS chain_hash"
        if chained
        else "NULL::bigint AS chain_seq, NULL::text AS chain_prev_hash, NULL::text AS chain_hash"
    )
    return (
        "SELECT id::bigint AS id, transaction_id, parent_transaction, source, destination, "
        "reference, amount::text AS amount_text, precise_amount::text AS precise_text, "
        "precision::text AS precision_text, currency, status, description, "
        "meta_data::text AS meta_data, created_at, "
        f"{effective} AS effective_date, {chain} FROM {TRANSACTIONS}"
    )


_BALANCES_SQL = (
    "SELECT balance_id, indicator, ledger_id, currency, balance::text AS balance, "
    "credit_balance::text AS credit_balance, debit_balance::text AS debit_balance, "
    "inflight_balance::text AS inflight_balance, "
    "inflight_credit_balance::text AS inflight_credit_balance, "
    "inflight_debit_balance::text AS inflight_debit_balance, version::bigint AS version, "
    f"created_at, meta_data::text AS meta_data FROM {BALANCES}"
)
_LEDGERS_SQL = f"SELECT ledger_id, name, created_at FROM {LEDGERS}"


def _state(opened: RelationSource) -> ChainState:
    rows = _query(
        opened,
        "SELECT last_seq::bigint AS last_seq, head_hash::text AS head_hash, "
        f"genesis_hash::text AS genesis_hash FROM {CHAIN_STATE} WHERE chain_key = '{CHAIN_KEY}'",
    )
    if rows.height == 0:
        return ChainState(None, None, None)
    last_seq, head_hash, genesis_hash = rows.row(0)
    return ChainState(last_seq, head_hash, genesis_hash)


_JOURNAL_SQL = (
    "SELECT id::bigint AS id, transaction_id, action_type, timestamp AS at, "
    "client_addr::text AS client_addr, backend_pid::bigint AS backend_pid, "
    f"old_data::text AS old_data, new_data::text AS new_data FROM {JOURNAL} "
    "WHERE action_type <> 'INSERT'"
)


def _journal(opened: RelationSource) -> tuple[pl.DataFrame | None, int]:
    if not has_relation(opened, JOURNAL):
        return None, 0
    inserts = _query(
        opened, f"SELECT count(*)::bigint AS n FROM {JOURNAL} WHERE action_type = 'INSERT'"
    )
    return _query(opened, _JOURNAL_SQL).sort("id"), int(inserts.item())


def read_rows(opened: RelationSource) -> BlnkRows:
    """Read the ledgers, balances, transactions and chain state (one snapshot: ``opened``)."""
    chained = has_chain(opened)
    has_effective = EFFECTIVE_COLUMN in present_columns(opened, TRANSACTIONS)
    transactions = _query(opened, _transactions_sql(chained, has_effective)).sort("id")
    journal, journal_inserts = _journal(opened)
    return BlnkRows(
        label=opened.label,
        ledgers=_query(opened, _LEDGERS_SQL).sort("ledger_id"),
        balances=_query(opened, _BALANCES_SQL).sort("balance_id"),
        transactions=transactions,
        chained=chained,
        has_effective=has_effective,
        state=_state(opened) if chained else ChainState(None, None, None),
        journal=journal,
        journal_inserts=journal_inserts,
    )
