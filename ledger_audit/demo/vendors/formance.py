"""The demo ledger written as Formance Ledger v2 would hold it, for the adapter's tests.

The DDL is the bucket schema after Formance's bucket migrations 0-53 and the ``_system``
migrations (formancehq/ledger, ``internal/storage``), reduced to the tables and columns the
adapter reads plus their keys and unique indexes; functions and triggers are left out, and
what the triggers would write is computed here instead:

- only the posted state of each canonical transaction is written (Formance has no pending
  state), as one Formance transaction with ids 1, 2, ... per ledger in recorded order;
- postings pair the entries two by two (entry 2k debited -> the posting's source, entry
  2k+1 credited -> its destination); a canonical reversal becomes a revert: postings of the
  original in reverse order with source and destination swapped, metadata
  ``com.formance.spec/state/reverts`` = the original's id, ``reverted_at`` on the original and
  a ``REVERTED_TRANSACTION`` log;
- two moves per posting with post-commit volumes (running inputs/outputs per account and
  asset, in insertion order and in effective order) and ``accounts_volumes`` (the totals);
- one log per transaction with Go's memento, the idempotency key and a stand-in idempotency
  hash (base64url SHA-256 of the JSON of the postings, metadata and reference, since there
  is no API request here), and the log hash chained per ledger as the ``HASH_LOGS=SYNC``
  trigger computes it, or ``logs_blocks`` for ``ASYNC``, or nothing for ``DISABLED``.

Times become microseconds (PostgreSQL ``timestamp``). Columnar except where the vendor is
sequential by nature (the hash chain) or per distinct value (metadata JSON).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from ledger_audit.errors import InputError
from ledger_audit.sources.adapters.formance.hashing import (
    block_hash,
    block_part,
    chain_hashes,
    log_bodies,
    pg_json_time,
)
from ledger_audit.sources.ledger_frames import LedgerFrames

REVERTS_KEY = "com.formance.spec/state/reverts"
DEFAULT_BUCKET = "_default"
DEFAULT_FEATURES: dict[str, str] = {
    "ACCOUNT_METADATA_HISTORY": "SYNC",
    "HASH_LOGS": "SYNC",
    "MOVES_HISTORY": "ON",
    "MOVES_HISTORY_POST_COMMIT_EFFECTIVE_VOLUMES": "SYNC",
    "TRANSACTION_METADATA_HISTORY": "SYNC",
}

SYSTEM_DDL = """
CREATE SCHEMA IF NOT EXISTS _system;
CREATE TABLE IF NOT EXISTS _system.ledgers (
    name varchar(63) PRIMARY KEY,
    added_at timestamp without time zone DEFAULT (now() at time zone 'utc'),
    bucket varchar(63),
    metadata jsonb DEFAULT '{}'::jsonb,
    features jsonb,
    id bigint,
    state varchar(255) DEFAULT 'initializing',
    deleted_at timestamp
);
"""

BUCKET_DDL = """
CREATE SCHEMA "{bucket}";
CREATE TYPE "{bucket}".volumes AS (inputs numeric, outputs numeric);
CREATE TYPE "{bucket}".log_type AS ENUM
    ('NEW_TRANSACTION', 'REVERTED_TRANSACTION', 'SET_METADATA', 'DELETE_METADATA',
     'INSERTED_SCHEMA');
CREATE TABLE "{bucket}".transactions (
    ledger varchar NOT NULL,
    id numeric NOT NULL,
    timestamp timestamp without time zone NOT NULL,
    reference varchar,
    reverted_at timestamp without time zone,
    updated_at timestamp without time zone,
    postings varchar NOT NULL,
    sources jsonb NOT NULL,
    destinations jsonb NOT NULL,
    sources_arrays jsonb NOT NULL,
    destinations_arrays jsonb NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    post_commit_volumes jsonb,
    inserted_at timestamp without time zone,
    template text,
    PRIMARY KEY (ledger, id)
);
CREATE UNIQUE INDEX transactions_reference2 ON "{bucket}".transactions (ledger, reference)
    WHERE reference <> '';
