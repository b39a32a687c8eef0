"""Gathering rows from columns in many chunks: the same rows, text in one chunk first."""

from __future__ import annotations

import itertools
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.gather import gather, gather_frame, one_chunk
from ledger_audit.sources.spill import spill_area

_TEXT = st.one_of(st.none(), st.text(max_size=30))
_NUMBER = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))


def _chunked(values: list[object], dtype: pl.DataType, cuts: list[int]) -> pl.Series:
    """``values`` as a column of several chunks, cut at ``cuts``."""
    bounds = sorted({0, len(values), *(c % (len(values) + 1) for c in cuts)})
    parts = [pl.Series("c", values[a:b], dtype=dtype) for a, b in itertools.pairwise(bounds)]
    return pl.concat(parts, rechunk=False) if parts else pl.Series("c", [], dtype=dtype)


@settings(max_examples=200, deadline=None)
@given(
    st.data(),
    st.sampled_from([(pl.String(), _TEXT), (pl.Binary(), _TEXT), (pl.Int64(), _NUMBER)]),
    st.lists(st.integers(0, 200), max_size=6),
)
def test_the_rows_a_plain_gather_takes(
    data: st.DataObject, kind: tuple[pl.DataType, st.SearchStrategy[object]], cuts: list[int]
) -> None:
    dtype, values = kind
    drawn = data.draw(st.lists(values, min_size=1, max_size=60))
    if dtype == pl.Binary():
        drawn = [None if v is None else str(v).encode() for v in drawn]
    column = _chunked(drawn, dtype, cuts)
    at = data.draw(st.lists(st.one_of(st.none(), st.integers(0, len(drawn) - 1)), max_size=80))
    rows = pl.Series("at", at, dtype=pl.UInt32())

    taken = gather(column, rows)
    assert taken.equals(column.gather(rows), null_equal=True)
    assert taken.to_list() == [None if i is None else drawn[i] for i in at]
    frame = pl.DataFrame([column, column.alias("d")])
    assert gather_frame(frame, rows).equals(frame.select(pl.all().gather(rows)), null_equal=True)


def test_text_in_chunks_comes_back_in_one_and_numbers_as_they_are() -> None:
    text = pl.concat([pl.Series("t", ["a" * 20, "b"]), pl.Series("t", ["c" * 30])], rechunk=False)
    numbers = pl.concat([pl.Series("n", [1, 2]), pl.Series("n", [3])], rechunk=False)
    assert text.n_chunks() == 2
    assert numbers.n_chunks() == 2

    assert one_chunk(text).n_chunks() == 1
    assert one_chunk(text).equals(text)
    assert one_chunk(numbers) is numbers  # a mapped number column is not copied to the heap
    single = text.rechunk()
    assert one_chunk(single) is single


def test_a_spilled_frame_gathers_the_rows_it_held(tmp_path: Path) -> None:
    """The case it is for: a frame over a mapped file, one chunk per record batch."""
    frame = pl.DataFrame(
        {
            "id": [f"transaction-{i:024d}" for i in range(300_000)],
            "n": list(range(300_000)),
        }
    )
    rows = pl.Series("at", [299_999, 0, 150_000, 7, 7, None], dtype=pl.UInt32())
    with spill_area(tmp_path, min_bytes=1) as spill:
        assert spill is not None
        mapped = spill.frame(frame)
        assert mapped.get_column("id").n_chunks() > 1
        taken = gather_frame(mapped, rows)
    assert taken.equals(frame.select(pl.all().gather(rows)), null_equal=True)
    assert taken.get_column("id").to_list()[:3] == [
        "transaction-000000000000000000299999",
        "transaction-000000000000000000000000",
        "transaction-000000000000000000150000",
    ]
