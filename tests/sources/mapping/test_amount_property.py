"""Decimal text to minor units, against Python's exact arithmetic, on both integer widths."""

from __future__ import annotations

from decimal import Decimal, localcontext

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ledger_audit.sources.mapping import fields
from ledger_audit.sources.mapping.spec import Field, FieldKind

FIELD = Field("entries.amount", "m.toml:1", FieldKind.AMOUNT, column="a", units="major")

texts = st.builds(
    lambda sign, whole, fraction: f"{sign}{whole}{'.' + fraction if fraction else ''}",
    st.sampled_from(["", "-", "+"]),
    st.from_regex(r"[0-9]{1,30}", fullmatch=True),
    st.from_regex(r"[0-9]{0,6}", fullmatch=True),
)


def expected(text: str, scale: int) -> tuple[int | None, bool]:
    """Minor units and sign, or None where the text has more decimals than the scale."""
    with localcontext(prec=100):  # exact: the default context rounds to 28 digits
        value = Decimal(text) * (10**scale)
        if value != value.to_integral_value():
            return None, text.startswith("-")
    magnitude = abs(int(value))
    return (magnitude if len(str(magnitude)) <= 38 else None), int(value) < 0


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, min_size=1, max_size=8), st.integers(0, 8))
def test_exact_on_the_narrow_and_the_wide_path(values: list[str], scale: int) -> None:
    frame = pl.DataFrame({"a": values})
    fits = max(len(v) for v in values) + scale <= fields.NARROW_DIGITS
    for narrow in (False, True) if fits else (False,):
        read = fields.amount(FIELD, dict(frame.schema), pl.lit(scale), narrow=narrow)
        out = frame.lazy()
        for stage in read.stages:
            out = out.with_columns(stage)
        assert read.problem is not None
        got = out.select(read.magnitude.alias("m"), read.problem.alias("p")).collect()
        for text, magnitude, problem in zip(values, got["m"], got["p"], strict=True):
            want, _ = expected(text, scale)
            if want is None:
                assert magnitude is None
                assert problem is not None
            else:
                assert magnitude == want, (text, scale, narrow)
                assert problem is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.decimals(min_value=-(10**20), max_value=10**20, places=4), min_size=1, max_size=8),
    st.integers(0, 8),
)
def test_a_decimal_column_is_read_from_its_integer_value(values: list[Decimal], scale: int) -> None:
    frame = pl.DataFrame({"a": values}, schema={"a": pl.Decimal(38, 4)})
    read = fields.amount(FIELD, dict(frame.schema), pl.lit(scale))
    out = frame.lazy()
    for stage in read.stages:
        out = out.with_columns(stage)
    assert read.problem is not None
    got = out.select(
        read.magnitude.alias("m"), read.negative.alias("n"), read.problem.alias("p")
    ).collect()
    for value, magnitude, negative, problem in zip(values, *got, strict=True):
        want, _ = expected(str(value), scale)
        if want is None:
            assert magnitude is None
            assert problem is not None
        else:
            assert magnitude == want, (value, scale)
            assert negative == (value < 0)
            assert problem is None


def _decimal_read(frame: pl.DataFrame, read: fields.AmountRead) -> pl.DataFrame:
    out = frame.lazy()
    for stage in read.stages:
        out = out.with_columns(stage)
    assert read.problem is not None
    return out.select(
        read.magnitude.cast(pl.Int128).alias("m"), read.negative.alias("n"), read.problem.alias("p")
    ).collect()


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 12),
    st.lists(
        st.one_of(st.none(), st.integers(-(10**24), 10**24), st.integers(-(10**9), 10**9)),
        min_size=1,
        max_size=8,
    ),
    st.lists(st.integers(0, 24), min_size=1, max_size=3),
)
def test_a_decimal_column_in_int64_matches_the_int128_path(
    column_scale: int, unscaled: list[int | None], places: list[int]
) -> None:
    """Where ``decimal_fits_int64`` allows Int64, it gives what Int128 gives, value by value."""
    dtype = pl.Decimal(38, column_scale)
    values = [None if u is None else Decimal(u).scaleb(-column_scale) for u in unscaled]
    frame = pl.DataFrame({"a": values, "k": [places[i % len(places)] for i in range(len(values))]})
    frame = frame.cast({"a": dtype})
    present = [u for u in unscaled if u is not None]
    bounds = (min(present, default=None), max(present, default=None))
    scale = pl.col("k").cast(pl.Int64)
    wide = _decimal_read(frame, fields.amount(FIELD, dict(frame.schema), scale))
    for value, place, magnitude in zip(values, frame["k"], wide["m"], strict=True):
        if value is not None:
            assert magnitude == expected(str(value), place)[0], (value, place)
    if fields.decimal_fits_int64(dtype, "major", bounds, places):
        narrow = fields.amount(FIELD, dict(frame.schema), scale, narrow=True)
        assert narrow.magnitude is not None
        assert_frame_equal(_decimal_read(frame, narrow), wide)
    else:
        # Refused only for a reason: a value, a factor or a product beyond Int64.
        largest = max((abs(u) for u in present), default=0)
        powers = [p - column_scale for p in places]
        assert (
            largest > 2**63 - 1
            or any(abs(p) > fields.NARROW_DIGITS for p in powers)
            or (largest * 10 ** max(0, *powers) > 2**63 - 1)
        )
