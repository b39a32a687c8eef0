"""Duplicate keys are found alike whether the rows come in key order or not."""

from __future__ import annotations

from collections import Counter

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.sources.mapping.relations import RelationRef
from ledger_audit.sources.mapping.rows import PROBLEM, ROW, Relation, mark_duplicates
from ledger_audit.sources.mapping.spec import Section

keys_strategy = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 3)), min_size=0, max_size=40
)


def _relation(rows: list[tuple[str, int]]) -> Relation:
    frame = pl.DataFrame(
        {"tx": [t for t, _ in rows], "i": [i for _, i in rows]},
        schema={"tx": pl.String, "i": pl.Int64},
    ).with_row_index(ROW, offset=1)
    section = Section("entries", "m.toml:1", RelationRef(name="lines"))
    return Relation(
        section, frame, "lines", ["tx", "i"], pl.Series(PROBLEM, [None] * len(rows), pl.String)
    )


@settings(max_examples=300, deadline=None)
@given(keys_strategy, st.booleans())
def test_every_row_of_a_repeated_key_is_marked_and_no_other(
    rows: list[tuple[str, int]], ordered: bool
) -> None:
    if ordered:
        rows = sorted(rows)
    relation = _relation(rows)
    mark_duplicates(relation, relation.frame, ["tx", "i"], "entries")
    counts = Counter(rows)
    marked = [p is not None for p in relation.problem.to_list()]
    assert marked == [counts[row] > 1 for row in rows]
