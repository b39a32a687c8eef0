"""Replays over versions stored in key order (runs read by position) equal the general ones:
version intervals and the counting version at an instant."""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ledger_audit.replay.balances import counting_versions
from ledger_audit.replay.events import version_intervals
from ledger_audit.replay.key_order import versions_in_key_order
from ledger_audit.schema.frames import FRAME_SCHEMAS
from tests.replay.strategies import ledger_frames

INT64 = st.integers(-(2**63), 2**63 - 1)
KEY = ["ledger_id", "transaction_id", "version"]


@st.composite
def transactions(draw: st.DrawFn) -> pl.DataFrame:
    """Versions of a few transactions in a few ledgers, with any times (Int64's extremes too),
    gaps between version numbers, pending versions and separate resolutions; shuffled."""
    times = draw(st.sampled_from([INT64, st.integers(0, 5)]))  # wide or many ties
    rows: list[dict[str, Any]] = []
    for n in range(draw(st.integers(0, 8))):
        ledger, tx = draw(st.sampled_from(["a", "b", "ab"])), f"t{n % 5}"
        versions = draw(st.lists(st.integers(0, 9), min_size=1, max_size=5, unique=True))
        for version in versions:
            status = draw(st.sampled_from(["posted", "pending", "archived"]))
            resolves = draw(st.sampled_from([None, "t0", "t1"]))
            row = {"ledger_id": ledger, "transaction_id": tx, "version": version}
            if any({k: r[k] for k in KEY} == row for r in rows):
                continue
            rows.append(
                row
                | {
                    "status": status,
                    "pending_transaction_id": resolves,
                    "effective_ns": draw(times),
                    "recorded_ns": draw(times),
                }
            )
    schema = FRAME_SCHEMAS["transactions"]
    frame = pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)
    return frame.sample(fraction=1.0, shuffle=True, seed=draw(st.integers(0, 2**16)))


def _both(frame: pl.DataFrame, basis: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    stored = frame.sort(KEY)
    assert versions_in_key_order(stored, f"{basis}_ns")  # the pass under test is the one taken
    fast = version_intervals(stored, basis).collect()  # type: ignore[arg-type]
    general = version_intervals(frame.lazy(), basis).collect()  # type: ignore[arg-type]
    return fast.sort(KEY), general.sort(KEY)


@settings(max_examples=300, deadline=None)
@given(frame=transactions(), basis=st.sampled_from(["effective", "recorded"]))
def test_frames_in_key_order_give_the_general_intervals(frame: pl.DataFrame, basis: str) -> None:
    fast, general = _both(frame, basis)
    assert_frame_equal(fast, general)


@settings(max_examples=40, deadline=None)
@given(frames=ledger_frames(), basis=st.sampled_from(["effective", "recorded"]))
def test_the_replay_ledgers_too(frames: Any, basis: str) -> None:
    fast, general = _both(frames.transactions, basis)
    assert_frame_equal(fast, general)


def test_a_later_transaction_never_lends_its_earlier_time() -> None:
    """The lift keeps each suffix minimum inside its transaction: the next transaction's
    first version is older than anything before it, which a plain reverse minimum would
    take as this transaction's end."""
    schema = FRAME_SCHEMAS["transactions"]
    rows = [
        ("l", "t1", 1, 50),
        ("l", "t1", 2, 70),
        ("l", "t2", 1, -(2**63)),
        ("l", "t2", 2, 2**63 - 1),
        ("l", "t3", 1, 10),
    ]
    frame = pl.DataFrame(
        [
            dict.fromkeys(schema)
            | {"ledger_id": lg, "transaction_id": tx, "version": v, "effective_ns": t}
            | {"recorded_ns": t, "status": "posted"}
            for lg, tx, v, t in rows
        ],
        schema=schema,
    )
    got = version_intervals(frame, "effective").collect().sort(KEY)
    assert got.select("transaction_id", "version", "end_ns").rows() == [
        ("t1", 1, 70),
        ("t1", 2, None),
        ("t2", 1, 2**63 - 1),
        ("t2", 2, None),
        ("t3", 1, None),
    ]


def test_rows_out_of_key_order_or_with_gaps_in_the_key_take_the_general_pass() -> None:
    """Duplicated versions, an unsorted frame, a null time: all still equal the general pass."""
    schema = FRAME_SCHEMAS["transactions"]

    def frame(rows: list[tuple[str, int, int | None]]) -> pl.DataFrame:
        return pl.DataFrame(
            [
                dict.fromkeys(schema)
                | {"ledger_id": "l", "transaction_id": tx, "version": v, "effective_ns": t}
                | {"recorded_ns": 0, "status": "posted"}
                for tx, v, t in rows
            ],
            schema=schema,
        )

    cases: tuple[list[tuple[str, int, int | None]], ...] = (
        [("t1", 2, 5), ("t1", 1, 9)],  # versions descending
        [("t2", 1, 5), ("t1", 1, 9), ("t1", 2, 3)],  # transactions out of order
        [("t1", 1, 5), ("t1", 1, 9), ("t1", 2, 3)],  # one version twice
        [("t1", 1, None), ("t1", 2, 3)],  # a null time
    )
    for rows in cases:
        given_frame = frame(rows)
        assert not versions_in_key_order(given_frame, "effective_ns")
        got = version_intervals(given_frame, "effective").collect()
        want = version_intervals(given_frame.lazy(), "effective").collect()
        assert_frame_equal(got.sort(got.columns), want.sort(want.columns))


@settings(max_examples=300, deadline=None)
@given(
    frame=transactions(),
    basis=st.sampled_from(["effective", "recorded"]),
    at=st.one_of(INT64, st.integers(-1, 6)),
)
def test_the_counting_version_of_frames_in_key_order_is_the_general_one(
    frame: pl.DataFrame, basis: str, at: int
) -> None:
    stored = frame.sort(KEY)
    assert versions_in_key_order(stored, f"{basis}_ns")
    fast = counting_versions(stored, at, basis).collect()  # type: ignore[arg-type]
    general = counting_versions(frame.lazy(), at, basis).collect()  # type: ignore[arg-type]
    assert_frame_equal(fast.sort(KEY), general.sort(KEY))
