"""The suites' coverage counts distinct versions by neighbours when the legs are in key order."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.checks.gx_suites import distinct_rows

SCHEMA = {"ledger_id": pl.String(), "transaction_id": pl.String(), "version": pl.Int32()}
key = st.tuples(
    st.sampled_from(["a", "b", "ab", "é", None]),
    st.sampled_from(["t1", "t10", "t2", None]),
    st.one_of(st.none(), st.integers(0, 3)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(key, max_size=30), st.sampled_from(["as drawn", "first", "last"]))
def test_distinct_rows_is_n_unique_in_any_order(
    rows: list[tuple[str | None, str | None, int | None]], order: str
) -> None:
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    if order != "as drawn":  # key order, nulls first or last (the last falls back to hashing)
        frame = frame.sort(list(SCHEMA), nulls_last=order == "last")
    assert distinct_rows(frame) == (frame.n_unique() if frame.height else 0)


def test_neighbours_are_not_counted_unless_in_order() -> None:
    """Equal keys apart (a, b, a) are one key, not three runs."""
    frame = pl.DataFrame([("l", "a", 1), ("l", "b", 1), ("l", "a", 1)], schema=SCHEMA, orient="row")
    assert distinct_rows(frame) == 2
    assert distinct_rows(frame.sort(list(SCHEMA))) == 2
