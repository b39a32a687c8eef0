"""Assets and amounts: integer minor units tagged with an asset; Decimal only for display.

An asset id is ``CODE/scale`` (``USD/2``, ``BTC/8``, ``JPY/0``); ``USD/2`` and ``USD/4`` are
different assets. Nothing here adds amounts of two assets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal

from ledger_audit.errors import InputError

MAX_SCALE = 38
_ASSET_ID = re.compile(r"^([A-Z][A-Z0-9_]{0,15})/(0|[1-9][0-9]?)$")


@dataclass(frozen=True, slots=True)
class Asset:
    """One asset: its code and the number of decimal places of one minor unit."""

    code: str
    scale: int

    @property
    def asset_id(self) -> str:
        """The canonical id, ``CODE/scale``."""
        return f"{self.code}/{self.scale}"


def parse_asset_id(asset_id: str) -> Asset:
    """Split ``CODE/scale``; a malformed id or a scale above 38 is an input error."""
    match = _ASSET_ID.match(asset_id)
    if match is None or int(match.group(2)) > MAX_SCALE:
        raise InputError(
            locator=f"asset {asset_id!r}",
            reason="an asset id is CODE/scale with an upper-case code and a scale of 0 to 38",
        )
    return Asset(code=match.group(1), scale=int(match.group(2)))


@dataclass(frozen=True, slots=True)
class Money:
    """A signed amount in minor units of one asset."""

    amount: int
    asset_id: str

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if other.asset_id != self.asset_id:
            raise TypeError(f"cannot add {other.asset_id} to {self.asset_id}")
        return Money(self.amount + other.amount, self.asset_id)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.asset_id)

    def __str__(self) -> str:
        return format_amount(self.amount, self.asset_id)


_EXACT = Context(prec=100)
"""Enough digits for any u128 amount at any scale (39 + 38): Decimal's default 28 would round."""


def to_decimal(amount: int, asset_id: str) -> Decimal:
    """The display value of ``amount`` minor units, exact for any amount and scale."""
    return Decimal(amount).scaleb(-parse_asset_id(asset_id).scale, context=_EXACT)


def format_amount(amount: int, asset_id: str) -> str:
    """``12345, 'USD/2'`` -> ``'123.45 USD'``: always the asset's full scale."""
    asset = parse_asset_id(asset_id)
    value = Decimal(amount).scaleb(-asset.scale, context=_EXACT)
    return f"{value:.{asset.scale}f} {asset.code}"


def format_money(amount: int, asset_id: str) -> str:
    """``-123456, 'USD/2'`` -> ``'-1,234.56 USD'``: a reader's amount, thousands grouped.

    Exact at any size (the digits are split, no Decimal context involved); the sign is the
    caller's convention, which the caller states where the amount is shown.
    """
    asset = parse_asset_id(asset_id)
    digits = str(abs(amount)).zfill(asset.scale + 1)
    whole = f"{int(digits[: len(digits) - asset.scale]):,}"
    fraction = digits[len(digits) - asset.scale :]
    sign = "-" if amount < 0 else ""
    number = f"{whole}.{fraction}" if asset.scale else whole
    return f"{sign}{number} {asset.code}"


MINOR_AMOUNT = re.compile(r"(?<![\w.])(-?\d+) ([A-Z][A-Z0-9_]{0,15}/(?:0|[1-9][0-9]?))(?![\w/])")
"""An amount as checks write it into a finding's text: minor units and the asset id."""


def humanise_amounts(text: str) -> str:
    """Every ``-10488 EUR/2`` in ``text`` written for a reader (``-104.88 EUR``).

    A finding's message, expected and actual name amounts in minor units with the asset id
    (exact, and what tools parse); a report shows them this way instead. An id whose scale
    is out of range is left as it is.
    """

    def readable(match: re.Match[str]) -> str:
        try:
            return format_money(int(match.group(1)), match.group(2))
        except InputError:
            return match.group(0)

    return MINOR_AMOUNT.sub(readable, text)
