"""Read a Formance bucket's rows in one read-only snapshot, as typed polars frames.

Formance keeps ``_system.ledgers`` (names, buckets, features) and one PostgreSQL schema per
bucket holding every ledger of that bucket. The layout is checked from the catalogue before a
row is read (``require_layout``: a missing table or an older migration names the adapter, the
table and the columns expected). Rows are read through SQL query relations, exact values as
text (NUMERIC amounts and volumes); times arrive as microsecond datetimes. Posting arrays are
read once with their transactions and decoded in polars when that is exact (``postings.py``),
else unnested by PostgreSQL. Two steps of the snapshot: the rows the frames need
(``read_frame_rows``), then what only the vendor checks read (``read_rows`` adds every log
with its hash, the moves and the blocks); a load without the checks reads, of the logs, only
the keyed transaction logs' mementos (``read_keyed_logs``).
"""

from __future__ import annotations

from dataclasses import dataclass

import adbc_driver_manager
import polars as pl
import pyarrow as pa

from ledger_audit.errors import InputError, excerpt
from ledger_audit.sources.adapters.formance.postings import decoded_postings
from ledger_audit.sources.adapters.layout import require_layout
from ledger_audit.sources.database import frame_from_batches
from ledger_audit.sources.mapping.relations import PostgresRelations, RelationRef, RelationSource

NAME = "formance"
SYSTEM = "_system.ledgers"
SYSTEM_COLUMNS = ("name", "bucket", "features", "metadata", "added_at")
BUCKET_TABLES: dict[str, tuple[str, ...]] = {
    "transactions": (
        "ledger",
        "id",
        "timestamp",
        "inserted_at",
        "reference",
        "reverted_at",
        "postings",
        "metadata",
    ),
    "accounts": ("ledger", "address", "metadata", "insertion_date", "first_usage"),
    "accounts_volumes": ("ledger", "accounts_address", "asset", "input", "output"),
    "moves": (
        "seq",
        "ledger",
        "transactions_id",
        "accounts_address",
        "asset",
        "amount",
        "is_source",
        "post_commit_volumes",
    ),
    "logs": (
        "ledger",
        "id",
        "type",
        "hash",
        "date",
        "memento",
        "idempotency_key",
        "idempotency_hash",
    ),
    "logs_blocks": ("id", "previous", "ledger", "from_id", "to_id", "hash"),
}
"""What the adapter reads from each bucket table (``schema_version`` is read when present)."""
HINT = (
    "(Formance Ledger v2 bucket after migrations 0-53: memento, idempotency_hash, "
    "inserted_at, accounts_volumes from 11, logs_blocks from 38)"
)
DEFAULT_BUCKET = "_default"


def buckets_in_catalogue(opened: RelationSource) -> tuple[str, ...]:
    """Schemas that hold a Formance ``logs`` table; ``_default`` when none does."""
    found = sorted(
        {name.rsplit(".", 1)[0] for name in opened.relations() if name.endswith(".logs")}
    )
    return tuple(found) or (DEFAULT_BUCKET,)


def require(opened: RelationSource) -> tuple[str, ...]:
    """Raise InputError unless the source has Formance's layout; returns the buckets."""
    if opened.kind != "postgresql":
        raise InputError(
            f"--adapter {NAME}: {opened.label}",
            "Formance keeps its ledgers in PostgreSQL: give its database URL "
            "(postgresql://...); the logs/export JSON-lines form is not read yet",
        )
    require_layout(NAME, opened, {SYSTEM: SYSTEM_COLUMNS}, hint="(Formance _system schema)")
    buckets = buckets_in_catalogue(opened)
    for bucket in buckets:
        require_layout(
            NAME, opened, {f"{bucket}.{t}": c for t, c in BUCKET_TABLES.items()}, hint=HINT
        )
    return buckets


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _query(opened: RelationSource, sql: str) -> pl.DataFrame:
    ref = RelationRef(query=sql)
    columns = [c.name for c in opened.columns(ref)]
    return opened.read(ref, columns)


