"""The JET population: one row per transaction of the period, and the legs it ended with.

A transaction belongs to period P when its first version was recorded in P or its latest
version takes effect in P (a post-close entry is recorded after P but effective in it; a
back-dated one the other way round). ``created_ns`` is the first version's recorded time
(the system time of JE-02..08), ``effective_ns`` and the legs are the latest version's.
Who posted and who approved come from metadata keys named in the parameters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import polars as pl

from ledger_audit.analytics.jet.params import JetParams
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period

TX_KEY = ("ledger_id", "transaction_id")
_MAX_SCALE = 18  # 10**scale still fits Int64


@dataclass(frozen=True, slots=True, eq=False)
class Population:
    """The frames every JET rule reads.

    Attributes:
        period: the audited period.
        transactions: one row per transaction in the period (see the module docstring).
        legs: the latest version's entries of those transactions, with ``unit`` (10**scale,
            null when the asset's scale is unknown or above 18), ``created_ns``,
            ``effective_ns``, ``kind``, ``manual`` and ``actor``.
        history: every transaction of the ledger in the same shape (JE-12 dormancy, JE-17
            reversals effective after the period).
        history_legs: the legs of ``history`` (``in_period`` marks the population's).
        versions: every version's (ledger_id, transaction_id, version, chain_seq).
        closed_through: (ledger_id, closed_through_ns) the ledgers record, if any.
        has_actor: some transaction names who posted it; has_approver: who approved it.
    """

    period: Period
    transactions: pl.LazyFrame
    legs: pl.LazyFrame
    history: pl.LazyFrame
    history_legs: pl.LazyFrame
    versions: pl.LazyFrame
    closed_through: pl.LazyFrame
    size: int
    has_actor: bool
    has_approver: bool


def metadata_values(meta: pl.Series, key: str) -> pl.Series:
    """The text value of top-level metadata ``key`` in each row (null when absent).

    A flat object without escapes is read with one regular expression; only the rows it
    cannot read and that name the key (nesting, escapes, a non-text value) go through the
    JSON parser, which costs several times more (a ``when`` would run it on every row).
    """
    meta = meta.rename("metadata")
    frame = meta.to_frame()
    column = pl.col("metadata")
    named = frame.select(column.str.contains(json.dumps(key), literal=True)).to_series()
    if not named.any():
        return pl.Series(key, [None] * meta.len(), dtype=pl.String())
    simple = (column.str.count_matches("{", literal=True) == 1) & ~column.str.contains(
        "\\", literal=True
    )
    quoted = re.escape(json.dumps(key))
    quick = frame.select(
        pl.when(simple).then(column.str.extract(quoted + r'\s*:\s*"([^"\\]*)"', 1))
    ).to_series()
    slow = (named & quick.is_null()).arg_true()
    if slow.len():
        quick = quick.scatter(slow, meta.gather(slow).str.json_path_match(f"$.{key}"))
    return quick.rename(key)


def build_population(frames: LedgerFrames, period: Period, params: JetParams) -> Population:
    """The period's transactions and legs (one pass each; collected once for the counts)."""
    versions = frames.transactions.lazy()
    # LedgerFrames rows are in key order, so a transaction's versions are adjacent and
    # ascending: its first and last rows are found by comparing neighbours (no hashing).
    same = [pl.col(c) for c in TX_KEY]
    opens = pl.any_horizontal([(c != c.shift(1)).fill_null(value=True) for c in same])
    closes = pl.any_horizontal([(c != c.shift(-1)).fill_null(value=True) for c in same])
    heads = versions.filter(opens).select(
        *TX_KEY,
        pl.col("recorded_ns").alias("created_ns"),
        pl.col("kind").alias("first_kind"),
        pl.col("metadata").alias("first_metadata"),
    )
    tails = versions.filter(closes).select(
        "version",
        "kind",
        "status",
        "effective_ns",
        pl.col("recorded_ns").alias("posted_ns"),
        "chain_seq",
        "description",
        "reverses_transaction_id",
        "metadata",
    )
    first = pl.concat([heads, tails], how="horizontal").with_columns(
        (
            pl.col("first_kind").is_in(params.manual_kinds)
            | pl.col("kind").is_in(params.manual_kinds)
        ).alias("manual")
    )
    in_period = pl.col("created_ns").is_between(period.start_ns, period.end_ns - 1) | pl.col(
        "effective_ns"
    ).is_between(period.start_ns, period.end_ns - 1)
    read = first.with_columns(in_period.alias("in_period")).collect()
    history = (
        read.drop("first_metadata", "metadata")
        .with_columns(
            metadata_values(read.get_column("first_metadata"), params.actor_field).alias("actor"),
            metadata_values(read.get_column("metadata"), params.approver_field).alias("approver"),
        )
        .lazy()
    )
    transactions = history.filter("in_period").collect()
    scales = frames.assets.lazy().select(
        "asset_id",
        pl.when(pl.col("scale") <= _MAX_SCALE)
        .then(pl.lit(10, dtype=pl.Int64()).pow(pl.col("scale").cast(pl.Int64())))
        .alias("unit"),
    )
    history_legs = (
        frames.entries.lazy()
        .join(
            history.select(
                *TX_KEY,
                "version",
                "created_ns",
                "effective_ns",
                "kind",
                "manual",
                "actor",
                "in_period",
            ),
            on=[*TX_KEY, "version"],
            how="inner",
        )
        .join(scales, on="asset_id", how="left")
        .collect()
        .lazy()
    )
    legs = history_legs.filter("in_period").collect().lazy()
    closed = frames.ledgers.lazy().select(
        "ledger_id",
        pl.col("metadata")
        .str.json_path_match("$.closed_through_ns")
        .cast(pl.Int64(), strict=False)
        .alias("closed_through_ns"),
    )
    return Population(
        period=period,
        transactions=transactions.lazy(),
        legs=legs,
        history=history,
        history_legs=history_legs,
        versions=versions.select(*TX_KEY, "version", "chain_seq", "recorded_ns"),
        closed_through=closed.filter(pl.col("closed_through_ns").is_not_null()),
        size=transactions.height,
        has_actor=transactions.select(pl.col("actor").is_not_null().any()).item() is True,
        has_approver=transactions.select(pl.col("approver").is_not_null().any()).item() is True,
    )


def locate(pop: Population, rows: pl.LazyFrame) -> pl.LazyFrame:
    """``rows`` with their transaction's latest ``version`` and ``chain_seq``."""
    stale = [c for c in ("version", "chain_seq") if c in rows.collect_schema().names()]
    place = pop.transactions.select(*TX_KEY, "version", "chain_seq")
    return rows.drop(stale).join(place, on=list(TX_KEY), how="left")
