"""Hold each repeated text of a loaded ledger once, so the frames the close keeps are smaller.

A polars text value longer than 12 bytes is a 16-byte view pointing at bytes in a buffer,
and any number of views may point at the same bytes. A reader fills those buffers value by
value, so the same account id is stored once per entry, a transaction id once per version
and once per leg, a metadata hash once per row, a chain hash again as its successor's link.
Over the 1M-transaction demo that repetition was 0.36 GiB of the 1.41 GiB of frames that
every stage of the close starts from (``docs/scale.md``).

``share_repeated_text`` rebuilds the columns that repeat by nature so that each distinct
value's bytes are stored once and shared by every row and every table that holds it. The
values, their order and their dtypes do not change: each rebuilt column is compared with the
column it replaces, and kept only when equal (a 64-bit hash collision, however unlikely,
costs the saving, never a value).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from ledger_audit.gather import gather

INLINE_BYTES = 12
"""A text value up to this long is stored inside its view: there is nothing to share."""

DOMAINS: tuple[tuple[tuple[str, str], ...], ...] = (
    (
        ("transactions", "transaction_id"),
        ("entries", "transaction_id"),
        ("transactions", "pending_transaction_id"),
        ("transactions", "reverses_transaction_id"),
    ),
    (("accounts", "account_id"), ("entries", "account_id"), ("balances", "account_id")),
    (
        ("ledgers", "ledger_id"),
        ("accounts", "ledger_id"),
        ("transactions", "ledger_id"),
        ("entries", "ledger_id"),
        ("balances", "ledger_id"),
    ),
    (
        ("assets", "asset_id"),
        ("accounts", "asset_id"),
        ("entries", "asset_id"),
        ("balances", "asset_id"),
    ),
    (("transactions", "kind"),),
    (("transactions", "status"),),
    (("entries", "direction"),),
    (("transactions", "description"),),
    (("transactions", "metadata"),),
    (("transactions", "meta_hash"),),
    (("transactions", "chain_hash"), ("transactions", "chain_prev_hash")),
)
"""Columns whose values repeat, each group sharing one store (an id is the same text in
every table that names it; a row's ``chain_prev_hash`` is its predecessor's
``chain_hash``). Content hashes and idempotency keys are left out: each is unique by
design, so sharing would cost a pass and save nothing."""

_SEED = 0x1ACE
"""Any fixed seed: the hashes only group equal values, and the result is checked."""


def share_repeated_text(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """``tables``, each column of ``DOMAINS`` storing every distinct value once.

    The frames are replaced in ``tables`` itself, one domain at a time, so a column that was
    rebuilt is freed before the next domain is (unless the caller holds its frame too).
    """
    for domain in DOMAINS:
        present = [(t, c) for t, c in domain if t in tables and c in tables[t].columns]
        shared = _shared([tables[t][c] for t, c in present])
        for (table, column), series in zip(present, shared, strict=True):
            if series is not tables[table][column]:
                tables[table] = tables[table].with_columns(series)
    return tables


def _hash(values: pl.Series) -> pl.Series:
    return values.hash(_SEED)


def _shared(
    columns: Sequence[pl.Series], *, hash_values: Callable[[pl.Series], pl.Series] = _hash
) -> Sequence[pl.Series]:
    """``columns`` with one copy of each distinct value, or the columns themselves.

    The columns come back as they were when sharing would save nothing (no value longer than
    a view holds) or when a rebuilt column is not equal to the one read. Equal neighbours
    are collapsed first (a frame in key order holds a transaction's id in a run of rows, a
    null reference in long runs), so only one value per run is hashed.
    """
    texts = [c for c in columns if c.dtype == pl.String()]
    if len(texts) != len(columns) or not _has_long_values(texts):
        return columns
    runs = [_runs(c) for c in columns]
    values = pl.concat([c.filter(starts) for c, (starts, _) in zip(columns, runs, strict=True)])
    keys = hash_values(values)
    first = keys.arg_unique()
    # The distinct values copied into fresh, compact buffers: a copy through Arrow's plain
    # layout (offsets and bytes) keeps none of the readers' buffers alive.
    distinct = pl.Series("v", gather(values, first).to_arrow(compat_level=pl.CompatLevel.oldest()))
    lookup = pl.DataFrame({"k": keys.gather(first), "at": pl.int_range(first.len(), eager=True)})
    at = keys.to_frame("k").join(lookup, on="k", how="left", maintain_order="left").get_column("at")
    out = []
    offset = 0
    for column, (starts, run) in zip(columns, runs, strict=True):
        count = int(starts.sum())
        rebuilt = distinct.gather(at.slice(offset, count).gather(run)).rename(column.name)
        if not rebuilt.equals(column, null_equal=True):
            return columns  # two values with one hash: keep what was read
        out.append(rebuilt)
        offset += count
    return out


def _runs(column: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Where each run of equal neighbours starts, and each row's run number."""
    starts = column.ne_missing(column.shift(1))
    if not starts.is_empty():
        starts = starts.scatter(0, values=True)  # the first row starts a run, even a null one
    return starts, (starts.cast(pl.UInt32()).cum_sum() - 1)


def _has_long_values(columns: Sequence[pl.Series]) -> bool:
    longest = [c.str.len_bytes().max() for c in columns if not c.is_empty()]
    return any(isinstance(n, int) and n > INLINE_BYTES for n in longest)
