"""A transaction's payload as one comparable text: its legs, sorted, and its inverse.

Two transactions have the same payload when their entry multisets (account, asset,
direction, amount) are equal; a reversal's inverse payload swaps every direction. The
text is built column-wise (one sort, one group-by), never per row in Python.

Building the text for every version is most of what the idempotency and reversal analytics
cost (about 11 CPU seconds at 1.4M versions), and almost every payload is unique. So the
analytics first compare a cheap **key** per version (:func:`payload_keys`: the leg count and
two sums of 64-bit leg hashes, the same for any order of the legs), and build the text only
for the versions whose key another version shares (:func:`candidates`, :func:`payloads`).
Equal payloads always have equal keys, so no match is missed; two different payloads that
share a key are told apart by their text, so a hash collision costs time, never a result.
"""

from __future__ import annotations

import polars as pl

KEY = ("ledger_id", "transaction_id", "version")
PAYLOAD_KEY = ("legs", "key_lo", "key_hi")
"""A version's payload key: its leg count and the sums of the low and high 32 bits of its
legs' hashes (a multiset hash: no sort, and no sum can overflow 64 bits)."""
INVERSE_KEY = ("legs", "inverse_lo", "inverse_hi")
"""The same key of the inverse payload (every direction swapped)."""

FULL_BITS = 64
KEY_BITS = FULL_BITS
"""Bits of each leg hash the keys keep. Only tests lower it, to force collisions and prove
that the text, not the key, decides every match (0 bits: all versions with as many legs
collide, and the analytics compare every payload as text)."""

_SWAPPED = pl.when(pl.col("direction") == "debit").then(pl.lit("credit")).otherwise(pl.lit("debit"))


def _leg(direction: pl.Expr) -> pl.Expr:
    return pl.concat_str(
        pl.col("account_id"),
        pl.col("asset_id"),
        direction,
        pl.col("amount").cast(pl.String),
        separator="|",
    )


def payloads(entries: pl.LazyFrame) -> pl.LazyFrame:
    """Per (ledger, transaction, version): ``payload`` and ``inverse_payload`` texts."""
    legs = entries.select(
        *KEY, _leg(pl.col("direction")).alias("leg"), _leg(_SWAPPED).alias("inverse_leg")
    )
    return legs.group_by(*KEY).agg(
        pl.col("leg").sort().str.join(";").alias("payload"),
        pl.col("inverse_leg").sort().str.join(";").alias("inverse_payload"),
    )


def payloads_of(entries: pl.LazyFrame, versions: pl.LazyFrame) -> pl.LazyFrame:
    """:func:`payloads` of the ``versions`` (rows with the KEY columns) only."""
    return payloads(entries.join(versions.select(KEY).unique(), on=list(KEY), how="semi"))


def _hash(direction: pl.Expr) -> pl.Expr:
    hashed = pl.struct(
        pl.col("account_id"), pl.col("asset_id"), direction.alias("d"), pl.col("amount")
    ).hash()
    if KEY_BITS >= FULL_BITS:
        return hashed
    return hashed & pl.lit((1 << KEY_BITS) - 1, dtype=pl.UInt64())


def _halves(hashed: pl.Expr, name: str) -> list[pl.Expr]:
    low = pl.lit(0xFFFF_FFFF, dtype=pl.UInt64())
    return [
        (hashed & low).sum().alias(f"{name}_lo"),
        (hashed // pl.lit(1 << 32, dtype=pl.UInt64())).sum().alias(f"{name}_hi"),
    ]


def payload_keys(entries: pl.LazyFrame) -> pl.LazyFrame:
    """Per (ledger, transaction, version): PAYLOAD_KEY and INVERSE_KEY columns.

    A version without entries has no row (its payload is empty, and matches nothing).
    """
    hashed = entries.select(
        *KEY, _hash(pl.col("direction")).alias("h"), _hash(_SWAPPED).alias("hi")
    )
    return hashed.group_by(*KEY).agg(
        pl.len().cast(pl.UInt32()).alias("legs"),
        *_halves(pl.col("h"), "key"),
        *_halves(pl.col("hi"), "inverse"),
    )


def candidates(versions: pl.LazyFrame, within: tuple[str, ...]) -> pl.LazyFrame:
    """The ``versions`` (carrying PAYLOAD_KEY) whose key another row shares, per ``within``.

    Only these can have a payload equal to another row's.
    """
    return versions.filter(pl.len().over(*within, *PAYLOAD_KEY) > 1)


def candidates_near(
    versions: pl.LazyFrame, within: tuple[str, ...], time: str, window: int
) -> pl.LazyFrame:
    """:func:`candidates` that also have a key-sharing row at most ``window`` from ``time``.

    Where the rule only pairs rows close in time (a double submit follows its original
    within the window), a row whose key-sharing neighbours are all farther away cannot be
    in a pair, and the rows between any pair within the window are themselves near.
    """
    group = [*within, *PAYLOAD_KEY]
    at = pl.col(time)
    return (
        candidates(versions, within)  # few rows: sorting them is cheap
        .sort(*group, time)
        .with_columns(
            (at - at.shift(1).over(group)).alias("_gap_before"),
            (at.shift(-1).over(group) - at).alias("_gap_after"),
        )
        .filter((pl.col("_gap_before") <= window) | (pl.col("_gap_after") <= window))
        .drop("_gap_before", "_gap_after")
    )
