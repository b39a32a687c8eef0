"""The demo ledger written as Blnk (blnkfinance/blnk) would hold it, for the adapter's tests.

Blnk keeps one ``balances`` row per account and currency (credit, debit and inflight cells,
``balance = credit_balance - debit_balance``), one ``transactions`` row per source ->
destination movement with the exact ``precise_amount`` in minor units, its ``precision``
(10^scale) and the NUMERIC ``amount`` in major units beside it, and a global hash chain over
the rows in ``id`` order, its head bookmarked in ``chain_state`` (schema from Blnk's
migrations; the chain recipe is :mod:`ledger_audit.sources.adapters.blnk.chain_hash`).

The canonical ledger is written with those semantics:

- a version's legs are paired per asset into movements (debits and credits laid end to end
  in entry order; each overlap is one row: source = the debited account, destination = the
  credited one), so a two-leg version is one row;
- several rows of one version are a Blnk split: ids ``<tx>-1``, ``<tx>-2``..., references
  ``<reference>-1``..., and ``parent_transaction`` = the canonical id, which has no row of its
  own (as Blnk's distributions do);
- a pending version is ``INFLIGHT``; a later posted version is ``COMMIT`` rows and a later
  archived one ``VOID`` rows (ids ``<tx>-v<version>[-k]``), each with ``parent_transaction``
  = the inflight row it settles; a reversal's single row points at the reversed row;
- a version's rows share its ``created_at`` (recorded time, at PostgreSQL's microseconds) and
  ``effective_date``; the account's normal balance and name go into the balance's
  ``meta_data`` (Blnk itself has none: every balance reads credit-normal);
- stored balances are the canonical ``balances`` rows (zero where there is none).

Only the generator writes PostgreSQL; everything but the chain (sequential by definition) is
columnar.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl
import polars_hash as plh
import sqlalchemy as sa

from ledger_audit.sources.adapters.blnk.chain_hash import GENESIS, rfc3339_nano_expr
from ledger_audit.sources.ledger_frames import LedgerFrames

SCHEMA_DDL = """
CREATE SCHEMA IF NOT EXISTS blnk;
CREATE TABLE blnk.ledgers (
    id         SERIAL PRIMARY KEY,
    name       TEXT,
    ledger_id  TEXT      NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    meta_data  JSONB
);
CREATE TABLE blnk.identity (
    id                SERIAL PRIMARY KEY,
    identity_id       TEXT      NOT NULL UNIQUE,
    first_name        TEXT      NOT NULL,
    last_name         TEXT      NOT NULL,
    created_at        TIMESTAMP NOT NULL DEFAULT NOW(),
    meta_data         JSONB
);
CREATE TABLE blnk.balances (
    id                      SERIAL PRIMARY KEY,
    balance_id              TEXT      NOT NULL UNIQUE,
    indicator               TEXT,
    balance                 NUMERIC   NOT NULL,
    credit_balance          NUMERIC   NOT NULL,
    debit_balance           NUMERIC   NOT NULL,
    currency                TEXT      NOT NULL,
    ledger_id               TEXT      NOT NULL REFERENCES blnk.ledgers (ledger_id),
    identity_id             TEXT REFERENCES blnk.identity (identity_id),
    created_at              TIMESTAMP NOT NULL DEFAULT NOW(),
    meta_data               JSONB,
    version                 INTEGER   NOT NULL DEFAULT 1,
    inflight_balance        NUMERIC   NOT NULL DEFAULT 0,
    inflight_credit_balance NUMERIC   NOT NULL DEFAULT 0,
    inflight_debit_balance  NUMERIC   NOT NULL DEFAULT 0,
    track_fund_lineage      BOOLEAN   NOT NULL DEFAULT FALSE,
    allocation_strategy     TEXT      NOT NULL DEFAULT 'FIFO',
    CONSTRAINT unique_indicator_currency UNIQUE (indicator, currency)
);
CREATE TABLE blnk.transactions (
    id                 SERIAL PRIMARY KEY,
    transaction_id     TEXT      NOT NULL UNIQUE,
    source             TEXT REFERENCES blnk.balances (balance_id),
    destination        TEXT REFERENCES blnk.balances (balance_id),
    description        TEXT,
    reference          TEXT,
    amount             NUMERIC,
    currency           TEXT,
    status             TEXT,
    hash               TEXT,
    created_at         TIMESTAMP NOT NULL DEFAULT NOW(),
    scheduled_for      TIMESTAMP,
    meta_data          JSONB,
    precise_amount     NUMERIC,
    precision          BIGINT DEFAULT 1,
    parent_transaction TEXT,
    effective_date     TIMESTAMP
);
CREATE UNIQUE INDEX idx_transactions_reference_unique ON blnk.transactions (reference);
CREATE INDEX idx_transactions_parent_transaction ON blnk.transactions (parent_transaction);
CREATE TABLE blnk.balance_snapshots (
    id                      SERIAL PRIMARY KEY,
    balance_id              TEXT      NOT NULL REFERENCES blnk.balances (balance_id),
    ledger_id               TEXT      NOT NULL REFERENCES blnk.ledgers (ledger_id),
    balance                 NUMERIC   NOT NULL,
    credit_balance          NUMERIC   NOT NULL,
    debit_balance           NUMERIC   NOT NULL,
    inflight_balance        NUMERIC   NOT NULL,
    inflight_credit_balance NUMERIC   NOT NULL,
    inflight_debit_balance  NUMERIC   NOT NULL,
    currency                TEXT      NOT NULL,
    snapshot_time           TIMESTAMP WITH TIME ZONE NOT NULL,
    created_at              TIMESTAMP NOT NULL,
    last_tx_id              TEXT,
    meta_data               JSONB
);
INSERT INTO blnk.ledgers (name, ledger_id, created_at, meta_data)
VALUES ('General Ledger', 'general_ledger_id', NOW(), '{}');
"""
"""Blnk's tables as its migrations leave them before the hash chain (up to 1780963300)."""

