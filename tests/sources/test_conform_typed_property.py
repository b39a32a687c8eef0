"""The typed fast path of ``conform`` decides exactly what the full pass decides.

``conform_table`` skips its row pass when null counts and integer bounds already prove that
no row can be rejected and no amount can overflow. On arbitrary raw frames (every column of
a random dtype, values valid, out of range, unparsable or null) both paths must give equal
frames, rejections and counts.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.sources.conform import _conform, conform_table

INT_BOUNDS: dict[pl.DataType, tuple[int, int]] = {
    pl.Int8(): (-(2**7), 2**7 - 1),
    pl.Int16(): (-(2**15), 2**15 - 1),
    pl.Int32(): (-(2**31), 2**31 - 1),
    pl.Int64(): (-(2**63), 2**63 - 1),
    pl.UInt8(): (0, 2**8 - 1),
    pl.UInt32(): (0, 2**32 - 1),
    pl.UInt64(): (0, 2**64 - 1),
}
OTHER_DTYPES: list[pl.DataType] = [
    *INT_BOUNDS,
    pl.String(),
    pl.Boolean(),
    pl.Null(),
    pl.Float64(),
    pl.Decimal(38, 0),
    pl.Binary(),
]


def _values(dtype: pl.DataType, height: int, *, null_rate: float) -> st.SearchStrategy[list[Any]]:
    """``height`` values for a column of ``dtype``, nulls mixed in (rarely, or often)."""
    value: st.SearchStrategy[Any]
    if dtype in INT_BOUNDS:
        low, high = INT_BOUNDS[dtype]
        # Small values mostly (they fit every target), the extremes sometimes.
        value = st.one_of(st.integers(-3, 40).filter(lambda v: low <= v <= high), st.just(low))
        value = st.one_of(value, st.just(high), st.integers(low, high))
    elif dtype == pl.String():
        value = st.one_of(
            st.integers(-5, 2**40).map(str),
            st.sampled_from(["true", "F", "x", "", "1.5", "+7", "99999999999999999999"]),
        )
    elif dtype == pl.Boolean():
        value = st.booleans()
    elif dtype == pl.Null():
        value = st.none()
    elif dtype == pl.Float64():
        value = st.floats(-1e6, 1e6, allow_nan=False)
    elif dtype == pl.Decimal(38, 0):
        value = st.integers(-(10**30), 10**30)
    else:
        value = st.binary(max_size=3)
    nullable = st.one_of(st.none(), value) if null_rate else value
    return st.lists(nullable, min_size=height, max_size=height)


@st.composite
def raw_frames(draw: st.DrawFn) -> tuple[str, pl.DataFrame]:
    """A canonical table as a source might hand it over: mostly typed, sometimes not."""
    table = draw(st.sampled_from(["accounts", "transactions", "entries", "balances"]))
    height = draw(st.integers(0, 6))
    columns: dict[str, pl.Series] = {}
    for column, target in FRAME_SCHEMAS[table].items():
        typed = draw(st.integers(0, 3)) > 0
        dtype = target if typed else draw(st.sampled_from(OTHER_DTYPES))
        values = draw(_values(dtype, height, null_rate=0 if typed else 1))
        columns[column] = pl.Series(column, values, dtype=dtype, strict=False)
    return table, pl.DataFrame(columns)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_frames(), st.sampled_from(["row", "key"]))
def test_the_typed_path_and_the_full_pass_agree(
    drawn: tuple[str, pl.DataFrame], locate_by: str
) -> None:
    table, raw = drawn
    args: dict[str, Any] = {"source": "test", "locate_by": locate_by, "in_key_order": False}
    fast = _conform(raw, table, typed=True, **args)
    full = _conform(raw, table, typed=False, **args)
    assert_frame_equal(fast.frame, full.frame)
    assert_frame_equal(fast.rejections, full.rejections)
    assert fast.count == full.count


def test_the_typed_path_is_taken_and_still_sorts() -> None:
    """A typed frame with integers to narrow loads through the fast path, sorted by key."""
    raw = pl.DataFrame(
        {
            "ledger_id": ["L1", "L1"],
            "transaction_id": ["t2", "t1"],
            "version": [0, 0],
            "entry_index": [0, 0],
            "account_id": ["a", "b"],
            "asset_id": ["USD/2", "USD/2"],
            "direction": ["debit", "credit"],
            "amount": [5, 5],
        },
        schema_overrides={"version": pl.Int64, "entry_index": pl.Int64},
    )
    result = conform_table(raw, "entries", source="test", locate_by="key")
    assert result.frame["transaction_id"].to_list() == ["t1", "t2"]
    assert dict(result.frame.schema) == FRAME_SCHEMAS["entries"]
    assert result.count.rejected == 0


def test_an_integer_beyond_its_target_still_takes_the_full_pass() -> None:
    """Out-of-range bounds send the frame to the full pass, which rejects the row."""
    raw = pl.DataFrame(
        {
            "ledger_id": ["L1", "L1"],
            "transaction_id": ["t1", "t2"],
            "version": [0, 2**40],
            "entry_index": [0, 0],
            "account_id": ["a", "b"],
            "asset_id": ["USD/2", "USD/2"],
            "direction": ["debit", "credit"],
            "amount": [5, 5],
        }
    )
    result = conform_table(raw, "entries", source="test", locate_by="key")
    assert result.frame["transaction_id"].to_list() == ["t1"]
    assert result.rejections["reason"].to_list() == ["out_of_range"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.binary(max_size=4)), min_size=1, max_size=6))
def test_bytes_bound_for_a_number_are_loaded_or_rejected_never_a_crash(
    values: list[bytes | None],
) -> None:
    """Bytes that are not UTF-8 (polars cannot cast them even leniently) reject their row."""
    n = len(values)
    raw = pl.DataFrame(
        {
            "ledger_id": ["l"] * n,
            "account_id": [f"a{i}" for i in range(n)],
            "asset_id": ["USD/2"] * n,
            "posted_debits": pl.Series(values, dtype=pl.Binary),
            "posted_credits": [0] * n,
            "pending_debits": [0] * n,
            "pending_credits": [0] * n,
            "as_of_ns": [0] * n,
            "lock_version": [0] * n,
        }
    )
    out = _conform(raw, "balances", source="t", locate_by="row", in_key_order=False, typed=True)
    assert out.count.read == out.count.loaded + out.count.rejected == n
    for value in values:
        if value is None:
            continue
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            assert f"<bytes {value.hex()}>" in out.rejections["raw_value"].to_list()
            continue
        if re.fullmatch(r"[0-9]+", text):
            assert int(text) in out.frame["posted_debits"].to_list()
