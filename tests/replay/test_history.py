"""Events, history and roll-forward equal the sequential fold at every instant."""

from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.replay.balances import Basis
from ledger_audit.replay.events import (
    CELLS,
    balance_events,
    balances_at,
    cells_at_points,
    counted_legs,
)
from ledger_audit.replay.history import balance_history
from ledger_audit.replay.rollforward import roll_forward
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import DAY_NS, Period
from tests.replay.strategies import ACCOUNTS, HORIZON, SECOND, ledger_frames
from tests.replay.test_balances import fold

Cells = tuple[int, int, int, int]
bases = st.sampled_from(["effective", "recorded"])


def cells(rows: pl.DataFrame) -> dict[tuple[str, str], Cells]:
    return {
        (r["account_id"], r["asset_id"]): (
            r["posted_debits"],
            r["posted_credits"],
            r["pending_debits"],
            r["pending_credits"],
        )
        for r in rows.iter_rows(named=True)
        if any(r[c] for c in CELLS)
    }


def oriented_posted(cell: Cells, account: str) -> int:
    debit, credit = cell[0], cell[1]
    return credit - debit if ACCOUNTS[account] == "credit" else debit - credit


@settings(max_examples=80, deadline=None)
@given(frames=ledger_frames(), basis=bases, at=st.integers(-1, HORIZON + 1))
def test_events_give_the_fold_at_any_instant(frames: LedgerFrames, basis: Basis, at: int) -> None:
    at_ns = at * SECOND
    keys = [(a, s) for a in ACCOUNTS for s in ("USD/2", "JPY/0")]
    points = pl.LazyFrame(
        {
            "ledger_id": ["l"] * len(keys),
            "account_id": [a for a, _ in keys],
            "asset_id": [s for _, s in keys],
            "at_ns": [at_ns] * len(keys),
        }
    )
    got = balances_at(balance_events(frames, basis), points).collect()
    assert cells(got) == fold(frames, at_ns, basis)


@settings(max_examples=80, deadline=None)
@given(
    frames=ledger_frames(),
    basis=bases,
    instants=st.lists(st.integers(-1, HORIZON + 1), min_size=1, max_size=3),
)
def test_point_lookups_give_the_fold(
    frames: LedgerFrames, basis: Basis, instants: list[int]
) -> None:
    """``cells_at_points`` (the drift check's lookup), several points per key at once."""
    keys = [(a, s, at * SECOND) for a in ACCOUNTS for s in ("USD/2", "JPY/0") for at in instants]
    points = pl.LazyFrame(
        {
            "ledger_id": ["l"] * len(keys),
            "account_id": [a for a, _, _ in keys],
            "asset_id": [s for _, s, _ in keys],
            "at_ns": [at for _, _, at in keys],
        }
    )
    got = cells_at_points(counted_legs(frames, basis), points).collect()
    assert got.height == len(keys)
    for at in instants:
        assert cells(got.filter(pl.col("at_ns") == at * SECOND)) == fold(frames, at * SECOND, basis)


@settings(max_examples=60, deadline=None)
@given(frames=ledger_frames(), basis=bases)
def test_history_gives_the_fold_at_each_day_end(frames: LedgerFrames, basis: Basis) -> None:
    # Whole-second times in [0, 40 s] all fall on 1970-01-01; spread them over days.
    spread = frames.transactions.with_columns(
        (pl.col(f"{b}_ns") // SECOND * (DAY_NS // 8)).alias(f"{b}_ns")
        for b in ("effective", "recorded")
    )
    frames = LedgerFrames.from_tables({**dict(frames.items()), "transactions": spread})
    first, last = date(1970, 1, 2), date(1970, 1, 5)
    history = balance_history(frames, first, last, basis=basis).collect()
    for offset in range(4):
        day = date(1970, 1, 2 + offset)
        at = Period.day(day).end_ns - 1
        assert cells(history.filter(pl.col("day") == day)) == fold(frames, at, basis), day
    sparse = balance_history(frames, first, last, basis=basis, dense=False).collect()
    assert sparse.height <= history.height
    assert set(sparse.rows()) <= set(history.rows())


@settings(max_examples=60, deadline=None)
@given(frames=ledger_frames(), basis=bases, cut=st.integers(1, HORIZON))
def test_roll_forward_ties_out_and_matches_the_fold(
    frames: LedgerFrames, basis: Basis, cut: int
) -> None:
    periods = [Period("before", -DAY_NS, cut * SECOND), Period("after", cut * SECOND, DAY_NS)]
    rows = roll_forward(frames, periods, basis).collect()
    assert rows.filter(pl.col("difference") != 0).is_empty()
    for period in periods:
        opening = fold(frames, period.start_ns - 1, basis)
        closing = fold(frames, period.end_ns - 1, basis)
        for r in rows.filter(pl.col("period") == period.label).iter_rows(named=True):
            key = (r["account_id"], r["asset_id"])
            start, end = opening.get(key, (0, 0, 0, 0)), closing.get(key, (0, 0, 0, 0))
            assert r["opening"] == oriented_posted(start, key[0])
            assert r["closing"] == oriented_posted(end, key[0])
            assert (r["debits"], r["credits"]) == (end[0] - start[0], end[1] - start[1])


def test_roll_forward_of_no_periods_is_empty() -> None:
    assert roll_forward(LedgerFrames.empty(), []).collect().is_empty()


def test_month_periods() -> None:
    january = Period.month("2025-01")
    assert (january.first_day, january.last_day) == (date(2025, 1, 1), date(2025, 1, 31))
    assert Period.month("2024-12").end_ns == january.start_ns
