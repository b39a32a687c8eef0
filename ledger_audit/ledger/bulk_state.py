"""The bulk writer's memory of the ledger, compact enough for ten million transactions.

The planner (:class:`~ledger_audit.ledger.writer.RequestPlanner`) reads and updates a
mapping of transaction id to :class:`~ledger_audit.ledger.writer.TxState`. Kept as records
with their legs, that is about 420 bytes a transaction. :class:`TxStore` keeps whole
records only for pending transactions (a capture or a void reads their legs and external
id soon, and few are open at a time); any other transaction is kept as one small integer
(its version, kind and status). Of what the planner can read of such a transaction:

- ``external_id`` is read only while it is pending: it comes back as None;
- its legs are read only to reverse it (posted, not a reversal, not yet reversed): they
  are read back from the database then, as the reference writer reads them
  (``legs_of``), and come back as ``()`` otherwise; the legs of the last
  :data:`RECENT_LEGS` such versions stay in memory, so that reversing a recent one (the
  demo reverses recent payments) needs no read, and the caller need not wait for the
  batch being written to read it back;
- ``reversed_by`` is kept (the record itself is, in the rare case it is set).

So an archived or posted transaction costs about a hundred bytes (most of it its id and
the dictionary's slot), and a reversal one database read. (Packing ``tx-<uuid>`` ids to
their 16 bytes saved 39 more bytes a transaction but cost about three microseconds of the
caller's thread a request, which the planner's pace cannot spare.)

The records the planner touches in a batch stay records until :meth:`TxStore.settle`
packs them after the batch (the planner sets ``reversed_by`` on a record it was given).
The property tests against the reference writer hold the store to the reference's
outcomes and bytes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping

from ledger_audit.ledger.requests import EntrySpec
from ledger_audit.ledger.writer import TxState

LegsOf = Callable[[str, int], tuple[EntrySpec, ...]]
"""The stored legs of a transaction version, in entry order."""
RECENT_LEGS = 32_768
"""Reversible versions whose legs stay in memory (about 10 MB; the demo's reversals reach
back a few thousand payments)."""
_CODE_BITS = 8
_MAX_CODES = 1 << _CODE_BITS


class TxStore(MutableMapping[str, TxState | None]):
    """Transaction id to latest :class:`TxState`, packed between batches (see the module)."""

    def __init__(self, legs_of: LegsOf, *, recent: int = RECENT_LEGS) -> None:
        self._legs_of = legs_of
        self._recent_bound = recent
        self._recent: OrderedDict[str, tuple[int, tuple[EntrySpec, ...]]] = OrderedDict()
        self._packed: dict[str, int | TxState] = {}
        self._batch: dict[str, TxState | None] = {}
        self._code: dict[tuple[str, str], int] = {}
        self._kind_status: list[tuple[str, str]] = []

    # --- the mapping the planner uses ---------------------------------------------------

    def get(self, tx_id: str, default: None = None) -> TxState | None:  # type: ignore[override]
        """The latest state of ``tx_id`` (a record the planner may update), else None."""
        if tx_id in self._batch:
            return self._batch[tx_id]
        stored = self._packed.get(tx_id)
        if stored is None:
            return default
        state = stored if isinstance(stored, TxState) else self._unpack(tx_id, stored)
        self._batch[tx_id] = state
        return state

    def __getitem__(self, tx_id: str) -> TxState | None:
        state = self.get(tx_id)
        if state is None and tx_id not in self._batch:
            raise KeyError(tx_id)
        return state

    def __setitem__(self, tx_id: str, state: TxState | None) -> None:
        self._batch[tx_id] = state

    def __delitem__(self, tx_id: str) -> None:
        found = tx_id in self._batch
        self._batch.pop(tx_id, None)
        if self._packed.pop(tx_id, None) is None and not found:
            raise KeyError(tx_id)

    def __iter__(self) -> Iterator[str]:
        yield from self._batch
        for tx_id in self._packed:
            if tx_id not in self._batch:
                yield tx_id

    def __len__(self) -> int:
        return sum(1 for _ in self)

    # --- between batches ----------------------------------------------------------------

    def settle(self) -> None:
        """Pack the records of the batch that just ended."""
        packed, code = self._packed, self._code
        for tx_id, state in self._batch.items():
            if state is None:
                packed.pop(tx_id, None)
                continue
            kind_status = (state.kind, state.status)
            number = code.get(kind_status)
            if number is None:
                number = self._new_code(kind_status)
            if (
                state.status == "pending"
                or state.reversed_by is not None
                or number is None
                or type(state.version) is not int
                or state.version < 0
            ):
                packed[tx_id] = state
            else:
                packed[tx_id] = state.version << _CODE_BITS | number
                if self._recent_bound and state.status == "posted" and state.kind != "reversal":
                    self._remember_legs(tx_id, state.version, state.entries)
        self._batch.clear()

    def _remember_legs(self, tx_id: str, version: int, legs: tuple[EntrySpec, ...]) -> None:
        """Keep the legs, dropping the oldest past the bound.

        An ``OrderedDict``: a plain dict's first key, after many deletions at the front,
        is found by scanning the deleted slots (8 microseconds a request at 100k).
        """
        recent = self._recent
        recent[tx_id] = (version, legs)
        recent.move_to_end(tx_id)  # a newer version goes to the back
        if len(recent) > self._recent_bound:
            recent.popitem(last=False)

    def _new_code(self, kind_status: tuple[str, str]) -> int | None:
        if len(self._kind_status) >= _MAX_CODES or any(type(v) is not str for v in kind_status):
            return None
        self._code[kind_status] = number = len(self._kind_status)
        self._kind_status.append(kind_status)
        return number

    def _unpack(self, tx_id: str, packed: int) -> TxState:
        version = packed >> _CODE_BITS
        kind, status = self._kind_status[packed & (_MAX_CODES - 1)]
        reversible = status == "posted" and kind != "reversal"
        legs: tuple[EntrySpec, ...] = ()
        if reversible:
            kept = self._recent.get(tx_id)
            legs = (
                kept[1]
                if kept is not None and kept[0] == version
                else self._legs_of(tx_id, version)
            )
        return TxState(version, kind, status, None, legs)
