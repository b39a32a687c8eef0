"""Stage 6: what no stage matched, classified and aged.

Every open ledger item and open record gets exactly one class, the first that applies:

Records (side ``external``):
    ``unmapped_account``  on a bank account the rules map nowhere (never matched);
    ``not_booked``        status other than ``BOOK`` (camt ``PDNG``/``INFO``; never matched);
    ``reversal``          flagged as a reversal by the file, or one of two open records on
                          the same account that offset (opposite amounts) and share a
                          reference, within the widest window;
    ``duplicate``         identical (SIGNATURE: account, asset, amount, dates, references,
                          text...) to a matched record, or to an open one with a smaller id;
    ``amount_mismatch``   shares a strong reference with an open item of another amount;
    ``missing_internal``  otherwise: the bank moved money the ledger does not show.
Ledger items (side ``internal``):
    ``reversal``          an open item and an open item of its reversing (or reversed)
                          transaction offset each other on the same account;
    ``amount_mismatch``   as above, from the ledger side;
    ``in_transit``        the bank line may still come: the item's day plus its rail's
                          ``days_after`` is later than the last booking day of the account's
                          records (the as-of date when the account has none);
    ``missing_external``  otherwise: the ledger shows money the bank did not move.

``counterpart`` names the other side of a pair (the item or record sharing the reference,
the reversed or reversing one, the original of a duplicate) and ``difference`` is the
counterpart's amount minus this one's for an amount mismatch.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from ledger_audit.findings import RuleId
from ledger_audit.reconcile.aging import bucket
from ledger_audit.reconcile.normalise import (
    SIGNATURE,
    STRONG_EXTERNAL,
    STRONG_INTERNAL,
    references,
)
from ledger_audit.sources.match_rules import MatchRules

CLASSES = (
    "missing_internal",
    "missing_external",
    "amount_mismatch",
    "duplicate",
    "reversal",
    "in_transit",
    "unmapped_account",
    "not_booked",
)
"""Break classes."""

RECON_MISSING_INTERNAL = RuleId.RECON_MISSING_INTERNAL
RECON_MISSING_EXTERNAL = RuleId.RECON_MISSING_EXTERNAL
RECON_AMOUNT_MISMATCH = RuleId.RECON_AMOUNT_MISMATCH
RECON_DUPLICATE_EXTERNAL = RuleId.RECON_DUPLICATE_EXTERNAL
RECON_REVERSAL = RuleId.RECON_REVERSAL
RECON_IN_TRANSIT = RuleId.RECON_IN_TRANSIT
RECON_UNMAPPED_ACCOUNT = RuleId.RECON_UNMAPPED_ACCOUNT
RECON_NOT_BOOKED = RuleId.RECON_NOT_BOOKED
RECON_AMBIGUOUS_BATCH = RuleId.RECON_AMBIGUOUS_BATCH
RECON_SUGGESTED_MATCH = RuleId.RECON_SUGGESTED_MATCH
"""Rule ids of the reconciliation findings (to join ``RuleId`` in ``findings.py``)."""

CLASS_RULES: dict[str, str] = {
    "missing_internal": RECON_MISSING_INTERNAL,
    "missing_external": RECON_MISSING_EXTERNAL,
    "amount_mismatch": RECON_AMOUNT_MISMATCH,
    "duplicate": RECON_DUPLICATE_EXTERNAL,
    "reversal": RECON_REVERSAL,
    "in_transit": RECON_IN_TRANSIT,
    "unmapped_account": RECON_UNMAPPED_ACCOUNT,
    "not_booked": RECON_NOT_BOOKED,
}
"""The rule id of each break class."""

BREAK_SCHEMA: dict[str, pl.DataType] = {
    "side": pl.String(),
    "item_id": pl.String(),
    "file": pl.String(),
    "line": pl.Int64(),
    "ledger_id": pl.String(),
    "transaction_id": pl.String(),
    "version": pl.Int32(),
    "account_ref": pl.String(),
    "account_id": pl.String(),
    "asset_id": pl.String(),
    "amount": pl.Int64(),
    "date": pl.Date(),
    "age_days": pl.Int32(),
    "bucket": pl.String(),
    "class": pl.String(),
    "rule": pl.String(),
    "counterpart": pl.String(),
    "difference": pl.Int64(),
}
"""One row per unmatched item (``item_id``: ledger item id) or record (``record_id``)."""

_NO_PAIR = {
    "idx": pl.Int64(),
    "class": pl.String(),
    "counterpart": pl.String(),
    "difference": pl.Int64(),
}


def classify(
    internal: pl.DataFrame,
    external: pl.DataFrame,
    excluded: pl.DataFrame,
    all_external: pl.DataFrame,
    matched_x: pl.Series,
    *,
    rules: MatchRules,
    as_of: dt.date,
) -> pl.DataFrame:
    """BREAK_SCHEMA rows for the open items and records (see the module docstring).

    ``internal`` and ``external`` are the open rows of the work frames, ``excluded`` the
    records kept out of matching, ``all_external`` every matchable record and ``matched_x``
    the ``x`` of those some match took.
    """
    before, after = rules.widest_window
    mismatch_i, mismatch_x = _mismatches(internal, external)
    x_classes = _first(
        external.select(pl.col("x").alias("idx")),
        [
            external.filter(pl.col("reversal").fill_null(value=False)).select(
                pl.col("x").alias("idx"),
                pl.lit("reversal").alias("class"),
                pl.lit(None, dtype=pl.String()).alias("counterpart"),
                pl.lit(None, dtype=pl.Int64()).alias("difference"),
            ),
            _offsetting_records(external, before + after),
            _duplicates(external, all_external, matched_x),
            mismatch_x,
        ],
        default="missing_internal",
    )
    ends = all_external.group_by("account_ref", "asset_id").agg(
        pl.col("days").max().alias("end_days")
    )
    as_of_days = (as_of - dt.date(1970, 1, 1)).days
    transit = (
        internal.join(ends, on=["account_ref", "asset_id"], how="left")
        .filter(pl.col("days") + pl.col("days_after") > pl.col("end_days").fill_null(as_of_days))
        .select(
            pl.col("i").alias("idx"),
            pl.lit("in_transit").alias("class"),
            pl.lit(None, dtype=pl.String()).alias("counterpart"),
            pl.lit(None, dtype=pl.Int64()).alias("difference"),
        )
    )
    i_classes = _first(
        internal.select(pl.col("i").alias("idx")),
        [_offsetting_items(internal), mismatch_i, transit],
        default="missing_external",
    )
    as_of_lit = pl.lit(as_of)
    age = (as_of_lit - pl.col("date")).dt.total_days().cast(pl.Int32())
    rows = pl.concat(
        [
            internal.join(i_classes, left_on="i", right_on="idx").select(
                pl.lit("internal").alias("side"),
                "item_id",
                pl.lit(None, dtype=pl.String()).alias("file"),
                pl.lit(None, dtype=pl.Int64()).alias("line"),
                "ledger_id",
                "transaction_id",
                "version",
                "account_ref",
                "account_id",
                "asset_id",
                "amount",
                "date",
                "class",
                "counterpart",
                "difference",
            ),
            external.join(x_classes, left_on="x", right_on="idx").select(
                pl.lit("external").alias("side"),
                pl.col("record_id").alias("item_id"),
                "file",
                "line",
                pl.lit(None, dtype=pl.String()).alias("ledger_id"),
                pl.lit(None, dtype=pl.String()).alias("transaction_id"),
                pl.lit(None, dtype=pl.Int32()).alias("version"),
                "account_ref",
                "account_id",
                "asset_id",
                "amount",
                "date",
                "class",
                "counterpart",
                "difference",
            ),
            excluded.select(
                pl.lit("external").alias("side"),
                pl.col("record_id").alias("item_id"),
                "file",
                "line",
                pl.lit(None, dtype=pl.String()).alias("ledger_id"),
                pl.lit(None, dtype=pl.String()).alias("transaction_id"),
                pl.lit(None, dtype=pl.Int32()).alias("version"),
                "account_ref",
                "account_id",
                "asset_id",
                "amount",
                "date",
                pl.col("reason").alias("class"),
                pl.lit(None, dtype=pl.String()).alias("counterpart"),
                pl.lit(None, dtype=pl.Int64()).alias("difference"),
            ),
        ],
        how="vertical_relaxed",
    )
    return (
        rows.with_columns(age.alias("age_days"))
        .with_columns(
            bucket(pl.col("age_days")).alias("bucket"),
            pl.col("class").replace_strict(CLASS_RULES, return_dtype=pl.String()).alias("rule"),
        )
        .select(list(BREAK_SCHEMA))
        .cast(pl.Schema(BREAK_SCHEMA))
        .sort("side", "account_ref", "asset_id", "class", "item_id", "file", nulls_last=False)
    )


def _first(ids: pl.DataFrame, candidates: list[pl.DataFrame], *, default: str) -> pl.DataFrame:
    """Per id the first candidate class that applies (list order), else ``default``."""
    ranked = pl.concat(
        [
            frame.select(list(_NO_PAIR))
            .cast(pl.Schema(_NO_PAIR))
            .with_columns(pl.lit(rank).alias("_rank"))
            for rank, frame in enumerate(candidates)
        ]
    )
    first = ranked.sort("idx", "_rank", "counterpart", nulls_last=True).unique(
        "idx", keep="first", maintain_order=True
    )
    return (
        ids.join(first, on="idx", how="left")
        .with_columns(pl.col("class").fill_null(default))
        .select(list(_NO_PAIR))
        .sort("idx")
    )


def _mismatches(
    internal: pl.DataFrame, external: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Open items and records that share a strong reference but not the amount."""
    left = references(internal, "i", STRONG_INTERNAL, split=False)
    right = references(external, "x", STRONG_EXTERNAL, split=True)
    pairs = (
        left.join(right, on=["account_ref", "asset_id", "ref"], how="inner")
        .filter(pl.col("amount") != pl.col("amount_right"))
        .join(internal.select("i", "item_id"), on="i")
        .join(external.select("x", "record_id"), on="x")
    )
    by_i = (
        pairs.sort("i", "x")
        .unique("i", keep="first", maintain_order=True)
        .select(
            pl.col("i").alias("idx"),
            pl.lit("amount_mismatch").alias("class"),
            pl.col("record_id").alias("counterpart"),
            (pl.col("amount_right") - pl.col("amount")).alias("difference"),
        )
    )
    by_x = (
        pairs.sort("x", "i")
        .unique("x", keep="first", maintain_order=True)
        .select(
            pl.col("x").alias("idx"),
            pl.lit("amount_mismatch").alias("class"),
            pl.col("item_id").alias("counterpart"),
            (pl.col("amount") - pl.col("amount_right")).alias("difference"),
        )
    )
    return by_i, by_x


