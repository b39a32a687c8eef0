"""The demo ledger written as pgledger (pgr0ss/pgledger) would hold it, for the adapter's tests.

pgledger keeps single-currency accounts with a cached NUMERIC ``balance`` and ``version``,
one row per transfer (``from_account_id`` -> ``to_account_id``, a positive NUMERIC amount in
major units) and two entries per transfer, each with the account's balance before and after
and the account's new version (``pgledger.sql``: ``pgledger_create_transfers`` subtracts from
the source, adds to the destination, bumps each account's version and writes the entries).

The canonical ledger is written with those semantics: only the posted state of each
transaction (pgledger has no pending state), each transaction split into from -> to transfers
per asset (a multi-leg transaction becomes several transfers; its debits are paired with its
credits in entry order), applied in recorded order. A canonical account with several assets
becomes one pgledger account per asset (same ``name``). The signed pgledger balance is
credits - debits, so a debit-normal account that must not go below zero becomes
``allow_positive_balance = false``. Columnar throughout: no Python loop per row.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import polars as pl
import sqlalchemy as sa

from ledger_audit.sources.ledger_frames import LedgerFrames

DDL = """
CREATE TABLE pgledger_accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    currency TEXT NOT NULL,
    balance NUMERIC NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 0,
    allow_negative_balance BOOLEAN NOT NULL,
    allow_positive_balance BOOLEAN NOT NULL,
    metadata JSONB,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE pgledger_transfers (
    id TEXT PRIMARY KEY,
    from_account_id TEXT NOT NULL REFERENCES pgledger_accounts (id),
    to_account_id TEXT NOT NULL REFERENCES pgledger_accounts (id),
    amount NUMERIC NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    event_at TIMESTAMPTZ NOT NULL,
    metadata JSONB,
    CHECK (amount > 0 AND from_account_id != to_account_id)
);
CREATE INDEX ON pgledger_transfers (from_account_id);
CREATE INDEX ON pgledger_transfers (to_account_id);
CREATE INDEX ON pgledger_transfers (event_at);
CREATE TABLE pgledger_entries (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES pgledger_accounts (id),
    transfer_id TEXT NOT NULL REFERENCES pgledger_transfers (id),
    amount NUMERIC NOT NULL,
    account_previous_balance NUMERIC NOT NULL,
    account_current_balance NUMERIC NOT NULL,
    account_version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ON pgledger_entries (account_id);
CREATE INDEX ON pgledger_entries (transfer_id);
"""
"""pgledger's three tables as its ``pgledger.sql`` declares them. The ids' DEFAULTs (a
prefixed ULID from ``pgledger_generate_id``) are left out: the generator writes the ids."""

TABLES = ("pgledger_accounts", "pgledger_transfers", "pgledger_entries")
"""In foreign-key order."""


def major_text(minor: pl.Expr, scale: pl.Expr) -> pl.Expr:
    """Integer minor units as exact major-unit text at ``scale`` (``-1234``, 2: ``-12.34``)."""
    digits = minor.abs().cast(pl.String).str.zfill(scale + 1)
    cut = digits.str.len_chars() - scale
    text = (
        pl.when(scale > 0)
        .then(digits.str.slice(0, cut) + "." + digits.str.slice(cut))
        .otherwise(digits)
    )
    return pl.when(minor < 0).then("-" + text).otherwise(text)


def timestamp(ns: pl.Expr) -> pl.Expr:
    """Epoch nanoseconds as a UTC timestamp at PostgreSQL's microsecond precision."""
    return pl.from_epoch(ns // 1000, time_unit="us").dt.replace_time_zone("UTC")


def posted_legs(frames: LedgerFrames) -> pl.DataFrame:
    """The entries of each transaction's latest version, where that version is posted.

    Columns: the entry's, plus ``recorded_ns``, ``effective_ns``, ``code`` and ``scale``.
    """
    latest = (
        frames.transactions.sort("version")
        .group_by("ledger_id", "transaction_id")
        .last()
        .filter(pl.col("status") == "posted")
        .select("ledger_id", "transaction_id", "version", "recorded_ns", "effective_ns")
    )
    assets = frames.assets.select("asset_id", "code", "scale")
    return frames.entries.join(
        latest, on=["ledger_id", "transaction_id", "version"], how="inner"
    ).join(assets, on="asset_id", how="left")


def split_transfers(legs: pl.DataFrame) -> pl.DataFrame:
    """Pair each transaction's debits with its credits, per asset, into from -> to transfers.

    Debits and credits are laid end to end in entry order; every overlap of a debit's span
    with a credit's span is one transfer of the overlap's length (a balanced two-leg
    transaction is one transfer). Columns: ledger_id, transaction_id, asset_id, code, scale,
    recorded_ns, effective_ns, piece, from_account, to_account, amount.
    """
    group = ["ledger_id", "transaction_id", "asset_id"]
    spans = legs.sort(*group, "entry_index").with_columns(
        (pl.col("amount").cum_sum().over(group, "direction")).alias("end")
    )
    spans = spans.with_columns((pl.col("end") - pl.col("amount")).alias("start"))
    keep = [*group, "code", "scale", "recorded_ns", "effective_ns"]
    debits = spans.filter(pl.col("direction") == "debit").select(
        *keep, "entry_index", pl.col("account_id").alias("from_account"), "start", "end"
    )
    credit_spans = spans.filter(pl.col("direction") == "credit").select(
        *group,
        pl.col("entry_index").alias("credit_index"),
        pl.col("account_id").alias("to_account"),
        pl.col("start").alias("c_start"),
        pl.col("end").alias("c_end"),
    )
    pairs = debits.join(credit_spans, on=group, how="inner").with_columns(
        (pl.min_horizontal("end", "c_end") - pl.max_horizontal("start", "c_start")).alias("amount")
    )
    pairs = pairs.filter(
        (pl.col("amount") > 0) & (pl.col("from_account") != pl.col("to_account"))
    ).sort(*group, "entry_index", "credit_index")
    return pairs.with_columns(
        pl.int_range(pl.len()).over("ledger_id", "transaction_id").alias("piece")
    ).select(*keep, "piece", "from_account", "to_account", "amount")


def _padded(prefix: str, ordinal: pl.Expr) -> pl.Expr:
    return pl.lit(f"{prefix}_") + ordinal.cast(pl.String).str.zfill(26)


def pgledger_tables(frames: LedgerFrames) -> dict[str, pl.DataFrame]:
    """The three pgledger tables holding the posted state of ``frames``, in key order."""
    transfers = split_transfers(posted_legs(frames)).sort(
        "recorded_ns", "ledger_id", "transaction_id", "piece"
    )
    transfers = transfers.with_columns(_padded("pglt", pl.int_range(1, pl.len() + 1)).alias("id"))
    accounts = _accounts(frames)
    key = accounts.select("ledger_id", "account_id", "asset_id", "pgla")
    transfers = transfers.join(
        key.rename({"account_id": "from_account", "pgla": "from_account_id"}),
        on=["ledger_id", "from_account", "asset_id"],
        how="left",
    ).join(
        key.rename({"account_id": "to_account", "pgla": "to_account_id"}),
        on=["ledger_id", "to_account", "asset_id"],
        how="left",
    )
    sides = pl.concat(
        [
            transfers.select(
                "id",
                "recorded_ns",
                "scale",
                pl.col("from_account_id").alias("account_id"),
                (-pl.col("amount")).alias("signed"),
                pl.lit(0).alias("side"),
            ),
            transfers.select(
                "id",
                "recorded_ns",
                "scale",
                pl.col("to_account_id").alias("account_id"),
                pl.col("amount").alias("signed"),
                pl.lit(1).alias("side"),
            ),
        ]
    ).sort("id", "side")
    sides = sides.with_columns(
        pl.col("signed").cum_sum().over("account_id").alias("current"),
        pl.int_range(1, pl.len() + 1).over("account_id").alias("account_version"),
    )
    entries = sides.select(
        _padded("pgle", pl.int_range(1, pl.len() + 1)).alias("id"),
        "account_id",
        pl.col("id").alias("transfer_id"),
        major_text(pl.col("signed"), pl.col("scale")).alias("amount"),
        major_text(pl.col("current") - pl.col("signed"), pl.col("scale")).alias(
            "account_previous_balance"
        ),
        major_text(pl.col("current"), pl.col("scale")).alias("account_current_balance"),
        "account_version",
        timestamp(pl.col("recorded_ns")).alias("created_at"),
    )
    last = sides.group_by("account_id").agg(
        pl.col("current").last().alias("net"),
        pl.len().cast(pl.Int64).alias("version"),
        pl.col("recorded_ns").max().alias("updated_ns"),
    )
    accounts = accounts.join(last, left_on="pgla", right_on="account_id", how="left")
    accounts_table = accounts.select(
        pl.col("pgla").alias("id"),
        pl.col("account_id").alias("name"),
        pl.col("code").alias("currency"),
        major_text(pl.col("net").fill_null(0), pl.col("scale")).alias("balance"),
        pl.col("version").fill_null(0),
        "allow_negative_balance",
        "allow_positive_balance",
        pl.lit(None, pl.String).alias("metadata"),
        timestamp(pl.col("opened_ns")).alias("created_at"),
        timestamp(pl.coalesce("updated_ns", "opened_ns")).alias("updated_at"),
    )
    transfers_table = transfers.select(
        "id",
        "from_account_id",
        "to_account_id",
        major_text(pl.col("amount"), pl.col("scale")).alias("amount"),
        timestamp(pl.col("recorded_ns")).alias("created_at"),
        timestamp(pl.col("effective_ns")).alias("event_at"),
        pl.struct("ledger_id", "transaction_id").struct.json_encode().alias("metadata"),
    )
    return {
        "pgledger_accounts": accounts_table,
        "pgledger_transfers": transfers_table,
        "pgledger_entries": entries,
    }


def _accounts(frames: LedgerFrames) -> pl.DataFrame:
    """One pgledger account per canonical account and asset it holds, ids in name order."""
    used = frames.entries.select("ledger_id", "account_id", "asset_id").unique()
    declared = frames.accounts.filter(pl.col("asset_id").is_not_null()).select(
        "ledger_id", "account_id", "asset_id"
    )
    pairs = pl.concat([used, declared]).unique().sort("ledger_id", "account_id", "asset_id")
    pairs = pairs.join(
        frames.accounts.select(
            "ledger_id", "account_id", "normal_balance", "allow_negative", "opened_ns"
        ),
        on=["ledger_id", "account_id"],
        how="left",
    ).join(frames.assets.select("asset_id", "code", "scale"), on="asset_id", how="left")
    debit_normal = pl.col("normal_balance") == "debit"
    allowed = pl.col("allow_negative").fill_null(value=True)
    return pairs.with_columns(
        _padded("pgla", pl.int_range(1, pl.len() + 1)).alias("pgla"),
        (debit_normal | allowed).alias("allow_negative_balance"),
        (~debit_normal | allowed).alias("allow_positive_balance"),
        pl.col("opened_ns").fill_null(0),
    )


def libpq(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as a libpq connection string for psycopg."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def copy_tables(url: str, ddl: str, tables: Mapping[str, pl.DataFrame]) -> None:
    """Run ``ddl``, then COPY each frame into its table (CSV, in chunks), then VACUUM ANALYZE."""
    import psycopg  # noqa: PLC0415 - only the generators write PostgreSQL

    conninfo = libpq(url)
    with psycopg.connect(conninfo) as conn:
        conn.execute(ddl)
        for name, frame in tables.items():
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            sql = f'COPY "{name}" ({columns}) FROM STDIN (FORMAT csv)'
            with conn.cursor() as cur, cur.copy(sql) as copy:
                for chunk in frame.iter_slices(200_000):
                    buffer = io.BytesIO()
                    chunk.write_csv(buffer, include_header=False)
                    copy.write(buffer.getvalue())
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM (FREEZE, ANALYZE)")


def write_pgledger(frames: LedgerFrames, url: str) -> dict[str, pl.DataFrame]:
    """Create pgledger's tables in the empty database ``url`` and fill them from ``frames``."""
    tables = pgledger_tables(frames)
    copy_tables(url, DDL, tables)
    return tables
