"""The demo ledger written as Midaz (LerianStudio/midaz) would hold it, for the adapter's tests.

Midaz's transaction component keeps ``transaction`` rows (status CREATED, APPROVED, PENDING,
CANCELED or NOTED; one row per transaction, updated in place), ``operation`` rows (one per
leg: ``type`` DEBIT or CREDIT, plus ON_HOLD and RELEASE for holds, a DECIMAL ``amount`` in
major units, the balance's ``available_balance``/``on_hold_balance`` before and
``*_after`` after, and ``balance_version_before``/``_after``) and ``balance`` rows (per
account, asset and key: ``available``, ``on_hold``, ``version``, ``direction``). The DDL below
is the state after migrations 000000-000035 of ``components/ledger/migrations/transaction``.

The canonical ledger is written with those semantics: each transaction's posted state as an
APPROVED transaction whose entries are DEBIT and CREDIT operations, applied to the balances in
recorded order (a credit-direction balance: CREDIT adds to ``available``, DEBIT subtracts; a
debit-direction balance the reverse). A canonical account with several assets has one Midaz
balance per asset. Ids are UUID-shaped and deterministic. Columnar: no Python loop per row.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.demo.vendors.pgledger import copy_tables, major_text, posted_legs, timestamp
from ledger_audit.sources.ledger_frames import LedgerFrames

DDL = """
CREATE TABLE "transaction" (
    id UUID PRIMARY KEY NOT NULL,
    parent_transaction_id UUID REFERENCES "transaction" (id),
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    status_description TEXT,
    amount DECIMAL NOT NULL,
    asset_code TEXT NOT NULL,
    chart_of_accounts_group_name TEXT NOT NULL,
    ledger_id UUID NOT NULL,
    organization_id UUID NOT NULL,
    body JSONB,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    deleted_at TIMESTAMP WITH TIME ZONE,
    route TEXT,
    route_id UUID,
    fees_skipped BOOLEAN NOT NULL DEFAULT FALSE,
    tracer_skipped BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE operation (
    id UUID PRIMARY KEY NOT NULL,
    transaction_id UUID NOT NULL REFERENCES "transaction" (id),
    description TEXT NOT NULL,
    type TEXT NOT NULL,
    asset_code TEXT NOT NULL,
    amount DECIMAL NOT NULL DEFAULT 0,
    available_balance DECIMAL NOT NULL DEFAULT 0,
    on_hold_balance DECIMAL NOT NULL DEFAULT 0,
    available_balance_after DECIMAL NOT NULL DEFAULT 0,
    on_hold_balance_after DECIMAL NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    status_description TEXT,
    account_id UUID NOT NULL,
    account_alias TEXT NOT NULL,
    balance_id UUID NOT NULL,
    chart_of_accounts TEXT NOT NULL,
    organization_id UUID NOT NULL,
    ledger_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    deleted_at TIMESTAMP WITH TIME ZONE,
    route TEXT,
    balance_affected BOOLEAN NOT NULL DEFAULT true,
    balance_key TEXT NOT NULL DEFAULT 'default',
    balance_version_before BIGINT NOT NULL DEFAULT 0,
    balance_version_after BIGINT NOT NULL DEFAULT 0,
    direction VARCHAR(10),
    route_id UUID,
    route_code TEXT,
    route_description TEXT,
    snapshot JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX idx_operation_organization_transaction_id ON operation (transaction_id);
CREATE TABLE balance (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL,
    ledger_id UUID NOT NULL,
    account_id UUID NOT NULL,
    alias TEXT NOT NULL,
    asset_code TEXT NOT NULL,
    available DECIMAL NOT NULL DEFAULT 0,
    on_hold DECIMAL NOT NULL DEFAULT 0,
    version BIGINT DEFAULT 0,
    account_type TEXT NOT NULL,
    allow_sending BOOLEAN NOT NULL,
    allow_receiving BOOLEAN NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    deleted_at TIMESTAMP WITH TIME ZONE,
    key TEXT NOT NULL DEFAULT 'default',
    direction VARCHAR(16) NOT NULL DEFAULT 'credit' CHECK (direction IN ('credit', 'debit')),
    overdraft_used DECIMAL NOT NULL DEFAULT 0 CHECK (overdraft_used >= 0),
    settings JSONB
);
"""
"""Midaz's transaction-component tables after its migrations (indexes mostly left out)."""

ORGANIZATION = "00000000-0000-4000-8000-000000000001"
"""The one organization the demo's ledgers belong to."""


def uuid_of(kind: int, ordinal: pl.Expr) -> pl.Expr:
    """A deterministic UUID-shaped id: ``kind`` in the first group, ``ordinal`` in the last."""
    return pl.format(f"{kind:08d}-0000-4000-8000-{{}}", ordinal.cast(pl.String).str.zfill(12))


def midaz_tables(frames: LedgerFrames) -> dict[str, pl.DataFrame]:
    """The three Midaz tables holding the posted state of ``frames``, in key order."""
    legs = posted_legs(frames).rename({"direction": "side"})
    ledgers = (
        frames.ledgers.select("ledger_id")
        .sort("ledger_id")
        .with_columns(uuid_of(2, pl.int_range(1, pl.len() + 1)).alias("ledger_uuid"))
    )
    balances = _balances(frames, legs, ledgers)
    transactions = (
        legs.select("ledger_id", "transaction_id", "recorded_ns")
        .unique()
        .sort("recorded_ns", "ledger_id", "transaction_id")
        .with_columns(uuid_of(3, pl.int_range(1, pl.len() + 1)).alias("tx_uuid"))
    )
    ops = (
        legs.join(
            transactions.select("ledger_id", "transaction_id", "tx_uuid"),
            on=["ledger_id", "transaction_id"],
        )
        .join(
            balances.select(
                "ledger_id",
                "account_id",
                "asset_id",
                "balance_uuid",
                "account_uuid",
                "ledger_uuid",
                "direction",
            ),
            on=["ledger_id", "account_id", "asset_id"],
            how="left",
        )
        .sort("recorded_ns", "ledger_id", "transaction_id", "entry_index")
        .with_columns(uuid_of(6, pl.int_range(1, pl.len() + 1)).alias("op_uuid"))
    )
    # A CREDIT adds to a credit-direction balance's available, a DEBIT to a debit-direction one.
    ops = ops.with_columns(
        pl.when(pl.col("side") == pl.col("direction"))
        .then(pl.col("amount"))
        .otherwise(-pl.col("amount"))
        .alias("delta")
    ).with_columns(
        pl.col("delta").cum_sum().over("balance_uuid").alias("after"),
        pl.int_range(1, pl.len() + 1).over("balance_uuid").alias("version_after"),
    )
    return _tables(frames, balances, transactions, ops)


def _tables(
    frames: LedgerFrames, balances: pl.DataFrame, transactions: pl.DataFrame, ops: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    scale = pl.col("scale")
    operation = ops.select(
        pl.col("op_uuid").alias("id"),
        pl.col("tx_uuid").alias("transaction_id"),
        pl.lit("").alias("description"),
        pl.col("side").str.to_uppercase().alias("type"),
        pl.col("code").alias("asset_code"),
        major_text(pl.col("amount"), scale).alias("amount"),
        major_text(pl.col("after") - pl.col("delta"), scale).alias("available_balance"),
        pl.lit("0").alias("on_hold_balance"),
        major_text(pl.col("after"), scale).alias("available_balance_after"),
        pl.lit("0").alias("on_hold_balance_after"),
        pl.lit("APPROVED").alias("status"),
        pl.col("account_uuid").alias("account_id"),
        pl.col("account_id").alias("account_alias"),
        pl.col("balance_uuid").alias("balance_id"),
        pl.lit("").alias("chart_of_accounts"),
        pl.lit(ORGANIZATION).alias("organization_id"),
        pl.col("ledger_uuid").alias("ledger_id"),
        timestamp(pl.col("recorded_ns")).alias("created_at"),
        timestamp(pl.col("recorded_ns")).alias("updated_at"),
        pl.lit(value=True).alias("balance_affected"),
        pl.lit("default").alias("balance_key"),
        (pl.col("version_after") - 1).alias("balance_version_before"),
        pl.col("version_after").alias("balance_version_after"),
        pl.col("side").alias("direction"),
    )
    first = (
        ops.sort("entry_index")
        .group_by("tx_uuid")
        .agg(
            pl.col("code").first(),
            pl.col("scale").first(),
            pl.col("asset_id").first(),
        )
    )
    totals = (
        ops.filter(pl.col("side") == "debit")
        .group_by("tx_uuid", "asset_id")
        .agg(pl.col("amount").sum().alias("total"))
    )
    originals = frames.transactions.select(
        "ledger_id", "transaction_id", "reverses_transaction_id", "description"
    ).unique(subset=["ledger_id", "transaction_id"], keep="last")
    rows = (
        transactions.join(first, on="tx_uuid", how="left")
        .join(totals, on=["tx_uuid", "asset_id"], how="left")
        .join(originals, on=["ledger_id", "transaction_id"], how="left")
        .join(
            transactions.select(
                "ledger_id",
                pl.col("transaction_id").alias("reverses_transaction_id"),
                pl.col("tx_uuid").alias("parent_uuid"),
            ),
            on=["ledger_id", "reverses_transaction_id"],
            how="left",
        )
        .join(balances.select("ledger_id", "ledger_uuid").unique(), on="ledger_id", how="left")
        .sort("tx_uuid")
    )
    transaction = rows.select(
        pl.col("tx_uuid").alias("id"),
        pl.col("parent_uuid").alias("parent_transaction_id"),
        pl.col("description").fill_null(""),
        pl.lit("APPROVED").alias("status"),
        major_text(pl.col("total").fill_null(0), scale).alias("amount"),
        pl.col("code").alias("asset_code"),
        pl.lit("").alias("chart_of_accounts_group_name"),
        pl.col("ledger_uuid").alias("ledger_id"),
        pl.lit(ORGANIZATION).alias("organization_id"),
        timestamp(pl.col("recorded_ns")).alias("created_at"),
        timestamp(pl.col("recorded_ns")).alias("updated_at"),
    )
    last = ops.group_by("balance_uuid").agg(
        pl.col("after").last(),
        pl.col("version_after").last().cast(pl.Int64).alias("version"),
        pl.col("recorded_ns").max().alias("updated_ns"),
    )
    balance = (
        balances.join(last, on="balance_uuid", how="left")
        .sort("balance_uuid")
        .select(
            pl.col("balance_uuid").alias("id"),
            pl.lit(ORGANIZATION).alias("organization_id"),
            pl.col("ledger_uuid").alias("ledger_id"),
            pl.col("account_uuid").alias("account_id"),
            pl.col("account_id").alias("alias"),
            pl.col("code").alias("asset_code"),
            major_text(pl.col("after").fill_null(0), scale).alias("available"),
            pl.lit("0").alias("on_hold"),
            pl.col("version").fill_null(0),
            pl.when(pl.col("allow_negative").fill_null(value=True))
            .then(pl.lit("external"))
            .otherwise(pl.lit("deposit"))
            .alias("account_type"),
            pl.lit(value=True).alias("allow_sending"),
            pl.lit(value=True).alias("allow_receiving"),
            timestamp(pl.col("opened_ns")).alias("created_at"),
            timestamp(pl.coalesce("updated_ns", "opened_ns")).alias("updated_at"),
            pl.lit("default").alias("key"),
            "direction",
        )
    )
    return {"transaction": transaction, "balance": balance, "operation": operation}


def write_midaz(frames: LedgerFrames, url: str) -> dict[str, pl.DataFrame]:
    """Create Midaz's transaction tables in the empty database ``url`` and fill them."""
    tables = midaz_tables(frames)
    copy_tables(url, DDL, tables)
    return tables


def _balances(frames: LedgerFrames, legs: pl.DataFrame, ledgers: pl.DataFrame) -> pl.DataFrame:
    used = legs.select("ledger_id", "account_id", "asset_id").unique()
    declared = frames.accounts.filter(pl.col("asset_id").is_not_null()).select(
        "ledger_id", "account_id", "asset_id"
    )
    pairs = pl.concat([used, declared]).unique().sort("ledger_id", "account_id", "asset_id")
    accounts = frames.accounts.select(
        "ledger_id", "account_id", "normal_balance", "allow_negative", "opened_ns"
    ).sort("ledger_id", "account_id")
    accounts = accounts.with_columns(
        uuid_of(4, pl.int_range(1, pl.len() + 1)).alias("account_uuid")
    )
    return (
        pairs.join(accounts, on=["ledger_id", "account_id"], how="left")
        .join(frames.assets.select("asset_id", "code", "scale"), on="asset_id", how="left")
        .join(ledgers, on="ledger_id", how="left")
        .with_columns(
            uuid_of(5, pl.int_range(1, pl.len() + 1)).alias("balance_uuid"),
            pl.col("normal_balance").fill_null("credit").alias("direction"),
            pl.col("opened_ns").fill_null(0),
        )
    )
