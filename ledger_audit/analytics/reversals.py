"""Reversal intelligence: exact-inverse pairing, lag, period-end crossings, chains.

Pairs each ``reversal`` transaction with the original it names and says whether its legs
are the exact inverse (same account, asset and amount multiset, directions swapped);
transactions that are the exact inverse of an earlier one without naming it are listed as
unlinked pairs. Lags are effective-time differences in nanoseconds. A reversal whose
original is itself a reversal, and a pair that straddles the period end (original effective
at or before it, reversal after), are findings.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.checks.payload import (
    INVERSE_KEY,
    KEY,
    PAYLOAD_KEY,
    payload_keys,
    payloads_of,
)
from ledger_audit.findings import Coverage, Severity, findings_from, sort_findings
from ledger_audit.sources.ledger_frames import LedgerFrames

CHECK = "analytics.reversals"
CROSSES = "analytics.reversal.crosses_period_end"
OF_REVERSAL = "analytics.reversal.of_reversal"
NOT_INVERSE = "analytics.reversal.not_exact_inverse"
UNLINKED = "analytics.reversal.unlinked_inverse"


@dataclass(frozen=True, slots=True)
class ReversalResult:
    """Reversal pairs and what they show.

    ``pairs`` has one row per reversal or unlinked inverse; ``lags`` summarises the linked
    pairs' lags; then ``findings`` and ``coverage``.
    """

    pairs: pl.DataFrame
    lags: pl.DataFrame
    findings: pl.DataFrame
    coverage: Coverage


def _first_versions(frames: LedgerFrames) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Every transaction's version 0, with its payload keys; and those entries."""
    entries = frames.entries.lazy().filter(pl.col("version") == 0)
    heads = (
        frames.transactions.lazy()
        .filter(pl.col("version") == 0)
        .select(*KEY, "kind", "reverses_transaction_id", "effective_ns")
        .join(payload_keys(entries), on=list(KEY), how="left")
        .collect()  # read by every part below: computed once
        .lazy()
    )
    return heads, entries


def _sides(prefix: str) -> list[str]:
    """The version key columns of a pair's side: its own, or the ``original_`` one."""
    return ["ledger_id", f"{prefix}id" if prefix else "transaction_id", f"{prefix}version"]


def _texts(entries: pl.LazyFrame, *pairs: pl.DataFrame) -> pl.DataFrame:
    """The payload texts of every version either side of ``pairs`` names, read at once."""
    versions = pl.concat(
        [
            pair.select(pl.col(c).alias(k) for c, k in zip(_sides(prefix), KEY, strict=True))
            for pair in pairs
            for prefix in ("", "original_")
        ]
    )
    return payloads_of(entries, versions.lazy()).collect()


def _with_texts(rows: pl.DataFrame, texts: pl.DataFrame, prefix: str = "") -> pl.DataFrame:
    """``rows`` with the texts of the version their ``prefix``ed columns name (null: no legs)."""
    keys = _sides(prefix)
    names = dict(zip(KEY, keys, strict=True))
    named = texts.rename(
        names | {"payload": f"{prefix}payload", "inverse_payload": f"{prefix}inverse_payload"}
    )
    return rows.join(named, on=keys, how="left")


def _both_texts(rows: pl.DataFrame, texts: pl.DataFrame) -> pl.DataFrame:
    return _with_texts(_with_texts(rows, texts), texts, "original_")


