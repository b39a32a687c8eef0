"""Blnk's transaction hash chain: the exact bytes its chainer hashes, one row or many at once.

Blnk (``model/chain.go``, ``database/chain.go``, migration ``1781162328``) seals every
transaction row into one global chain, in ``id`` order, with

    chain_hash = sha256_hex(prev | transaction_id | source | destination | amount
                            | precise_amount | currency | status | reference | created_at)

joined with ``|`` and nothing escaped. ``prev`` is the previous row's ``chain_hash`` (64 zeros
for the first row). The NUMERIC columns are PostgreSQL's own ``::text`` rendering (``100``,
``12.50``: the stored scale, trailing zeros kept); a NULL column is the empty string;
``created_at`` (a zone-less TIMESTAMP, read as UTC) is Go's ``time.RFC3339Nano`` of the UTC
instant: fraction digits without trailing zeros, no dot when the fraction is zero, and ``Z``.

:func:`chain_hash` is the reference, one row with hashlib; :func:`chain_hashes` builds the same
bytes for a whole frame with polars string expressions and polars-hash. Tests hold them equal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
import polars_hash as plh

GENESIS = "0" * 64
"""The chain's starting head (``ChainGenesisHash``), and ``chain_state.genesis_hash``."""

FIELDS = (
    "transaction_id",
    "source",
    "destination",
    "amount_text",
    "precise_text",
    "currency",
    "status",
    "reference",
    "created_text",
)
"""The hashed columns after ``prev``, in order, as the reader names them (all text)."""


@dataclass(frozen=True, slots=True)
class ChainRow:
    """The sealed fields of one Blnk transaction row, as text (``None`` is SQL NULL).

    ``amount`` and ``precise_amount`` are the NUMERIC values' PostgreSQL ``::text``;
    ``created_at`` is the naive UTC timestamp Blnk stored (microseconds).
    """

    transaction_id: str
    source: str | None
    destination: str | None
    amount: str | None
    precise_amount: str | None
    currency: str | None
    status: str | None
    reference: str | None
    created_at: datetime


def rfc3339_nano(at: datetime) -> str:
    """Go's ``t.UTC().Format(time.RFC3339Nano)`` of a naive-UTC or aware datetime."""
    utc = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def chain_text(prev: str, row: ChainRow) -> str:
    """The exact text Blnk hashes for ``row`` linked after ``prev``."""
    parts = (
        prev,
        row.transaction_id,
        row.source,
        row.destination,
        row.amount,
        row.precise_amount,
        row.currency,
        row.status,
        row.reference,
        rfc3339_nano(row.created_at),
    )
    return "|".join("" if part is None else part for part in parts)


def chain_hash(prev: str, row: ChainRow) -> str:
    """``ComputeChainHash(prev, row)``: the reference, one row at a time."""
    return hashlib.sha256(chain_text(prev, row).encode()).hexdigest()


def rfc3339_nano_expr(created: pl.Expr) -> pl.Expr:
    """:func:`rfc3339_nano` of a naive (UTC) Datetime column, vectorised."""
    micros = created.dt.microsecond().cast(pl.String).str.zfill(6).str.strip_chars_end("0")
    fraction = pl.when(micros.str.len_chars() > 0).then(pl.lit(".") + micros).otherwise(pl.lit(""))
    return created.dt.strftime("%Y-%m-%dT%H:%M:%S") + fraction + pl.lit("Z")


def chain_hashes(rows: pl.DataFrame, prev: str = "prev") -> pl.Series:
    """The chain hash of every row of ``rows`` after its own ``prev`` column, vectorised.

    ``rows`` holds ``prev`` and :data:`FIELDS` as strings (nulls hash as empty strings).
    Each row depends only on its stored ``prev``, so verification needs no walk.
    """
    parts = [pl.col(prev).fill_null(""), *(pl.col(name).fill_null("") for name in FIELDS)]
    texts = rows.select(pl.concat_str(parts, separator="|").alias("_t"))
    return texts.select(plh.col("_t").chash.sha2_256().alias("recomputed")).to_series()
