"""The long frame of references equals its definition: every reference column unpivoted."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.reconcile.normalise import PLACEHOLDERS, normalised, references

COLUMNS = ("a", "b", "c")
KEEP = ["x", "account_ref", "asset_id", "amount"]


def _definition(frame: pl.DataFrame, split: bool) -> pl.DataFrame:
    """Each column unpivoted beside the row's keys, split, normalised, best column kept."""
    long = frame.select(*KEEP, *COLUMNS).unpivot(
        index=KEEP, on=list(COLUMNS), variable_name="column", value_name="ref"
    )
    if split:
        long = long.with_columns(pl.col("ref").str.split(";")).explode("ref")
    rank = {name: index for index, name in enumerate(COLUMNS)}
    return (
        long.with_columns(
            normalised(pl.col("ref")).alias("ref"),
            pl.col("column").replace_strict(rank, return_dtype=pl.Int32()).alias("priority"),
        )
        .filter(pl.col("ref").is_not_null() & ~pl.col("ref").is_in(PLACEHOLDERS))
        .sort("x", "ref", "priority")
        .unique(["x", "ref"], keep="first", maintain_order=True)
    )


_REF = st.one_of(
    st.none(),
    st.sampled_from(["R1", " r1 ", "R2", "r1;R2", "N/A", "none", "", ";", "R3;;r3", " "]),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(_REF, _REF, _REF, st.integers(-5, 5)), max_size=12),
    st.booleans(),
)
def test_references_equal_the_unpivoted_definition(
    rows: list[tuple[str | None, str | None, str | None, int]], split: bool
) -> None:
    frame = pl.DataFrame(
        {
            "x": pl.Series(range(len(rows)), dtype=pl.Int64()),
            "account_ref": [f"acct-{k % 2}" for k in range(len(rows))],
            "asset_id": ["USD/2"] * len(rows),
            "amount": pl.Series([r[3] for r in rows], dtype=pl.Int64()),
            "a": pl.Series([r[0] for r in rows], dtype=pl.String()),
            "b": pl.Series([r[1] for r in rows], dtype=pl.String()),
            "c": pl.Series([r[2] for r in rows], dtype=pl.String()),
            "other": pl.Series(["ignored"] * len(rows), dtype=pl.String()),
        }
    )
    found = references(frame, "x", COLUMNS, split=split)
    assert found.equals(_definition(frame, split))