def reversal_intelligence(frames: LedgerFrames, period_end_ns: int | None = None) -> ReversalResult:
    """Pair reversals with originals and report lag, crossings and reversals of reversals."""
    heads, entries = _first_versions(frames)
    original = heads.select(
        "ledger_id",
        pl.col("transaction_id").alias("original_id"),
        pl.col("version").alias("original_version"),
        pl.col("kind").alias("original_kind"),
        pl.col("effective_ns").alias("original_effective_ns"),
        *(pl.col(c).alias(f"original_{c}") for c in PAYLOAD_KEY),
    )
    # Reversals are few: their texts and their originals' are compared directly.
    named = (
        heads.filter(pl.col("reverses_transaction_id").is_not_null())
        .rename({"reverses_transaction_id": "original_id"})
        .join(original, on=["ledger_id", "original_id"], how="left")
        .collect()
    )
    # Unlinked: a non-reversal whose inverse equals the payload of an earlier transaction.
    # Pairs are found by key (the inverse key of one, the payload key of the other) and kept
    # when their texts are equal (checks/payload.py).
    alike = (
        heads.filter(pl.col("reverses_transaction_id").is_null() & (pl.col("kind") != "pending"))
        .join(
            original,
            left_on=["ledger_id", *INVERSE_KEY],
            right_on=["ledger_id", *(f"original_{c}" for c in PAYLOAD_KEY)],
            how="inner",
        )
        .collect()
    )
    texts = _texts(entries, named, alike)
    linked = (
        _both_texts(named, texts)
        .lazy()
        .with_columns(
            pl.when(pl.col("original_kind").is_null())
            .then(pl.lit("original_missing"))
            .when(pl.col("inverse_payload") == pl.col("original_payload"))
            .then(pl.lit("exact_inverse"))
            .otherwise(pl.lit("not_exact_inverse"))
            .alias("pairing"),
            pl.lit(value=True).alias("linked"),
        )
    )
    unlinked = (
        _both_texts(alike, texts)
        .lazy()
        .filter(
            (pl.col("inverse_payload") == pl.col("original_payload"))
            & (pl.col("original_effective_ns") < pl.col("effective_ns"))
            & (pl.col("original_kind") != "pending")
        )
        .sort("ledger_id", "transaction_id", "original_effective_ns", "original_id")
        .group_by("ledger_id", "transaction_id")
        .agg(pl.all().last())
        .with_columns(
            pl.lit("unlinked_inverse").alias("pairing"),
            pl.lit(value=False).alias("linked"),
        )
    )
    columns = [
        "ledger_id",
        "transaction_id",
        "kind",
        "original_id",
        "original_kind",
        "pairing",
        "linked",
        "effective_ns",
        "original_effective_ns",
    ]
    end = period_end_ns
    pairs = (
        pl.concat([linked.select(columns), unlinked.select(columns)])
        .with_columns(
            (pl.col("effective_ns") - pl.col("original_effective_ns")).alias("lag_ns"),
            (
                pl.lit(end is not None)
                & (pl.col("original_effective_ns") <= (end or 0))
                & (pl.col("effective_ns") > (end or 0))
            )
            .fill_null(value=False)
            .alias("crosses_period_end"),
            (pl.col("original_kind") == "reversal").fill_null(value=False).alias("of_reversal"),
        )
        .sort("ledger_id", "transaction_id")
        .collect()
    )
    lags = pairs.filter(pl.col("lag_ns").is_not_null() & pl.col("linked")).select(
        pl.len().alias("pairs"),
        pl.col("lag_ns").min().alias("min_ns"),
        pl.col("lag_ns").quantile(0.5, "lower").cast(pl.Int64).alias("median_ns"),
        pl.col("lag_ns").quantile(0.9, "higher").cast(pl.Int64).alias("p90_ns"),
        pl.col("lag_ns").max().alias("max_ns"),
    )
    rows = pairs.lazy()
    original_id = pl.col("original_id")
    findings = pl.concat(
        [
            findings_from(
                rows.filter(pl.col("crosses_period_end")),
                rule=CROSSES,
                severity=Severity.MEDIUM,
                check=CHECK,
                table="transactions",
                message=pl.format("reverses {} across the period end", original_id),
                expected=pl.lit("reversed in the same period, or the reversal accrued"),
                actual=pl.format("lag {} s", (pl.col("lag_ns") // 1_000_000_000).cast(pl.String)),
            ),
            findings_from(
                rows.filter(pl.col("of_reversal")),
                rule=OF_REVERSAL,
                severity=Severity.MEDIUM,
                check=CHECK,
                table="transactions",
                message=pl.format("reverses {}, which is itself a reversal", original_id),
                expected=pl.lit("a reversal is final; a new entry restores a reversed amount"),
                actual=pl.lit("reversal of a reversal"),
            ),
            findings_from(
                rows.filter(pl.col("pairing").is_in(["not_exact_inverse", "original_missing"])),
                rule=NOT_INVERSE,
                severity=Severity.HIGH,
                check=CHECK,
                table="transactions",
                message=pl.format("reversal of {}: {}", original_id, pl.col("pairing")),
                expected=pl.lit("the exact inverse of a stored original"),
                actual=pl.col("pairing"),
            ),
            findings_from(
                rows.filter(pl.col("pairing") == "unlinked_inverse"),
                rule=UNLINKED,
                severity=Severity.LOW,
                check=CHECK,
                table="transactions",
                message=pl.format("exact inverse of {} without naming it as reversed", original_id),
                expected=pl.lit("a reversal names its original"),
                actual=pl.col("kind"),
            ),
        ]
    ).collect()
    checked = frames.transactions.filter(pl.col("version") == 0).height
    coverage = Coverage(
        checked=checked,
        unit="transactions (first versions)",
        scope="every ledger, effective times"
        + ("" if end is None else "; crossings at the period end"),
        unproven=(() if end is not None else ("no period end given: crossings not examined",)),
    )
    return ReversalResult(pairs, lags, sort_findings(findings), coverage)
