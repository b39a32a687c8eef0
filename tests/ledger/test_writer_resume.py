"""A writer that did not write a transaction can still capture, void or reverse it.

A new process (a fresh ``LedgerWriter``) resumes a ledger that another writer wrote: its
first request may name no legs of its own (a full capture takes the hold's legs, a
reversal inverts the original's), and must be decided exactly as the writer that wrote the
transaction would have decided it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger_audit.errors import PostRejected
from ledger_audit.ledger import admin
from ledger_audit.ledger.requests import (
    AccountSpec,
    PostPending,
    PostResult,
    PostTransaction,
    Request,
    ReverseTransaction,
    VoidPending,
)
from ledger_audit.ledger.writer import LedgerWriter
from tests.ledger.conftest import T0, make_ledger, move

SETUP = [
    PostTransaction("k-fund", move("assets:bank:usd", "liabilities:wallet:alice", 1_000)),
    PostTransaction(
        "k-paid", move("liabilities:wallet:alice", "revenue:fees", 30), transaction_id="tx-paid"
    ),
    PostTransaction(
        "k-held",
        move("liabilities:wallet:alice", "revenue:fees", 50),
        pending=True,
        transaction_id="tx-held",
        external_id="auth-1",
    ),
]
FIRST_REQUESTS: list[tuple[str, Request]] = [
    ("full capture", PostPending("k-capture", "tx-held")),
    (
        "partial capture",
        PostPending("k-capture", "tx-held", move("liabilities:wallet:alice", "revenue:fees", 20)),
    ),
    ("void", VoidPending("k-void", "tx-held")),
    ("reversal", ReverseTransaction("k-reverse", "tx-paid")),
]
_TABLES = ("transactions", "entries", "idempotency_keys", "chain_heads")
Rows = dict[str, list[tuple[object, ...]]]


def _rows(engine: sa.Engine) -> Rows:
    """Every row the writers write, in key order."""
    with engine.connect() as conn:
        return {
            table: [
                tuple(row)
                for row in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1, 2, 3")
            ]
            for table in _TABLES
        }


def _written(folder: Path, request: Request, *, fresh: bool) -> tuple[PostResult, Rows]:
    """Set the ledger up, then submit ``request`` by the same writer or a fresh one."""
    engine, writer = make_ledger(f"sqlite:///{folder / ('fresh' if fresh else 'same')}.sqlite")
    assert all(isinstance(o, PostResult) for o in writer.submit_many(SETUP))
    if fresh:  # a new process: nothing read yet, the same clock continues
        writer = LedgerWriter(engine, "t", clock=writer.clock)
    outcome = writer.submit(request)
    rows = _rows(engine)
    engine.dispose()
    return outcome, rows


@pytest.mark.parametrize(("name", "request_"), FIRST_REQUESTS, ids=[n for n, _ in FIRST_REQUESTS])
def test_a_fresh_writer_decides_its_first_request_as_the_writer_that_wrote_the_ledger(
    tmp_path: Path, name: str, request_: Request
) -> None:
    same, same_rows = _written(tmp_path, request_, fresh=False)
    fresh, fresh_rows = _written(tmp_path, request_, fresh=True)
    assert fresh == same
    assert fresh_rows == same_rows
    assert len(fresh_rows["transactions"]) == len(SETUP) + 1, name


def test_a_writer_captures_a_hold_in_an_asset_registered_after_it_last_read_them(
    tmp_path: Path,
) -> None:
    """The writer's asset list is stale (GBP came later, another writer held GBP)."""
    engine, writer = make_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    writer.submit(SETUP[0])  # reads the assets: USD and EUR
    admin.register_asset(engine, "GBP/2")
    admin.open_accounts(
        engine,
        "t",
        [
            AccountSpec("assets:bank:gbp", "debit", "GBP/2"),
            AccountSpec("revenue:fees:gbp", "credit", "GBP/2"),
        ],
        opened_ns=T0,
    )
    other = LedgerWriter(engine, "t", clock=writer.clock)
    other.submit(
        PostTransaction(
            "k-gbp",
            move("assets:bank:gbp", "revenue:fees:gbp", 70, "GBP/2"),
            pending=True,
            transaction_id="tx-gbp",
        )
    )
    captured = writer.submit(PostPending("k-capture-gbp", "tx-gbp"))
    assert (captured.transaction_id, captured.version, captured.status) == ("tx-gbp", 1, "posted")
    with engine.connect() as conn:
        legs = conn.exec_driver_sql(
            "SELECT account_id, asset_id, direction, amount FROM entries "
            "WHERE transaction_id = 'tx-gbp' AND version = 1 ORDER BY entry_index"
        ).all()
    assert [tuple(leg) for leg in legs] == [
        ("assets:bank:gbp", "GBP/2", "debit", 70),
        ("revenue:fees:gbp", "GBP/2", "credit", 70),
    ]
    engine.dispose()


def test_a_fresh_writer_still_refuses_what_the_ledger_forbids(tmp_path: Path) -> None:
    """Resuming changes no rule: a voided hold cannot be captured, a reversal not repeated."""
    engine, writer = make_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    writer.submit_many([*SETUP, VoidPending("k-void", "tx-held")])
    writer.submit(ReverseTransaction("k-reverse", "tx-paid"))
    for request, code in (
        (PostPending("k-capture", "tx-held"), "not_pending"),
        (ReverseTransaction("k-again", "tx-paid"), "already_reversed"),
    ):
        with pytest.raises(PostRejected) as refused:
            LedgerWriter(engine, "t", clock=writer.clock).submit(request)
        assert refused.value.code == code
    engine.dispose()