CREATE TABLE "{bucket}".accounts (
    ledger varchar NOT NULL,
    address varchar NOT NULL,
    address_array jsonb,
    insertion_date timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    first_usage timestamp without time zone,
    PRIMARY KEY (ledger, address)
);
CREATE TABLE "{bucket}".moves (
    seq bigserial PRIMARY KEY,
    ledger varchar NOT NULL,
    accounts_address varchar NOT NULL,
    asset varchar NOT NULL,
    amount numeric NOT NULL,
    insertion_date timestamp without time zone NOT NULL,
    effective_date timestamp without time zone NOT NULL,
    post_commit_volumes "{bucket}".volumes,
    post_commit_effective_volumes "{bucket}".volumes,
    is_source boolean NOT NULL,
    transactions_id bigint
);
CREATE TABLE "{bucket}".accounts_volumes (
    ledger varchar NOT NULL,
    accounts_address varchar NOT NULL,
    asset varchar NOT NULL,
    input numeric NOT NULL,
    output numeric NOT NULL,
    PRIMARY KEY (ledger, accounts_address, asset)
);
CREATE TABLE "{bucket}".logs (
    ledger varchar NOT NULL,
    id numeric NOT NULL,
    type "{bucket}".log_type NOT NULL,
    hash bytea,
    date timestamp without time zone NOT NULL,
    data jsonb NOT NULL,
    idempotency_key varchar(255),
    memento bytea,
    idempotency_hash bytea,
    schema_version text,
    PRIMARY KEY (ledger, id)
);
CREATE UNIQUE INDEX logs_idempotency_key ON "{bucket}".logs (ledger, idempotency_key);
CREATE TABLE "{bucket}".logs_blocks (
    id serial,
    previous bigint,
    ledger varchar,
    from_id bigint,
    to_id bigint,
    hash bytea,
    date timestamp without time zone,
    PRIMARY KEY (ledger, previous)
);
"""


@dataclass(frozen=True, slots=True)
class FormanceWritten:
    """What was written: the bucket, and the Formance id of each canonical transaction.

    Attributes:
        bucket: the PostgreSQL schema holding the ledger's tables.
        ids: ledger_id, transaction_id (canonical), id (Formance), one row per transaction.
        logs: log rows written, over all ledgers.
    """

    bucket: str
    ids: pl.DataFrame
    logs: int


def go_json(value: object) -> str:
    """JSON as Go's ``encoding/json`` writes a map: compact, sorted keys, HTML-escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def formance_metadata(text: str | None) -> str:
    """A canonical metadata JSON object as Formance metadata (string values, sorted keys)."""
    loaded = json.loads(text) if text else {}
    if not isinstance(loaded, dict):
        loaded = {"value": loaded}
    return go_json({str(k): v if isinstance(v, str) else go_json(v) for k, v in loaded.items()})


def _json_string(column: str) -> pl.Expr:
    """A text column as a Go JSON string literal (null stays null)."""
    encoded = pl.struct(pl.col(column).alias("v")).struct.json_encode()
    literal = encoded.str.strip_prefix('{"v":').str.strip_suffix("}")
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        literal = literal.str.replace_all(raw, escaped, literal=True)
    return pl.when(pl.col(column).is_null()).then(None).otherwise(literal)


