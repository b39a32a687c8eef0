"""The JET population: one row per transaction of the period, and the legs it ended with.

A transaction belongs to period P when its first version was recorded in P or its latest
version takes effect in P (a post-close entry is recorded after P but effective in it; a
back-dated one the other way round). ``created_ns`` is the first version's recorded time
(the system time of JE-02..08), ``effective_ns`` and the legs are the latest version's.
Who posted and who approved come from metadata keys named in the parameters.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from ledger_audit.analytics.jet.params import JetParams
from ledger_audit.gather import gather_frame
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.sources.spill import spilled
from ledger_audit.spec import Period

TX_KEY = ("ledger_id", "transaction_id")
_PLACE = (*TX_KEY, "version", "chain_seq")
_MAX_SCALE = 18  # 10**scale still fits Int64


@dataclass(frozen=True, slots=True, eq=False)
class Population:
    """The frames every JET rule reads.

    Every frame carries ``tx`` (UInt32), its transaction's row in ``history``: rules group,
    join and rank on it rather than on (ledger_id, transaction_id), in the same order.

    Attributes:
        period: the audited period.
        transactions: one row per transaction in the period (see the module docstring).
        legs: the latest version's entries of those transactions, with ``unit`` (10**scale,
            null when the asset's scale is unknown or above 18), ``created_ns``, ``manual``
            and ``actor``.
        history: every transaction of the ledger in the same shape (JE-12 dormancy, JE-17
            reversals effective after the period); ``actor`` and ``approver`` are read
            for the period's transactions only (null elsewhere).
        history_legs: the legs of ``history`` (``in_period`` marks the population's).
        versions: every version's (ledger_id, transaction_id, version, chain_seq).
        closed_through: (ledger_id, closed_through_ns) the ledgers record, if any.
        has_actor: some transaction names who posted it; has_approver: who approved it.
        place: each history row's (ledger_id, transaction_id, version, chain_seq), row
            ``tx`` for transaction ``tx``: a flagged row finds its keys by position.
        legs_in_order: ``legs`` run in ``tx`` order with ``entry_index`` rising inside each
            transaction (as every loader gives them): a rule that flags at most one row per
            leg, in leg order, then has each transaction's first flag at its first row.
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
    place: pl.DataFrame
    legs_in_order: bool


def metadata_values(meta: pl.Series, key: str) -> pl.Series:
    """The text value of top-level metadata ``key`` in each row (null when absent).

    A flat ASCII object without escapes is read where the key first occurs: a literal
    search, then a regular expression anchored there (half the cost of one unanchored
    search). Only the rows that name the key and were not read so (nesting, escapes,
    non-ASCII text, a non-text value, the key's text first seen as a value) go through the
    JSON parser, which costs several times more (a ``when`` would run it on every row).
    """
    meta = meta.rename("metadata")
    frame = meta.to_frame()
    column = pl.col("metadata")
    quoted = json.dumps(key, ensure_ascii=False)
    # a row may also spell the key with escapes, which only the parser reads
    named = frame.select(
        column.str.contains(quoted, literal=True) | column.str.contains("\\", literal=True)
    ).to_series()
    if not named.any():
        return pl.repeat(None, meta.len(), dtype=pl.String(), eager=True).alias(key)
    simple = (
        (column.str.count_matches("{", literal=True) == 1)
        & ~column.str.contains("\\", literal=True)
        # find gives a byte offset and slice takes characters: equal only in ASCII
        & (column.str.len_bytes() == column.str.len_chars())
    )
    rest = column.str.slice(column.str.find(quoted, literal=True) + len(quoted))
    quick = frame.select(
        pl.when(simple).then(rest.str.extract(r'^[ \t\n\r]*:[ \t\n\r]*"([^"\\]*)"', 1))
    ).to_series()
    slow = (named & quick.is_null()).arg_true()
    if slow.len():
        quick = quick.scatter(slow, meta.gather(slow).str.json_path_match(f"$.{key}"))
    return quick.rename(key)


def _who(read: pl.DataFrame, params: JetParams) -> tuple[pl.Series, pl.Series]:
    """``actor`` (first version's metadata) and ``approver`` (latest version's) per row.

    Read for the period's transactions only (the rules that use them look at no other),
    the two at once on two threads: each is one pass of text matching that polars runs on
    one core.
    """
    rows = read.get_column("in_period").arg_true()
    whole = rows.len() == read.height

    def values(column: str, key: str) -> pl.Series:
        meta = read.get_column(column)
        found = metadata_values(meta if whole else meta.gather(rows), key)
        if whole:
            return found.alias(key)
        blank = pl.repeat(None, read.height, dtype=pl.String(), eager=True).alias(key)
        return blank.scatter(rows, found)

    with ThreadPoolExecutor(max_workers=2) as pool:
        actor = pool.submit(values, "first_metadata", params.actor_field)
        approver = pool.submit(values, "metadata", params.approver_field)
        return actor.result().alias("actor"), approver.result().alias("approver")


def _boundaries(columns: tuple[str, ...]) -> tuple[pl.Expr, pl.Expr]:
    """Whether each row opens / closes a run of equal ``columns`` (rows in key order)."""
    same = [pl.col(c) for c in columns]
    opens = pl.any_horizontal([(c != c.shift(1)).fill_null(value=True) for c in same])
    closes = pl.any_horizontal([(c != c.shift(-1)).fill_null(value=True) for c in same])
    return opens, closes


def run_number(*columns: str) -> pl.Expr:
    """Each row's run of equal ``columns``, numbered from 0 (UInt32; rows in key order)."""
    opens, _ = _boundaries(columns)
    return (opens.cum_sum() - 1).cast(pl.UInt32())


def _entry_codes(entries: pl.DataFrame, keys: pl.DataFrame) -> pl.Series:
    """Each entry's transaction code ``tx``: the row of ``keys`` (the history) it names.

    Entries are in key order, so a transaction's entries are adjacent: the runs are
    numbered by comparing neighbours. When the runs name exactly the history's
    transactions in the same order (every transaction has entries: the usual case), run k
    is transaction k; otherwise the runs' keys are joined to the history once (one row per
    run, not per entry), which also holds when the order is not the key order. An entry of
    no known transaction gets null.
    """
    opens, _ = _boundaries(TX_KEY)
    runs = entries.select(run_number(*TX_KEY).alias("tx")).to_series()
    heads = entries.lazy().filter(opens).select(TX_KEY).collect()
    if heads.equals(keys.select(TX_KEY)):
        return runs
    codes = heads.join(
        keys.select(*TX_KEY, "tx"), on=list(TX_KEY), how="left", maintain_order="left"
    ).get_column("tx")
    return codes.gather(runs)


_LEG_FIELDS = ("created_ns", "manual", "actor", "in_period")
"""What each leg carries from its transaction."""


def _legs(frames: LedgerFrames, history: pl.DataFrame) -> pl.DataFrame:
    """The entries of each transaction's latest version, with ``tx`` and its fields.

    Found by position instead of a join on the text keys: ``tx`` indexes the history, so a
    leg's transaction fields are gathered, and a leg is kept when its version is the one
    the history holds for its transaction.
    """
    entries = frames.entries
    tx = _entry_codes(entries, history)
    latest = history.get_column("version").gather(tx)
    keep = (entries.get_column("version") == latest).fill_null(value=False)
    kept = entries.with_columns(tx).filter(keep)
    if kept.get_column("tx").is_sorted():  # entries in key order: always, from a loader
        # polars then groups and joins on tx by runs instead of hashing (several times faster)
        kept = kept.with_columns(pl.col("tx").set_sorted())
    fields = gather_frame(history.select(_LEG_FIELDS), kept.get_column("tx"))
    # a handful of assets: looked up by value rather than joined
    units = {
        asset: 10**scale if scale is not None and 0 <= scale <= _MAX_SCALE else None
        for asset, scale in frames.assets.select("asset_id", "scale").iter_rows()
    }
    unit = pl.col("asset_id").replace_strict(units, default=None, return_dtype=pl.Int64())
    return pl.concat([kept, fields], how="horizontal").with_columns(unit.alias("unit"))


def build_population(frames: LedgerFrames, period: Period, params: JetParams) -> Population:
    """The period's transactions and legs (one pass each; collected once for the counts).

    Every frame carries ``tx``, the transaction's row in ``history`` (which is in key
    order): the rules group and join on it instead of the two text keys.
    """
    versions = frames.transactions.lazy()
    # LedgerFrames rows are in key order, so a transaction's versions are adjacent and
    # ascending: its first and last rows are found by comparing neighbours (no hashing).
    opens, closes = _boundaries(TX_KEY)
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
    first = (
        pl.concat([heads, tails], how="horizontal")
        .with_columns(
            (
                pl.col("first_kind").is_in(params.manual_kinds)
                | pl.col("kind").is_in(params.manual_kinds)
            ).alias("manual")
        )
        .with_row_index("tx")
    )
    in_period = pl.col("created_ns").is_between(period.start_ns, period.end_ns - 1) | pl.col(
        "effective_ns"
    ).is_between(period.start_ns, period.end_ns - 1)
    read = first.with_columns(in_period.alias("in_period")).collect()
    history = read.drop("first_metadata", "metadata").with_columns(*_who(read, params))
    # inside a close's spill area both leave the heap (0.7 GiB at 1M): the rules' plans all
    # read them while their own working frames are made, which set the pack's peak
    history = spilled(history)
    history_legs = spilled(_legs(frames, history))
    # the period's rows are filtered where a rule reads them, not held as second copies
    # (at 1M: 0.7 GiB, most of the history, for a filter of the few columns a rule reads)
    transactions = history.lazy().filter("in_period")
    legs = history_legs.lazy().filter("in_period")
    closed = frames.ledgers.lazy().select(
        "ledger_id",
        pl.col("metadata")
        .str.json_path_match("$.closed_through_ns")
        .cast(pl.Int64(), strict=False)
        .alias("closed_through_ns"),
    )
    return Population(
        period=period,
        transactions=transactions,
        legs=legs,
        history=history.lazy(),
        history_legs=history_legs.lazy(),
        versions=versions.select(
            run_number(*TX_KEY).alias("tx"),
            *TX_KEY,
            "version",
            "chain_seq",
            "recorded_ns",
        ),
        closed_through=closed.filter(pl.col("closed_through_ns").is_not_null()),
        size=int(history.get_column("in_period").sum()),
        has_actor=_named(history, "actor"),
        has_approver=_named(history, "approver"),
        place=history.select(_PLACE),
        legs_in_order=_in_leg_order(legs),
    )


def _named(history: pl.DataFrame, column: str) -> bool:
    """Some transaction of the period names a value in ``column``."""
    named = pl.col(column).is_not_null() & pl.col("in_period")
    return history.select(named.any()).item() is True


def _in_leg_order(legs: pl.LazyFrame) -> bool:
    """``tx`` never falls and ``entry_index`` rises inside each transaction."""
    tx, index = pl.col("tx"), pl.col("entry_index")
    rising = (tx > tx.shift(1)) | ((tx == tx.shift(1)) & (index > index.shift(1)))
    return legs.select(rising.fill_null(value=True).all()).collect().item() is True


def physical(expr: pl.Expr) -> pl.Expr:
    """A text column's categorical code (UInt32, one per value).

    The codes depend on what the process saw first: use them to tell rows apart, never to
    order them.
    """
    return expr.cast(pl.Categorical()).to_physical()


def code(ledger: pl.Expr, value: pl.Expr) -> pl.Expr:
    """One UInt64 per (ledger, text value): equal iff both are, for grouping and joining."""
    return physical(ledger).cast(pl.UInt64()) * (2**32) + physical(value).cast(pl.UInt64())


def stable_sort(rows: pl.LazyFrame, keys: list[str]) -> pl.DataFrame:
    """``rows`` sorted by ``keys`` (ties keep their order), collected in memory.

    One stable sort per key, the last key first, gives the same order as one sort by all
    keys; polars 2.1 does it about three times faster, and faster in memory than streaming.
    """
    frame = rows.collect(engine="in-memory")
    for key in reversed(keys):
        frame = frame.sort(key, maintain_order=True)
    return frame


def distinct_in_tx(rows: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """``rows`` (in ``tx`` order) without repeats of ``keys`` (which include ``tx``).

    A transaction with one row cannot repeat, so only the others are deduplicated (most
    transactions give one row: hashing them all would cost more than the rest of a rule).
    The row order is not kept.
    """
    tx = pl.col("tx")
    lone = (tx != tx.shift(1)).fill_null(value=True) & (tx != tx.shift(-1)).fill_null(value=True)
    marked = rows.with_columns(lone.alias("_lone"))
    return pl.concat(
        [
            marked.filter("_lone"),
            marked.filter(~pl.col("_lone")).unique(keys, keep="first", maintain_order=False),
        ]
    ).drop("_lone")


def locate(pop: Population, rows: pl.LazyFrame) -> pl.LazyFrame:
    """``rows`` (with ``tx``) with their transaction's keys, latest version and chain_seq.

    Gathered by position (``tx`` is the row of ``place``), not joined.
    """
    stale = [c for c in _PLACE if c in rows.collect_schema().names()]
    tx = pl.col("tx")
    return rows.drop(stale).with_columns(
        pl.lit(pop.place.get_column(c)).gather(tx).alias(c) for c in _PLACE
    )
