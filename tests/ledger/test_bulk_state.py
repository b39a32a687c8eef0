"""The bulk writer's packed transaction state gives back every field a later request reads.

``TxStore`` keeps a pending transaction whole and any other as its version, kind and
status, reading a reversible one's legs back from the database (here a dict standing in
for it) and dropping what no later request reads (the legs of an archived or reversal
transaction; the external id of one no longer pending). These properties hold that the
rest comes back exactly, whatever the values. The byte-for-byte comparison with the
reference writer is in test_bulk.py.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger_audit.ledger.bulk_state import RECENT_LEGS, TxStore
from ledger_audit.ledger.requests import EntrySpec
from ledger_audit.ledger.writer import TxState

texts = st.text(max_size=12)
legs = st.builds(
    EntrySpec,
    account_id=st.sampled_from(["assets:bank", "liabilities:wallet:a", "x\udc80"]) | texts,
    asset_id=st.sampled_from(["USD/2", "EUR/2"]) | texts,
    direction=st.sampled_from(["debit", "credit"]),
    amount=st.integers(min_value=-(2**64), max_value=2**64),
)
states = st.builds(
    TxState,
    version=st.integers(min_value=-1, max_value=2**70),
    kind=st.sampled_from(["standard", "pending", "post_pending", "void_pending", "reversal"]),
    status=st.sampled_from(["pending", "posted", "archived"]) | texts,
    external_id=st.none() | texts,
    entries=st.lists(legs, max_size=4).map(tuple),
    reversed_by=st.none() | texts,
)
tx_ids = st.uuids().map(lambda u: f"tx-{u}") | texts


def _readable(state: TxState) -> tuple[object, ...]:
    """What the planner can read of a state (see ledger_audit.ledger.bulk_state)."""
    pending = state.status == "pending"
    legs_read = pending or (
        state.status == "posted" and state.kind != "reversal" and state.reversed_by is None
    )
    return (
        state.version,
        state.kind,
        state.status,
        state.reversed_by,
        state.external_id if pending else None,
        state.entries if legs_read else (),
    )


@given(st.dictionaries(tx_ids, states, max_size=6), st.sampled_from((0, 1, 3, RECENT_LEGS)))
def test_a_packed_state_gives_back_what_a_later_request_reads(
    written: dict[str, TxState], recent: int
) -> None:
    """Legs kept in memory (the last ``recent`` reversible versions) or read back: the same."""

    def legs_of(tx_id: str, version: int) -> tuple[EntrySpec, ...]:
        assert version == written[tx_id].version  # the stored version's legs are asked for
        return written[tx_id].entries

    store = TxStore(legs_of, recent=recent)
    for tx_id, state in written.items():
        store[tx_id] = TxState(
            state.version,
            state.kind,
            state.status,
            state.external_id,
            state.entries,
            state.reversed_by,
        )
    store.settle()
    assert sorted(store) == sorted(written)
    for tx_id, state in written.items():
        got = store.get(tx_id)
        assert got is not None
        assert _readable(got) == _readable(state)
    assert store.get("tx-not-there") is None


@given(states, st.text(max_size=8))
def test_a_record_updated_in_a_batch_keeps_the_update(state: TxState, reverser: str) -> None:
    store = TxStore(lambda _tx_id, _version: state.entries)
    store["t"] = state
    store.settle()
    got = store["t"]
    assert got is not None
    got.reversed_by = reverser  # what the planner does to a reversed original
    store.settle()
    again = store.get("t")
    assert again is not None
    assert again.reversed_by == reverser
