"""Report tables: money columns declared and checked; exact decimal text at any size."""

from __future__ import annotations

from decimal import Context, Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_audit.errors import InputError
from ledger_audit.exports.tables import Table, decimal_text

WIDE = 10**38 - 1


@given(st.integers(min_value=-WIDE, max_value=WIDE), st.integers(min_value=0, max_value=38))
def test_decimal_text_is_the_exact_value(amount: int, scale: int) -> None:
    text = decimal_text(amount, scale)
    exact = Decimal(amount).scaleb(-scale, context=Context(prec=100))
    assert Decimal(text) == exact
    assert len(text.partition(".")[2]) == scale
    grouped = decimal_text(amount, scale, grouped=True)
    assert grouped.replace(",", "") == text


def test_decimal_text_rejects_what_is_not_minor_units() -> None:
    with pytest.raises(InputError, match="scale"):
        decimal_text(1, None)
    with pytest.raises(InputError, match="whole number"):
        decimal_text(Decimal("1.5"), 2)


def test_money_columns_are_integers_or_whole_decimals() -> None:
    wide = pl.DataFrame(
        {
            "amount": pl.Series([1], dtype=pl.Decimal(38, 0)),
            "scale": pl.Series([2], dtype=pl.Int32()),
        }
    )
    assert Table("wide", wide, ("amount",)).money == ("amount",)
    with pytest.raises(InputError, match="integer minor units"):
        Table("t", wide.with_columns(pl.col("amount").cast(pl.Decimal(38, 2))), ("amount",))
    with pytest.raises(InputError, match="no money column"):
        Table("t", wide, ("missing",))
    with pytest.raises(InputError, match="needs a name"):
        Table(" ", wide)