CHAIN_DDL = """
ALTER TABLE blnk.transactions ADD COLUMN chain_seq BIGINT;
ALTER TABLE blnk.transactions ADD COLUMN chain_prev_hash CHAR(64);
ALTER TABLE blnk.transactions ADD COLUMN chain_hash CHAR(64);
CREATE TABLE blnk.chain_state (
    chain_key    TEXT PRIMARY KEY,
    last_seq     BIGINT    NOT NULL DEFAULT 0,
    head_hash    CHAR(64)  NOT NULL,
    genesis_hash CHAR(64)  NOT NULL,
    genesis_at   TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at   TIMESTAMP NOT NULL DEFAULT NOW()
);
CREATE UNIQUE INDEX idx_transactions_chain_seq
    ON blnk.transactions (chain_seq) WHERE chain_seq IS NOT NULL;
"""
"""Migration 1781162328: the chain columns, ``chain_state`` and the unique seq index."""

JOURNAL_DDL = """
CREATE TABLE blnk.transaction_journal (
    id             SERIAL PRIMARY KEY,
    transaction_id TEXT      NOT NULL,
    action_type    TEXT      NOT NULL CHECK (action_type IN ('INSERT', 'UPDATE', 'DELETE')),
    client_addr    INET,
    backend_pid    INTEGER,
    timestamp      TIMESTAMP NOT NULL DEFAULT NOW(),
    old_data       JSONB,
    new_data       JSONB,
    succeeded      BOOLEAN   NOT NULL
);
CREATE FUNCTION blnk.log_transaction_changes() RETURNS TRIGGER AS $$
BEGIN
    INSERT INTO blnk.transaction_journal (
        transaction_id, action_type, client_addr, backend_pid, timestamp,
        old_data, new_data, succeeded
    ) VALUES (
        CASE WHEN TG_OP = 'INSERT' THEN NEW.transaction_id ELSE OLD.transaction_id END,
        TG_OP, inet_client_addr(), pg_backend_pid(), NOW(),
        CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END,
        CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END,
        TRUE
    );
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER log_transaction_changes_trigger
    AFTER INSERT OR UPDATE OR DELETE ON blnk.transactions
    FOR EACH ROW EXECUTE FUNCTION blnk.log_transaction_changes();
"""
"""Migration 1742100059: every INSERT, UPDATE and DELETE of a transaction row, old and new."""

