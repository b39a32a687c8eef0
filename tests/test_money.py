"""Money at the display edge: exact for any u128 amount at any scale."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ledger_audit.money import (
    MINOR_AMOUNT,
    format_amount,
    format_money,
    humanise_amounts,
    to_decimal,
)


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


def test_format_money_groups_thousands_and_names_the_currency() -> None:
    assert format_money(-123456789, "USD/2") == "-1,234,567.89 USD"
    assert format_money(5, "USD/2") == "0.05 USD"
    assert format_money(-1000, "JPY/0") == "-1,000 JPY"
    assert format_money(123456789, "BTC/8") == "1.23456789 BTC"


@given(amount=st.integers(-(2**128), 2**128), scale=st.integers(0, 38))
def test_format_money_is_exact(amount: int, scale: int) -> None:
    number, code = format_money(amount, f"T/{scale}").split()
    assert code == "T"
    assert Decimal(number.replace(",", "")) == to_decimal(amount, f"T/{scale}")


def test_humanise_amounts_rewrites_every_minor_unit_amount_and_nothing_else() -> None:
    text = "seq 287: debits 11 USD/2 vs -10488 EUR/2, posted_credits=197664 USD/2; 7 JPY/0"
    assert humanise_amounts(text) == (
        "seq 287: debits 0.11 USD vs -104.88 EUR, posted_credits=1,976.64 USD; 7 JPY"
    )
    assert MINOR_AMOUNT.search(humanise_amounts(text)) is None
    untouched = "tx-1 v0 at seq 420; 2025-01-31; 5 X/99 out of range"
    assert humanise_amounts(untouched) == untouched
