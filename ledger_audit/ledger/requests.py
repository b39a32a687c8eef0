"""What a client asks the reference ledger to do, and what it answers: frozen records.

Every write carries a client idempotency key. The same key with the same request returns
the original result and writes nothing; the same key with another request is a conflict.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Literal

Direction = Literal["debit", "credit"]
NormalBalance = Literal["debit", "credit"]
_TX_NAMESPACE = uuid.UUID("6f1c3d2a-5b7e-4c1d-9a8f-2e4b6c8d0a1f")


_NAMESPACE_BYTES = _TX_NAMESPACE.bytes


def derived_transaction_id(ledger_id: str, idempotency_key: str) -> str:
    """A transaction id that a retry with the same key derives again.

    ``tx-`` and the RFC 4122 version-5 UUID of the ledger id, a newline and the key, in the
    module's namespace: ``uuid.uuid5``'s bytes, formatted without building a ``UUID`` (the
    demo derives one or two a request, and the object cost as much as the hash).

    Here, beside the requests and not in the writer, so that a client (the demo scenario)
    derives it without importing the writer and SQLAlchemy.
    """
    name = (ledger_id + "\n" + idempotency_key).encode()
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = digest.hex()
    return f"tx-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True, slots=True)
class EntrySpec:
    """One leg: ``amount`` positive minor units of ``asset_id`` on ``account_id``."""

    account_id: str
    asset_id: str
    direction: Direction
    amount: int


@dataclass(frozen=True, slots=True)
class PostTransaction:
    """Post a new transaction, posted at once or held as pending.

    Attributes:
        idempotency_key: the client's key; one key, one request.
        entries: the legs, balanced per asset.
        pending: hold as pending (v0 status ``pending``) instead of posting.
        kind: ``standard``, ``adjustment`` or ``opening`` (``pending`` when ``pending`` is set).
        effective_ns: when it takes economic effect; defaults to the recorded time.
        external_id: the id of the outside event (card auth, ACH trace, ...).
        transaction_id: chosen by the client, or derived from the idempotency key.
        description: free text (not sealed).
        metadata: ordered key/value pairs (not sealed).
    """

    idempotency_key: str
    entries: tuple[EntrySpec, ...]
    pending: bool = False
    kind: Literal["standard", "adjustment", "opening"] = "standard"
    effective_ns: int | None = None
    external_id: str | None = None
    transaction_id: str | None = None
    description: str = ""
    metadata: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PostPending:
    """Post a pending transaction in full (``entries`` None) or in part (smaller legs)."""

    idempotency_key: str
    transaction_id: str
    entries: tuple[EntrySpec, ...] | None = None
    effective_ns: int | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class VoidPending:
    """Archive a pending transaction: it never posts."""

    idempotency_key: str
    transaction_id: str
    effective_ns: int | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class ReverseTransaction:
    """Post the exact inverse of a posted transaction (at most one reversal per original)."""

    idempotency_key: str
    transaction_id: str
    effective_ns: int | None = None
    reversal_transaction_id: str | None = None
    description: str = ""


Request = PostTransaction | PostPending | VoidPending | ReverseTransaction


@dataclass(frozen=True, slots=True)
class PostResult:
    """The version a request wrote (or, for a replay, the version it wrote the first time)."""

    transaction_id: str
    version: int
    status: str
    chain_seq: int
    chain_hash: str
    recorded_ns: int
    replayed: bool


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """An account to open.

    Attributes:
        account_id: path-like name, e.g. ``liabilities:wallet:alice``.
        normal_balance: ``credit`` for liabilities, equity, revenue; ``debit`` for assets, expenses.
        asset_id: the one asset it holds, or None for a multi-asset account.
        allow_negative: whether its available balance may go below zero.
        external_id: the id of this account elsewhere (bank account number, user id).
        name: display name; defaults to the account id.
    """

    account_id: str
    normal_balance: NormalBalance
    asset_id: str | None
    allow_negative: bool = True
    external_id: str | None = None
    name: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