_VERSION = ["ledger_id", "transaction_id", "version"]


@dataclass(frozen=True, slots=True, eq=False)
class BlnkWritten:
    """What :func:`write_blnk` wrote: the tables as frames (``blnk.<name>`` -> rows)."""

    tables: dict[str, pl.DataFrame]

    @property
    def transactions(self) -> pl.DataFrame:
        """The ``blnk.transactions`` rows, in id order."""
        return self.tables["blnk.transactions"]


def decimal_text(minor: pl.Expr, scale: pl.Expr) -> pl.Expr:
    """Minor units as the shortest exact major-unit text (``1250``, 2 -> ``12.5``; 100 -> ``1``).

    This is what Go's ``strconv.FormatFloat(x, 'f', -1, 64)`` prints for amounts of up to 15
    significant digits, and what Blnk hands PostgreSQL for the NUMERIC ``amount``.
    """
    digits = minor.abs().cast(pl.String).str.zfill(scale + 1)
    cut = digits.str.len_chars() - scale
    whole = digits.str.slice(0, cut)
    fraction = digits.str.slice(cut).str.strip_chars_end("0")
    text = pl.when(fraction.str.len_chars() > 0).then(whole + "." + fraction).otherwise(whole)
    return pl.when(minor < 0).then("-" + text).otherwise(text)


def _balance_ids(frame: pl.DataFrame, account: str, out: str) -> pl.DataFrame:
    keyed = frame.with_columns(
        pl.concat_str(["ledger_id", account, "asset_id"], separator="|").alias("_key")
    )
    return keyed.with_columns(
        (pl.lit("bln_") + plh.col("_key").chash.sha2_256().str.slice(0, 24)).alias(out)
    ).drop("_key")


