"""The projector folds a bulk writer's own versions to the delta it would read back.

``BulkWriter.hand_over_versions`` hands the projector the slim frames of every version it
sealed; ``project_balances`` folds them (``fold_frames``, the fold ``frame_delta`` uses)
instead of reading the span back, but only while the ledger's chain head is theirs.
Random histories (posts, holds, captures and voids of holds from earlier batches and of
holds posted in the same batch, reversals, retries, two assets, projections between
batches, which move the watermark) are written by the bulk writer, and the delta the
projector hands to ``_write`` must equal ``frame_delta`` and ``log_delta`` over the written
database, key for key. When anything else moved the head, or the frames are another
ledger's, or were handed over already, it reads as before.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.ledger import projector
from ledger_audit.ledger.bulk import BulkWriter, BulkWriterError
from ledger_audit.ledger.effects import BalanceCells, BalanceKey
from ledger_audit.ledger.log_delta import log_delta
from ledger_audit.ledger.projector import (
    HeldVersions,
    fold_frames,
    frame_delta,
    project_balances,
)
from ledger_audit.ledger.requests import (
    EntrySpec,
    PostPending,
    PostTransaction,
    Request,
    VoidPending,
    derived_transaction_id,
)
from tests.ledger.conftest import Clock, make_ledger, move
from tests.ledger.ledger_state import recomputed_balances, stored_balances
from tests.ledger.test_writer_properties import op, record, to_request

Delta = dict[BalanceKey, BalanceCells]

# Besides the reference property's steps: a hold and its capture or void in one batch
# (``to_request`` only targets transactions of earlier batches).
same_batch = st.tuples(
    st.just("hold_and"), st.sampled_from(("capture", "void")), st.integers(1, 5000)
)
steps = st.lists(st.one_of(op, same_batch), min_size=1, max_size=40)


class _Spy:
    """What ``project_balances`` did: each delta handed to ``_write``, and each read-back."""

    def __init__(self) -> None:
        self.written: list[Delta] = []
        self.read_back = 0


@contextmanager
def _spied() -> Iterator[_Spy]:
    spy = _Spy()
    write, delta = projector._write, projector._delta

    def spy_write(conn: sa.Connection, ledger_id: str, d: Delta, as_of: int) -> int:
        spy.written.append({k: BalanceCells(*_cells(v)) for k, v in d.items()})
        return write(conn, ledger_id, d, as_of)

    def spy_delta(conn: sa.Connection, ledger_id: str, low: int, high: int) -> Delta:
        spy.read_back += 1
        return delta(conn, ledger_id, low, high)

    projector._write, projector._delta = spy_write, spy_delta  # type: ignore[assignment]
    try:
        yield spy
    finally:
        projector._write, projector._delta = write, delta


def _cells(c: BalanceCells) -> tuple[int, int, int, int]:
    return (c.posted_debits, c.posted_credits, c.pending_debits, c.pending_credits)


def _head_and_watermark(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        head = conn.exec_driver_sql("SELECT COALESCE(MAX(chain_seq), 0) FROM transactions")
        mark = conn.exec_driver_sql("SELECT through_seq FROM balance_projection")
        return int(head.scalar_one()), int(mark.scalar_one())


def _read_back(engine: sa.Engine, low: int, high: int) -> Delta:
    """``frame_delta`` of the span over the database, held equal to ``log_delta`` too."""
    with engine.connect() as conn:
        db = conn.connection.driver_connection
        framed = frame_delta(db, "t", low, high)  # type: ignore[arg-type]
        assert framed == log_delta(conn, "t", low, high)
        return framed


def _project_held(engine: sa.Engine, held: HeldVersions | None) -> None:
    """Project with a writer's frames: they must be taken, and give the read-back delta."""
    high, low = _head_and_watermark(engine)
    with _spied() as spy:
        project_balances(engine, "t", held)
    assert spy.read_back == 0
    assert spy.written == ([_read_back(engine, low, high)] if high > low else [])


