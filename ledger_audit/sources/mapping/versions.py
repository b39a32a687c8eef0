"""Transaction versions: one row per transaction, versioned rows, or a status history.

Also derives ``kind`` when the mapping gives none, and checks that the rows of one
transaction agree when its fields live on its entries' rows.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.sources.mapping import fields
from ledger_audit.sources.mapping.rows import (
    ROW,
    Build,
    Relation,
    mark_duplicates,
    null_problem,
)
from ledger_audit.sources.mapping.spec import TransactionShape


def transaction_values(
    build: Build, rel: Relation, *, with_status: bool
) -> tuple[dict[str, pl.Expr], list[pl.Expr]]:
    """The transaction fields of ``rel`` (ids, keys, times, chain; status where it has one)."""
    t = build.mapping.transactions
    d = rel.dtypes
    tid = fields.text(t.id, d)
    reads = {
        "ledger_id": build.ledger(t.ledger_id, d),
        "transaction_id": tid,
        "pending_transaction_id": fields.text(t.pending_id, d),
        "reverses_transaction_id": fields.text(t.reverses_id, d),
        "idempotency_key": fields.text(t.idempotency_key, d),
        "external_id": fields.text(t.external_id, d),
        "description": fields.text(t.description, d),
        "metadata": fields.text(t.metadata, d),
        "effective_ns": fields.time(t.effective_at, d, build.zone),
    }
    checks = [null_problem(tid.value, t.id.key)]
    if with_status:
        status = fields.enum(t.status, d)
        recorded = fields.time(t.recorded_at, d, build.zone)
        reads["status"] = status
        reads["recorded_ns"] = recorded
        checks += [
            null_problem(status.value, t.status.key),
            null_problem(recorded.value, t.recorded_at.key),
        ]
        version = fields.integer(t.version, d) if t.version is not None else None
        reads["version"] = version or fields.Read(pl.lit(0, pl.Int64))
        if t.version is not None:
            checks.append(null_problem(reads["version"].value, t.version.key))
    if t.kind is not None:
        reads["kind"] = fields.enum(t.kind, d)
    chain = build.mapping.chain
    if chain is not None:
        reads |= {
            "chain_seq": fields.integer(chain.seq, d),
            "chain_prev_hash": fields.text(chain.prev_hash, d),
            "content_hash": fields.text(chain.content_hash, d),
            "chain_hash": fields.text(chain.hash, d),
            "meta_hash": fields.text(chain.meta_hash, d),
        }
    values = {name: read.value for name, read in reads.items()}
    return values, [*fields.problems(*reads.values()), *checks]


def transactions_in_entries(rel: Relation, frame: pl.DataFrame) -> pl.DataFrame:
    """The transactions of an entries relation: rows of one transaction must agree."""
    columns = [c for c in frame.columns if c.startswith("__tx_")]
    renamed = frame.select(ROW, *columns).rename({c: c.removeprefix("__tx_") for c in columns})
    key = ["ledger_id", "transaction_id"] + (["version"] if "version" in renamed.columns else [])
    good = rel.good(renamed)
    others = [c for c in renamed.columns if c not in {ROW, *key}]
    conflicts = (
        good.group_by(key)
        .agg(pl.col(ROW), *(pl.col(c).n_unique().alias(c) for c in others))
        .filter(pl.any_horizontal(pl.col(c) > 1 for c in others) if others else pl.lit(value=False))
    )
    rel.mark_rows(
        conflicts[ROW].explode() if conflicts.height else pl.Series([], dtype=pl.UInt32),
        "transactions: fields differ between the rows of one transaction",
    )
    return renamed


def transaction_versions(build: Build, in_entries: pl.DataFrame | None) -> pl.DataFrame:
    """One row per transaction version: ROW plus the TRANSACTIONS columns that were mapped."""
    t = build.mapping.transactions
    rel = build.rel(t.section)
    if in_entries is not None:
        frame = in_entries
    else:
        values, checks = transaction_values(
            build, rel, with_status=t.shape != TransactionShape.HISTORY
        )
        frame = build.evaluate(rel, values, checks)
        key = ["ledger_id", "transaction_id"] + (["version"] if "version" in frame.columns else [])
        # Versioned or one-per-row rows in key order stay so (only filtered below).
        if mark_duplicates(rel, frame, key, "transactions") and t.shape != TransactionShape.HISTORY:
            build.in_key_order.add("transactions")
    good = rel.good(frame)
    if in_entries is not None:
        key = ["ledger_id", "transaction_id"] + (["version"] if "version" in good.columns else [])
        good = good.sort(ROW).unique(key, keep="first", maintain_order=True)
    if t.shape == TransactionShape.HISTORY:
        good = _history_versions(build, good)
    if t.effective_at is None:
        build.notes.append(
            "effective times are not mapped: the effective basis equals the recorded basis"
        )
    else:
        fallback = good["effective_ns"].null_count()
        if fallback:
            build.notes.append(
                f"{fallback} transaction version(s) have no effective time: recorded time used"
            )
    good = good.with_columns(pl.coalesce("effective_ns", "recorded_ns").alias("effective_ns"))
    if t.kind is None:
        good = _derive_kind(good)
        build.notes.append("transaction kinds are derived from status and version (no kind mapped)")
    if t.shape == TransactionShape.ROW:
        build.notes.append(
            "one row per transaction: earlier statuses (pending before posted) are not recorded, "
            "so the pending lifecycle is not proven"
        )
    return good


def _history_versions(build: Build, base: pl.DataFrame) -> pl.DataFrame:
    """Each status-history row a version, numbered by time (then ``order``)."""
    history = build.mapping.transactions.history
    assert history is not None  # noqa: S101 - shape = history guarantees it
    rel = build.rel(history.section)
    d = rel.dtypes
    tid = fields.text(history.transaction_id, d)
    status = fields.enum(history.status, d)
    at = fields.time(history.at, d, build.zone)
    order = fields.text(history.order, d)
    ledger = build.ledger(history.ledger_id, d)
    frame = build.evaluate(
        rel,
        {
            "ledger_id": ledger.value,
            "transaction_id": tid.value,
            "status": status.value,
            "recorded_ns": at.value,
            "__order": order.value,
        },
        [
            *fields.problems(tid, status, at, order, ledger),
            null_problem(tid.value, history.transaction_id.key),
            null_problem(status.value, history.status.key),
            null_problem(at.value, history.at.key),
        ],
    )
    tx_key = ["ledger_id", "transaction_id"]
    unknown = frame.join(base.select(tx_key), on=tx_key, how="anti")
    rel.mark_rows(unknown[ROW], f"{history.transaction_id.key}: no such transaction")
    mark_duplicates(rel, frame, [*tx_key, "recorded_ns", "__order"], "status history")
    versions = (
        rel.good(frame)
        .sort(*tx_key, "recorded_ns", "__order", nulls_last=True)
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over(tx_key).alias("version"))
        .drop(ROW, "__order")
    )
    tx_rel = build.rel(build.mapping.transactions.section)
    missing = base.join(versions.select(tx_key), on=tx_key, how="anti")
    tx_rel.mark_rows(missing[ROW], "transactions: no status history rows")
    base = tx_rel.good(base)
    joined = base.drop("version", "status", "recorded_ns", strict=False).join(
        versions, on=tx_key, how="inner"
    )
    # Version 0 takes effect when the transaction does; later versions when they happen.
    return joined.with_columns(
        pl.when(pl.col("version") == 0)
        .then(pl.col("effective_ns"))
        .otherwise(pl.col("recorded_ns"))
        .alias("effective_ns")
    )


def _derive_kind(frame: pl.DataFrame) -> pl.DataFrame:
    first = pl.col("version") == 0
    status = pl.col("status")
    kind = (
        pl.when(first & (status == "pending"))
        .then(pl.lit("pending"))
        .when(first & pl.col("reverses_transaction_id").is_not_null())
        .then(pl.lit("reversal"))
        .when(first)
        .then(pl.lit("standard"))
        .when(status == "posted")
        .then(pl.lit("post_pending"))
        .when(status == "archived")
        .then(pl.lit("void_pending"))
        .otherwise(pl.lit("pending"))
    )
    return frame.with_columns(kind.alias("kind"))