def _timestamp(ns: pl.Expr) -> pl.Expr:
    return pl.from_epoch(ns // 1000, time_unit="us")


def _movements(frames: LedgerFrames) -> pl.DataFrame:
    """Every version's legs paired per asset into source -> destination movements."""
    legs = frames.entries.join(
        frames.assets.select("asset_id", "code", "scale"), on="asset_id", how="left"
    )
    sums = legs.group_by(*_VERSION, "asset_id").agg(
        pl.col("amount").filter(pl.col("direction") == "debit").sum().alias("dr"),
        pl.col("amount").filter(pl.col("direction") == "credit").sum().alias("cr"),
    )
    unbalanced = sums.filter(pl.col("dr") != pl.col("cr")).sort(*_VERSION, "asset_id")
    if unbalanced.height:
        first = unbalanced.row(0, named=True)
        raise ValueError(
            f"version {first['transaction_id']} v{first['version']} does not balance in "
            f"{first['asset_id']}: a Blnk row moves one amount from source to destination"
        )
    group = [*_VERSION, "asset_id"]
    spans = legs.sort(*group, "entry_index").with_columns(
        pl.col("amount").cum_sum().over(*group, "direction").alias("end")
    )
    spans = spans.with_columns((pl.col("end") - pl.col("amount")).alias("start"))
    debits = spans.filter(pl.col("direction") == "debit").select(
        *group, "code", "scale", "entry_index", pl.col("account_id").alias("src"), "start", "end"
    )
    credit_spans = spans.filter(pl.col("direction") == "credit").select(
        *group,
        pl.col("entry_index").alias("credit_index"),
        pl.col("account_id").alias("dst"),
        pl.col("start").alias("c_start"),
        pl.col("end").alias("c_end"),
    )
    pairs = debits.join(credit_spans, on=group, how="inner").with_columns(
        (pl.min_horizontal("end", "c_end") - pl.max_horizontal("start", "c_start")).alias("amount")
    )
    pairs = pairs.filter(pl.col("amount") > 0).sort(*group, "entry_index", "credit_index")
    return pairs.with_columns(
        pl.int_range(pl.len()).over(_VERSION).alias("piece"),
        pl.len().over(_VERSION).alias("pieces"),
    ).select(*group, "code", "scale", "piece", "pieces", "src", "dst", "amount")


def _transactions(frames: LedgerFrames) -> pl.DataFrame:
    moves = _movements(frames)
    versions = frames.transactions.select(
        *_VERSION,
        "kind",
        "status",
        "reverses_transaction_id",
        "recorded_ns",
        "effective_ns",
        "external_id",
        "description",
        "metadata",
    )
    rows = moves.join(versions, on=_VERSION, how="inner")
    rows = _balance_ids(rows, "src", "source")
    rows = _balance_ids(rows, "dst", "destination")
    first = pl.col("version") == pl.col("version").min().over("ledger_id", "transaction_id")
    several = pl.col("pieces") > 1
    k = (pl.col("piece") + 1).cast(pl.String)
    v = pl.col("version").cast(pl.String)
    # how many rows the first version has, per transaction (a settlement's parent is one)
    rows = rows.with_columns(
        pl.col("pieces").filter(first).first().over("ledger_id", "transaction_id").alias("n0"),
        pl.col("version").min().over("ledger_id", "transaction_id").alias("v0"),
    )
    tx = pl.col("transaction_id")
    row_id = (
        pl.when(first & ~several)
        .then(tx)
        .when(first)
        .then(tx + "-" + k)
        .when(several)
        .then(tx + "-v" + v + "-" + k)
        .otherwise(tx + "-v" + v)
    )
    settled_k = pl.min_horizontal(pl.col("piece") + 1, pl.col("n0")).cast(pl.String)
    settled = pl.when(pl.col("n0") > 1).then(tx + "-" + settled_k).otherwise(tx)
    rows = rows.with_columns(row_id.alias("row_id"), settled.alias("settled"))
    reversed_rows = (
        rows.filter(first)
        .group_by("ledger_id", "transaction_id")
        .agg(pl.col("row_id").sort().first().alias("reversed_row"))
    )
    rows = rows.join(
        reversed_rows.rename({"transaction_id": "reverses_transaction_id"}),
        on=["ledger_id", "reverses_transaction_id"],
        how="left",
    )
    parent = (
        pl.when(first & several)
        .then(tx)
        .when(first)
        .then(pl.col("reversed_row"))
        .otherwise(pl.col("settled"))
    )
    status = (
        pl.when(pl.col("status") == "pending")
        .then(pl.lit("INFLIGHT"))
        .when(pl.col("status") == "archived")
        .then(pl.lit("VOID"))
        .when(~first)
        .then(pl.lit("COMMIT"))
        .otherwise(pl.lit("APPLIED"))
    )
    base = pl.coalesce("external_id", tx)
    reference = (
        pl.when(first & ~several)
        .then(pl.col("external_id"))
        .when(first)
        .then(base + "-" + k)
        .when(several)
        .then(base + "-v" + v + "-" + k)
        .otherwise(base + "-v" + v)
    )
    rows = rows.with_columns(
        parent.alias("parent_transaction"),
        status.alias("blnk_status"),
        reference.alias("reference"),
        decimal_text(pl.col("amount"), pl.col("scale")).alias("amount_text"),
        pl.col("amount").cast(pl.String).alias("precise_text"),
        pl.lit(10, dtype=pl.Int64).pow(pl.col("scale")).alias("precision"),
        _timestamp(pl.col("recorded_ns")).alias("created_at"),
        _timestamp(pl.col("effective_ns")).alias("effective_date"),
    ).sort("recorded_ns", *_VERSION, "piece")
    rows = rows.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("id"))
    return rows.select(
        "id",
        pl.col("row_id").alias("transaction_id"),
        "source",
        "destination",
        "description",
        "reference",
        pl.col("amount_text").alias("amount"),
        pl.col("code").alias("currency"),
        pl.col("blnk_status").alias("status"),
        "created_at",
        pl.col("metadata").alias("meta_data"),
        pl.col("precise_text").alias("precise_amount"),
        "precision",
        "parent_transaction",
        "effective_date",
    )


