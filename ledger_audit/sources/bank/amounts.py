"""Currency exponents and decimal text to integer minor units, never through a float.

Bank files write amounts as decimal text (``1234.56``, ``1234,56``, ``380115,``) or, in
BAI2, as implied-decimal integers. Each currency's ISO 4217 exponent turns that text into
integer minor units. Extra fraction digits that are zeros are accepted (``8.850`` EUR is
885); a non-zero digit beyond the exponent cannot be represented and is an error.
"""

from __future__ import annotations

import re

_ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
_THREE_DECIMAL = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])
_FOUR_DECIMAL = frozenset(("CLF", "UYW"))
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DECIMAL = re.compile(r"^([+-]?)([0-9]*)(?:[.,]([0-9]*))?$")
_MAX_DIGITS = 18
"""More integer digits than this cannot be held in an Int64 amount column."""


class AmountError(ValueError):
    """Decimal text that cannot become minor units; the message says why."""


def currency_exponent(code: str) -> int:
    """The ISO 4217 minor-unit exponent of ``code`` (2 for a code not listed as different)."""
    if not _CURRENCY.match(code):
        raise AmountError(f"currency {code!r} is not a three-letter ISO 4217 code")
    if code in _ZERO_DECIMAL:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    if code in _FOUR_DECIMAL:
        return 4
    return 2


def asset_for(code: str) -> str:
    """The asset id ``CODE/exponent`` of an ISO currency code (case-insensitive)."""
    upper = code.strip().upper()
    return f"{upper}/{currency_exponent(upper)}"


def to_minor(text: str, exponent: int) -> int:
    """Decimal text (``.`` or ``,`` as separator, optional sign) as integer minor units.

    ``380115,`` is 38011500 at exponent 2; ``8.850`` is 885; ``1.234`` at exponent 2 and
    text with no digits, two separators or letters raise AmountError.
    """
    match = _DECIMAL.match(text.strip())
    if match is None:
        raise AmountError(f"amount {text!r} is not a decimal number")
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    if not whole and not fraction:
        raise AmountError(f"amount {text!r} has no digits")
    kept, extra = fraction[:exponent], fraction[exponent:]
    if extra.strip("0"):
        raise AmountError(
            f"amount {text!r} has {len(fraction.rstrip('0'))} decimal places; "
            f"the currency has {exponent}"
        )
    digits = (whole + kept.ljust(exponent, "0")).lstrip("0") or "0"
    if len(digits) > _MAX_DIGITS:
        raise AmountError(f"amount {text!r} is too large for 64-bit minor units")
    value = int(digits)
    return -value if sign == "-" else value


def implied_minor(text: str) -> int:
    """A BAI2 amount: optional sign and digits already in minor units (``+000123`` is 123)."""
    stripped = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]+", stripped):
        raise AmountError(f"amount {text!r} is not a signed whole number of minor units")
    digits = stripped.lstrip("+-").lstrip("0") or "0"
    if len(digits) > _MAX_DIGITS:
        raise AmountError(f"amount {text!r} is too large for 64-bit minor units")
    return int(stripped)
