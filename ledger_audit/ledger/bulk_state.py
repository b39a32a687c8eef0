"""The bulk writer's memory of the ledger, compact enough for ten million transactions.

The planner (:class:`~ledger_audit.ledger.writer.RequestPlanner`) reads and updates a
mapping of transaction id to :class:`~ledger_audit.ledger.writer.TxState`. Kept as records,
that is about 420 bytes a transaction; :class:`TxStore` keeps each one as a few packed
bytes instead (account and asset ids as indexes into tables of interned ids, amounts as
64-bit integers, ``tx-<uuid>`` ids as their 16 bytes), and keeps only the fields that a
later request can still read:

- ``entries`` only while the transaction is pending (a capture, a void, the funds check)
  or posted, not a reversal and not yet reversed (a reversal inverts them);
- ``external_id`` only while it is pending (a capture or a void copies it);
- ``version``, ``kind``, ``status`` and ``reversed_by`` always.

So an archived (voided) transaction keeps five bytes. A dropped field comes back as
``()`` or ``None``, which no path of the planner reads (each one checks the status, kind
or ``reversed_by`` first); the property tests against the reference writer hold it.
Anything that does not fit the packing (an unusual type or an out-of-range value) is kept
as the record itself, so the store never changes what the planner sees.

The records the planner touches in a batch stay records until :meth:`TxStore.settle`
packs them after the batch (the planner sets ``reversed_by`` on a record it was given).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, MutableMapping
from typing import Generic, TypeVar

from ledger_audit.ledger.requests import Direction, EntrySpec
from ledger_audit.ledger.writer import TxState

T = TypeVar("T")
_HEAD = struct.Struct("<BBI")
"""Flags, kind-and-status code, version."""
_LENGTH = struct.Struct("<I")
_LEG = struct.Struct("<IHBq")
"""Account index, asset index, direction (0 debit, 1 credit), amount."""
_HAS_EXTERNAL = 1
_HAS_LEGS = 2
_HAS_REVERSED_BY = 4
_DIRECTIONS: tuple[Direction, Direction] = ("debit", "credit")
_MAX_VERSION = 2**32 - 1
_MAX_CODE = 255
_MAX_ASSETS = 2**16
_MAX_ACCOUNTS = 2**32
_AMOUNT_RANGE = range(-(2**63), 2**63)
_TX_ID_LENGTH = 39
_DASHES = (11, 16, 21, 26)


class _Unpackable(Exception):
    """A value the packing cannot hold exactly: keep the record as it is."""


def tx_key(tx_id: str) -> str | bytes:
    """The 16 bytes of a ``tx-<lower-case uuid>`` id, any other id as it is.

    One-to-one: only the canonical text maps to bytes, and a ``str`` never equals ``bytes``.
    """
    if (
        type(tx_id) is not str
        or len(tx_id) != _TX_ID_LENGTH
        or not tx_id.startswith("tx-")
        or any(tx_id[i] != "-" for i in _DASHES)
    ):
        return tx_id
    digits = tx_id[3:].replace("-", "")
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        return tx_id
    return raw if raw.hex() == digits else tx_id  # only lower-case hex, no spaces


def tx_id_of(key: str | bytes) -> str:
    """The transaction id that :func:`tx_key` turned into ``key``."""
    if isinstance(key, str):
        return key
    text = key.hex()
    return f"tx-{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class _Interned(Generic[T]):
    """Strings as small integers and back (account ids, asset ids, kind-and-status pairs)."""

    def __init__(self, limit: int) -> None:
        self._index: dict[T, int] = {}
        self.values: list[T] = []
        self._limit = limit

    def index(self, value: T) -> int:
        found = self._index.get(value)
        if found is None:
            if len(self.values) >= self._limit:
                raise _Unpackable
            found = self._index[value] = len(self.values)
            self.values.append(value)
        return found


class TxStore(MutableMapping[str, TxState | None]):
    """Transaction id to latest :class:`TxState`, packed between batches (see the module)."""

    def __init__(self) -> None:
        self._packed: dict[str | bytes, bytes | TxState] = {}
        self._batch: dict[str, TxState | None] = {}
        self._accounts: _Interned[str] = _Interned(_MAX_ACCOUNTS)
        self._assets: _Interned[str] = _Interned(_MAX_ASSETS)
        self._codes: _Interned[tuple[str, str]] = _Interned(_MAX_CODE + 1)

    # --- the mapping the planner uses ---------------------------------------------------

    def get(self, tx_id: str, default: None = None) -> TxState | None:  # type: ignore[override]
        """The latest state of ``tx_id`` (a record the planner may update), else None."""
        if tx_id in self._batch:
            return self._batch[tx_id]
        stored = self._packed.get(tx_key(tx_id))
        if stored is None:
            return default
        state = stored if isinstance(stored, TxState) else self._unpack(stored)
        self._batch[tx_id] = state
        return state

    def __getitem__(self, tx_id: str) -> TxState | None:
        if tx_id in self._batch:
            return self._batch[tx_id]
        state = self.get(tx_id)
        if state is None:
            raise KeyError(tx_id)
        return state

    def __setitem__(self, tx_id: str, state: TxState | None) -> None:
        self._batch[tx_id] = state

    def __delitem__(self, tx_id: str) -> None:
        found = tx_id in self._batch
        self._batch.pop(tx_id, None)
        if self._packed.pop(tx_key(tx_id), None) is None and not found:
            raise KeyError(tx_id)

    def __iter__(self) -> Iterator[str]:
        seen = set(self._batch)
        yield from self._batch
        for key in self._packed:
            tx_id = tx_id_of(key)
            if tx_id not in seen:
                yield tx_id

    def __len__(self) -> int:
        return sum(1 for _ in self)

    # --- between batches ----------------------------------------------------------------

    def settle(self) -> None:
        """Pack the records of the batch that just ended."""
        for tx_id, state in self._batch.items():
            key = tx_key(tx_id)
            if state is None:
                self._packed.pop(key, None)
                continue
            try:
                self._packed[key] = self._pack(state)
            except _Unpackable:
                self._packed[key] = state
        self._batch.clear()

    def _pack(self, state: TxState) -> bytes:
        if type(state.version) is not int or not 0 <= state.version <= _MAX_VERSION:
            raise _Unpackable
        if type(state.kind) is not str or type(state.status) is not str:
            raise _Unpackable
        flags = 0
        parts: list[bytes] = []
        pending = state.status == "pending"
        if pending and state.external_id is not None:
            flags |= _HAS_EXTERNAL
            parts.append(_text(state.external_id))
        if state.reversed_by is not None:
            flags |= _HAS_REVERSED_BY
            parts.append(_text(state.reversed_by))
        if (
            pending
            or (state.status == "posted" and state.kind != "reversal" and state.reversed_by is None)
        ) and state.entries:
            flags |= _HAS_LEGS
            parts.append(self._legs(state.entries))
        code = self._codes.index((state.kind, state.status))
        return _HEAD.pack(flags, code, state.version) + b"".join(parts)

    def _legs(self, legs: tuple[EntrySpec, ...]) -> bytes:
        if type(legs) is not tuple:
            raise _Unpackable
        out = []
        for leg in legs:
            if (
                type(leg) is not EntrySpec
                or type(leg.account_id) is not str
                or type(leg.asset_id) is not str
                or type(leg.amount) is not int
                or leg.amount not in _AMOUNT_RANGE
                or leg.direction not in _DIRECTIONS
            ):
                raise _Unpackable
            out.append(
                _LEG.pack(
                    self._accounts.index(leg.account_id),
                    self._assets.index(leg.asset_id),
                    leg.direction == "credit",
                    leg.amount,
                )
            )
        return b"".join(out)

    def _unpack(self, data: bytes) -> TxState:
        flags, code, version = _HEAD.unpack_from(data)
        kind, status = self._codes.values[code]
        at = _HEAD.size
        external_id = reversed_by = None
        if flags & _HAS_EXTERNAL:
            external_id, at = _read_text(data, at)
        if flags & _HAS_REVERSED_BY:
            reversed_by, at = _read_text(data, at)
        legs: tuple[EntrySpec, ...] = ()
        if flags & _HAS_LEGS:
            accounts, assets = self._accounts.values, self._assets.values
            legs = tuple(
                EntrySpec(
                    accounts[account],
                    assets[asset],
                    _DIRECTIONS[direction],
                    amount,
                )
                for account, asset, direction, amount in _LEG.iter_unpack(data[at:])
            )
        return TxState(version, kind, status, external_id, legs, reversed_by)


def _text(value: str) -> bytes:
    if type(value) is not str:
        raise _Unpackable
    raw = value.encode("utf-8", "surrogatepass")
    return _LENGTH.pack(len(raw)) + raw


def _read_text(data: bytes, at: int) -> tuple[str, int]:
    (length,) = _LENGTH.unpack_from(data, at)
    start = at + _LENGTH.size
    return data[start : start + length].decode("utf-8", "surrogatepass"), start + length
