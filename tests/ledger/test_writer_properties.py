"""Random sequences of posts, retries, captures, voids and reversals never break an invariant.

The history is written by a writer that did not write the seed (a new process resuming the
ledger), and may move to another fresh writer at any step: a fresh writer's first request
may capture, void or reverse what an earlier one wrote.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.errors import PostRejected
from ledger_audit.ledger.projector import project_balances, rebuild_balances
from ledger_audit.ledger.requests import (
    EntrySpec,
    PostPending,
    PostResult,
    PostTransaction,
    Request,
    ReverseTransaction,
    VoidPending,
)
from ledger_audit.ledger.writer import LedgerWriter
from tests.ledger.conftest import leg, make_ledger, move
from tests.ledger.ledger_state import invariant_violations, recomputed_balances, stored_balances

WALLETS = ("liabilities:wallet:alice", "liabilities:wallet:bob")
OTHERS = ("assets:bank:usd", "revenue:fees")
ANY = WALLETS + OTHERS

post = st.tuples(
    st.just("post"), st.sampled_from(ANY), st.sampled_from(ANY), st.integers(1, 5000), st.booleans()
)
op = st.one_of(
    post,
    st.tuples(st.just("capture"), st.integers(0, 50), st.integers(0, 100)),
    st.tuples(st.just("void"), st.integers(0, 50)),
    st.tuples(st.just("reverse"), st.integers(0, 50)),
    st.tuples(st.just("retry"), st.integers(0, 50)),
    st.tuples(st.just("fx"), st.integers(1, 3000)),
    st.tuples(st.just("project")),
)
fresh = st.tuples(st.just("fresh"))
"""Go on with a new writer (a new process): not in ``op``, which other tests replay alone."""
SEED = (
    PostTransaction("seed", move("assets:bank:usd", "liabilities:wallet:alice", 20_000)),
    PostTransaction(
        "seed-hold", move("liabilities:wallet:alice", "revenue:fees", 2_500), pending=True
    ),
)
"""Written before the history by another writer: a hold the history may capture or void first."""


def record(
    requests: Sequence[Request],
    outcomes: Sequence[PostResult | PostRejected],
    sent: list[Request],
    ids: list[str],
    legs: dict[str, tuple[tuple[EntrySpec, ...], bool]],
) -> None:
    """Note what each submitted request created, for :func:`to_request`'s later steps."""
    for req, out in zip(requests, outcomes, strict=True):
        sent.append(req)
        if isinstance(out, PostRejected):
            continue
        ids.append(out.transaction_id)
        if isinstance(req, PostTransaction):
            legs[out.transaction_id] = (req.entries, req.pending)
        elif isinstance(req, PostPending | VoidPending) and not out.replayed:
            legs[out.transaction_id] = (legs[out.transaction_id][0], False)


def to_request(
    step: tuple[object, ...],
    i: int,
    sent: list[Request],
    ids: list[str],
    legs: dict[str, tuple[tuple[EntrySpec, ...], bool]],
) -> Request | None:
    kind = step[0]
    if kind == "post":
        _, debit, credit, amount, pending = step
        if debit == credit:
            return None
        return PostTransaction(
            f"k{i}", move(str(debit), str(credit), int(str(amount))), pending=bool(pending)
        )
    if kind == "fx":
        amount = int(str(step[1]))
        return PostTransaction(
            f"k{i}",
            (
                leg("liabilities:wallet:alice", "debit", amount),
                leg("equity:conversion", "credit", amount),
                leg("equity:conversion", "debit", amount * 9 // 10 + 1, "EUR/2"),
                leg("liabilities:wallet:alice:eur", "credit", amount * 9 // 10 + 1, "EUR/2"),
            ),
        )
    if kind == "retry":
        return sent[int(str(step[1])) % len(sent)] if sent else None
    if not ids:
        return None
    held_ids = [t for t in ids if t in legs and legs[t][1]]  # still open holds
    posted_ids = [t for t in ids if t in legs and not legs[t][1]]
    pool = held_ids if kind in ("capture", "void") and held_ids else ids
    if kind == "reverse" and posted_ids:
        pool = posted_ids
    target = pool[-1 - int(str(step[1])) % len(pool)]
    if kind == "capture":
        percent = int(str(step[2]))
        held = legs[target][0] if target in legs else ()
        partial = tuple(
            leg(e.account_id, e.direction, max(1, e.amount * percent // 100), e.asset_id)
            for e in held
        )
        return PostPending(f"k{i}", target, None if percent >= 100 else partial)
    if kind == "void":
        return VoidPending(f"k{i}", target)
    return ReverseTransaction(f"k{i}", target)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(op, fresh), min_size=1, max_size=40), batch=st.integers(1, 7))
def test_random_histories_keep_every_invariant(steps: list[tuple[object, ...]], batch: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine, writer = make_ledger(f"sqlite:///{Path(folder) / 'l.sqlite'}")
        sent: list[Request] = []
        ids: list[str] = []
        pending: list[Request] = []
        legs: dict[str, tuple[tuple[EntrySpec, ...], bool]] = {}
        record(SEED, writer.submit_many(SEED), sent, ids, legs)
        writer = LedgerWriter(engine, "t", clock=writer.clock)

        def send() -> None:
            outcomes = writer.submit_many(pending)
            # Every leg of the history, given or stored, is in a registered asset.
            refused = [o.code for o in outcomes if isinstance(o, PostRejected)]
            assert "unknown_asset" not in refused
            record(pending, outcomes, sent, ids, legs)
            pending.clear()

        for i, step in enumerate(steps):
            if step[0] == "project":
                project_balances(engine, "t")
                continue
            if step[0] == "fresh":  # a new process: it has read nothing of the ledger yet
                writer = LedgerWriter(engine, "t", clock=writer.clock)
                continue
            request = to_request(step, i, sent, ids, legs)
            if request is None:
                continue
            pending.append(request)
            if len(pending) >= batch:
                send()
        send()
        assert invariant_violations(engine, "t") == []
        project_balances(engine, "t")
        recomputed = recomputed_balances(engine, "t")
        assert stored_balances(engine, "t") == recomputed
        rebuild_balances(engine, "t")
        assert stored_balances(engine, "t") == recomputed
        engine.dispose()