def _hold_and_resolve(step: tuple[object, ...], i: int) -> list[Request]:
    _, then, amount = step
    key = f"k{i}"
    tx_id = derived_transaction_id("t", key)
    hold = PostTransaction(
        key, move("liabilities:wallet:alice", "revenue:fees", int(str(amount))), pending=True
    )
    if then == "void":
        return [hold, VoidPending(f"{key}v", tx_id)]
    return [hold, PostPending(f"{key}c", tx_id)]


def _write_history(
    engine: sa.Engine, writer: BulkWriter, steps: Sequence[tuple[object, ...]], batch: int
) -> None:
    sent: list[Request] = []
    ids: list[str] = []
    legs: dict[str, tuple[tuple[EntrySpec, ...], bool]] = {}
    pending: list[Request] = []

    def send() -> None:
        if pending:
            record(pending, writer.submit_many(pending), sent, ids, legs)
            pending.clear()

    writer.submit_many(
        [PostTransaction("seed", move("assets:bank:usd", "liabilities:wallet:alice", 20_000))]
    )
    for i, step in enumerate(steps):
        if step[0] == "project":  # as any other caller: read back
            send()
            writer.flush()
            project_balances(engine, "t")
            continue
        if step[0] == "hold_and":
            pending.extend(_hold_and_resolve(step, i))
        else:
            request = to_request(step, i, sent, ids, legs)
            if request is not None:
                pending.append(request)
        if len(pending) >= batch:
            send()
    send()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps, batch=st.integers(1, 7), cut=st.tuples(st.floats(0, 1), st.floats(0, 1)))
