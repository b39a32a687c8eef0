"""Modern Treasury ledgers, accounts and transaction versions as canonical raw tables.

- One canonical version per ``LedgerTransactionVersion`` (numbered 0, 1, ... in MT's
  ``version`` order), with its own status, ``effective_at`` (effective time) and
  ``created_at`` (recorded time) and the entries it snapshots. A transaction with no version
  in the export is its current state as version 0 (discarded entries left out).
- Kind: ``reverses_ledger_transaction_id`` makes a ``reversal``; a first version ``pending``
  is ``pending``, a later posted one ``post_pending``, an archived one ``void_pending``.
- A partial post (``partially_posts_ledger_transaction_id``) is its own transaction of kind
  ``post_pending`` naming the pending one (``pending_transaction_id``), as the canonical
  replay resolves a pending transaction by another. MT archives the original when it posts
  part of it; that archived version is the partial post's own doing, so it is left out (the
  original stays pending in its own rows, resolved by the partial post), and counted.
- Accounts declare ``normal_balance``; their asset is ``currency/currency_exponent``. Their
  ``balances`` are the stored balances: posted cells as stated, pending cells converted to
  pending only (MT's pending includes posted), ``lock_version`` kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.sources.adapters.modern_treasury import rows
from ledger_audit.sources.adapters.modern_treasury.pages import Page

_TX = "transaction_id"
_WIDE = pl.Decimal(38, 0)
ISSUE_COLUMNS = ("locator", "transaction_id", "message", "expected", "actual")


@dataclass(frozen=True, slots=True, eq=False)
class Built:
    """Canonical raw tables and what the build noticed.

    Attributes:
        tables: canonical table name -> raw frame (``conform_table`` casts it).
        issues: records that disagree with each other (ISSUE_COLUMNS).
        versioned: transactions whose versions the export holds.
        unversioned: transactions read from their current state only.
        folded_archives: archived versions left out because a partial post caused them.
        end_ns: the instant the export reflects (stored balances are as of it).
        legs: every entry of every MT version read (archives a partial post made
            included), with its version's ``created_at`` (``at``), ``order`` (MT version,
            0 for a current state), ``place`` and the ``resulting_*`` cells it states.
    """

    tables: dict[str, pl.DataFrame]
    issues: pl.DataFrame
    versioned: int
    unversioned: int
    folded_archives: int
    end_ns: int
    legs: pl.DataFrame


def _asset(currency: str, exponent: str) -> pl.Expr:
    return pl.format("{}/{}", pl.col(currency), pl.col(exponent))


def _entry_key(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("mt_version").fill_null(-1).alias("__mt"))


def _kinds(versions: pl.DataFrame) -> pl.DataFrame:
    ordered = versions.sort(_TX, pl.col("mt_version").fill_null(-1), "place")
    ordered = ordered.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int32).over(_TX).alias("version"),
        pl.col("status").shift(1).over(_TX).alias("__prev"),
    )
    first = pl.col("version") == 0
    status = pl.col("status")
    kind = (
        pl.when(pl.col("reverses").is_not_null())
        .then(pl.lit("reversal"))
        .when(pl.col("partially_posts").is_not_null())
        .then(pl.lit("post_pending"))
        .when(status == "archived")
        .then(pl.lit("void_pending"))
        .when(status == "pending")
        .then(pl.lit("pending"))
        .when(~first & (pl.col("__prev") == "pending"))
        .then(pl.lit("post_pending"))
        .otherwise(pl.lit("standard"))
    )
    return ordered.with_columns(kind.alias("kind")).drop("__prev")


def _mismatches(
    current: pl.DataFrame,
    current_legs: pl.DataFrame,
    versions: pl.DataFrame,
    version_legs: pl.DataFrame,
) -> pl.DataFrame:
    """Transactions whose current state is not their latest version, or not listed at all."""
    latest = versions.filter(pl.col("mt_version") == pl.col("mt_version").max().over(_TX)).unique(
        _TX, keep="first"
    )

    def legs(frame: pl.DataFrame) -> pl.DataFrame:
        return (
            frame.select(
                _TX,
                "mt_version",
                pl.format("{} {} {}", "account_id", "direction", "amount").alias("leg"),
            )
            .group_by(_TX, "mt_version")
            .agg(pl.col("leg").sort().str.join("; ").alias("legs"))
        )

    mine = latest.join(legs(version_legs), on=[_TX, "mt_version"], how="left")
    now = current.join(legs(current_legs).drop("mt_version"), on=_TX, how="left")
    pair = mine.select(
        _TX, "mt_version", pl.col("status").alias("v_status"), pl.col("legs").alias("v_legs")
    ).join(now.select(_TX, "status", "legs", "place"), on=_TX, how="left")
    status_differs = pair.filter(
        pl.col("place").is_not_null() & (pl.col("status") != pl.col("v_status"))
    ).select(
        pl.col("place").alias("locator"),
        _TX,
        pl.format(
            "ledger transaction {} is {} but its latest version ({}) is {}",
            _TX,
            "status",
            "mt_version",
            "v_status",
        ).alias("message"),
        pl.col("v_status").alias("expected"),
        pl.col("status").alias("actual"),
    )
    legs_differ = pair.filter(
        pl.col("place").is_not_null()
        & (pl.col("status") == pl.col("v_status"))
        & pl.col("legs").fill_null("").ne(pl.col("v_legs").fill_null(""))
    ).select(
        pl.col("place").alias("locator"),
        _TX,
        pl.format(
            "ledger transaction {}'s entries differ from its latest version ({})",
            _TX,
            "mt_version",
        ).alias("message"),
        pl.col("v_legs").alias("expected"),
        pl.col("legs").alias("actual"),
    )
    unlisted = pair.filter(pl.col("place").is_null()).select(
        pl.lit("ledger_transactions").alias("locator"),
        _TX,
        pl.format(
            "ledger transaction {} has versions but is not in ledger_transactions", _TX
        ).alias("message"),
        pl.lit("listed").alias("expected"),
        pl.lit("absent").alias("actual"),
    )
    return pl.concat([status_differs, legs_differ, unlisted])


def build(pages: dict[str, Page]) -> Built:
    """Canonical raw tables from the validated pages."""
    ledgers = rows.ledgers(pages["ledgers"])
    accounts = rows.accounts(pages["ledger_accounts"])
    current, current_legs = rows.versions(pages["ledger_transactions"], current=True)
    listed, listed_legs = rows.versions(pages["ledger_transaction_versions"], current=False)
    versioned_ids = listed.get_column(_TX).unique()
    fallback = current.filter(~pl.col(_TX).is_in(versioned_ids.implode()))
    fallback_legs = current_legs.filter(~pl.col(_TX).is_in(versioned_ids.implode()))
    every = pl.concat([listed, fallback])
    targets = every.get_column("partially_posts").drop_nulls().unique()
    folded = pl.col(_TX).is_in(targets.implode()) & (pl.col("status") == "archived")
    kept = _kinds(every.filter(~folded))
    versions = _entry_key(kept)
    legs = _entry_key(pl.concat([listed_legs, fallback_legs])).join(
        versions.select(_TX, "__mt", "version"), on=[_TX, "__mt"], how="inner"
    )
    stamps = pl.concat(
        [
            every.get_column("created_at"),
            accounts.get_column("updated_at"),
            current.get_column("created_at"),
        ]
    ).dt.epoch("ns")
    latest = stamps.max()
    end_ns = int(latest) if isinstance(latest, int) else 0
    transactions = versions.select(
        "ledger_id",
        _TX,
        "version",
        "kind",
        "status",
        pl.col("partially_posts").alias("pending_transaction_id"),
        pl.col("reverses").alias("reverses_transaction_id"),
        rows.ns("effective_at").alias("effective_ns"),
        rows.ns("created_at").alias("recorded_ns"),
        pl.lit(None, dtype=pl.String).alias("idempotency_key"),
        "external_id",
        "description",
        "metadata",
        pl.lit(None, dtype=pl.String).alias("meta_hash"),
        pl.lit(None, dtype=pl.Int64).alias("chain_seq"),
        *(
            pl.lit(None, dtype=pl.String).alias(c)
            for c in ("chain_prev_hash", "content_hash", "chain_hash")
        ),
    )
    ledger_of = versions.select(_TX, "ledger_id").unique(_TX)
    entries = legs.join(ledger_of, on=_TX, how="left").select(
        "ledger_id",
        _TX,
        "version",
        pl.col("position").alias("entry_index"),
        "account_id",
        _asset("currency", "exponent").alias("asset_id"),
        "direction",
        "amount",
    )
    assets = (
        pl.concat(
            [
                accounts.select("currency", "exponent"),
                legs.select("currency", "exponent"),
            ]
        )
        .unique()
        .select(
            _asset("currency", "exponent").alias("asset_id"),
            pl.col("currency").alias("code"),
            pl.col("exponent").alias("scale"),
            pl.lit("currency").alias("kind"),
        )
    )

    def pending_only(stated: str, posted: str) -> pl.Expr:
        return (pl.col(stated).cast(_WIDE) - pl.col(posted).cast(_WIDE)).cast(pl.String)

    tables = {
        "ledgers": ledgers.select(
            pl.col("id").alias("ledger_id"),
            "name",
            pl.lit(None, dtype=pl.String).alias("chain_algorithm"),
            rows.ns("created_at").alias("created_ns"),
            "metadata",
        ),
        "assets": assets,
        "accounts": accounts.select(
            "ledger_id",
            pl.col("id").alias("account_id"),
            "name",
            "normal_balance",
            _asset("currency", "exponent").alias("asset_id"),
            pl.lit(value=True).alias("allow_negative"),
            rows.ns("created_at").alias("opened_ns"),
            rows.ns("discarded_at").alias("closed_ns"),
            "external_id",
            "metadata",
        ),
        "transactions": transactions,
        "entries": entries,
        "balances": accounts.select(
            "ledger_id",
            pl.col("id").alias("account_id"),
            _asset("currency", "exponent").alias("asset_id"),
            "posted_debits",
            "posted_credits",
            pending_only("pending_debits", "posted_debits").alias("pending_debits"),
            pending_only("pending_credits", "posted_credits").alias("pending_credits"),
            pl.when(pl.col("upper_bound").is_not_null())
            .then(rows.ns("upper_bound") - 1)
            .otherwise(pl.lit(end_ns))
            .alias("as_of_ns"),
            "lock_version",
        ),
    }
    order = pl.col("mt_version").fill_null(0).alias("order")
    mt_versions = every.select(_TX, order, "status", rows.ns("created_at").alias("at"), "place")
    mt_legs = (
        pl.concat([listed_legs, fallback_legs])
        .with_columns(order)
        .join(mt_versions, on=[_TX, "order"], how="inner")
    )
    return Built(
        tables=tables,
        issues=_mismatches(current, current_legs, listed, listed_legs),
        versioned=versioned_ids.len(),
        unversioned=fallback.height,
        folded_archives=every.filter(folded).height,
        end_ns=end_ns,
        legs=mt_legs,
    )
