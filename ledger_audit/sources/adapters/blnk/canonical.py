"""Blnk's rows as the six canonical frames: grouping, versions, entries, accounts, balances.

Why code and not a mapping: one canonical transaction can be several Blnk rows (a split's
rows share a ``parent_transaction`` that names no row; an inflight's commit or void rows point
at it through ``parent_transaction``), and the asset's scale comes from each row's
``precision`` multiplier. The mapping format reads one relation per section and has neither.

The rules (docs/adapters/blnk.md):

- one canonical ledger ``blnk`` per Blnk database (its ledgers group balances; transactions
  and the hash chain cross them);
- account = the balance's ``indicator`` (``balance_id`` when it has none); a balance per
  currency of one indicator is one multi-asset account; normal balance from the balance's
  ``meta_data.normal_balance``, else credit (Blnk's ``balance = credit - debit``);
- asset = ``currency/log10(precision)``; a precision that is not a power of ten is a rejected row;
- row roles: INFLIGHT pending; APPLIED posted; COMMIT, or APPLIED whose parent is INFLIGHT,
  settles that inflight (post_pending); VOID voids it (void_pending, archived); an APPLIED row
  whose parent is an APPLIED row with source and destination swapped reverses it;
- grouping: a settling row joins its inflight's transaction as a later version (rows of one
  pending group settled at the same ``created_at`` and status are one version); other rows
  whose ``parent_transaction`` names no row, or a QUEUED/SCHEDULED request, are that parent's
  rows; every other row is its own transaction;
- each row is two entries: debit the source, credit the destination, ``precise_amount``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.sources.adapters.blnk.layout import (
    BALANCES,
    COMMIT,
    LEDGER_STATUSES,
    NO_EFFECT_STATUSES,
    PENDING,
    POSTED,
    TRANSACTIONS,
    VOID,
)
from ledger_audit.sources.adapters.blnk.read import BlnkRows
from ledger_audit.sources.ledger_frames import REJECTION_SCHEMA

LEDGER_ID = "blnk"
"""The canonical ledger id of a Blnk database."""

_NS_PER_US = 1000


@dataclass(frozen=True, slots=True, eq=False)
class RawTables:
    """Canonical tables before conforming, plus what the build itself rejected or noted.

    Attributes:
        tables: canonical table name -> raw frame (amounts as text, for conform to parse).
        rejections: REJECTION_SCHEMA rows naming the Blnk row and why it was not loaded.
        rows: the transaction rows with their role, group and version (for native checks).
        no_effect: per QUEUED/SCHEDULED/REJECTED status, how many rows were set aside.
        rejected_transactions: Blnk transaction rows rejected.
        rejected_balances: Blnk balance rows rejected.
    """

    tables: dict[str, pl.DataFrame]
    rejections: pl.DataFrame
    rows: pl.DataFrame
    no_effect: dict[str, int]
    rejected_transactions: int
    rejected_balances: int


def _ns(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Datetime("us")).dt.epoch("us") * _NS_PER_US


def _scale(precision: pl.Expr) -> pl.Expr:
    """log10 of a power-of-ten precision text (``100`` -> 2, ``1`` -> 0), else null."""
    text = precision.str.strip_chars().str.replace(r"\.0+$", "")
    zeros = text.str.extract(r"^1(0*)$", 1)
    return zeros.str.len_chars().cast(pl.Int32)


def _rejections(rows: pl.DataFrame, table: str, key: str, label: str) -> pl.DataFrame:
    return rows.select(
        pl.lit(label).alias("source"),
        pl.lit(table).alias("table"),
        pl.format(f"{table}({key}={{}})", pl.col(key)).alias("locator"),
        pl.col("_column").alias("column"),
        pl.col("_reason").alias("reason"),
        pl.col("_raw").cast(pl.String).alias("raw_value"),
    ).cast(REJECTION_SCHEMA)  # type: ignore[arg-type]


def _account_of(balances: pl.DataFrame) -> pl.DataFrame:
    return balances.select(
        "balance_id",
        pl.coalesce("indicator", "balance_id").alias("account_id"),
    )


def _problems(tx: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
    """The first problem of each ledger row that cannot be loaded (null: it loads)."""
    ids = known.get_column("balance_id")
    checks = [
        (pl.col("_scale").is_null(), "precision", "precision_not_power_of_ten", "precision_text"),
        (pl.col("precise_text").is_null(), "precise_amount", "null_not_allowed", "precise_text"),
        (
            ~pl.col("precise_text").str.contains(r"^-?[0-9]+$"),
            "precise_amount",
            "not_an_integer",
            "precise_text",
        ),
        (pl.col("currency").is_null(), "currency", "null_not_allowed", "currency"),
        (~pl.col("source").is_in(ids.implode()), "source", "unknown_balance", "source"),
        (
            ~pl.col("destination").is_in(ids.implode()),
            "destination",
            "unknown_balance",
            "destination",
        ),
    ]
    column = pl.lit(None, dtype=pl.String)
    reason = pl.lit(None, dtype=pl.String)
    raw = pl.lit(None, dtype=pl.String)
    for bad, name, why, value in reversed(checks):
        column = pl.when(bad.fill_null(value=True)).then(pl.lit(name)).otherwise(column)
        reason = pl.when(bad.fill_null(value=True)).then(pl.lit(why)).otherwise(reason)
        raw = pl.when(bad.fill_null(value=True)).then(pl.col(value).cast(pl.String)).otherwise(raw)
    return tx.with_columns(column.alias("_column"), reason.alias("_reason"), raw.alias("_raw"))


def _roles(tx: pl.DataFrame, everything: pl.DataFrame) -> pl.DataFrame:
    """Role, canonical transaction id (group) and version of every loadable ledger row."""
    parents = everything.select(
        pl.col("transaction_id").alias("parent_transaction"),
        pl.col("status").alias("parent_status"),
        pl.col("source").alias("parent_source"),
        pl.col("destination").alias("parent_destination"),
    )
    tx = tx.join(parents, on="parent_transaction", how="left")
    parent_inflight = pl.col("parent_status") == PENDING
    swapped = (pl.col("parent_source") == pl.col("destination")) & (
        pl.col("parent_destination") == pl.col("source")
    )
    role = (
        pl.when(pl.col("status") == PENDING)
        .then(pl.lit("pending"))
        .when(pl.col("status") == VOID)
        .then(pl.lit("void"))
        .when((pl.col("status") == COMMIT) | ((pl.col("status") == POSTED) & parent_inflight))
        .then(pl.lit("post"))
        .when(pl.col("parent_status").is_in([POSTED, COMMIT]) & swapped)
        .then(pl.lit("reversal"))
        .otherwise(pl.lit("standard"))
    )
    tx = tx.with_columns(role.alias("role"))
    settles = pl.col("role").is_in(["post", "void"]) & parent_inflight
    joins_parent = pl.col("parent_transaction").is_not_null() & (
        pl.col("parent_status").is_null() | pl.col("parent_status").is_in(["QUEUED", "SCHEDULED"])
    )
    tx = tx.with_columns(
        settles.alias("settles"),
        pl.when(joins_parent & ~settles)
        .then(pl.col("parent_transaction"))
        .otherwise(pl.col("transaction_id"))
        .alias("own_group"),
    )
    # a settling row joins the group of the inflight row it settles
    inflight_groups = tx.filter(pl.col("role") == "pending").select(
        pl.col("transaction_id").alias("parent_transaction"),
        pl.col("own_group").alias("settled_group"),
    )
    tx = tx.join(inflight_groups, on="parent_transaction", how="left").with_columns(
        pl.when(pl.col("settles") & pl.col("settled_group").is_not_null())
        .then(pl.col("settled_group"))
        .otherwise(pl.col("own_group"))
        .alias("group")
    )
    settling = pl.col("settles") & pl.col("settled_group").is_not_null()
    tx = tx.with_columns(settling.alias("settles"))
    events = (
        tx.filter(pl.col("settles"))
        .select("group", "created_at", "status")
        .unique()
        .sort("group", "created_at", "status")
        .with_columns(pl.int_range(1, pl.len() + 1).over("group").cast(pl.Int32).alias("event"))
    )
    tx = tx.join(events, on=["group", "created_at", "status"], how="left").with_columns(
        pl.when(pl.col("settles"))
        .then(pl.col("event"))
        .otherwise(0)
        .cast(pl.Int32)
        .alias("version")
    )
    return tx.sort("id")


def _versions(tx: pl.DataFrame) -> pl.DataFrame:
    kind = (
        pl.when(pl.col("role") == "post")
        .then(pl.lit("post_pending"))
        .when(pl.col("role") == "void")
        .then(pl.lit("void_pending"))
        .otherwise(pl.col("role"))
    )
    status = (
        pl.when(pl.col("role") == "pending")
        .then(pl.lit("pending"))
        .when(pl.col("role") == "void")
        .then(pl.lit("archived"))
        .otherwise(pl.lit("posted"))
    )
    tx = tx.with_columns(kind.alias("kind"), status.alias("canonical_status"))
    base = pl.col("reference").str.replace(r"-[0-9]+$", "")
    grouped = (
        tx.sort("id")
        .group_by("group", "version", maintain_order=True)
        .agg(
            pl.col("kind").first(),
            pl.col("canonical_status").first().alias("status"),
            pl.col("reverses").first().alias("reverses_transaction_id"),
            pl.col("effective_ns").min(),
            pl.col("recorded_ns").min(),
            pl.when(pl.len() > 1)
            .then(
                pl.when(base.n_unique() == 1)
                .then(base.first())
                .otherwise(pl.col("reference").first())
            )
            .otherwise(pl.col("reference").first())
            .alias("reference"),
            pl.col("description").first(),
            pl.col("meta_data").first().alias("metadata"),
        )
    )
    return grouped.select(
        pl.lit(LEDGER_ID).alias("ledger_id"),
        pl.col("group").alias("transaction_id"),
        "version",
        "kind",
        "status",
        pl.lit(None, dtype=pl.String).alias("pending_transaction_id"),
        "reverses_transaction_id",
        "effective_ns",
        "recorded_ns",
        pl.col("reference").alias("idempotency_key"),
        pl.col("reference").alias("external_id"),
        "description",
        "metadata",
        pl.lit(None, dtype=pl.String).alias("meta_hash"),
        pl.lit(None, dtype=pl.Int64).alias("chain_seq"),
        pl.lit(None, dtype=pl.String).alias("chain_prev_hash"),
        pl.lit(None, dtype=pl.String).alias("content_hash"),
        pl.lit(None, dtype=pl.String).alias("chain_hash"),
    )


def _entries(tx: pl.DataFrame) -> pl.DataFrame:
    ranked = tx.sort("id").with_columns(
        pl.int_range(pl.len()).over("group", "version").cast(pl.Int32).alias("piece")
    )
    common: list[pl.Expr | str] = [
        pl.lit(LEDGER_ID).alias("ledger_id"),
        pl.col("group").alias("transaction_id"),
        "version",
    ]
    debit = ranked.select(
        *common,
        (pl.col("piece") * 2).alias("entry_index"),
        pl.col("source_account").alias("account_id"),
        "asset_id",
        pl.lit("debit").alias("direction"),
        pl.col("precise_text").alias("amount"),
    )
    credit = ranked.select(
        *common,
        (pl.col("piece") * 2 + 1).alias("entry_index"),
        pl.col("destination_account").alias("account_id"),
        "asset_id",
        pl.lit("credit").alias("direction"),
        pl.col("precise_text").alias("amount"),
    )
    return pl.concat([debit, credit])


def _balance_assets(balances: pl.DataFrame, tx: pl.DataFrame) -> pl.DataFrame:
    """Each balance with the scale its transactions give it (null: none or several)."""
    touching = pl.concat(
        [
            tx.select(pl.col("source").alias("balance_id"), "_scale"),
            tx.select(pl.col("destination").alias("balance_id"), "_scale"),
        ]
    )
    scales = touching.group_by("balance_id").agg(pl.col("_scale").unique().sort().alias("_scales"))
    return balances.join(scales, on="balance_id", how="left").with_columns(
        pl.when(pl.col("_scales").list.len() == 1)
        .then(pl.col("_scales").list.first())
        .otherwise(None)
        .cast(pl.Int32)
        .alias("_scale")
    )


def build_raw(rows: BlnkRows) -> RawTables:
    """The canonical raw tables of ``rows``; every Blnk row is loaded, rejected or set aside."""
    everything = rows.transactions.with_columns(
        _scale(pl.col("precision_text")).alias("_scale"),
        _ns("created_at").alias("recorded_ns"),
        pl.coalesce(_ns("effective_date"), _ns("created_at")).alias("effective_ns"),
    )
    no_effect_rows = everything.filter(pl.col("status").is_in(NO_EFFECT_STATUSES))
    no_effect = {
        status: int(no_effect_rows.filter(pl.col("status") == status).height)
        for status in NO_EFFECT_STATUSES
    }
    ledger_rows = everything.filter(~pl.col("status").is_in(NO_EFFECT_STATUSES))
    checked = _problems(ledger_rows, rows.balances)
    unknown_status = ~pl.col("status").is_in(LEDGER_STATUSES).fill_null(value=False)
    checked = checked.with_columns(
        pl.when(unknown_status)
        .then(pl.lit("status"))
        .otherwise(pl.col("_column"))
        .alias("_column"),
        pl.when(unknown_status)
        .then(pl.lit("unknown_status"))
        .otherwise(pl.col("_reason"))
        .alias("_reason"),
        pl.when(unknown_status).then(pl.col("status")).otherwise(pl.col("_raw")).alias("_raw"),
    )
    bad_tx = checked.filter(pl.col("_reason").is_not_null())
    good = checked.filter(pl.col("_reason").is_null()).drop("_column", "_reason", "_raw")
    accounts_of = _account_of(rows.balances)
    good = (
        good.join(
            accounts_of.rename({"balance_id": "source", "account_id": "source_account"}),
            on="source",
            how="left",
        )
        .join(
            accounts_of.rename({"balance_id": "destination", "account_id": "destination_account"}),
            on="destination",
            how="left",
        )
        .with_columns(
            pl.concat_str(
                [pl.col("currency"), pl.col("_scale").cast(pl.String)], separator="/"
            ).alias("asset_id")
        )
    )
    roles = _roles(good, everything)
    reverses = roles.filter(pl.col("role").is_in(["standard", "pending", "reversal"])).select(
        pl.col("transaction_id").alias("parent_transaction"), pl.col("group").alias("reverses")
    )
    roles = roles.join(reverses, on="parent_transaction", how="left").with_columns(
        pl.when(pl.col("role") == "reversal").then(pl.col("reverses")).alias("reverses")
    )
    balances = _balance_assets(rows.balances, roles)
    tables = _tables(rows, roles, balances)
    balance_problem = pl.col("_scale").is_null() & pl.any_horizontal(
        pl.col(c).fill_null("0").str.replace(r"^-?0*(\.0*)?$", "") != ""
        for c in (
            "credit_balance",
            "debit_balance",
            "inflight_credit_balance",
            "inflight_debit_balance",
        )
    )
    bad_balances = balances.filter(balance_problem).with_columns(
        pl.lit("currency").alias("_column"),
        pl.when(pl.col("_scales").list.len() > 1)
        .then(pl.lit("several_precisions"))
        .otherwise(pl.lit("no_precision"))
        .alias("_reason"),
        pl.col("currency").alias("_raw"),
    )
    rejections = pl.concat(
        [
            _rejections(bad_tx, TRANSACTIONS, "transaction_id", rows.label),
            _rejections(bad_balances, BALANCES, "balance_id", rows.label),
        ]
    )
    return RawTables(
        tables=tables,
        rejections=rejections,
        rows=roles,
        no_effect=no_effect,
        rejected_transactions=bad_tx.height,
        rejected_balances=bad_balances.height,
    )


def _tables(rows: BlnkRows, tx: pl.DataFrame, balances: pl.DataFrame) -> dict[str, pl.DataFrame]:
    meta = pl.col("meta_data").fill_null("{}")
    normal = meta.str.json_path_match("$.normal_balance")
    named = meta.str.json_path_match("$.name")
    with_assets = balances.filter(pl.col("_scale").is_not_null()).with_columns(
        pl.concat_str([pl.col("currency"), pl.col("_scale").cast(pl.String)], separator="/").alias(
            "asset_id"
        )
    )
    keyed = balances.with_columns(
        pl.coalesce("indicator", "balance_id").alias("account_id"),
        pl.when(pl.col("_scale").is_not_null())
        .then(pl.concat_str([pl.col("currency"), pl.col("_scale").cast(pl.String)], separator="/"))
        .alias("asset_id"),
        pl.when(normal.is_in(["debit", "credit"]))
        .then(normal)
        .otherwise(pl.lit("credit"))
        .alias("normal_balance"),
        named.alias("_name"),
        _ns("created_at").alias("opened_ns"),
    )
    accounts = (
        keyed.sort("balance_id")
        .group_by("account_id", maintain_order=True)
        .agg(
            pl.col("_name").drop_nulls().first().alias("name"),
            pl.col("normal_balance").first(),
            pl.when(pl.col("asset_id").n_unique() == 1)
            .then(pl.col("asset_id").first())
            .alias("asset_id"),
            pl.col("opened_ns").min(),
            pl.when(pl.len() == 1).then(pl.col("balance_id").first()).alias("external_id"),
            pl.format(
                '{{"blnk_balance_ids": "{}", "blnk_ledger_ids": "{}"}}',
                pl.col("balance_id").str.join(","),
                pl.col("ledger_id").unique().sort().str.join(","),
            ).alias("metadata"),
        )
    )
    accounts = accounts.select(
        pl.lit(LEDGER_ID).alias("ledger_id"),
        "account_id",
        pl.coalesce("name", "account_id").alias("name"),
        "normal_balance",
        "asset_id",
        pl.lit(value=True).alias("allow_negative"),
        "opened_ns",
        pl.lit(None, dtype=pl.Int64).alias("closed_ns"),
        "external_id",
        "metadata",
    )
    assets = pl.concat(
        [
            tx.select("currency", "_scale", "asset_id"),
            with_assets.select("currency", "_scale", "asset_id"),
        ]
    ).unique()
    assets = assets.select(
        "asset_id",
        pl.col("currency").alias("code"),
        pl.col("_scale").alias("scale"),
        pl.lit("currency").alias("kind"),
    )
    as_of = tx.get_column("recorded_ns").max()
    stored = keyed.join(with_assets.select("balance_id"), on="balance_id", how="semi").select(
        pl.lit(LEDGER_ID).alias("ledger_id"),
        "account_id",
        "asset_id",
        pl.col("debit_balance").alias("posted_debits"),
        pl.col("credit_balance").alias("posted_credits"),
        pl.col("inflight_debit_balance").alias("pending_debits"),
        pl.col("inflight_credit_balance").alias("pending_credits"),
        pl.coalesce(pl.lit(as_of, dtype=pl.Int64), pl.col("opened_ns")).alias("as_of_ns"),
        pl.col("version").cast(pl.Int64).alias("lock_version"),
    )
    created = rows.ledgers.get_column("created_at").min()
    ledgers = pl.DataFrame(
        {
            "ledger_id": [LEDGER_ID],
            "name": ["Blnk: " + ", ".join(rows.ledgers.get_column("ledger_id").to_list())],
            "chain_algorithm": [None],
            "created_ns": [
                None if created is None else int(pl.Series([created]).dt.epoch("us")[0]) * 1000
            ],
            "metadata": [None],
        },
        schema={
            "ledger_id": pl.String,
            "name": pl.String,
            "chain_algorithm": pl.String,
            "created_ns": pl.Int64,
            "metadata": pl.String,
        },
    )
    return {
        "ledgers": ledgers,
        "assets": assets,
        "accounts": accounts,
        "transactions": _versions(tx),
        "entries": _entries(tx),
        "balances": stored,
    }
