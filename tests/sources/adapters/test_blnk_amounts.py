"""Blnk's two amounts: ``amount x precision = precise_amount`` checked exactly, as text.

The NUMERIC ``amount`` arrives as PostgreSQL's ``::text``; scaling it by the precision must be
exact for every value Decimal can hold (no float, no Int64 overflow), and the precision must
be a power of ten for the asset to have a scale at all.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.sources.adapters.blnk.canonical import _scale
from ledger_audit.sources.adapters.blnk.consistency import scaled_text


def _expected(amount: str, scale: int) -> str | None:
    with localcontext() as exact:
        exact.prec = 100  # enough digits that nothing is rounded
        value = Decimal(amount).scaleb(scale)
        if value != value.to_integral_value():
            return None
        return str(int(value))


_AMOUNTS = st.decimals(
    min_value=Decimal("-1e30"), max_value=Decimal("1e30"), allow_nan=False, places=None
).filter(lambda d: d.is_finite())


@settings(max_examples=100, deadline=None)
@given(amounts=st.lists(st.tuples(_AMOUNTS, st.integers(0, 18)), min_size=1, max_size=20))
def test_scaling_the_numeric_text_is_exact(amounts: list[tuple[Decimal, int]]) -> None:
    texts = [format(amount, "f") for amount, _ in amounts]
    scales = [scale for _, scale in amounts]
    frame = pl.DataFrame(
        {"amount": texts, "scale": scales}, schema={"amount": pl.String, "scale": pl.Int32}
    )
    got = frame.select(scaled_text(pl.col("amount"), pl.col("scale"))).to_series().to_list()
    assert got == [_expected(text, scale) for text, scale in zip(texts, scales, strict=True)]


def test_trailing_zeros_and_signs_read_as_postgresql_writes_them() -> None:
    frame = pl.DataFrame(
        {
            "amount": ["12.50", "12.5", "100", "0.001", "-3.10", "0.00", "1.2.3", "1e3"],
            "scale": [2, 2, 2, 2, 2, 2, 2, 2],
        },
        schema={"amount": pl.String, "scale": pl.Int32},
    )
    got = frame.select(scaled_text(pl.col("amount"), pl.col("scale"))).to_series().to_list()
    assert got == ["1250", "1250", "10000", None, "-310", "0", None, None]


def test_only_a_power_of_ten_precision_gives_a_scale() -> None:
    precisions = pl.Series(["1", "10", "100", "100000000", "50", "0", None, "1000.0", "-100"])
    got = pl.DataFrame({"p": precisions}).select(_scale(pl.col("p"))).to_series().to_list()
    assert got == [0, 1, 2, 8, None, None, None, 3, None]
