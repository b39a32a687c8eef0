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


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", None]), st.one_of(st.none(), st.integers(0, 2))),
        max_size=30,
    ),
    st.lists(st.booleans(), min_size=30, max_size=30),
    st.booleans(),
)
def test_rows_already_rejected_and_null_keys_count_as_a_plain_count_says(
    rows: list[tuple[str | None, int | None]], rejected: list[bool], ordered: bool
) -> None:
    """Only rows without a problem take part; a null key equals a null key."""
    if ordered:
        rows = sorted(
            rows, key=lambda r: (r[0] is not None, r[0] or "", r[1] is not None, r[1] or 0)
        )
    relation = _relation(rows)  # type: ignore[arg-type]
    earlier = [rejected[i] for i in range(len(rows))]
    relation.problem = pl.Series(PROBLEM, ["bad" if r else None for r in earlier], pl.String)
    mark_duplicates(relation, relation.frame, ["tx", "i"], "entries")
    counts = Counter(row for row, bad in zip(rows, earlier, strict=True) if not bad)
    problems = relation.problem.to_list()
    for row, bad, problem in zip(rows, earlier, problems, strict=True):
        if bad:
            assert problem == "bad"
        elif counts[row] > 1:
            assert problem == "entries: the same tx, i on several rows"
        else:
            assert problem is None
