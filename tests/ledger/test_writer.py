"""The reference writer: each rule it enforces, with the exact refusal, and nothing written."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ledger_audit.errors import PostRejected
from ledger_audit.ledger import admin
from ledger_audit.ledger.requests import (
    PostPending,
    PostTransaction,
    ReverseTransaction,
    VoidPending,
)
from ledger_audit.ledger.writer import LedgerWriter
from tests.ledger.conftest import T0, count_rows, leg, move
from tests.ledger.ledger_state import invariant_violations

Ledger = tuple[sa.Engine, LedgerWriter]


def fund(
    writer: LedgerWriter, wallet: str = "liabilities:wallet:alice", amount: int = 10_000
) -> str:
    return writer.submit(
        PostTransaction(f"fund-{wallet}-{amount}", move("assets:bank:usd", wallet, amount))
    ).transaction_id


def rejected(writer: LedgerWriter, engine: sa.Engine, request: object) -> PostRejected:
    before = count_rows(engine)
    with pytest.raises(PostRejected) as info:
        writer.submit(request)  # type: ignore[arg-type]
    assert count_rows(engine) == before, "a rejected post wrote something"
    return info.value


@pytest.mark.parametrize(
    ("entries", "code", "fragment"),
    [
        (move("assets:bank:usd", "revenue:fees", 100)[:1], "unbalanced", "debits 100 != credits 0"),
        (
            (leg("assets:bank:usd", "debit", 100), leg("revenue:fees", "credit", 99)),
            "unbalanced",
            "difference 1",
        ),
        (move("assets:bank:usd", "revenue:fees", 0), "bad_amount", "positive integer"),
        (move("assets:bank:usd", "revenue:fees", -5), "bad_amount", "positive integer"),
        (move("assets:bank:usd", "revenue:fees", 2**63), "bad_amount", "positive integer"),
        (move("assets:bank:usd", "revenue:nope", 100), "unknown_account", "revenue:nope"),
        (move("assets:bank:eur", "revenue:fees", 100, "EUR/2"), "asset_mismatch", "only USD/2"),
        (move("assets:bank:usd", "revenue:fees", 100, "GBP/2"), "unknown_asset", "GBP/2"),
        (
            (leg("assets:bank:usd", "debit", 100), leg("revenue:fees", "owed", 100)),
            "bad_direction",
            "entry 1 (owed revenue:fees USD/2 100)",
        ),
        (
            (leg("assets:bank:usd", "debit", 100), leg("revenue:nope", "credit", 0)),
            "bad_amount",
            "entry 1 (credit revenue:nope USD/2 0)",
        ),
        ((), "no_entries", "at least two"),
    ],
)
def test_bad_posts_are_refused_and_write_nothing(
    ledger: Ledger, entries: tuple[object, ...], code: str, fragment: str
) -> None:
    engine, writer = ledger
    error = rejected(writer, engine, PostTransaction("k", entries))  # type: ignore[arg-type]
    assert error.code == code
    assert fragment in error.message


def test_a_float_amount_is_refused(ledger: Ledger) -> None:
    engine, writer = ledger
    entries = (leg("assets:bank:usd", "debit", 1.0), leg("revenue:fees", "credit", 1.0))  # type: ignore[arg-type]
    assert rejected(writer, engine, PostTransaction("k", entries)).code == "bad_amount"


def test_a_rejected_request_in_a_batch_does_not_stop_the_others(ledger: Ledger) -> None:
    engine, writer = ledger
    out = writer.submit_many(
        [
            PostTransaction("a", move("assets:bank:usd", "revenue:fees", 5)),
            PostTransaction("b", move("assets:bank:usd", "revenue:fees", 5)[:1]),
            PostTransaction("c", move("assets:bank:usd", "revenue:fees", 7)),
        ]
    )
    assert [type(o).__name__ for o in out] == ["PostResult", "PostRejected", "PostResult"]
    assert count_rows(engine) == (2, 4, 2)
    assert invariant_violations(engine, "t") == []


def test_idempotent_replay_returns_the_original_and_writes_nothing(ledger: Ledger) -> None:
    engine, writer = ledger
    request = PostTransaction("pay-1", move("assets:bank:usd", "revenue:fees", 250))
    first = writer.submit(request)
    before = count_rows(engine)
    again = writer.submit(request)
    assert count_rows(engine) == before
    assert again.replayed
    assert (again.transaction_id, again.chain_seq, again.chain_hash) == (
        first.transaction_id,
        first.chain_seq,
        first.chain_hash,
    )


def test_same_key_other_payload_is_a_conflict(ledger: Ledger) -> None:
    engine, writer = ledger
    writer.submit(PostTransaction("pay-1", move("assets:bank:usd", "revenue:fees", 250)))
    error = rejected(
        writer, engine, PostTransaction("pay-1", move("assets:bank:usd", "revenue:fees", 251))
    )
    assert error.code == "idempotency_conflict"
    assert "'pay-1'" in error.message


def test_replay_and_conflict_inside_one_batch(ledger: Ledger) -> None:
    _, writer = ledger
    request = PostTransaction("k", move("assets:bank:usd", "revenue:fees", 3))
    out = writer.submit_many(
        [request, request, PostTransaction("k", move("assets:bank:usd", "revenue:fees", 4))]
    )
    first, replay, conflict = out
    assert not isinstance(first, PostRejected)
    assert not isinstance(replay, PostRejected)
    assert replay.replayed
    assert replay.chain_seq == first.chain_seq == 1
    assert isinstance(conflict, PostRejected)
    assert conflict.code == "idempotency_conflict"


def test_no_negative_account_cannot_be_overdrawn_by_pending_or_posted(ledger: Ledger) -> None:
    engine, writer = ledger
    fund(writer, amount=1000)
    hold = writer.submit(
        PostTransaction("hold", move("liabilities:wallet:alice", "revenue:fees", 800), pending=True)
    )
    error = rejected(
        writer,
        engine,
        PostTransaction("spend", move("liabilities:wallet:alice", "revenue:fees", 201)),
    )
    assert error.code == "insufficient_funds"
    assert "available 200" in error.message
    writer.submit(VoidPending("void", hold.transaction_id))
    writer.submit(PostTransaction("spend2", move("liabilities:wallet:alice", "revenue:fees", 1000)))
    assert invariant_violations(engine, "t") == []


def test_partial_capture_then_terminal(ledger: Ledger) -> None:
    engine, writer = ledger
    fund(writer)
    auth = writer.submit(
        PostTransaction(
            "auth",
            move("liabilities:wallet:alice", "revenue:fees", 2500),
            pending=True,
            external_id="card-1",
        )
    )
    posted = writer.submit(
        PostPending(
            "cap", auth.transaction_id, move("liabilities:wallet:alice", "revenue:fees", 2000)
        )
    )
    assert (posted.version, posted.status) == (1, "posted")
    assert rejected(writer, engine, VoidPending("void", auth.transaction_id)).code == "not_pending"
    assert rejected(writer, engine, PostPending("cap2", auth.transaction_id)).code == "not_pending"
    assert invariant_violations(engine, "t") == []


def test_capture_larger_than_the_hold_or_of_another_shape_is_refused(ledger: Ledger) -> None:
    engine, writer = ledger
    fund(writer)
    auth = writer.submit(
        PostTransaction(
            "auth", move("liabilities:wallet:alice", "revenue:fees", 2500), pending=True
        )
    )
    too_much = PostPending(
        "cap", auth.transaction_id, move("liabilities:wallet:alice", "revenue:fees", 2501)
    )
    assert rejected(writer, engine, too_much).code == "over_capture"
    other = PostPending(
        "cap", auth.transaction_id, move("liabilities:wallet:bob", "revenue:fees", 10)
    )
    assert rejected(writer, engine, other).code == "partial_shape"


def test_void_archives(ledger: Ledger) -> None:
    engine, writer = ledger
    fund(writer)
    auth = writer.submit(
        PostTransaction(
            "auth", move("liabilities:wallet:alice", "revenue:fees", 2500), pending=True
        )
    )
    void = writer.submit(VoidPending("void", auth.transaction_id))
    assert (void.version, void.status) == (1, "archived")
    assert rejected(writer, engine, PostPending("cap", auth.transaction_id)).code == "not_pending"


def test_reversal_is_the_exact_inverse_at_most_once(ledger: Ledger) -> None:
    engine, writer = ledger
    fund(writer)
    p2p = writer.submit(
        PostTransaction("p2p", move("liabilities:wallet:alice", "liabilities:wallet:bob", 700))
    )
    reversal = writer.submit(ReverseTransaction("rev", p2p.transaction_id))
    with engine.connect() as conn:
        legs = conn.execute(
            sa.text(
                "SELECT account_id, direction, amount FROM entries "
                "WHERE transaction_id = :t ORDER BY entry_index"
            ),
            {"t": reversal.transaction_id},
        ).all()
    assert [tuple(r) for r in legs] == [
        ("liabilities:wallet:alice", "credit", 700),
        ("liabilities:wallet:bob", "debit", 700),
    ]
    assert (
        rejected(writer, engine, ReverseTransaction("rev2", p2p.transaction_id)).code
        == "already_reversed"
    )
    assert (
        rejected(writer, engine, ReverseTransaction("rev3", reversal.transaction_id)).code
        == "reverse_reversal"
    )
    assert invariant_violations(engine, "t") == []


def test_reversal_cannot_overdraw(ledger: Ledger) -> None:
    engine, writer = ledger
    deposit = fund(writer, amount=500)
    writer.submit(PostTransaction("spend", move("liabilities:wallet:alice", "revenue:fees", 400)))
    assert rejected(writer, engine, ReverseTransaction("rev", deposit)).code == "insufficient_funds"


def test_pending_cannot_be_reversed(ledger: Ledger) -> None:
    engine, writer = ledger
    fund(writer)
    auth = writer.submit(
        PostTransaction("auth", move("liabilities:wallet:alice", "revenue:fees", 10), pending=True)
    )
    assert (
        rejected(writer, engine, ReverseTransaction("rev", auth.transaction_id)).code
        == "not_posted"
    )


def test_conversion_balances_per_asset_through_a_multi_asset_account(ledger: Ledger) -> None:
    engine, writer = ledger
    fund(writer)
    convert = (
        leg("liabilities:wallet:alice", "debit", 1000),
        leg("equity:conversion", "credit", 1000),
        leg("equity:conversion", "debit", 920, "EUR/2"),
        leg("liabilities:wallet:alice:eur", "credit", 920, "EUR/2"),
    )
    writer.submit(PostTransaction("fx", convert))
    lopsided = (
        convert[0],
        convert[1],
        convert[2],
        leg("liabilities:wallet:alice:eur", "credit", 921, "EUR/2"),
    )
    error = rejected(writer, engine, PostTransaction("fx2", lopsided))
    assert error.code == "unbalanced"
    assert error.message.startswith("EUR/2")
    assert invariant_violations(engine, "t") == []


def test_closed_account_and_closed_period(ledger: Ledger) -> None:
    engine, writer = ledger
    admin.close_account(engine, "t", "liabilities:wallet:bob", closed_ns=T0 + 1)
    error = rejected(
        writer, engine, PostTransaction("x", move("assets:bank:usd", "liabilities:wallet:bob", 5))
    )
    assert (error.code, "closed" in error.message) == ("closed_account", True)
    admin.close_period(engine, "t", through_ns=T0 + 10)
    late = PostTransaction("y", move("assets:bank:usd", "revenue:fees", 5), effective_ns=T0 + 10)
    assert rejected(writer, engine, late).code == "closed_period"
    writer.submit(
        PostTransaction("z", move("assets:bank:usd", "revenue:fees", 5), effective_ns=T0 + 11)
    )


def test_unknown_ledger_is_a_clear_error(sqlite_url: str) -> None:
    from ledger_audit.ledger.engine import open_writer_engine

    engine = open_writer_engine(sqlite_url, create=True)
    with pytest.raises(PostRejected, match="no ledger 'nope'"):
        LedgerWriter(engine, "nope").submit(PostTransaction("k", move("a", "b", 1)))


def test_recorded_times_strictly_increase_even_with_a_stuck_clock(sqlite_url: str) -> None:
    from tests.ledger.conftest import make_ledger

    engine, _ = make_ledger(sqlite_url)
    writer = LedgerWriter(engine, "t", clock=lambda: T0)
    results = writer.submit_many(
        [PostTransaction(f"k{i}", move("assets:bank:usd", "revenue:fees", 1 + i)) for i in range(5)]
    )
    times = [r.recorded_ns for r in results if not isinstance(r, PostRejected)]
    assert times == [T0 + i for i in range(5)]