def _posted(frames: LedgerFrames) -> pl.DataFrame:
    """Posted versions in recorded order with their Formance id per ledger."""
    posted = frames.transactions.filter(pl.col("status") == "posted").sort(
        "ledger_id", "recorded_ns", "transaction_id", "version"
    )
    return posted.with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("ledger_id").alias("fid"),
        (pl.col("effective_ns") // 1000 * 1000).alias("effective_us"),
        (pl.col("recorded_ns") // 1000 * 1000).alias("recorded_us"),
    )


def _postings(frames: LedgerFrames, posted: pl.DataFrame) -> pl.DataFrame:
    """One row per posting: fid, k (order in the transaction), source, destination, amount."""
    legs = frames.entries.join(
        posted.select("ledger_id", "transaction_id", "version", "fid", "kind"),
        on=["ledger_id", "transaction_id", "version"],
    ).with_columns((pl.col("entry_index") // 2).alias("pair"))
    pairs = legs.group_by("ledger_id", "fid", "kind", "pair").agg(
        pl.len().alias("n"),
        pl.col("account_id").filter(pl.col("direction") == "debit").first().alias("source"),
        pl.col("account_id").filter(pl.col("direction") == "credit").first().alias("destination"),
        pl.col("asset_id").n_unique().alias("assets"),
        pl.col("asset_id").first().alias("asset"),
        pl.col("amount").n_unique().alias("amounts"),
        pl.col("amount").first().alias("amount"),
    )
    bad = pairs.filter(
        (pl.col("n") != 2)  # noqa: PLR2004 - a posting is two legs
        | pl.col("source").is_null()
        | pl.col("destination").is_null()
        | (pl.col("assets") != 1)
        | (pl.col("amounts") != 1)
    )
    if bad.height:
        row = bad.sort("ledger_id", "fid", "pair").row(0, named=True)
        raise InputError(
            f"formance demo: ledger {row['ledger_id']} transaction {row['fid']}",
            f"entries {2 * row['pair']} and {2 * row['pair'] + 1} are not one debit and one "
            "credit of the same asset and amount, so they are not a Formance posting",
        )
    reversal = pl.col("kind") == "reversal"
    order = pl.when(reversal).then(-pl.col("pair")).otherwise(pl.col("pair"))
    return (
        pairs.with_columns(order.alias("order"))
        .sort("ledger_id", "fid", "order")
        .with_columns(pl.int_range(pl.len()).over("ledger_id", "fid").alias("k"))
        .select("ledger_id", "fid", "k", "source", "destination", "amount", "asset")
    )


def _postings_json(postings: pl.DataFrame) -> pl.DataFrame:
    """Per transaction: the postings as Go marshals them, and the address arrays."""
    one = pl.concat_str(
        pl.lit('{"source":"'),
        pl.col("source"),
        pl.lit('","destination":"'),
        pl.col("destination"),
        pl.lit('","amount":'),
        pl.col("amount").cast(pl.String),
        pl.lit(',"asset":"'),
        pl.col("asset"),
        pl.lit('"}'),
    )

    def exploded(column: str) -> pl.Expr:
        parts = pl.col(column).str.split(":")
        numbered = parts.list.eval(
            pl.concat_str(
                pl.lit('"'),
                pl.int_range(pl.len()).cast(pl.String),
                pl.lit('":"'),
                pl.element(),
                pl.lit('"'),
            )
        )
        tail = pl.concat_str(pl.lit('"'), parts.list.len().cast(pl.String), pl.lit('":null}'))
        return pl.concat_str(pl.lit("{"), numbered.list.join(","), pl.lit(","), tail)

    return (
        postings.sort("ledger_id", "fid", "k")
        .with_columns(
            one.alias("one"),
            exploded("source").alias("src_arr"),
            exploded("destination").alias("dst_arr"),
        )
        .group_by("ledger_id", "fid", maintain_order=True)
        .agg(
            pl.concat_str(pl.lit("["), pl.col("one").str.join(","), pl.lit("]")).alias("postings"),
            pl.concat_str(pl.lit('["'), pl.col("source").str.join('","'), pl.lit('"]')).alias(
                "sources"
            ),
            pl.concat_str(pl.lit('["'), pl.col("destination").str.join('","'), pl.lit('"]')).alias(
                "destinations"
            ),
            pl.concat_str(pl.lit("["), pl.col("src_arr").str.join(","), pl.lit("]")).alias(
                "sources_arrays"
            ),
            pl.concat_str(pl.lit("["), pl.col("dst_arr").str.join(","), pl.lit("]")).alias(
                "destinations_arrays"
            ),
        )
    )


def _moves(postings: pl.DataFrame, posted: pl.DataFrame) -> pl.DataFrame:
    """Two moves per posting with post-commit volumes in insertion and effective order."""
    times = posted.select("ledger_id", "fid", "effective_us", "recorded_us")
    legs = [
        postings.select(
            "ledger_id",
            "fid",
            "k",
            pl.col(side).alias("accounts_address"),
            "asset",
            "amount",
            pl.lit(value=side == "source").alias("is_source"),
            pl.lit(0 if side == "source" else 1).alias("side"),
        )
        for side in ("source", "destination")
    ]
    moves = (
        pl.concat(legs)
        .join(times, on=["ledger_id", "fid"])
        .sort("recorded_us", "ledger_id", "fid", "k", "side")
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("seq"))
    )
    inflow = pl.when(pl.col("is_source")).then(0).otherwise(pl.col("amount"))
    outflow = pl.when(pl.col("is_source")).then(pl.col("amount")).otherwise(0)
    key = ["ledger_id", "accounts_address", "asset"]
    moves = moves.with_columns(
        inflow.cum_sum().over(key).alias("pcv_in"),
        outflow.cum_sum().over(key).alias("pcv_out"),
    )
    effective = moves.sort("effective_us", "seq").with_columns(
        inflow.cum_sum().over(key).alias("pcev_in"),
        outflow.cum_sum().over(key).alias("pcev_out"),
    )
    return effective.sort("seq")


def _mementos(tx: pl.DataFrame) -> pl.DataFrame:
    """Go's memento of each transaction's log (``GetMemento``), and the idempotency hash."""
    resume = pl.concat_str(
        pl.lit('{"postings":'),
        pl.col("postings"),
        pl.lit(',"metadata":'),
        pl.col("fmeta"),
        pl.lit(',"timestamp":"'),
        pl.col("timestamp_text"),
        pl.lit('Z"'),
        pl.when(pl.col("reference").is_not_null() & (pl.col("reference") != ""))
        .then(pl.concat_str(pl.lit(',"reference":'), _json_string("reference")))
        .otherwise(pl.lit("")),
        pl.lit(',"id":'),
        pl.col("fid").cast(pl.String),
        pl.lit(',"reverted":false}'),
    )
    reverted = pl.col("reverts_fid").is_not_null()
    memento = (
        pl.when(reverted)
        .then(
            pl.concat_str(
                pl.lit('{"revertedTransactionID":'),
                pl.col("reverts_fid").cast(pl.String),
                pl.lit(',"transaction":'),
                resume,
                pl.lit("}"),
            )
        )
        .otherwise(
            pl.concat_str(pl.lit('{"transaction":'), resume, pl.lit(',"accountMetadata":{}}'))
        )
    )
    inputs = pl.concat_str(
        pl.lit('{"metadata":'),
        pl.col("fmeta"),
        pl.lit(',"postings":'),
        pl.col("postings"),
        pl.lit(',"reference":'),
        _json_string("reference").fill_null("null"),
        pl.lit("}"),
    )
    tx = tx.with_columns(memento.alias("memento_text"), inputs.alias("inputs"))
    hashes = [
        base64.urlsafe_b64encode(hashlib.sha256(text.encode() + b"\n").digest())
        for text in tx.get_column("inputs").to_list()
    ]
    return tx.with_columns(
        pl.col("memento_text").str.encode("hex").str.decode("hex").alias("memento"),
        pl.Series("idempotency_hash", hashes, dtype=pl.Binary),
    )


def _hex(column: str) -> pl.Expr:
    return pl.concat_str(pl.lit("\\x"), pl.col(column).bin.encode("hex"))


def _ts(column: str) -> pl.Expr:
    """Epoch microseconds (in ns) as a PostgreSQL timestamp literal."""
    return (pl.col(column) // 1000).cast(pl.Datetime("us")).dt.strftime("%Y-%m-%d %H:%M:%S%.6f")


def _seal(
    logs: pl.DataFrame, hash_mode: dict[str, str], block_size: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Chain hashes (SYNC) and blocks (ASYNC) per ledger, as the vendor computes them."""
    sealed: list[pl.DataFrame] = []
    blocks: list[dict[str, object]] = []
    block_id = 0
    for ledger in sorted(logs.get_column("ledger").unique().to_list()):
        rows = logs.filter(pl.col("ledger") == ledger).sort("id")
        mode = hash_mode.get(ledger, "SYNC")
        hashes: list[bytes | None] = [None] * rows.height
        if mode == "SYNC":
            hashes = list(chain_hashes(log_bodies(rows)))
        elif mode == "ASYNC":
            previous: bytes | None = None
            previous_id, previous_to = 0, 0
            parts = [
                block_part(t, m, d, k, i)
                for t, m, d, k, i in zip(
                    rows["type"].to_list(),
                    rows["memento"].to_list(),
                    rows["date_text"].to_list(),
                    rows["idempotency_key"].fill_null("").to_list(),
                    rows["id"].to_list(),
                    strict=True,
                )
            ]
            ids = rows["id"].to_list()
            for start in range(0, rows.height, block_size):
                chunk = parts[start : start + block_size]
                previous = block_hash(previous, chunk)
                block_id += 1
                blocks.append(
                    {
                        "id": block_id,
                        "previous": previous_id,
                        "ledger": ledger,
                        "from_id": previous_to,
                        "to_id": ids[start + len(chunk) - 1],
                        "hash": previous,
                        "date": rows["date"][start + len(chunk) - 1],
                    }
                )
                previous_id, previous_to = block_id, ids[start + len(chunk) - 1]
        sealed.append(rows.with_columns(pl.Series("hash", hashes, dtype=pl.Binary)))
    block_frame = pl.DataFrame(
        blocks,
        schema={
            "id": pl.Int64,
            "previous": pl.Int64,
            "ledger": pl.String,
            "from_id": pl.Int64,
            "to_id": pl.Int64,
            "hash": pl.Binary,
            "date": pl.Int64,
        },
    )
    return pl.concat(sealed), block_frame


def build_tables(
    frames: LedgerFrames,
    *,
    features: dict[str, dict[str, str]] | None = None,
    block_size: int = 1000,
) -> dict[str, pl.DataFrame]:
    """The Formance rows of ``frames``, table by table, ready for COPY (text cells)."""
    features = features or {}
    posted = _posted(frames)
    postings = _postings(frames, posted)
    pj = _postings_json(postings)
    fid = posted.select("ledger_id", "transaction_id", "fid")
    reverts = posted.join(
        fid.rename({"transaction_id": "reverses_transaction_id", "fid": "reverts_fid"}),
        on=["ledger_id", "reverses_transaction_id"],
        how="left",
    ).select("ledger_id", "fid", "reverts_fid")
    metas = posted.get_column("metadata").unique().to_list()
    meta_map = {m: formance_metadata(m) for m in metas}
    tx = (
        posted.join(pj, on=["ledger_id", "fid"], how="left")
        .join(reverts, on=["ledger_id", "fid"], how="left")
        .with_columns(
            pl.col("metadata").replace_strict(meta_map, return_dtype=pl.String).alias("fmeta0"),
            pl.col("external_id").alias("reference"),
            pg_json_time(pl.col("effective_us")).alias("timestamp_text"),
            pg_json_time(pl.col("recorded_us")).alias("date_text"),
        )
        .with_columns(pl.col("reference").is_duplicated().over("ledger_id").alias("ref_dup"))
        .with_columns(
            pl.when(pl.col("ref_dup") & (pl.int_range(pl.len()).over("ledger_id", "reference") > 0))
            .then(None)
            .otherwise(pl.col("reference"))
            .alias("reference"),
            pl.when(pl.col("reverts_fid").is_null())
            .then(pl.col("fmeta0"))
            .otherwise(
                pl.concat_str(
                    pl.col("fmeta0").str.strip_suffix("}"),
                    pl.when(pl.col("fmeta0") == "{}").then(pl.lit("")).otherwise(pl.lit(",")),
                    pl.lit(f'"{REVERTS_KEY}":"'),
                    pl.col("reverts_fid").cast(pl.String),
                    pl.lit('"}'),
                )
            )
            .alias("fmeta"),
        )
    )
    tx = _mementos(tx)
    reverted_at = tx.filter(pl.col("reverts_fid").is_not_null()).select(
        "ledger_id", pl.col("reverts_fid").alias("fid"), pl.col("recorded_us").alias("reverted_us")
    )
    tx = tx.join(reverted_at, on=["ledger_id", "fid"], how="left")
    transactions = tx.select(
        pl.col("ledger_id").alias("ledger"),
        pl.col("fid").alias("id"),
        _ts("effective_us").alias("timestamp"),
        "reference",
        _ts("reverted_us").alias("reverted_at"),
        _ts("recorded_us").alias("updated_at"),
        "postings",
        "sources",
        "destinations",
        "sources_arrays",
        "destinations_arrays",
        pl.col("fmeta").alias("metadata"),
        _ts("recorded_us").alias("inserted_at"),
    )
    moves = _moves(postings, posted)
    volumes = moves.group_by("ledger_id", "accounts_address", "asset").agg(
        pl.col("pcv_in").last().alias("input"), pl.col("pcv_out").last().alias("output")
    )
    first_use = moves.group_by("ledger_id", "accounts_address").agg(
        pl.col("effective_us").min().alias("first_us")
    )
    acct_meta = {m: formance_metadata(m) for m in frames.accounts["metadata"].unique().to_list()}
    accounts = (
        frames.accounts.join(
            first_use.rename({"accounts_address": "account_id"}),
            on=["ledger_id", "account_id"],
            how="left",
        )
        .with_columns((pl.col("opened_ns") // 1000 * 1000).alias("opened_us"))
        .select(
            pl.col("ledger_id").alias("ledger"),
            pl.col("account_id").alias("address"),
            pl.concat_str(
                pl.lit('["'),
                pl.col("account_id").str.replace_all(":", '","', literal=True),
                pl.lit('"]'),
            ).alias("address_array"),
            _ts("opened_us").alias("insertion_date"),
            _ts("opened_us").alias("updated_at"),
            pl.col("metadata").replace_strict(acct_meta, return_dtype=pl.String),
            pl.coalesce(_ts("first_us"), _ts("opened_us")).alias("first_usage"),
        )
    )
    hash_mode = {ledger: f.get("HASH_LOGS", "SYNC") for ledger, f in features.items()}
    log_rows = tx.select(
        pl.col("ledger_id").alias("ledger"),
        pl.col("fid").alias("id"),
        pl.when(pl.col("reverts_fid").is_null())
        .then(pl.lit("NEW_TRANSACTION"))
        .otherwise(pl.lit("REVERTED_TRANSACTION"))
        .alias("type"),
        "memento",
        "memento_text",
        "date_text",
        pl.col("recorded_us").alias("date"),
        "idempotency_key",
        "idempotency_hash",
        pl.lit(None, dtype=pl.String).alias("schema_version"),
    )
    log_rows, blocks = _seal(log_rows, hash_mode, block_size)
    logs = log_rows.sort("ledger", "id").select(
        "ledger",
        "id",
        "type",
        pl.when(pl.col("hash").is_null()).then(None).otherwise(_hex("hash")).alias("hash"),
        _ts("date").alias("date"),
        pl.col("memento_text").alias("data"),
        "idempotency_key",
        _hex("memento").alias("memento"),
        _hex("idempotency_hash").alias("idempotency_hash"),
        "schema_version",
    )
    ledgers = frames.ledgers.select(
        pl.col("ledger_id").alias("name"),
        _ts("created_ns").alias("added_at"),
        pl.lit(DEFAULT_BUCKET).alias("bucket"),
        pl.lit("{}").alias("metadata"),
        pl.col("ledger_id")
        .map_elements(
            lambda name: go_json(features.get(name, DEFAULT_FEATURES)), return_dtype=pl.String
        )
        .alias("features"),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("id"),
        pl.lit("in-use").alias("state"),
    )
    return {
        "_system.ledgers": ledgers,
        "transactions": transactions,
        "accounts": accounts,
        "moves": moves.select(
            pl.col("ledger_id").alias("ledger"),
            "accounts_address",
            "asset",
            pl.col("amount").cast(pl.String),
            _ts("recorded_us").alias("insertion_date"),
            _ts("effective_us").alias("effective_date"),
            pl.format("({},{})", "pcv_in", "pcv_out").alias("post_commit_volumes"),
            pl.format("({},{})", "pcev_in", "pcev_out").alias("post_commit_effective_volumes"),
            "is_source",
            pl.col("fid").alias("transactions_id"),
        ),
        "accounts_volumes": volumes.sort("ledger_id", "accounts_address", "asset").select(
            pl.col("ledger_id").alias("ledger"),
            "accounts_address",
            "asset",
            pl.col("input").cast(pl.String),
            pl.col("output").cast(pl.String),
        ),
        "logs": logs,
        "logs_blocks": blocks.select(
            "id",
            "previous",
            "ledger",
            "from_id",
            "to_id",
            _hex("hash").alias("hash"),
            _ts("date").alias("date"),
        ),
        "_ids": fid,
    }


def write_formance(
    frames: LedgerFrames,
    url: str,
    *,
    bucket: str = DEFAULT_BUCKET,
    features: dict[str, dict[str, str]] | None = None,
    block_size: int = 1000,
) -> FormanceWritten:
    """Create the Formance schema in the database at ``url`` and write ``frames`` into it.

    ``features`` gives a ledger's feature set (default: Formance's defaults, ``HASH_LOGS``
    ``SYNC``); ``block_size`` is the async hashing job's block size.
    """
    import psycopg  # noqa: PLC0415 - the writer's driver, only when writing

    tables = build_tables(frames, features=features, block_size=block_size)
    ids = tables.pop("_ids")
    conninfo = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        conn.execute(SYSTEM_DDL)
        conn.execute(BUCKET_DDL.format(bucket=bucket))
        for table, frame in tables.items():
            name = table if table.startswith("_system.") else f'"{bucket}".{table}'
            rows = (
                frame.with_columns(pl.lit(bucket).alias("bucket"))
                if table == "_system.ledgers"
                else frame
            )
            columns = ", ".join(rows.columns)
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT csv)") as copy,
            ):
                for chunk in rows.iter_slices(200_000):
                    buffer = io.BytesIO()
                    chunk.write_csv(buffer, include_header=False, null_value="")
                    copy.write(buffer.getvalue())
        conn.commit()
    return FormanceWritten(bucket=bucket, ids=ids, logs=tables["logs"].height)


def _go_date(column: str) -> pl.Expr:
    """A PostgreSQL timestamp literal as Go's RFC 3339 text of the same instant (UTC)."""
    text = pl.col(column).str.replace(" ", "T", literal=True)
    return pl.concat_str(text.str.replace(r"0+$", "").str.replace(r"\.$", ""), pl.lit("Z"))


def _volumes_json(moves: pl.DataFrame) -> pl.DataFrame:
    """Per transaction, ``postCommitVolumes``: account -> asset -> input, output, balance."""
    volumes = moves.with_columns(
        pl.col("post_commit_volumes").str.extract(r"^\((\d+),", 1).cast(pl.Int64).alias("in"),
        pl.col("post_commit_volumes").str.extract(r",(\d+)\)$", 1).cast(pl.Int64).alias("out"),
    )
    last = volumes.group_by(
        "ledger", "transactions_id", "accounts_address", "asset", maintain_order=True
    ).last()
    per_asset = last.sort("ledger", "transactions_id", "accounts_address", "asset").with_columns(
        pl.format(
            '"{}":{{"input":{},"output":{},"balance":{}}}',
            "asset",
            "in",
            "out",
            pl.col("in") - pl.col("out"),
        ).alias("one")
    )
    per_account = (
        per_asset.group_by("ledger", "transactions_id", "accounts_address", maintain_order=True)
        .agg(pl.col("one").str.join(","))
        .with_columns(pl.format('"{}":{{{}}}', "accounts_address", "one").alias("one"))
    )
    return per_account.group_by("ledger", "transactions_id", maintain_order=True).agg(
        pl.concat_str(pl.lit("{"), pl.col("one").str.join(","), pl.lit("}")).alias("pcv")
    )


def export_lines(
    frames: LedgerFrames, *, features: dict[str, dict[str, str]] | None = None
) -> dict[str, list[str]]:
    """Each ledger's ``logs/export`` stream (JSON lines), as Formance's API writes it.

    ``data`` is the full payload: the memento's fields plus ``insertedAt`` and
    ``postCommitVolumes`` (and the reverted transaction's id for a revert).
    """
    tables = build_tables(frames, features=features)
    logs = tables["logs"].join(
        _volumes_json(tables["moves"]).rename({"transactions_id": "id"}),
        on=["ledger", "id"],
        how="left",
    )
    date = _go_date("date")
    extras = pl.concat_str(
        pl.lit(',"insertedAt":"'),
        date,
        pl.lit('","postCommitVolumes":'),
        pl.col("pcv").fill_null("{}"),
    )
    new = pl.concat_str(
        pl.col("data").str.strip_suffix('},"accountMetadata":{}}'),
        extras,
        pl.lit('},"accountMetadata":{}}'),
    )
    reverted_id = pl.col("data").str.extract(r'^\{"revertedTransactionID":(\d+)', 1)
    revert = pl.concat_str(
        pl.lit('{"revertedTransaction":{"id":'),
        reverted_id,
        pl.lit('},"transaction":'),
        pl.col("data").str.extract(r',"transaction":(\{.*\})\}$', 1).str.strip_suffix("}"),
        extras,
        pl.lit("}}"),
    )
    data = pl.when(pl.col("type") == "NEW_TRANSACTION").then(new).otherwise(revert)
    key = pl.col("idempotency_key")
    ihash = pl.col("idempotency_hash").str.strip_prefix("\\x").str.decode("hex").cast(pl.String)
    stored = pl.col("hash").str.strip_prefix("\\x").str.decode("hex").bin.encode("base64")
    line = pl.concat_str(
        pl.lit('{"type":"'),
        pl.col("type"),
        pl.lit('","data":'),
        data,
        pl.lit(',"date":"'),
        date,
        pl.lit('","idempotencyKey":"'),
        key.fill_null(""),
        pl.lit('","idempotencyHash":"'),
        ihash.fill_null(""),
        pl.lit('","id":'),
        pl.col("id").cast(pl.String),
        pl.lit(',"hash":'),
        pl.when(pl.col("hash").is_null())
        .then(pl.lit("null"))
        .otherwise(pl.concat_str(pl.lit('"'), stored, pl.lit('"'))),
        pl.lit("}"),
    )
    out = logs.sort("ledger", "id").select("ledger", line.alias("line"))
    return {
        str(ledger): group.get_column("line").to_list()
        for (ledger,), group in out.group_by("ledger", maintain_order=True)
    }


def write_formance_export(
    frames: LedgerFrames, folder: Path, *, features: dict[str, dict[str, str]] | None = None
) -> list[Path]:
    """Write ``<ledger>.jsonl`` per ledger into ``folder``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for ledger, lines in sorted(export_lines(frames, features=features).items()):
        path = folder / f"{ledger}.jsonl"
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        written.append(path)
    return written