def _offsetting_records(external: pl.DataFrame, span: int) -> pl.DataFrame:
    """Open records that offset another open record sharing a reference, within ``span``."""
    refs = references(external, "x", STRONG_EXTERNAL, split=True)
    pairs = (
        refs.join(refs, on=["account_ref", "asset_id", "ref"], how="inner")
        .filter((pl.col("x") != pl.col("x_right")) & (pl.col("amount") == -pl.col("amount_right")))
        .join(external.select("x", "days"), on="x")
        .join(
            external.select(pl.col("x").alias("x_right"), "record_id", pl.col("days").alias("d2")),
            on="x_right",
        )
        .filter((pl.col("days") - pl.col("d2")).abs() <= span)
    )
    return pairs.select(
        pl.col("x").alias("idx"),
        pl.lit("reversal").alias("class"),
        pl.col("record_id").alias("counterpart"),
        pl.lit(None, dtype=pl.Int64()).alias("difference"),
    )


def _duplicates(
    external: pl.DataFrame, all_external: pl.DataFrame, matched_x: pl.Series
) -> pl.DataFrame:
    """Open records identical to a matched record, or to an open one with a smaller ``x``."""
    is_matched = pl.col("x").is_in(matched_x.implode())
    others = all_external.select(
        pl.col("x").alias("x_other"),
        pl.col("record_id").alias("counterpart"),
        is_matched.alias("matched"),
        *SIGNATURE,
    )
    pairs = external.select("x", *SIGNATURE).join(
        others, on=list(SIGNATURE), how="inner", nulls_equal=True
    )
    return pairs.filter(
        (pl.col("x_other") != pl.col("x")) & (pl.col("matched") | (pl.col("x_other") < pl.col("x")))
    ).select(
        pl.col("x").alias("idx"),
        pl.lit("duplicate").alias("class"),
        "counterpart",
        pl.lit(None, dtype=pl.Int64()).alias("difference"),
    )


