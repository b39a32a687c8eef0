"""Each repeated text of a loaded ledger is stored once, and no value changes."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.sources import load_ledger
from ledger_audit.sources.shared_text import INLINE_BYTES, _shared, share_repeated_text


def stored_bytes(column: pl.Series) -> int:
    """The bytes a text column's views point into (its Arrow data buffers, shared or not).

    Short values may sit inside their views, so a column can store fewer bytes than its
    distinct values have; never more when each is stored once.
    """
    array = column.rechunk().to_arrow(compat_level=pl.CompatLevel.newest())
    return sum(buffer.size for buffer in array.buffers()[2:] if buffer is not None)


def distinct_bytes(*columns: pl.Series) -> int:
    """The bytes of the distinct values: what one stored copy of each takes."""
    values = pl.concat([c.rename("v") for c in columns]).drop_nulls().unique()
    return sum(len(v.encode()) for v in values.to_list())


def test_a_loaded_ledger_stores_each_account_id_and_meta_hash_once(sqlite_ledger: str) -> None:
    frames, _ = load_ledger(sqlite_ledger)
    accounts = (
        frames.accounts["account_id"],
        frames.entries["account_id"],
        frames.balances["account_id"],
    )
    repeated = sum(
        len(v.encode()) for v in frames.entries["account_id"] if len(v.encode()) > INLINE_BYTES
    )
    assert distinct_bytes(*accounts) < repeated  # the sample repeats a long account id
    assert stored_bytes(frames.entries["account_id"]) <= distinct_bytes(*accounts)
    meta = frames.transactions["meta_hash"]
    assert stored_bytes(meta) <= distinct_bytes(meta) < sum(len(v) for v in meta.drop_nulls())


def test_ids_are_shared_between_the_tables_that_name_them() -> None:
    ids = [f"transaction-{n:030d}" for n in range(3)]
    versions = pl.Series("transaction_id", [ids[0], ids[1], ids[1], ids[2]])
    legs = pl.Series("transaction_id", [i for i in ids for _ in range(2)])
    shared = share_repeated_text({"transactions": versions.to_frame(), "entries": legs.to_frame()})
    for table, before in (("transactions", versions), ("entries", legs)):
        after = shared[table]["transaction_id"]
        assert after.equals(before)
        assert stored_bytes(after) <= distinct_bytes(versions, legs) == 3 * len(ids[0])


def test_a_hash_collision_keeps_the_columns_as_read() -> None:
    left = pl.Series("a", ["x" * 20, "y" * 20, "x" * 20])
    right = pl.Series("b", ["z" * 20, None])
    same_hash = _shared(
        [left, right], hash_values=lambda v: pl.zeros(v.len(), pl.UInt64, eager=True)
    )
    assert same_hash[0] is left
    assert same_hash[1] is right


def test_short_values_and_other_dtypes_are_left_alone() -> None:
    short = pl.Series("s", ["debit", "credit"] * 3)
    assert _shared([short])[0] is short
    numbers = pl.Series("n", [1, 2, 1])
    assert _shared([numbers, short])[0] is numbers


texts = st.one_of(
    st.none(),
    st.sampled_from(["", "a", "x" * INLINE_BYTES, "y" * (INLINE_BYTES + 1), "é" * 7, "ü" * 40]),
    st.text(max_size=40),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(texts, max_size=30),
    st.lists(texts, max_size=30),
    st.lists(st.text(min_size=13, max_size=20), max_size=5),
)
def test_sharing_never_changes_a_value(
    first: list[str | None], second: list[str | None], extra: list[str]
) -> None:
    tables = {
        "transactions": pl.DataFrame(
            {"transaction_id": first, "metadata": first[::-1]},
            schema={"transaction_id": pl.String(), "metadata": pl.String()},
        ),
        "entries": pl.DataFrame(
            {"transaction_id": [*second, *extra], "amount": range(len(second) + len(extra))},
            schema={"transaction_id": pl.String(), "amount": pl.Int64()},
        ),
    }
    before = dict(tables)
    shared = share_repeated_text(tables)
    assert shared.keys() == before.keys()
    for name, frame in before.items():
        assert shared[name].schema == frame.schema
        assert shared[name].equals(frame, null_equal=True)


def test_the_frames_are_replaced_in_the_mapping_given() -> None:
    """A loader hands its frames over: none of the columns as read stays held by it."""
    ids = pl.Series("transaction_id", [f"transaction-{n % 3:030d}" for n in range(9)])
    tables = {"transactions": ids.to_frame()}
    read = tables["transactions"]
    shared = share_repeated_text(tables)
    assert shared is tables
    assert tables["transactions"] is not read
    assert tables["transactions"].equals(read)
