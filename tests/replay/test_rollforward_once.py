"""One roll-forward, read by several consumers, gives each the rows it would have rolled itself."""

from __future__ import annotations

import itertools

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ledger_audit.replay.balances import Basis
from ledger_audit.replay.rollforward import (
    RolledForward,
    roll_forward,
    roll_forward_once,
    rolled_rows,
)
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import DAY_NS, Period
from tests.replay.strategies import HORIZON, SECOND, ledger_frames


def _periods(cuts: list[int]) -> list[Period]:
    """Consecutive periods between sorted cut points, labelled so labels sort out of time order."""
    edges = [-DAY_NS, *sorted({c * SECOND for c in cuts}), DAY_NS]
    return [
        Period(f"p{len(edges) - k:02d}", start, end)
        for k, (start, end) in enumerate(itertools.pairwise(edges))
    ]


@settings(max_examples=60, deadline=None)
@given(
    frames=ledger_frames(),
    basis=st.sampled_from(["effective", "recorded"]),
    cuts=st.lists(st.integers(1, HORIZON - 1), min_size=1, max_size=4),
    data=st.data(),
)
def test_any_subset_of_the_rolled_periods_reads_as_if_rolled_alone(
    frames: LedgerFrames, basis: Basis, cuts: list[int], data: st.DataObject
) -> None:
    periods = _periods(cuts)
    once = roll_forward_once(frames, periods, basis)
    wanted = data.draw(st.lists(st.sampled_from(periods), min_size=1, unique=True))
    assert once.covers(wanted, basis)
    assert_frame_equal(
        rolled_rows(frames, wanted, basis, once).collect(),
        roll_forward(frames, wanted, basis).collect(),
    )


def _marked(rolled: RolledForward) -> RolledForward:
    """The same record with every difference set to 99: rows read from it carry the mark."""
    dtype = rolled.rows["difference"].dtype
    rows = rolled.rows.with_columns(pl.lit(99).cast(dtype).alias("difference"))
    return RolledForward(rolled.periods, rolled.basis, rows)


@settings(max_examples=40, deadline=None)
@given(
    frames=ledger_frames(),
    cuts=st.lists(st.integers(1, HORIZON - 1), min_size=1, max_size=3),
    data=st.data(),
)
def test_rows_come_from_the_record_only_when_it_covers_the_periods_and_basis(
    frames: LedgerFrames, cuts: list[int], data: st.DataObject
) -> None:
    periods = _periods(cuts)
    marked = _marked(roll_forward_once(frames, periods, "effective"))
    one = data.draw(st.sampled_from(periods))

    def read(wanted: list[Period], basis: Basis) -> pl.DataFrame:
        return rolled_rows(frames, wanted, basis, marked).collect()

    direct = roll_forward(frames, [one]).collect()
    from_record = read([one], "effective")
    assert_frame_equal(from_record.drop("difference"), direct.drop("difference"))
    assert set(from_record["difference"].to_list()) <= {99}
    # another basis, a period not rolled, the same label with other bounds, a label twice
    wider = Period(one.label, one.start_ns, one.end_ns + SECOND)
    later = Period("later", DAY_NS, 2 * DAY_NS)
    cases: tuple[tuple[list[Period], Basis], ...] = (
        ([one], "recorded"),
        ([later], "effective"),
        ([wider], "effective"),
        ([one, one], "effective"),
    )
    for wanted, basis in cases:
        assert_frame_equal(read(wanted, basis), roll_forward(frames, wanted, basis).collect())


def test_two_periods_sharing_a_label_are_refused() -> None:
    january = Period.month("2025-01")
    longer = Period("2025-01", january.start_ns, january.end_ns + DAY_NS)
    with pytest.raises(ValueError, match="share a label"):
        roll_forward_once(LedgerFrames.empty(), [january, longer])
    once = roll_forward_once(LedgerFrames.empty(), [january, january])
    assert once.periods == (january,)
    assert once.covers([january], "effective")
    assert not once.covers([january], "recorded")
