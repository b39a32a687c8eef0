"""Formance rows as the six canonical frames (code, not a mapping: why in the docs).

- a posting ``k`` ``{source, destination, amount, asset}`` is entries ``2k`` (debit of the
  source) and ``2k+1`` (credit of the destination); amounts stay exact (NUMERIC text);
- an asset ``USD/2`` is ``code USD, scale 2``; an asset without ``/n`` is ``CODE/0`` (a note
  says so);
- a transaction is one posted version: ``timestamp`` is the effective time, ``inserted_at``
  the recorded time, ``reference`` the external id, the key of its log the idempotency key;
  metadata ``com.formance.spec/state/reverts`` makes it a reversal of that id;
- ``accounts_volumes`` are the stored balances (input = credits, output = debits), so the
  canonical drift check compares them with the replay;
- Formance stores no normal balance: an address whose first segment is ``assets`` or
  ``expenses`` is read as debit-normal, every other as credit-normal (a note says so).

Every vendor row is loaded or reported: ``conform_table`` rejects what cannot be represented.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.sources.adapters.formance.read import FrameRows
from ledger_audit.sources.conform import conform_table
from ledger_audit.sources.ledger_frames import LedgerFrames, LoadReport, TableCount

_SCALED = r"^(.+)/([0-9]+)$"
DEBIT_ROOTS = ("assets", "asset", "expenses", "expense")


def asset_id(raw: pl.Expr) -> pl.Expr:
    """``USD/2`` stays; ``COIN`` (no precision) becomes ``COIN/0``."""
    return pl.when(raw.str.contains(_SCALED)).then(raw).otherwise(pl.concat_str(raw, pl.lit("/0")))


def _none(dtype: pl.DataType) -> pl.Expr:
    return pl.lit(None, dtype=dtype)


def transaction_keys(log_tx: pl.DataFrame) -> pl.DataFrame:
    """Each transaction's idempotency key: that of its first keyed log (lowest log id).

    ``log_tx`` holds ledger, log_id, tx_id, idempotency_key per transaction log. A log
    without a key names no key, so the frames need only the keyed logs' mementos. Log ids
    are unique per ledger in a database, so (ledger, numeric log id, log id) is a total
    order there; in an export a repeated id (a ``chain.inserted`` finding) keeps file order.
    """
    log_id = pl.col("log_id").cast(pl.String)
    return (
        log_tx.filter(pl.col("tx_id").is_not_null() & pl.col("idempotency_key").is_not_null())
        .sort(
            ["ledger", log_id.cast(pl.Int64, strict=False), log_id],
            nulls_last=True,
            maintain_order=True,
        )
        .unique(["ledger", "tx_id"], keep="first", maintain_order=True)
        .select("ledger", "tx_id", "idempotency_key")
    )


def build_frames(
    rows: FrameRows, log_tx: pl.DataFrame, label: str, notes: tuple[str, ...]
) -> tuple[LedgerFrames, LoadReport]:
    """Canonical frames and the load report of one snapshot's rows.

    ``log_tx`` links each transaction to its key (``transaction_keys``): ledger, tx_id
    (text), idempotency_key.
    """
    as_of = rows.transactions.group_by("ledger").agg(pl.col("inserted_at").max().alias("as_of"))
    raw_assets = pl.concat(
        [rows.postings.select(pl.col("asset")), rows.volumes.select(pl.col("asset"))]
    ).unique()
    assets = raw_assets.select(
        asset_id(pl.col("asset")).alias("asset_id"),
        pl.col("asset").str.extract(r"^([^/]+)", 1).alias("code"),
        pl.col("asset").str.extract(_SCALED, 2).fill_null("0").alias("scale"),
        pl.lit("formance").alias("kind"),
    ).unique("asset_id")
    ledgers = rows.ledgers.select(
        pl.col("name").alias("ledger_id"),
        pl.col("name"),
        _none(pl.String()).alias("chain_algorithm"),
        pl.col("added_at").alias("created_ns"),
        pl.col("metadata"),
    )
    root = pl.col("address").str.split(":").list.first()
    accounts = rows.accounts.select(
        pl.col("ledger").alias("ledger_id"),
        pl.col("address").alias("account_id"),
        pl.col("address").alias("name"),
        pl.when(root.is_in(DEBIT_ROOTS))
        .then(pl.lit("debit"))
        .otherwise(pl.lit("credit"))
        .alias("normal_balance"),
        _none(pl.String()).alias("asset_id"),
        pl.lit(value=True).alias("allow_negative"),
        pl.coalesce("first_usage", "insertion_date").alias("opened_ns"),
        _none(pl.Int64()).alias("closed_ns"),
        _none(pl.String()).alias("external_id"),
        pl.col("metadata"),
    )
    reverts = pl.col("reverts")
    transactions = rows.transactions.join(
        log_tx, left_on=["ledger", "id"], right_on=["ledger", "tx_id"], how="left"
    ).select(
        pl.col("ledger").alias("ledger_id"),
        pl.col("id").alias("transaction_id"),
        pl.lit(0, dtype=pl.Int32).alias("version"),
        pl.when(reverts.is_not_null())
        .then(pl.lit("reversal"))
        .otherwise(pl.lit("standard"))
        .alias("kind"),
        pl.lit("posted").alias("status"),
        _none(pl.String()).alias("pending_transaction_id"),
        reverts.alias("reverses_transaction_id"),
        pl.col("timestamp").alias("effective_ns"),
        pl.col("inserted_at").alias("recorded_ns"),
        pl.col("idempotency_key"),
        pl.when(pl.col("reference") == "")
        .then(None)
        .otherwise(pl.col("reference"))
        .alias("external_id"),
        _none(pl.String()).alias("description"),
        pl.col("metadata"),
        _none(pl.String()).alias("meta_hash"),
        _none(pl.Int64()).alias("chain_seq"),
        _none(pl.String()).alias("chain_prev_hash"),
        _none(pl.String()).alias("content_hash"),
        _none(pl.String()).alias("chain_hash"),
    )
    sides = [
        rows.postings.select(
            pl.col("ledger").alias("ledger_id"),
            pl.col("id").alias("transaction_id"),
            pl.lit(0, dtype=pl.Int32).alias("version"),
            (pl.col("k") * 2 + offset).alias("entry_index"),
            pl.col(account).alias("account_id"),
            asset_id(pl.col("asset")).alias("asset_id"),
            pl.lit(direction).alias("direction"),
            pl.col("amount"),
        )
        for offset, account, direction in ((0, "source", "debit"), (1, "destination", "credit"))
    ]
    entries = _narrow(pl.concat(sides), "amount")
    balances = rows.volumes.join(as_of, on="ledger", how="left").select(
        pl.col("ledger").alias("ledger_id"),
        pl.col("accounts_address").alias("account_id"),
        asset_id(pl.col("asset")).alias("asset_id"),
        pl.col("output").alias("posted_debits"),
        pl.col("input").alias("posted_credits"),
        pl.lit(0, dtype=pl.Int64).alias("pending_debits"),
        pl.lit(0, dtype=pl.Int64).alias("pending_credits"),
        pl.col("as_of").alias("as_of_ns"),
        pl.lit(0, dtype=pl.Int64).alias("lock_version"),
    )
    balances = _narrow(balances, "posted_debits", "posted_credits")
    raw = {
        "ledgers": ledgers,
        "assets": assets,
        "accounts": accounts,
        "transactions": transactions,
        "entries": entries,
        "balances": balances,
    }
    conformed = {
        table: conform_table(frame, table, source=f"{label} (formance {table})", locate_by="key")
        for table, frame in raw.items()
    }
    frames = LedgerFrames.from_tables({t: c.frame for t, c in conformed.items()})
    rejected_postings = (
        conformed["entries"].rejections.select(pl.col("locator")).unique().height
        if conformed["entries"].count.rejected
        else 0
    )
    source_counts = (
        _count("_system.ledgers", conformed["ledgers"].count),
        _count("accounts", conformed["accounts"].count),
        _count("transactions", conformed["transactions"].count),
        TableCount(
            "postings",
            rows.postings.height,
            rows.postings.height - min(rejected_postings, rows.postings.height),
            min(rejected_postings, rows.postings.height),
        ),
        _count("accounts_volumes", conformed["balances"].count),
    )
    report = LoadReport(
        source=label,
        counts=tuple(c.count for c in conformed.values()),
        rejections=pl.concat([c.rejections for c in conformed.values()]),
        source_counts=source_counts,
        notes=notes,
    )
    return frames, report


def _narrow(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """NUMERIC text as Int64 when every value fits (the fast path); else left as exact text."""
    narrow = frame.with_columns(pl.col(c).cast(pl.Int64, strict=False) for c in columns)
    fits = all(
        narrow.get_column(c).null_count() == frame.get_column(c).null_count() for c in columns
    )
    return narrow if fits else frame


def _count(table: str, count: TableCount) -> TableCount:
    return TableCount(table, count.read, count.loaded, count.rejected)
