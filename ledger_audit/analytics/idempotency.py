"""Idempotency classifier: what each submission with (or without) a key turned into.

Over the first version of every transaction (its submission), per ledger:

- ``unique``: its key belongs to this transaction only;
- ``original`` / ``benign_replay``: a key used by several transactions whose payloads are
  all equal; the earliest recorded is the original, the others are replays the ledger
  stored twice (it should have returned the original);
- ``conflicting_replay``: a key used by transactions whose payloads differ;
- ``double_submit``: a different key (or none) with the same payload as an earlier
  transaction recorded within ``window_ns`` (a client that retried under a new key);
- ``no_key``: no idempotency key and no double submit.

A double submit is looked for across keys, so it can also mark a ``unique`` key's
transaction: the class then says ``double_submit`` (the stronger statement).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.checks.payload import KEY, candidates_near, payload_keys, payloads_of
from ledger_audit.findings import Coverage, Severity, findings_from, sort_findings
from ledger_audit.sources.ledger_frames import LedgerFrames

CHECK = "analytics.idempotency"
BENIGN = "analytics.idempotency.benign_replay"
CONFLICT = "analytics.idempotency.conflicting_replay"
DOUBLE = "analytics.idempotency.double_submit"
DEFAULT_WINDOW_NS = 300 * 1_000_000_000
"""Five minutes: a retry under a new key normally follows within seconds."""


@dataclass(frozen=True, slots=True)
class IdempotencyResult:
    """``classified`` (one row per transaction), ``findings`` and ``coverage``."""

    classified: pl.DataFrame
    findings: pl.DataFrame
    coverage: Coverage


def _first_versions(transactions: pl.DataFrame) -> pl.LazyFrame:
    """Each transaction's first version (its submission): only the columns classified."""
    return (
        transactions.lazy()
        .select("ledger_id", "transaction_id", "version", "idempotency_key", "recorded_ns")
        .sort("ledger_id", "transaction_id", "version")
        .unique(["ledger_id", "transaction_id"], keep="first", maintain_order=True)
    )


