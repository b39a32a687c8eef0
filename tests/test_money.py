"""Money at the display edge: exact for any u128 amount at any scale."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger_audit.money import format_amount, to_decimal


def test_amounts_beyond_28_digits_are_not_rounded() -> None:
    assert format_amount(10**30 + 1, "X/18") == "1000000000000.000000000000000001 X"
    assert str(to_decimal(-(10**38) + 7, "Y/38")) == "-0.99999999999999999999999999999999999993"


@given(amount=st.integers(-(2**128), 2**128), scale=st.integers(0, 38))
def test_to_decimal_is_exact(amount: int, scale: int) -> None:
    sign, digits, exponent = to_decimal(amount, f"T/{scale}").as_tuple()
    assert exponent == -scale
    assert (-1 if sign else 1) * int("".join(map(str, digits))) == amount
    text = format_amount(amount, f"T/{scale}")
    assert int(text.split()[0].replace(".", "")) == amount