def _seal(rows: pl.DataFrame, chained: int) -> tuple[pl.DataFrame, int, str]:
    """Blnk's chainer over the first ``chained`` rows in id order (sequential by definition)."""
    texts = rows.head(chained).select(
        pl.concat_str(
            [
                pl.col(name).fill_null("")
                for name in (
                    "transaction_id",
                    "source",
                    "destination",
                    "amount",
                    "precise_amount",
                    "currency",
                    "status",
                    "reference",
                )
            ]
            + [rfc3339_nano_expr(pl.col("created_at"))],
            separator="|",
        ).alias("t")
    )
    prevs: list[str] = []
    hashes: list[str] = []
    head = GENESIS
    for text in texts.get_column("t").to_list():
        prevs.append(head)
        head = hashlib.sha256(f"{head}|{text}".encode()).hexdigest()
        hashes.append(head)
    pad = rows.height - chained
    sealed = rows.with_columns(
        pl.Series("chain_seq", [*range(1, chained + 1), *([None] * pad)], dtype=pl.Int64),
        pl.Series("chain_prev_hash", [*prevs, *([None] * pad)], dtype=pl.String),
        pl.Series("chain_hash", [*hashes, *([None] * pad)], dtype=pl.String),
    )
    return sealed, chained, head


def _balances(frames: LedgerFrames) -> pl.DataFrame:
    keys = pl.concat(
        [
            frames.accounts.filter(pl.col("asset_id").is_not_null()).select(
                "ledger_id", "account_id", "asset_id"
            ),
            frames.entries.select("ledger_id", "account_id", "asset_id"),
            frames.balances.select("ledger_id", "account_id", "asset_id"),
        ]
    ).unique()
    cells = ["posted_debits", "posted_credits", "pending_debits", "pending_credits"]
    rows = (
        keys.join(frames.balances, on=["ledger_id", "account_id", "asset_id"], how="left")
        .join(
            frames.accounts.select(
                "ledger_id", "account_id", "name", "normal_balance", "opened_ns"
            ),
            on=["ledger_id", "account_id"],
            how="left",
        )
        .join(frames.assets.select("asset_id", "code"), on="asset_id", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in cells)
    )
    rows = _balance_ids(rows, "account_id", "balance_id").sort(
        "ledger_id", "account_id", "asset_id"
    )
    meta = pl.format(
        '{{"normal_balance": "{}", "name": "{}"}}',
        pl.col("normal_balance").fill_null("credit"),
        pl.col("name").fill_null(pl.col("account_id")).str.replace_all(r'["\\]', ""),
    )
    return rows.select(
        "balance_id",
        pl.col("account_id").alias("indicator"),
        (pl.col("posted_credits") - pl.col("posted_debits")).cast(pl.String).alias("balance"),
        pl.col("posted_credits").cast(pl.String).alias("credit_balance"),
        pl.col("posted_debits").cast(pl.String).alias("debit_balance"),
        pl.col("code").alias("currency"),
        "ledger_id",
        _timestamp(pl.col("opened_ns").fill_null(0)).alias("created_at"),
        meta.alias("meta_data"),
        pl.col("lock_version").fill_null(1).cast(pl.Int64).alias("version"),
        (pl.col("pending_credits") - pl.col("pending_debits"))
        .cast(pl.String)
        .alias("inflight_balance"),
        pl.col("pending_credits").cast(pl.String).alias("inflight_credit_balance"),
        pl.col("pending_debits").cast(pl.String).alias("inflight_debit_balance"),
    )