def classify_idempotency(
    frames: LedgerFrames, window_ns: int = DEFAULT_WINDOW_NS
) -> IdempotencyResult:
    """Classify every transaction's submission; findings for replays and double submits."""
    first = _first_versions(frames.transactions).collect().lazy()  # read four times below
    entries = frames.entries.lazy()
    order = ["ledger_id", "recorded_ns", "transaction_id"]
    keyed = first.filter(pl.col("idempotency_key").is_not_null()).with_columns(
        pl.len().over("ledger_id", "idempotency_key").alias("uses")
    )
    # Only a key used more than once needs its transactions' payloads compared.
    reused = keyed.filter(pl.col("uses") > 1)
    reused = (
        reused.join(payloads_of(entries, reused), on=list(KEY), how="left")
        .with_columns(pl.col("payload").fill_null(""))
        .sort(order)
        .with_columns(
            pl.col("payload").n_unique().over("ledger_id", "idempotency_key").alias("payloads"),
            pl.col("transaction_id")
            .first()
            .over("ledger_id", "idempotency_key", order_by=["recorded_ns", "transaction_id"])
            .alias("key_first"),
        )
        .select(
            "ledger_id",
            "transaction_id",
            pl.when(pl.col("payloads") > 1)
            .then(pl.lit("conflicting_replay"))
            .when(pl.col("transaction_id") == pl.col("key_first"))
            .then(pl.lit("original"))
            .otherwise(pl.lit("benign_replay"))
            .alias("key_class"),
            "key_first",
        )
    )
    once = keyed.filter(pl.col("uses") == 1).select(
        "ledger_id",
        "transaction_id",
        pl.lit("unique").alias("key_class"),
        pl.col("transaction_id").alias("key_first"),
    )
    # A double submit repeats an earlier payload within the window: only versions whose
    # payload key another version of the ledger shares within it can (checks/payload.py);
    # their texts decide.
    keys = first.join(payload_keys(entries), on=list(KEY), how="inner")
    alike = candidates_near(keys, ("ledger_id",), "recorded_ns", window_ns)
    previous = (
        alike.join(payloads_of(entries, alike), on=list(KEY), how="inner")
        .sort("ledger_id", "payload", "recorded_ns", "transaction_id")
        .with_columns(
            pl.col(name).shift(1).over("ledger_id", "payload").alias(f"prev_{name}")
            for name in ("transaction_id", "idempotency_key", "recorded_ns")
        )
        .filter(
            pl.col("prev_transaction_id").is_not_null()
            & (pl.col("recorded_ns") - pl.col("prev_recorded_ns") <= window_ns)
            & (
                pl.col("idempotency_key").is_null()
                | pl.col("prev_idempotency_key").is_null()
                | (pl.col("idempotency_key") != pl.col("prev_idempotency_key"))
            )
        )
        .select("ledger_id", "transaction_id", pl.col("prev_transaction_id").alias("double_of"))
    )
    classified = (
        first.join(pl.concat([once, reused]), on=["ledger_id", "transaction_id"], how="left")
        .join(previous, on=["ledger_id", "transaction_id"], how="left")
        .with_columns(
            pl.when(pl.col("double_of").is_not_null())
            .then(pl.lit("double_submit"))
            .otherwise(pl.col("key_class").fill_null("no_key"))
            .alias("class"),
            pl.when(pl.col("double_of").is_not_null())
            .then(pl.col("double_of"))
            .when(
                pl.col("key_class").is_in(["benign_replay", "conflicting_replay"])
                & (pl.col("transaction_id") != pl.col("key_first"))
            )
            .then(pl.col("key_first"))
            .alias("related_transaction_id"),
        )
        .select(
            "ledger_id",
            "transaction_id",
            "idempotency_key",
            "recorded_ns",
            "class",
            "related_transaction_id",
        )
        .sort("ledger_id", "transaction_id")
        .collect()
        .rechunk()  # polars 2.1's streaming engine panics formatting strings of some
    )  # joined-then-sorted frames at scale (seen at 1M: "i < self.len()"); compacted, it does not
    rows = classified.lazy()
    related = pl.col("related_transaction_id")
    key = pl.col("idempotency_key")
    findings = pl.concat(
        [
            findings_from(
                rows.filter(pl.col("class") == "benign_replay"),
                rule=BENIGN,
                severity=Severity.LOW,
                check=CHECK,
                table="transactions",
                message=pl.format(
                    "key {} replayed with the same payload as {} and stored twice", key, related
                ),
                expected=pl.lit("one transaction per idempotency key"),
                actual=pl.format("also {}", related),
            ),
            findings_from(
                rows.filter(pl.col("class") == "conflicting_replay"),
                rule=CONFLICT,
                severity=Severity.HIGH,
                check=CHECK,
                table="transactions",
                message=pl.format(
                    "key {} is used by transactions with different payloads (first: {})",
                    key,
                    related,
                ),
                expected=pl.lit("one payload per idempotency key"),
                actual=pl.lit("different payloads"),
            ),
            findings_from(
                rows.filter(pl.col("class") == "double_submit"),
                rule=DOUBLE,
                severity=Severity.MEDIUM,
                check=CHECK,
                table="transactions",
                message=pl.format(
                    "same payload as {} recorded within the window under another key", related
                ),
                expected=pl.lit(f"no identical payload within {window_ns // 1_000_000_000} s"),
                actual=pl.format("duplicate of {}", related),
            ),
        ]
    ).collect()
    without_key = classified.filter(pl.col("idempotency_key").is_null()).height
    coverage = Coverage(
        checked=classified.height,
        unit="transactions (first versions)",
        scope=f"every ledger; double submits within {window_ns // 1_000_000_000} s",
        unproven=(
            (
                (
                    f"{without_key} transactions carry no idempotency key: only double "
                    "submits can be seen for them"
                ),
            )
            if without_key
            else ()
        ),
    )
    return IdempotencyResult(classified, sort_findings(findings), coverage)
