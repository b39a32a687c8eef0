"""TigerBeetle's field widths and flag bits, and the polars expressions that check them.

Flag bits are those of ``AccountFlags`` and ``TransferFlags`` (packed u16 structs in
``src/tigerbeetle.zig``, in declaration order from bit 0). u128 values arrive as decimal text
(JSON strings, or numbers kept as text); they are compared as text so nothing is lost.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.errors import InputError, excerpt
from ledger_audit.sources.adapters.tigerbeetle.export import LINE, NAME

ACCOUNT_LINKED = 1
DEBITS_MUST_NOT_EXCEED_CREDITS = 2
CREDITS_MUST_NOT_EXCEED_DEBITS = 4
ACCOUNT_HISTORY = 8
ACCOUNT_IMPORTED = 16
ACCOUNT_CLOSED = 32
ACCOUNT_FLAG_NAMES = (
    "linked",
    "debits_must_not_exceed_credits",
    "credits_must_not_exceed_debits",
    "history",
    "imported",
    "closed",
)

LINKED = 1
PENDING = 2
POST_PENDING = 4
VOID_PENDING = 8
BALANCING_DEBIT = 16
BALANCING_CREDIT = 32
CLOSING_DEBIT = 64
CLOSING_CREDIT = 128
IMPORTED = 256
TRANSFER_FLAG_NAMES = (
    "linked",
    "pending",
    "post_pending_transfer",
    "void_pending_transfer",
    "balancing_debit",
    "balancing_credit",
    "closing_debit",
    "closing_credit",
    "imported",
)

U128_MAX = str(2**128 - 1)
"""Also ``AMOUNT_MAX``: a post of this amount posts the whole pending amount."""
U64_MAX = str(2**64 - 1)
U32_MAX = str(2**32 - 1)
U16_MAX = 2**16 - 1
MAX_DIGITS = 38
"""Decimal(38, 0), the canonical wide amount: a u128 of 39 digits does not fit it."""

_DIGITS = r"^[0-9]+$"


def bits(column: str) -> pl.Expr:
    """A validated flags column as Int64 (call after ``require_known_flags``)."""
    return pl.col(column).cast(pl.Int64, strict=False)


def has(column: str, bit: int) -> pl.Expr:
    """True where flag ``bit`` is set."""
    return (bits(column) & bit) != 0


DIGITS = "__digits_"
"""Prefix of the columns ``with_digits`` adds: each value's digits, computed once."""


def digits_of(column: str) -> pl.Expr:
    """The column's decimal digits without leading zeros (null where not digits)."""
    text = pl.col(column).str.strip_chars()
    stripped = text.str.strip_chars_start("0")
    canonical = pl.when(stripped == "").then(pl.lit("0")).otherwise(stripped)
    return pl.when(text.str.contains(_DIGITS)).then(canonical)


def with_digits(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Add each column's digits (``DIGITS`` + name) in one pass, for ``unsigned``."""
    return frame.with_columns(digits_of(c).alias(f"{DIGITS}{c}") for c in columns)


def unsigned(column: str) -> pl.Expr:
    """The digits of ``column``, as ``with_digits`` computed them."""
    return pl.col(f"{DIGITS}{column}")


def at_most(digits: pl.Expr, limit: str) -> pl.Expr:
    """``digits`` (canonical decimal text) <= ``limit``, compared exactly as text."""
    length = digits.str.len_bytes()
    return (length < len(limit)) | ((length == len(limit)) & (digits <= pl.lit(limit)))


def width_problem(column: str, limit: str, width: str) -> pl.Expr:
    """A reason string where ``column`` is not a decimal integer in 0..``limit``, else null."""
    digits = unsigned(column)
    return (
        pl.when(pl.col(column).is_null())
        .then(pl.lit("null_not_allowed"))
        .when(digits.is_null())
        .then(pl.lit("not_an_integer"))
        .when(~at_most(digits, limit))
        .then(pl.lit(f"beyond_{width}"))
    )


def require_known_flags(frame: pl.DataFrame, path: str, names: tuple[str, ...], what: str) -> None:
    """Raise InputError at the first record whose ``flags`` is not a u16 of known bits."""
    known = (1 << len(names)) - 1
    value = pl.col("flags").str.strip_chars().cast(pl.Int64, strict=False)
    present = pl.col("flags").is_not_null()  # a missing value rejects the record instead
    bad = frame.filter(
        present & (value.is_null() | (value < 0) | ((value & ~known) != 0) | (value > U16_MAX))
    )
    if bad.height == 0:
        return
    row = bad.row(0, named=True)
    listed = ", ".join(f"{1 << i} {name}" for i, name in enumerate(names))
    raise InputError(
        f"--adapter {NAME}: {path}:{row[LINE]}",
        f"{what} flags {excerpt(str(row['flags']))} set an unknown bit or are not an "
        f"integer (expected a sum of: {listed})",
    )
