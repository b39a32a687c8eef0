"""The bulk writer answers and stores exactly what the reference writer does.

Two ledgers are set up the same way in one process; the same requests go to
``LedgerWriter`` on one and ``BulkWriter`` on the other, in the same batches with the same
clock. Outcomes must be equal one by one and the two SQLite files equal byte for byte.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.checks.chain_json import JIT_MIN_ROWS
from ledger_audit.errors import PostRejected
from ledger_audit.ledger import admin
from ledger_audit.ledger.bulk import (
    COMMIT_EVERY,
    SWITCH_SECONDS,
    BulkWriter,
    BulkWriterError,
)
from ledger_audit.ledger.bulk_state import RECENT_LEGS
from ledger_audit.ledger.projector import project_balances
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
from tests.ledger.conftest import T0, Clock, leg, make_ledger, move
from tests.ledger.test_writer_properties import SEED, fresh, op, record, to_request

Outcome = PostResult | PostRejected


def _comparable(outcomes: Sequence[Outcome]) -> list[tuple[object, ...]]:
    """Results as their fields; refusals as their code and message."""
    return [(o.code, str(o)) if isinstance(o, PostRejected) else ("ok", o) for o in outcomes]


class _Pair:
    """A reference ledger and a bulk ledger, fed the same batches and admin steps."""

    def __init__(
        self,
        folder: Path,
        recent_legs: int = RECENT_LEGS,
        compiled_from: int = JIT_MIN_ROWS,
        commit_every: int = COMMIT_EVERY,
    ) -> None:
        self.paths = (folder / "reference.sqlite", folder / "bulk.sqlite")
        self.reference_engine, self.reference = make_ledger(f"sqlite:///{self.paths[0]}")
        self.bulk_engine, _ = make_ledger(f"sqlite:///{self.paths[1]}")
        self.bulk = BulkWriter(
            self.bulk_engine,
            "t",
            clock=Clock(),
            recent_legs=recent_legs,
            compiled_from=compiled_from,
            commit_every=commit_every,
        )

    def submit(self, requests: Sequence[Request]) -> list[Outcome]:
        expected = self.reference.submit_many(requests)
        got = self.bulk.submit_many(requests)
        assert _comparable(got) == _comparable(expected)
        return expected

    def fresh_reference(self) -> None:
        """Go on with a new reference writer (a new process), which has read nothing yet."""
        self.reference = LedgerWriter(self.reference_engine, "t", clock=self.reference.clock)

    def both(self, step: str) -> None:
        """An admin step on both ledgers (the bulk writer's last batch committed first)."""
        self.bulk.flush()
        for engine in (self.reference_engine, self.bulk_engine):
            if step == "project":
                project_balances(engine, "t")
            elif step == "close_bob":
                admin.close_account(engine, "t", "liabilities:wallet:bob", closed_ns=T0)
            else:
                admin.close_period(engine, "t", through_ns=T0 + 10**12)

    def finish(self) -> tuple[bytes, bytes]:
        self.bulk.close()
        self.reference_engine.dispose()
        self.bulk_engine.dispose()
        return self.paths[0].read_bytes(), self.paths[1].read_bytes()


# A conflict (a key used before, another body), admin steps between batches and a fresh
# reference writer, besides the reference property test's posts, captures, voids,
# reversals and retries.
steps = st.lists(
    st.one_of(
        op,
        fresh,
        st.tuples(st.just("conflict"), st.integers(0, 50)),
        st.tuples(st.sampled_from(("close_bob", "close_period"))),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=steps,
    batch=st.integers(1, 7),
    recent_legs=st.sampled_from((0, 1, RECENT_LEGS)),
    compiled_from=st.sampled_from((0, 3, JIT_MIN_ROWS)),
    commit_every=st.sampled_from((1, 2, COMMIT_EVERY)),
)
def test_random_histories_give_the_same_outcomes_and_the_same_bytes(
    steps: list[tuple[object, ...]],
    batch: int,
    recent_legs: int,
    compiled_from: int,
    commit_every: int,
) -> None:
    """``recent_legs`` 0 reads every reversed original's legs back from the database (after
    the batch in flight is written), 1 mostly, the default keeps them in memory.
    ``compiled_from`` 0 and 3 hash the batches (from the first, or after three versions) with
    the compiled payload writer, as a large build does; the default never, at these sizes.
    ``commit_every`` 1 and 2 commit within the stream (the next transaction opened on the
    writer's thread while the caller plans), the default only at ``flush``, at these sizes.

    The reference writer that goes on after the seed is a fresh one, and a ``fresh`` step
    starts another: its first request may capture, void or reverse what the previous
    reference writer wrote, while the bulk writer has known it all along."""
    with tempfile.TemporaryDirectory() as folder:
        pair = _Pair(Path(folder), recent_legs, compiled_from, commit_every)
        sent: list[Request] = []
        ids: list[str] = []
        legs: dict[str, tuple[tuple[EntrySpec, ...], bool]] = {}
        pending: list[Request] = []
        record(SEED, pair.submit(SEED), sent, ids, legs)
        pair.fresh_reference()

        def send() -> None:
            record(pending, pair.submit(pending), sent, ids, legs)
            pending.clear()

        for i, step in enumerate(steps):
            if step[0] == "fresh":
                pair.fresh_reference()
                continue
            if step[0] in ("project", "close_bob", "close_period"):
                send()
                pair.both(str(step[0]))
                continue
            if step[0] == "conflict":
                request: Request | None = (
                    PostTransaction(
                        sent[int(str(step[1])) % len(sent)].idempotency_key,
                        move("assets:bank:usd", "revenue:fees", 1 + i),
                    )
                    if sent
                    else None
                )
            else:
                request = to_request(step, i, sent, ids, legs)
            if request is not None:
                pending.append(request)
            if len(pending) >= batch:
                send()
        send()
        reference, bulk = pair.finish()
        assert bulk == reference


REFUSED: list[tuple[str, Request]] = [
    (
        "unbalanced",
        PostTransaction(
            "u", (leg("assets:bank:usd", "debit", 5), leg("revenue:fees", "credit", 4))
        ),
    ),
    ("no_entries", PostTransaction("n", ())),
    ("bad_amount", PostTransaction("a", move("assets:bank:usd", "revenue:fees", 0))),
    ("unknown_account", PostTransaction("x", move("assets:bank:usd", "assets:nowhere", 5))),
    (
        "unknown_asset",
        PostTransaction("s", move("equity:conversion", "equity:conversion", 5, "XAU/3")),
    ),
    ("asset_mismatch", PostTransaction("m", move("assets:bank:usd", "revenue:fees", 5, "EUR/2"))),
    ("insufficient_funds", PostTransaction("f", move("liabilities:wallet:bob", "revenue:fees", 5))),
    ("unknown_transaction", VoidPending("v", "tx-missing")),
    ("not_pending", PostPending("p", "tx-posted")),
    ("not_posted", ReverseTransaction("r", "tx-held")),
    (
        "over_capture",
        PostPending("o", "tx-held", move("liabilities:wallet:alice", "revenue:fees", 99)),
    ),
    (
        "idempotency_conflict",
        PostTransaction("k-posted", move("assets:bank:usd", "revenue:fees", 7)),
    ),
]


@pytest.mark.parametrize(("code", "request_"), REFUSED, ids=[code for code, _ in REFUSED])
def test_a_request_the_reference_refuses_is_refused_the_same_way(
    tmp_path: Path, code: str, request_: Request
) -> None:
    pair = _Pair(tmp_path)
    setup = [
        PostTransaction("k-fund", move("assets:bank:usd", "liabilities:wallet:alice", 1_000)),
        PostTransaction(
            "k-posted", move("assets:bank:usd", "revenue:fees", 10), transaction_id="tx-posted"
        ),
        PostTransaction(
            "k-held",
            move("liabilities:wallet:alice", "revenue:fees", 50),
            pending=True,
            transaction_id="tx-held",
        ),
    ]
    assert not any(isinstance(o, PostRejected) for o in pair.submit(setup))
    (outcome,) = pair.submit([request_])
    assert isinstance(outcome, PostRejected)
    assert outcome.code == code
    reference, bulk = pair.finish()
    assert bulk == reference


class _Text(str):
    """A text that equals a plain one (and dumps as it does) but is not ``str`` itself."""

    __slots__ = ()


def test_metadata_is_stored_as_the_reference_stores_it(tmp_path: Path) -> None:
    """Pairs seen before (memoised), none, an equal str subclass, 1 and True, a list."""
    plain = (("channel", "api"),)
    metadata = [
        plain,
        plain,
        (),
        ((_Text("channel"), _Text("api")),),
        (("n", 1),),
        (("n", True),),  # equals (("n", 1),) as a key, dumps as true: never memoised
        (("n", "1"),),
        (("xs", [1, 2]),),
        (("n", 1),),
        plain,
    ]
    pair = _Pair(tmp_path)
    outcomes = pair.submit(
        [
            PostTransaction(f"k{i}", move("assets:bank:usd", "revenue:fees", 1 + i), metadata=m)  # type: ignore[arg-type]
            for i, m in enumerate(metadata)
        ]
    )
    assert not any(isinstance(o, PostRejected) for o in outcomes)
    reference, bulk = pair.finish()
    assert bulk == reference


def test_the_bulk_writer_starts_only_on_an_empty_chain(tmp_path: Path) -> None:
    engine, writer = make_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    writer.submit(PostTransaction("k", move("assets:bank:usd", "revenue:fees", 5)))
    with (
        BulkWriter(engine, "t", clock=Clock()) as bulk,
        pytest.raises(BulkWriterError, match="already holds 1 sealed versions"),
    ):
        bulk.submit_many([PostTransaction("k2", move("assets:bank:usd", "revenue:fees", 6))])
    engine.dispose()


def test_another_writer_on_the_same_ledger_stops_the_bulk_writer(tmp_path: Path) -> None:
    engine, writer = make_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    with BulkWriter(engine, "t", clock=Clock()) as bulk:
        bulk.submit_many([PostTransaction("k1", move("assets:bank:usd", "revenue:fees", 5))])
        bulk.flush()
        writer.submit(PostTransaction("k2", move("assets:bank:usd", "revenue:fees", 6)))
        with pytest.raises(BulkWriterError, match="chain moved from seq 1 to 2"):
            bulk.submit_many([PostTransaction("k3", move("assets:bank:usd", "revenue:fees", 7))])
    engine.dispose()


def test_another_writer_between_two_grouped_transactions_stops_the_bulk_writer(
    tmp_path: Path,
) -> None:
    """The writer's thread commits and opens the next transaction while the caller plans;
    another connection committing in between makes that plan stale, and is refused."""
    engine, writer = make_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")

    class Interleaved(BulkWriter):
        def _begin_next(self, db: sqlite3.Connection, committed_version: int) -> None:
            writer.submit(PostTransaction("k-other", move("assets:bank:usd", "revenue:fees", 9)))
            super()._begin_next(db, committed_version)

    def stale() -> None:  # refused by the writer's thread: raised at a hand-over or the flush
        bulk.submit_many([PostTransaction("k2", move("assets:bank:usd", "revenue:fees", 6))])
        bulk.flush()

    bulk = Interleaved(engine, "t", clock=Clock(), commit_every=1)
    bulk.submit_many([PostTransaction("k1", move("assets:bank:usd", "revenue:fees", 5))])
    with pytest.raises(BulkWriterError, match="another connection wrote the database between"):
        stale()
    with pytest.raises(BulkWriterError, match="an earlier batch failed"):
        bulk.submit_many([PostTransaction("k3", move("assets:bank:usd", "revenue:fees", 7))])
    bulk.close()
    with engine.connect() as conn:  # the committed batch and the other writer's, nothing else
        keys = conn.exec_driver_sql("SELECT idempotency_key FROM idempotency_keys").scalars()
        assert sorted(keys) == ["k-other", "k1"]
        assert conn.exec_driver_sql("SELECT seq FROM chain_heads").scalar_one() == 2
    engine.dispose()


def test_an_open_writer_shortens_the_switch_interval_and_restores_it(tmp_path: Path) -> None:
    engine, _ = make_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    before = sys.getswitchinterval()
    with BulkWriter(engine, "t", clock=Clock()) as bulk:
        assert sys.getswitchinterval() == pytest.approx(min(before, SWITCH_SECONDS))
        bulk.submit_many([PostTransaction("k1", move("assets:bank:usd", "revenue:fees", 5))])
    assert sys.getswitchinterval() == before

    def failing() -> None:
        with BulkWriter(engine, "t", clock=Clock()):
            raise RuntimeError("the caller failed")

    with pytest.raises(RuntimeError, match="the caller failed"):
        failing()
    assert sys.getswitchinterval() == before
    engine.dispose()


def test_the_bulk_writer_refuses_other_databases() -> None:
    engine = sa.create_engine("postgresql+psycopg://nobody@localhost/none")
    with pytest.raises(BulkWriterError, match="SQLite ledgers only"):
        BulkWriter(engine, "t")


def test_a_missing_ledger_is_refused_like_the_reference(tmp_path: Path) -> None:
    engine, _ = make_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    request = PostTransaction("k", move("assets:bank:usd", "revenue:fees", 5))
    with pytest.raises(PostRejected) as reference:
        LedgerWriter(engine, "nope").submit_many([request])
    with BulkWriter(engine, "nope") as bulk, pytest.raises(PostRejected) as got:
        bulk.submit_many([request])
    assert (got.value.code, str(got.value)) == (reference.value.code, str(reference.value))
    engine.dispose()


def test_a_batch_that_cannot_be_written_stops_the_writer_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    engine, _ = make_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    with engine.begin() as conn:  # a stray key row: the batch's own key row will collide
        conn.exec_driver_sql(
            "INSERT INTO idempotency_keys VALUES ('t', 'k2', 'x', 'tx-stray', 0, 99)"
        )
    bulk = BulkWriter(engine, "t", clock=Clock())
    outcomes = bulk.submit_many(
        [
            PostTransaction("k1", move("assets:bank:usd", "revenue:fees", 5)),
            PostTransaction("k2", move("assets:bank:usd", "revenue:fees", 6)),
        ]
    )
    assert [isinstance(o, PostResult) for o in outcomes] == [True, True]
    with pytest.raises(BulkWriterError, match="could not be written"):
        bulk.flush()
    with pytest.raises(BulkWriterError, match="stopped"):
        bulk.submit_many([PostTransaction("k3", move("assets:bank:usd", "revenue:fees", 7))])
    bulk.close()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM transactions").scalar_one() == 0
        assert conn.exec_driver_sql("SELECT seq FROM chain_heads").scalar_one() == 0
    engine.dispose()


def test_a_batch_that_fails_while_the_next_is_planned_stops_the_writer_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """The next batch is planned while the failing one is written; it is refused after."""
    engine, _ = make_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    with engine.begin() as conn:  # a stray key row: the first batch's key row will collide
        conn.exec_driver_sql(
            "INSERT INTO idempotency_keys VALUES ('t', 'k2', 'x', 'tx-stray', 0, 99)"
        )
    with BulkWriter(engine, "t", clock=Clock()) as bulk:
        first = bulk.submit_many(
            [
                PostTransaction("k1", move("assets:bank:usd", "revenue:fees", 5)),
                PostTransaction("k2", move("assets:bank:usd", "revenue:fees", 6)),
            ]
        )
        assert [isinstance(o, PostResult) for o in first] == [True, True]
        with pytest.raises(BulkWriterError, match=r"a batch could not be written .*UNIQUE"):
            bulk.submit_many([PostTransaction("k3", move("assets:bank:usd", "revenue:fees", 7))])
        with pytest.raises(BulkWriterError, match="an earlier batch failed"):
            bulk.submit_many([PostTransaction("k4", move("assets:bank:usd", "revenue:fees", 8))])
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM transactions").scalar_one() == 0
        assert conn.exec_driver_sql("SELECT seq FROM chain_heads").scalar_one() == 0
    engine.dispose()


def test_the_connection_goes_back_to_the_pool_enforcing_foreign_keys(tmp_path: Path) -> None:
    """The bulk writer skips foreign-key lookups during its batches, and only then."""
    engine, _ = make_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    with BulkWriter(engine, "t", clock=Clock()) as bulk:
        bulk.submit_many([PostTransaction("k1", move("assets:bank:usd", "revenue:fees", 5))])
        bulk.flush()
        with engine.begin() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"):
                conn.exec_driver_sql(
                    "INSERT INTO entries VALUES ('t', 'tx-none', 0, 0, 'revenue:fees', "
                    "'USD/2', 'debit', 1)"
                )
    engine.dispose()
