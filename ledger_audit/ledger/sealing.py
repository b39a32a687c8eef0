"""Append transaction versions to a ledger and seal them into its LACH-1 chain.

Sealing is sequential: the caller must hold the ledger's chain-head lock (``lock_head``)
for the whole database transaction, so two writers can never fork the chain. Recorded
times strictly increase along the chain, so "recorded at or before t" is always a prefix.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa

from ledger_audit.errors import PostRejected
from ledger_audit.ledger.requests import EntrySpec
from ledger_audit.schema import lach1
from ledger_audit.schema.tables import chain_heads, entries, transactions


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where a ledger's chain ends: last seq, its hash, and its recorded time."""

    seq: int
    head_hash: str
    last_recorded_ns: int


class NewVersion(NamedTuple):
    """A transaction version about to be appended (its chain fields are not known yet).

    A named tuple rather than a frozen dataclass, as :class:`SealedRow`: the planner makes
    one per accepted request (1.44M for the 1M demo), and a frozen dataclass's ``__init__``
    sets each of its twelve fields through ``object.__setattr__`` (2.2 microseconds against
    0.75). Immutable and typed all the same.
    """

    transaction_id: str
    version: int
    kind: str
    status: str
    entries: tuple[EntrySpec, ...]
    effective_ns: int | None = None
    pending_transaction_id: str | None = None
    reverses_transaction_id: str | None = None
    idempotency_key: str | None = None
    external_id: str | None = None
    description: str = ""
    metadata: tuple[tuple[str, str], ...] = ()


class SealedRow(NamedTuple):
    """What sealing assigned to one appended version (a named tuple: see :class:`NewVersion`)."""

    seq: int
    chain_hash: str
    recorded_ns: int
    effective_ns: int


def lock_head(conn: sa.Connection, ledger_id: str) -> ChainHead:
    """Read the chain head under a row lock (PostgreSQL) or the database write lock (SQLite)."""
    query = sa.select(
        chain_heads.c.seq, chain_heads.c.head_hash, chain_heads.c.last_recorded_ns
    ).where(chain_heads.c.ledger_id == ledger_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise PostRejected("unknown_ledger", f"no ledger {ledger_id!r}: create it first")
    return ChainHead(
        seq=int(row.seq), head_hash=str(row.head_hash), last_recorded_ns=int(row.last_recorded_ns)
    )


def append_versions(
    conn: sa.Connection,
    ledger_id: str,
    head: ChainHead,
    versions: Sequence[NewVersion],
    clock: Callable[[], int],
) -> tuple[ChainHead, list[SealedRow]]:
    """Seal ``versions`` after ``head``, insert them and their entries, and move the head."""
    tx_rows: list[dict[str, object]] = []
    entry_rows: list[dict[str, object]] = []
    sealed: list[SealedRow] = []
    seq, prev, last_recorded = head.seq, head.head_hash, head.last_recorded_ns
    for version in versions:
        seq += 1
        recorded = max(clock(), last_recorded + 1)
        last_recorded = recorded
        effective = recorded if version.effective_ns is None else version.effective_ns
        row = lach1.SealedVersion(
            ledger_id=ledger_id,
            seq=seq,
            transaction_id=version.transaction_id,
            version=version.version,
            kind=version.kind,
            status=version.status,
            pending_transaction_id=version.pending_transaction_id,
            reverses_transaction_id=version.reverses_transaction_id,
            effective_ns=effective,
            recorded_ns=recorded,
            idempotency_key=version.idempotency_key,
            external_id=version.external_id,
            entries=tuple(
                lach1.SealedEntry(i, e.account_id, e.asset_id, e.direction, e.amount)
                for i, e in enumerate(version.entries)
            ),
        )
        content = lach1.content_hash(row)
        link = lach1.link_hash(prev, content)
        metadata_json = json.dumps(dict(version.metadata))
        tx_rows.append(
            {
                "ledger_id": ledger_id,
                "transaction_id": version.transaction_id,
                "version": version.version,
                "kind": version.kind,
                "status": version.status,
                "pending_transaction_id": version.pending_transaction_id,
                "reverses_transaction_id": version.reverses_transaction_id,
                "effective_ns": effective,
                "recorded_ns": recorded,
                "idempotency_key": version.idempotency_key,
                "external_id": version.external_id,
                "description": version.description,
                "metadata": metadata_json,
                "meta_hash": lach1.meta_hash(version.description, metadata_json),
                "chain_seq": seq,
                "chain_prev_hash": prev,
                "content_hash": content,
                "chain_hash": link,
            }
        )
        entry_rows.extend(
            {
                "ledger_id": ledger_id,
                "transaction_id": version.transaction_id,
                "version": version.version,
                "entry_index": i,
                "account_id": e.account_id,
                "asset_id": e.asset_id,
                "direction": e.direction,
                "amount": e.amount,
            }
            for i, e in enumerate(version.entries)
        )
        sealed.append(
            SealedRow(seq=seq, chain_hash=link, recorded_ns=recorded, effective_ns=effective)
        )
        prev = link
    if not tx_rows:
        return head, sealed
    conn.execute(transactions.insert(), tx_rows)
    if entry_rows:
        conn.execute(entries.insert(), entry_rows)
    new_head = ChainHead(seq=seq, head_hash=prev, last_recorded_ns=last_recorded)
    conn.execute(
        chain_heads.update()
        .where(chain_heads.c.ledger_id == ledger_id)
        .values(
            seq=new_head.seq,
            head_hash=new_head.head_hash,
            last_recorded_ns=new_head.last_recorded_ns,
        )
    )
    return new_head, sealed