def _offsetting_items(internal: pl.DataFrame) -> pl.DataFrame:
    """Open items of a transaction and its reversal that offset on the same account."""
    reversing = internal.filter(pl.col("reverses_transaction_id").is_not_null()).select(
        pl.col("i").alias("i_rev"),
        "ledger_id",
        "account_ref",
        "asset_id",
        pl.col("reverses_transaction_id").alias("transaction_id"),
        pl.col("amount").alias("rev_amount"),
        pl.col("item_id").alias("rev_item"),
    )
    pairs = (
        internal.select(
            "i", "ledger_id", "account_ref", "asset_id", "transaction_id", "amount", "item_id"
        )
        .join(reversing, on=["ledger_id", "account_ref", "asset_id", "transaction_id"], how="inner")
        .filter(pl.col("amount") == -pl.col("rev_amount"))
    )
    return pl.concat(
        [
            pairs.select(
                pl.col("i").alias("idx"),
                pl.lit("reversal").alias("class"),
                pl.col("rev_item").alias("counterpart"),
                pl.lit(None, dtype=pl.Int64()).alias("difference"),
            ),
            pairs.select(
                pl.col("i_rev").alias("idx"),
                pl.lit("reversal").alias("class"),
                pl.col("item_id").alias("counterpart"),
                pl.lit(None, dtype=pl.Int64()).alias("difference"),
            ),
        ]
    )