def blnk_tables(
    frames: LedgerFrames, *, chain: bool = True, backlog: int = 0
) -> dict[str, pl.DataFrame]:
    """The demo as Blnk's rows: ``blnk.<table>`` -> frame, in load order.

    ``chain`` False leaves the chain migration out (an older Blnk); ``backlog`` rows at the end
    stay unchained, as the chainer leaves the newest rows for its next tick.
    """
    ledgers = frames.ledgers.select(
        "name",
        "ledger_id",
        _timestamp(pl.col("created_ns")).alias("created_at"),
        pl.col("metadata").alias("meta_data"),
    )
    tables = {
        "blnk.ledgers": ledgers,
        "blnk.balances": _balances(frames),
    }
    rows = _transactions(frames)
    per_row = pl.concat_str(
        ["amount", pl.col("reference").fill_null(""), "currency", "source", "destination"]
    )
    rows = (
        rows.with_columns(per_row.alias("_h"))
        .with_columns(plh.col("_h").chash.sha2_256().alias("hash"))
        .drop("_h")
    )
    if not chain:
        tables["blnk.transactions"] = rows
        return tables
    sealed, last_seq, head = _seal(rows, max(rows.height - backlog, 0))
    tables["blnk.transactions"] = sealed
    now = sealed.get_column("created_at").max() if sealed.height else None
    tables["blnk.chain_state"] = pl.DataFrame(
        {
            "chain_key": ["global"],
            "last_seq": [last_seq],
            "head_hash": [head],
            "genesis_hash": [GENESIS],
            "genesis_at": [now],
            "updated_at": [now],
        },
        schema={
            "chain_key": pl.String,
            "last_seq": pl.Int64,
            "head_hash": pl.String,
            "genesis_hash": pl.String,
            "genesis_at": pl.Datetime("us"),
            "updated_at": pl.Datetime("us"),
        },
    )
    return tables


def libpq(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as a libpq connection string for psycopg."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def copy_into(url: str, ddl: str, tables: Mapping[str, pl.DataFrame]) -> None:
    """Run ``ddl``, then COPY each frame into its schema-qualified table (CSV, in chunks)."""
    import psycopg  # noqa: PLC0415 - only the generators write PostgreSQL

    with psycopg.connect(libpq(url)) as conn:
        conn.execute(ddl.encode())
        for name, frame in tables.items():
            schema, _, table = name.partition(".")
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            sql = f'COPY "{schema}"."{table}" ({columns}) FROM STDIN (FORMAT csv)'
            with conn.cursor() as cur, cur.copy(sql.encode()) as copy:
                for chunk in frame.iter_slices(200_000):
                    buffer = io.BytesIO()
                    chunk.write_csv(buffer, include_header=False)
                    copy.write(buffer.getvalue())
        if "blnk.transactions" in tables:
            conn.execute(
                b"SELECT setval('blnk.transactions_id_seq', "
                b"(SELECT COALESCE(MAX(id), 0) + 1 FROM blnk.transactions), false)"
            )
        conn.commit()


def write_blnk(
    frames: LedgerFrames,
    url: str,
    *,
    chain: bool = True,
    backlog: int = 0,
    journal: bool = True,
) -> BlnkWritten:
    """Create Blnk's schema in the empty database ``url`` and fill it from ``frames``.

    ``journal`` installs Blnk's transaction journal trigger before the rows go in (each row
    is journaled as an INSERT, later edits as UPDATE or DELETE).
    """
    tables = blnk_tables(frames, chain=chain, backlog=backlog)
    ddl = SCHEMA_DDL + (CHAIN_DDL if chain else "") + (JOURNAL_DDL if journal else "")
    copy_into(url, ddl, tables)
    return BlnkWritten(tables)