def _binary_query(opened: RelationSource, sql: str) -> pl.DataFrame:
    """A query whose bytea columns arrive as binary (half the bytes of hex text).

    Runs on the snapshot's own connection, inside the same read-only transaction; every
    column of ``sql`` must be of a type ADBC decodes (bytea, text, integers, timestamps).
    """
    if not isinstance(opened, PostgresRelations):
        return _query(opened, sql)
    cursor = opened.connection.cursor()
    try:
        cursor.execute(sql)
        return frame_from_batches(cursor.fetch_record_batch())
    except (adbc_driver_manager.Error, pa.ArrowException) as error:
        raise InputError(f"{opened.label} query", f"cannot read: {excerpt(str(error))}") from error
    finally:
        cursor.close()


def _us_to_ns(*names: str) -> list[pl.Expr]:
    return [pl.col(n).cast(pl.Datetime("us")).cast(pl.Int64).mul(1000).alias(n) for n in names]


@dataclass(frozen=True, slots=True, eq=False)
class FrameRows:
    """The vendor rows the canonical frames are built from (all buckets together), typed.

    Times are epoch nanoseconds (``*_ns``, from microseconds); NUMERIC values are exact text.
    """

    ledgers: pl.DataFrame
    transactions: pl.DataFrame
    postings: pl.DataFrame
    accounts: pl.DataFrame
    volumes: pl.DataFrame


@dataclass(frozen=True, slots=True, eq=False)
class BucketRows(FrameRows):
    """Every vendor row of one snapshot: the frames' rows and what only the checks read.

    ``logs`` (with their mementos and hashes), ``moves`` (with post-commit volumes) and
    ``blocks`` are evidence the canonical frames do not hold.
    """

    moves: pl.DataFrame
    logs: pl.DataFrame
    blocks: pl.DataFrame


TX_LOGS = ("NEW_TRANSACTION", "REVERTED_TRANSACTION")
"""Log types whose memento holds a transaction (the one it creates)."""


def _bucket_sql(buckets: tuple[str, ...]) -> str:
    return ", ".join(map(_sql_text, buckets))


def read_frame_rows(opened: RelationSource, buckets: tuple[str, ...]) -> FrameRows:
    """The rows the canonical frames need, from the open snapshot (no log, no move)."""
    ledgers = _query(
        opened,
        "SELECT name, bucket, features::text AS features, metadata::text AS metadata, "
        f"added_at FROM _system.ledgers WHERE bucket IN ({_bucket_sql(buckets)})",
    ).with_columns(_us_to_ns("added_at"))
    parts: dict[str, list[pl.DataFrame]] = {
        k: [] for k in ("transactions", "postings", "accounts", "accounts_volumes")
    }
    for bucket in buckets:
        b = _q(bucket)
        transactions = _query(
            opened,
            "SELECT ledger, id::text AS id, timestamp, inserted_at, reference, "
            "reverted_at, metadata::text AS metadata, "
            "metadata->>'com.formance.spec/state/reverts' AS reverts, "
            f"postings::text AS postings FROM {b}.transactions",
        )
        postings = decoded_postings(transactions)
        if postings is None:  # not all in Go's exact form: PostgreSQL unnests them
            postings = _query(
                opened,
                "SELECT t.ledger, t.id::text AS id, (p.k - 1)::bigint AS k, "
                "p.v->>'source' AS source, p.v->>'destination' AS destination, "
                "p.v->>'amount' AS amount, p.v->>'asset' AS asset "
                f"FROM {b}.transactions t CROSS JOIN LATERAL "
                "jsonb_array_elements(t.postings::jsonb) WITH ORDINALITY AS p(v, k)",
            )
        parts["transactions"].append(transactions.drop("postings"))
        parts["postings"].append(postings)
        parts["accounts"].append(
            _query(
                opened,
                "SELECT ledger, address, metadata::text AS metadata, insertion_date, "
                f"first_usage FROM {b}.accounts",
            )
        )
        parts["accounts_volumes"].append(
            _query(
                opened,
                "SELECT ledger, accounts_address, asset, input::text AS input, "
                f"output::text AS output FROM {b}.accounts_volumes",
            )
        )

    def joined(key: str) -> pl.DataFrame:
        return pl.concat(parts[key], how="vertical_relaxed")

    return FrameRows(
        ledgers=ledgers,
        transactions=joined("transactions").with_columns(
            _us_to_ns("timestamp", "inserted_at", "reverted_at")
        ),
        postings=joined("postings"),
        accounts=joined("accounts").with_columns(_us_to_ns("insertion_date", "first_usage")),
        volumes=joined("accounts_volumes"),
    )