def test_the_writers_frames_fold_to_the_delta_read_back(
    steps: list[tuple[object, ...]], batch: int, cut: tuple[float, float]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine, _ = make_ledger(f"sqlite:///{Path(folder) / 'l.sqlite'}")
        with BulkWriter(engine, "t", clock=Clock()) as writer:
            _write_history(engine, writer, steps, batch)
        held = writer.hand_over_versions()
        assert held is not None
        high, _ = _head_and_watermark(engine)
        versions = pl.concat(held.versions)
        assert sorted(versions["chain_seq"]) == list(range(1, high + 1))  # each version once
        low, top = sorted(int(c * high) for c in cut)
        for span in ((0, high), (low, top)):
            assert fold_frames(versions, held.entries, *span) == _read_back(engine, *span)
        _project_held(engine, held)
        assert stored_balances(engine, "t") == recomputed_balances(engine, "t")
        engine.dispose()


def test_a_same_batch_capture_and_void_fold_as_read_back(tmp_path: Path) -> None:
    """Holds captured and voided within their own batch and across batches."""
    engine, _ = make_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    with BulkWriter(engine, "t", clock=Clock()) as writer:
        batch = [
            PostTransaction("seed", move("assets:bank:usd", "liabilities:wallet:alice", 9_000)),
            *_hold_and_resolve(("hold_and", "capture", 300), 1),
            *_hold_and_resolve(("hold_and", "void", 200), 2),
            PostTransaction(
                "h3", move("liabilities:wallet:alice", "revenue:fees", 100), pending=True
            ),
        ]
        assert all(not isinstance(o, Exception) for o in writer.submit_many(batch))
        later = [PostPending("h3c", derived_transaction_id("t", "h3"))]
        assert all(not isinstance(o, Exception) for o in writer.submit_many(later))
    _project_held(engine, writer.hand_over_versions())
    stored = stored_balances(engine, "t")
    assert stored == recomputed_balances(engine, "t")
    assert stored[("revenue:fees", "USD/2")] == (0, 400, 0, 0)  # 300 + 100 captured, 200 void


def _bulk_ledger(folder: Path, name: str, amount: int) -> tuple[sa.Engine, HeldVersions]:
    engine, _ = make_ledger(f"sqlite:///{folder / name}")
    with BulkWriter(engine, "t", clock=Clock()) as writer:
        writer.submit_many(
            [
                PostTransaction("a", move("assets:bank:usd", "liabilities:wallet:alice", amount)),
                PostTransaction(
                    "b", move("liabilities:wallet:alice", "revenue:fees", 7), pending=True
                ),
            ]
        )
    held = writer.hand_over_versions()
    assert held is not None
    return engine, held


def test_a_head_moved_by_another_writer_is_read_back(tmp_path: Path) -> None:
    """The reference writer appended (a capture of the bulk writer's hold): the frames no
    longer cover the log, so the projector reads it; folding them anyway would be wrong."""
    engine, writer = make_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    with BulkWriter(engine, "t", clock=Clock()) as bulk:
        bulk.submit_many(
            [
                PostTransaction("a", move("assets:bank:usd", "liabilities:wallet:alice", 500)),
                PostTransaction(
                    "b", move("liabilities:wallet:alice", "revenue:fees", 7), pending=True
                ),
            ]
        )
        bulk.flush()
        writer.submit(PostTransaction("c", move("assets:bank:usd", "liabilities:wallet:bob", 90)))
        writer.submit(PostPending("bc", derived_transaction_id("t", "b")))
        with pytest.raises(BulkWriterError, match="chain moved"):
            bulk.submit_many([PostTransaction("d", move("assets:bank:usd", "revenue:fees", 1))])
        held = bulk.hand_over_versions()
    assert held is not None
    assert held.head_seq == 2
    high, low = _head_and_watermark(engine)
    assert fold_frames(pl.concat(held.versions), held.entries, low, high) != _read_back(
        engine, low, high
    )
    with _spied() as spy:
        project_balances(engine, "t", held)
    assert spy.read_back == 1
    assert spy.written == [_read_back(engine, low, high)]
    assert stored_balances(engine, "t") == recomputed_balances(engine, "t")
    engine.dispose()


def test_another_ledgers_frames_are_not_taken(tmp_path: Path) -> None:
    """Same ledger id, same head seq, other amounts: the head hash tells them apart."""
    engine, _ = _bulk_ledger(tmp_path, "one.sqlite", 500)
    other, theirs = _bulk_ledger(tmp_path, "two.sqlite", 800)
    with _spied() as spy:
        project_balances(engine, "t", theirs)
    assert spy.read_back == 1
    assert stored_balances(engine, "t") == recomputed_balances(engine, "t")
    assert stored_balances(engine, "t")[("assets:bank:usd", "USD/2")] == (500, 0, 0, 0)
    renamed = HeldVersions(
        "elsewhere", theirs.head_seq, theirs.head_hash, theirs.versions, theirs.entries
    )
    with _spied() as spy:
        project_balances(other, "t", renamed)
    assert spy.read_back == 1
    assert stored_balances(other, "t") == recomputed_balances(other, "t")
    for e in (engine, other):
        e.dispose()


def test_frames_are_handed_over_once(tmp_path: Path) -> None:
    """The writer keeps no frames after the hand-over: a later batch is not in them."""
    engine, _ = make_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    with BulkWriter(engine, "t", clock=Clock()) as writer:
        writer.submit_many([PostTransaction("a", move("assets:bank:usd", "revenue:fees", 5))])
        writer.flush()
        held = writer.hand_over_versions()
        assert held is not None
        assert held.head_seq == 1
        assert writer.hand_over_versions() is None
        writer.submit_many([PostTransaction("b", move("assets:bank:usd", "revenue:fees", 6))])
    assert writer.hand_over_versions() is None
    with _spied() as spy:
        project_balances(engine, "t", held)  # seq 1 of 2: read back
    assert spy.read_back == 1
    assert stored_balances(engine, "t") == recomputed_balances(engine, "t")
    engine.dispose()


def test_a_writer_that_failed_hands_over_nothing(tmp_path: Path) -> None:
    """A batch that could not be written stops the writer: its frames are not the log."""
    engine, _ = make_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    with engine.begin() as conn:  # a stray key row: the first batch's key row will collide
        conn.exec_driver_sql("INSERT INTO idempotency_keys VALUES ('t', 'k2', 'x', 'tx-s', 0, 9)")
    with BulkWriter(engine, "t", clock=Clock()) as writer:
        writer.submit_many(
            [
                PostTransaction("k1", move("assets:bank:usd", "revenue:fees", 5)),
                PostTransaction("k2", move("assets:bank:usd", "revenue:fees", 6)),
            ]
        )
        with pytest.raises(BulkWriterError, match="could not be written"):
            writer.flush()
    assert writer.hand_over_versions() is None
    engine.dispose()
