"""LACH-1, the ledger hash chain (docs/schema.md): the one definition of what is sealed.

Sealing (the writer) and verification (the checks) both call these functions, so the two can
never disagree about the payload. Values in the payload are strings or null only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from ledger_audit.schema.times import ns_to_iso

ALGORITHM = "lach/1"


@dataclass(frozen=True, slots=True)
class SealedEntry:
    """The sealed fields of one entry."""

    index: int
    account_id: str
    asset_id: str
    direction: str
    amount: int


@dataclass(frozen=True, slots=True)
class SealedVersion:
    """The sealed fields of one transaction version (metadata and description are not sealed)."""

    ledger_id: str
    seq: int
    transaction_id: str
    version: int
    kind: str
    status: str
    pending_transaction_id: str | None
    reverses_transaction_id: str | None
    effective_ns: int
    recorded_ns: int
    idempotency_key: str | None
    external_id: str | None
    entries: tuple[SealedEntry, ...]


def sha256_hex(text: str) -> str:
    """SHA-256 of the UTF-8 bytes, lower-case hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_json(value: object) -> str:
    """RFC 8785 (JCS) for payloads of strings, nulls, arrays and objects only.

    For such values JCS equals compact JSON with keys sorted by code point and non-ASCII
    written raw; numbers and booleans never occur in LACH-1 payloads.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def genesis(ledger_id: str) -> str:
    """The ``chain_prev_hash`` of seq 1."""
    return sha256_hex(f"{ALGORITHM} genesis\n{ledger_id}")


def payload(row: SealedVersion) -> dict[str, object]:
    """P(row): the sealed object, integers as base-10 strings, entries sorted by index."""
    return {
        "ledger_id": row.ledger_id,
        "seq": str(row.seq),
        "transaction_id": row.transaction_id,
        "version": str(row.version),
        "kind": row.kind,
        "status": row.status,
        "pending_transaction_id": row.pending_transaction_id,
        "reverses_transaction_id": row.reverses_transaction_id,
        "effective_at": ns_to_iso(row.effective_ns),
        "recorded_at": ns_to_iso(row.recorded_ns),
        "idempotency_key": row.idempotency_key,
        "external_id": row.external_id,
        "entries": [
            {
                "i": str(e.index),
                "account_id": e.account_id,
                "asset_id": e.asset_id,
                "direction": e.direction,
                "amount": str(e.amount),
            }
            for e in sorted(row.entries, key=lambda e: e.index)
        ],
    }


def content_hash(row: SealedVersion) -> str:
    """content(row) = sha256_hex(canonical_json(P(row)))."""
    return sha256_hex(canonical_json(payload(row)))


def link_hash(prev_hash: str, content: str) -> str:
    r"""chain_hash(row) = sha256_hex("lach/1 link\n" + prev + "\n" + content)."""
    return sha256_hex(f"{ALGORITHM} link\n{prev_hash}\n{content}")


def meta_hash(description: str | None, metadata_json: str | None) -> str:
    """The separate hash over the unsealed, legally editable fields."""
    return sha256_hex(canonical_json({"description": description, "metadata": metadata_json}))


def seal_chain(rows: Sequence[SealedVersion], prev_hash: str) -> list[tuple[str, str, str]]:
    """Seal rows in order after ``prev_hash``: ``[(prev, content, chain_hash), ...]``."""
    out: list[tuple[str, str, str]] = []
    for row in rows:
        content = content_hash(row)
        link = link_hash(prev_hash, content)
        out.append((prev_hash, content, link))
        prev_hash = link
    return out


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A chain position an audit vouched for; a later chain must extend it.

    Attributes:
        ledger_id: the ledger whose chain it is.
        seq: the head's chain_seq at the time.
        head_hash: the head row's chain_hash.
        row_count: how many chained rows the chain held (equals ``seq`` for an intact chain).
    """

    ledger_id: str
    seq: int
    head_hash: str
    row_count: int