def read_keyed_logs(opened: RelationSource, buckets: tuple[str, ...]) -> pl.DataFrame:
    """The transaction logs that carry an idempotency key: ledger, id, memento, key.

    All the frames need of the logs (a transaction's key is reached only through the memento
    of its log); the hashes, dates and request hashes, and logs without a key, are left to
    the vendor checks.
    """
    types = ", ".join(map(_sql_text, TX_LOGS))
    parts = [
        _binary_query(
            opened,
            "SELECT ledger::text AS ledger, id::text AS id, memento, "
            f"idempotency_key::text AS idempotency_key FROM {_q(bucket)}.logs "
            f"WHERE idempotency_key IS NOT NULL AND type::text IN ({types})",
        ).with_columns(pl.col("memento").cast(pl.Binary))
        for bucket in buckets
    ]
    return pl.concat(parts, how="vertical_relaxed").with_columns(
        pl.col("id").cast(pl.Int64, strict=False).alias("id_int")
    )


def read_rows(opened: RelationSource, buckets: tuple[str, ...]) -> BucketRows:
    """Every row the adapter needs (frames and vendor checks), from the open snapshot."""
    rows = read_frame_rows(opened, buckets)
    parts: dict[str, list[pl.DataFrame]] = {k: [] for k in ("moves", "logs", "logs_blocks")}
    for bucket in buckets:
        b = _q(bucket)
        has_version = "schema_version" in {
            c.name for c in opened.columns(RelationRef(name=f"{bucket}.logs"))
        }
        version = "schema_version" if has_version else "NULL::text AS schema_version"
        parts["moves"].append(
            _query(
                opened,
                "SELECT seq, ledger, transactions_id, accounts_address, asset, "
                "amount::text AS amount, is_source, "
                "(post_commit_volumes).inputs::text AS pcv_in, "
                "(post_commit_volumes).outputs::text AS pcv_out "
                f"FROM {b}.moves",
            )
        )
        parts["logs"].append(
            _binary_query(
                opened,
                "SELECT ledger::text AS ledger, id::text AS id, type::text AS type, hash, date, "
                "to_json(date)#>>'{}' AS date_text, memento, "
                "idempotency_key::text AS idempotency_key, "
                "encode(idempotency_hash, 'escape') AS idempotency_hash, "
                f"{version} FROM {b}.logs",
            ).with_columns(
                pl.col("schema_version").cast(pl.String),
                pl.col("memento").cast(pl.Binary),
                pl.col("hash").cast(pl.Binary),
            )
        )
        parts["logs_blocks"].append(
            _query(
                opened,
                "SELECT id::bigint AS id, previous, ledger, from_id, to_id, "
                f"encode(hash, 'hex') AS hash FROM {b}.logs_blocks",
            )
        )

    def joined(key: str) -> pl.DataFrame:
        return pl.concat(parts[key], how="vertical_relaxed")

    logs = joined("logs").with_columns(
        *_us_to_ns("date"),
        pl.col("id").cast(pl.Int64, strict=False).alias("id_int"),
    )
    blocks = joined("logs_blocks").with_columns(pl.col("hash").str.decode("hex"))
    return BucketRows(
        ledgers=rows.ledgers,
        transactions=rows.transactions,
        postings=rows.postings,
        accounts=rows.accounts,
        volumes=rows.volumes,
        moves=joined("moves"),
        logs=logs,
        blocks=blocks,
    )


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
