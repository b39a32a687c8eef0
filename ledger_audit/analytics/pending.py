"""Pending lifecycle: age at any instant, holds past their timeout, cut-off exposure, voids.

A pending transaction is one whose first version has status ``pending``. It is resolved
by a later version of itself (``posted``, or ``archived`` = voided) or by another
transaction naming it in ``pending_transaction_id`` (``post_pending`` posts it,
``void_pending`` voids it), whichever is recorded first. Times are recorded times (when
the ledger knew); the amount held is the sum of the pending version's debit legs per
asset, in integer minor units (two assets are never added).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.findings import Coverage, Severity, findings_from, sort_findings
from ledger_audit.sources.ledger_frames import LedgerFrames

CHECK = "analytics.pending"
PAST_TIMEOUT = "analytics.pending.past_timeout"
CUTOFF = "analytics.pending.cutoff_exposure"
DAY_NS = 86_400 * 1_000_000_000
DEFAULT_BUCKET_DAYS = (30, 60, 90, 180)
"""Upper bounds of the age buckets in days (ANALYTICS.md 3.5); the last bucket is open."""
DEFAULT_TIMEOUT_NS = 7 * DAY_NS
"""A card hold's usual expiry: a pending older than this should have settled or voided."""


@dataclass(frozen=True, slots=True)
class PendingParams:
    """The instant of the aging, the period end for cut-off, the hold timeout and buckets."""

    as_of_ns: int
    period_end_ns: int | None = None
    timeout_ns: int = DEFAULT_TIMEOUT_NS
    bucket_days: tuple[int, ...] = DEFAULT_BUCKET_DAYS


@dataclass(frozen=True, slots=True)
class PendingResult:
    """The pending lifecycle as frames.

    ``items`` has one row per pending transaction x asset; ``aging`` and ``voided`` are per
    asset; then ``findings`` and ``coverage``.
    """

    items: pl.DataFrame
    aging: pl.DataFrame
    voided: pl.DataFrame
    findings: pl.DataFrame
    coverage: Coverage


def _resolutions(frames: LedgerFrames) -> pl.LazyFrame:
    tx = frames.transactions.lazy()
    own = tx.filter((pl.col("version") > 0) & (pl.col("status") != "pending")).select(
        "ledger_id",
        "transaction_id",
        "recorded_ns",
        pl.when(pl.col("status") == "archived")
        .then(pl.lit("voided"))
        .otherwise(pl.lit("posted"))
        .alias("resolution"),
    )
    linked = tx.filter(
        pl.col("pending_transaction_id").is_not_null()
        & pl.col("kind").is_in(["post_pending", "void_pending"])
    ).select(
        "ledger_id",
        pl.col("pending_transaction_id").alias("transaction_id"),
        "recorded_ns",
        pl.when(pl.col("kind") == "void_pending")
        .then(pl.lit("voided"))
        .otherwise(pl.lit("posted"))
        .alias("resolution"),
    )
    return (
        pl.concat([own, linked])
        .sort("ledger_id", "transaction_id", "recorded_ns", "resolution")
        .group_by("ledger_id", "transaction_id")
        .agg(pl.col("recorded_ns").first().alias("resolved_ns"), pl.col("resolution").first())
    )


def _bucket(age: pl.Expr, bounds: tuple[int, ...]) -> pl.Expr:
    labels = [f"{low}-{high} d" for low, high in zip((0, *bounds), bounds, strict=False)]
    # Index of the first bound the age does not exceed (len(bounds) past the last one).
    index = pl.sum_horizontal(*(age > bound * DAY_NS for bound in bounds)).cast(pl.Int64)
    return index.replace_strict(
        list(range(len(bounds) + 1)), [*labels, f"> {bounds[-1]} d"], return_dtype=pl.String
    )


def pending_lifecycle(frames: LedgerFrames, params: PendingParams) -> PendingResult:
    """Pending transactions at ``params.as_of_ns`` and around ``params.period_end_ns``."""
    tx = frames.transactions.lazy()
    pending = tx.filter((pl.col("version") == 0) & (pl.col("status") == "pending")).select(
        "ledger_id", "transaction_id", pl.col("recorded_ns").alias("created_ns")
    )
    held = (
        frames.entries.lazy()
        .filter((pl.col("version") == 0) & (pl.col("direction") == "debit"))
        .group_by("ledger_id", "transaction_id", "asset_id")
        .agg(pl.col("amount").cast(pl.Int128).sum().alias("amount"))
    )
    as_of = params.as_of_ns
    end = params.period_end_ns
    items = (
        pending.join(held, on=["ledger_id", "transaction_id"], how="left")
        .join(_resolutions(frames), on=["ledger_id", "transaction_id"], how="left")
        .with_columns(
            (
                (pl.col("created_ns") <= as_of)
                & (pl.col("resolved_ns").is_null() | (pl.col("resolved_ns") > as_of))
            ).alias("open_at_as_of"),
            (as_of - pl.col("created_ns")).alias("age_ns"),
        )
        .with_columns(
            pl.when(pl.col("open_at_as_of"))
            .then(_bucket(pl.col("age_ns"), params.bucket_days))
            .alias("age_bucket"),
            (pl.col("open_at_as_of") & (pl.col("age_ns") > params.timeout_ns)).alias(
                "past_timeout"
            ),
            (
                pl.lit(end is not None)
                & (pl.col("created_ns") <= (end or 0))
                & (pl.col("resolution") == "posted")
                & (pl.col("resolved_ns") > (end or 0))
            )
            .fill_null(value=False)
            .alias("cutoff_exposure"),
        )
        .sort("ledger_id", "transaction_id", "asset_id")
        .collect()
    )
    aging = (
        items.filter(pl.col("open_at_as_of"))
        .group_by("asset_id", "age_bucket")
        .agg(pl.len().alias("count"), pl.col("amount").sum())
        .sort("asset_id", "age_bucket")
    )
    voided = (
        items.filter(pl.col("resolution") == "voided")
        .group_by("asset_id")
        .agg(pl.len().alias("count"), pl.col("amount").sum())
        .sort("asset_id")
    )
    rows = items.lazy()
    days = (pl.col("age_ns") // DAY_NS).cast(pl.String)
    findings = pl.concat(
        [
            findings_from(
                rows.filter(pl.col("past_timeout")),
                rule=PAST_TIMEOUT,
                severity=Severity.MEDIUM,
                check=CHECK,
                table="transactions",
                message=pl.format("pending for {} days, past its hold timeout", days),
                expected=pl.lit(f"resolved within {params.timeout_ns // DAY_NS} days"),
                actual=pl.format("{} {} still pending", pl.col("amount"), pl.col("asset_id")),
            ),
            findings_from(
                rows.filter(pl.col("cutoff_exposure")),
                rule=CUTOFF,
                severity=Severity.MEDIUM,
                check=CHECK,
                table="transactions",
                message=pl.lit("pending at period end and posted after it (cut-off exposure)"),
                expected=pl.lit("settled in the period it was authorised, or accrued"),
                actual=pl.format(
                    "{} {} posted after the period end", pl.col("amount"), pl.col("asset_id")
                ),
            ),
        ]
    ).collect()
    count = items.select("ledger_id", "transaction_id").unique().height
    coverage = Coverage(
        checked=count,
        unit="pending transactions",
        scope="every ledger, by recorded time"
        + ("" if end is None else "; cut-off at the period end"),
        unproven=(() if end is not None else ("no period end given: cut-off not examined",)),
    )
    return PendingResult(items, aging, voided, sort_findings(findings), coverage)
