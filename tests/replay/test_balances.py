"""Replay equals a sequential per-entry fold, at any instant, on both bases."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.errors import PostRejected
from ledger_audit.ledger.requests import PostPending, PostTransaction, Request, VoidPending
from ledger_audit.replay.balances import balances_as_of
from ledger_audit.replay.history import balance_history
from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.sources import load_ledger
from ledger_audit.sources.ledger_frames import LedgerFrames
from tests.ledger.conftest import T0, make_ledger, move
from tests.text_ledger import T0 as TEXT_T0
from tests.text_ledger import ledger_from_text

ACCOUNTS = ("assets:bank:usd", "revenue:fees", "liabilities:wallet:alice", "liabilities:wallet:bob")
SECOND = 1_000_000_000


def fold(
    frames: LedgerFrames, at: int, basis: str
) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    """The slow, obvious reading of DESIGN.md section 3: one Python step per row."""
    latest: dict[str, dict[str, object]] = {}
    resolved: set[str] = set()
    for row in frames.transactions.iter_rows(named=True):
        if row[f"{basis}_ns"] > at:
            continue
        if row["pending_transaction_id"] is not None:
            resolved.add(row["pending_transaction_id"])
        seen = latest.get(row["transaction_id"])
        if seen is None or row["version"] > int(str(seen["version"])):
            latest[row["transaction_id"]] = row
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for entry in frames.entries.iter_rows(named=True):
        counted = latest.get(entry["transaction_id"])
        if counted is None or counted["version"] != entry["version"]:
            continue
        status = counted["status"]
        if status == "pending" and entry["transaction_id"] in resolved:
            continue
        if status in ("posted", "pending"):
            base = 0 if status == "posted" else 2
            cells[(entry["account_id"], entry["asset_id"])][
                base + (entry["direction"] == "credit")
            ] += entry["amount"]
    return {k: (c[0], c[1], c[2], c[3]) for k, c in cells.items() if any(c)}


def replayed(
    frames: LedgerFrames, at: int, basis: str
) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    out = balances_as_of(frames, at, basis).collect()  # type: ignore[arg-type]
    return {
        (r["account_id"], r["asset_id"]): (
            r["posted_debits"],
            r["posted_credits"],
            r["pending_debits"],
            r["pending_credits"],
        )
        for r in out.iter_rows(named=True)
        if any(
            r[c] for c in ("posted_debits", "posted_credits", "pending_debits", "pending_credits")
        )
    }  # an account whose only activity was voided has a zero row: the same as no row


step = st.tuples(
    st.sampled_from(("post", "hold", "capture", "void")),
    st.sampled_from(ACCOUNTS),
    st.sampled_from(ACCOUNTS),
    st.integers(1, 900),
    st.integers(-3, 3),  # effective time offset in seconds, so the two bases differ
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(step, min_size=1, max_size=30), probes=st.lists(st.integers(0, 40), max_size=6)
)
def test_replay_equals_a_sequential_fold(
    steps: list[tuple[str, str, str, int, int]], probes: list[int]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine, writer = make_ledger(f"sqlite:///{Path(folder) / 'l.sqlite'}")
        writer.submit(
            PostTransaction("seed", move("assets:bank:usd", "liabilities:wallet:alice", 50_000))
        )
        holds: list[str] = []
        for i, (kind, debit, credit, amount, shift) in enumerate(steps):
            effective = T0 + (i + 2 + shift) * SECOND
            request: Request | None = None
            if kind in ("post", "hold") and debit != credit:
                request = PostTransaction(
                    f"k{i}",
                    move(debit, credit, amount),
                    pending=kind == "hold",
                    effective_ns=effective,
                )
            elif kind in ("capture", "void") and holds:
                target = holds.pop(amount % len(holds))
                request = (
                    PostPending(f"k{i}", target)
                    if kind == "capture"
                    else VoidPending(f"k{i}", target)
                )
            if request is None:
                continue
            try:
                result = writer.submit(request)
            except PostRejected:
                continue
            if kind == "hold":
                holds.append(result.transaction_id)
        engine.dispose()
        frames, report = load_ledger(Path(folder) / "l.sqlite")
        assert report.rejected == 0
        for probe in [*probes, 10_000]:
            at = T0 + probe * SECOND
            for basis in ("effective", "recorded"):
                assert replayed(frames, at, basis) == fold(frames, at, basis), (basis, probe)


def test_a_separate_post_pending_resolves_the_hold() -> None:
    """The test-vector style: tx-0003 posts part of tx-0002 as its own transaction."""

    def frame(table: str, columns: dict[str, list[object]]) -> pl.DataFrame:
        rows = [
            dict(zip(columns, values, strict=True))
            for values in zip(*columns.values(), strict=True)
        ]
        return pl.DataFrame(rows, schema=FRAME_SCHEMAS[table])

    tx = frame(
        "transactions",
        {
            "ledger_id": ["demo"] * 2,
            "transaction_id": ["tx-0002", "tx-0003"],
            "version": [0, 0],
            "kind": ["pending", "post_pending"],
            "status": ["pending", "posted"],
            "pending_transaction_id": [None, "tx-0002"],
            "effective_ns": [10, 20],
            "recorded_ns": [10, 20],
        },
    )
    entries = frame(
        "entries",
        {
            "ledger_id": ["demo"] * 4,
            "transaction_id": ["tx-0002", "tx-0002", "tx-0003", "tx-0003"],
            "version": [0] * 4,
            "entry_index": [0, 1, 0, 1],
            "account_id": [
                "liabilities:wallet:alice",
                "liabilities:card:holds",
                "liabilities:card:holds",
                "revenue:merchant",
            ],
            "asset_id": ["USD/2"] * 4,
            "direction": ["debit", "credit", "debit", "credit"],
            "amount": [2500, 2500, 2000, 2000],
        },
    )
    empty = LedgerFrames.empty()
    frames = LedgerFrames.from_tables(
        {**dict(empty.items()), "transactions": tx, "entries": entries}
    )
    before = replayed(frames, 15, "effective")
    after = replayed(frames, 25, "effective")
    assert before[("liabilities:wallet:alice", "USD/2")] == (0, 0, 2500, 0)
    assert ("liabilities:wallet:alice", "USD/2") not in after  # the hold no longer counts
    assert after[("revenue:merchant", "USD/2")] == (0, 2000, 0, 0)


INT64_MAX = 2**63 - 1
_PAST_INT64 = f"""
ledger l
account assets:bank debit USD/2
account liabilities:wallet:a credit USD/2
tx t1 standard posted at=10
  assets:bank debit {INT64_MAX} USD/2
  liabilities:wallet:a credit {INT64_MAX} USD/2
tx t2 standard posted at=20
  assets:bank debit {INT64_MAX} USD/2
  liabilities:wallet:a credit {INT64_MAX} USD/2
tx t3 pending pending at=30
  liabilities:wallet:a debit 1 USD/2
  assets:bank credit 1 USD/2
"""


def test_balances_past_int64_are_exact() -> None:
    """Each amount fits int64, the totals do not: an Int64 sum would wrap to -2."""
    frames = ledger_from_text(_PAST_INT64)
    exact = Decimal(2 * INT64_MAX)
    rows = {
        r["account_id"]: r
        for r in balances_as_of(frames, TEXT_T0 + 40 * SECOND).collect().iter_rows(named=True)
    }
    assert rows["assets:bank"]["posted_debits"] == exact
    assert rows["assets:bank"]["posted"] == exact
    assert rows["assets:bank"]["available"] == exact - 1  # the pending credit is held
    assert rows["liabilities:wallet:a"]["posted"] == exact
    assert rows["liabilities:wallet:a"]["available"] == exact - 1
    day = date(2025, 1, 1)
    history = balance_history(frames, day, day).collect()
    assert sorted(history["posted"].to_list()) == [exact, exact]
