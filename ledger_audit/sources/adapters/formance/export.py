"""The ``logs/export`` stream as a Formance source: JSON lines, one log each.

``POST /v2/{ledger}/logs/export`` writes every log with Go's ``json.Encoder``: ``type``,
``data`` (the full payload, not the memento), ``date``, ``idempotencyKey``,
``idempotencyHash``, ``id``, ``hash`` (base64) and ``schemaVersion`` when set. To verify the
chain from it, each log's memento is rebuilt from its payload as Go's ``GetMemento`` does
(``internal/log.go``: for a new transaction ``{transaction: {postings, metadata, timestamp,
reference (omitted when empty), id, reverted: false}, accountMetadata}``, for a revert
``{revertedTransactionID, transaction: {...}}``; metadata logs hash their payload as it is) and
encoded as Go encodes it (fields in declaration order, map keys sorted, HTML escaping, integers
exact). The log's ``date`` is hashed as exported.

The ledger is named after the file (``main.jsonl`` is ledger ``main``). Transactions, postings
and reverts come from the payloads; the last post-commit volumes of each account and asset,
when the payloads carry them, are the stored balances. An export holds no moves: they are not
proven. Parsing is one pass of Python's JSON reader per line (the memento must be re-encoded
value by value); the frames are then built as for the database.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ledger_audit.errors import InputError, excerpt
from ledger_audit.sources.adapters.formance.hashing import go_string
from ledger_audit.sources.adapters.formance.read import BucketRows

SUFFIXES = (".jsonl", ".ndjson")
_TX_TYPES = ("NEW_TRANSACTION", "REVERTED_TRANSACTION")
REVERTS_KEY = "com.formance.spec/state/reverts"


def is_export(source: str | Path) -> bool:
    """True when ``source`` names a JSON-lines file (by its suffix; no row is read)."""
    return (
        not str(source).startswith(("postgresql", "sqlite"))
        and Path(source).suffix.lower() in SUFFIXES
    )


def go_value(value: object) -> bytes:  # noqa: PLR0911 - one return per JSON kind
    """A decoded JSON value as Go writes the same value: maps sorted, strings escaped."""
    if value is None:
        return b"null"
    if value is True:
        return b"true"
    if value is False:
        return b"false"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, str):
        return go_string(value)
    if isinstance(value, list):
        return b"[" + b",".join(go_value(v) for v in value) + b"]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return b"{" + b",".join(go_string(k) + b":" + go_value(v) for k, v in items) + b"}"
    return json.dumps(value).encode()  # a float: Go would print it its own way (not proven)


def _object(*fields: tuple[str, bytes]) -> bytes:
    """A Go struct: fields in declaration order."""
    return b"{" + b",".join(go_string(k) + b":" + v for k, v in fields) + b"}"


def _postings(postings: object) -> bytes:
    """Go's JSON of a posting list (``Posting``: source, destination, amount, asset)."""
    if not isinstance(postings, list):
        return b"null"
    return (
        b"["
        + b",".join(
            _object(
                ("source", go_value(p.get("source"))),
                ("destination", go_value(p.get("destination"))),
                ("amount", go_value(p.get("amount"))),
                ("asset", go_value(p.get("asset"))),
            )
            for p in postings
            if isinstance(p, dict)
        )
        + b"]"
    )


def _resume(tx: dict[str, object]) -> bytes:
    fields: list[tuple[str, bytes]] = [
        ("postings", _postings(tx.get("postings"))),
        ("metadata", go_value(tx.get("metadata"))),
        ("timestamp", go_value(tx.get("timestamp"))),
    ]
    if tx.get("reference"):
        fields.append(("reference", go_value(tx.get("reference"))))
    fields += [("id", go_value(tx.get("id"))), ("reverted", b"false")]
    return _object(*fields)


def memento(log_type: str, data: dict[str, object]) -> bytes:
    """What Go hashes for a log of ``log_type`` whose payload is ``data``."""
    if log_type == "NEW_TRANSACTION":
        tx = data.get("transaction")
        return _object(
            ("transaction", _resume(tx if isinstance(tx, dict) else {})),
            ("accountMetadata", go_value(data.get("accountMetadata"))),
        )
    if log_type == "REVERTED_TRANSACTION":
        original = data.get("revertedTransaction")
        tx = data.get("transaction")
        original_id = original.get("id") if isinstance(original, dict) else None
        return _object(
            ("revertedTransactionID", go_value(original_id)),
            ("transaction", _resume(tx if isinstance(tx, dict) else {})),
        )
    if log_type == "SET_METADATA":
        return _object(
            ("targetType", go_value(data.get("targetType"))),
            ("targetId", go_value(data.get("targetId"))),
            ("metadata", go_value(data.get("metadata"))),
        )
    if log_type == "DELETE_METADATA":
        return _object(
            ("targetType", go_value(data.get("targetType"))),
            ("targetId", go_value(data.get("targetId"))),
            ("key", go_value(data.get("key"))),
        )
    return go_value(data)


@dataclass
class _Columns:
    """Column lists filled line by line, then turned into frames."""

    logs: dict[str, list[object]] = field(default_factory=dict)
    tx: dict[str, list[object]] = field(default_factory=dict)
    postings: dict[str, list[object]] = field(default_factory=dict)
    volumes: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    @staticmethod
    def add(target: dict[str, list[object]], **values: object) -> None:
        for name, value in values.items():
            target.setdefault(name, []).append(value)


def _lines(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    try:
        handle = path.open("r", encoding="utf-8")
    except OSError as error:
        raise InputError(str(path), f"cannot read: {error}") from error
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(
                    f"{path}:{number}", f"not a JSON log ({error.msg}): {excerpt(line)}"
                ) from error
            if not isinstance(value, dict) or "type" not in value or "id" not in value:
                raise InputError(
                    f"{path}:{number}", f"not a Formance log (no type or id): {excerpt(line)}"
                )
            yield number, value


def _transaction(cols: _Columns, ledger: str, log: dict[str, object], date: str) -> None:
    data = log.get("data")
    data = data if isinstance(data, dict) else {}
    tx = data.get("transaction")
    if not isinstance(tx, dict):
        return
    found_metadata, found_postings = tx.get("metadata"), tx.get("postings")
    metadata: dict[str, object] = found_metadata if isinstance(found_metadata, dict) else {}
    postings: list[object] = found_postings if isinstance(found_postings, list) else []
    tx_id = str(tx.get("id"))
    cols.add(
        cols.tx,
        ledger=ledger,
        id=tx_id,
        timestamp=str(tx.get("timestamp") or date),
        inserted_at=str(tx.get("insertedAt") or date),
        reference=tx.get("reference") or None,
        postings=_postings(postings).decode(),
        metadata=go_value(metadata).decode(),
        reverts=str(metadata[REVERTS_KEY]) if REVERTS_KEY in metadata else None,
    )
    for k, posting in enumerate(postings):
        if isinstance(posting, dict):
            cols.add(
                cols.postings,
                ledger=ledger,
                id=tx_id,
                k=k,
                source=posting.get("source"),
                destination=posting.get("destination"),
                amount=str(posting.get("amount")),
                asset=posting.get("asset"),
            )
    pcv = tx.get("postCommitVolumes")
    if isinstance(pcv, dict):
        for account, assets in pcv.items():
            if isinstance(assets, dict):
                for asset, volume in assets.items():
                    if isinstance(volume, dict):
                        cols.volumes[(str(account), str(asset))] = (
                            str(volume.get("input")),
                            str(volume.get("output")),
                        )


def _ns(column: str) -> pl.Expr:
    return (
        pl.col(column)
        .str.to_datetime(time_zone="UTC", time_unit="ns", strict=False)
        .dt.replace_time_zone(None)
        .cast(pl.Int64)
        .alias(column)
    )


def read_export(path: Path) -> BucketRows:
    """Every log of an export file, as the rows the database path reads."""
    ledger = path.stem
    cols = _Columns()
    reverted: dict[str, str] = {}
    hashed = 0
    for _, log in _lines(path):
        log_type = str(log.get("type"))
        found = log.get("data")
        data: dict[str, object] = found if isinstance(found, dict) else {}
        date = str(log.get("date") or "")
        stored = log.get("hash")
        digest = base64.b64decode(stored) if isinstance(stored, str) and stored else None
        hashed += digest is not None
        key = log.get("idempotencyKey") or None
        cols.add(
            cols.logs,
            ledger=ledger,
            id=str(log.get("id")),
            type=log_type,
            hash=digest,
            date=date,
            date_text=date.removesuffix("Z"),
            memento=memento(log_type, data),
            idempotency_key=key,
            idempotency_hash=log.get("idempotencyHash") or None,
            schema_version=log.get("schemaVersion") or None,
        )
        if log_type in _TX_TYPES:
            _transaction(cols, ledger, log, date)
        original = data.get("revertedTransaction")
        if log_type == "REVERTED_TRANSACTION" and isinstance(original, dict):
            reverted[str(original.get("id"))] = date
    logs = pl.DataFrame(
        cols.logs,
        schema={
            "ledger": pl.String,
            "id": pl.String,
            "type": pl.String,
            "hash": pl.Binary,
            "date": pl.String,
            "date_text": pl.String,
            "memento": pl.Binary,
            "idempotency_key": pl.String,
            "idempotency_hash": pl.String,
            "schema_version": pl.String,
        },
    ).with_columns(_ns("date"), pl.col("id").cast(pl.Int64, strict=False).alias("id_int"))
    tx_schema = {
        "ledger": pl.String,
        "id": pl.String,
        "timestamp": pl.String,
        "inserted_at": pl.String,
        "reference": pl.String,
        "postings": pl.String,
        "metadata": pl.String,
        "reverts": pl.String,
    }
    transactions = (
        pl.DataFrame(cols.tx, schema=tx_schema)
        .with_columns(pl.col("id").replace_strict(reverted, default=None).alias("reverted_at"))
        .with_columns(_ns("timestamp"), _ns("inserted_at"), _ns("reverted_at"))
    )
    postings = pl.DataFrame(
        cols.postings,
        schema={
            "ledger": pl.String,
            "id": pl.String,
            "k": pl.Int64,
            "source": pl.String,
            "destination": pl.String,
            "amount": pl.String,
            "asset": pl.String,
        },
    )
    addresses = pl.concat(
        [
            postings.select("ledger", pl.col(c).alias("address"), "id")
            for c in ("source", "destination")
        ]
    ).join(transactions.select("ledger", "id", "timestamp"), on=["ledger", "id"], how="left")
    accounts = (
        addresses.group_by("ledger", "address")
        .agg(pl.col("timestamp").min().alias("first_usage"))
        .with_columns(pl.lit("{}").alias("metadata"), pl.col("first_usage").alias("insertion_date"))
        .sort("ledger", "address")
    )
    volumes = pl.DataFrame(
        {
            "ledger": [ledger] * len(cols.volumes),
            "accounts_address": [a for a, _ in cols.volumes],
            "asset": [s for _, s in cols.volumes],
            "input": [v[0] for v in cols.volumes.values()],
            "output": [v[1] for v in cols.volumes.values()],
        },
        schema={
            "ledger": pl.String,
            "accounts_address": pl.String,
            "asset": pl.String,
            "input": pl.String,
            "output": pl.String,
        },
    )
    mode = "SYNC" if hashed else "DISABLED"
    ledgers = pl.DataFrame(
        {
            "name": [ledger],
            "bucket": [""],
            "features": [json.dumps({"HASH_LOGS": mode, "MOVES_HISTORY": "OFF"})],
            "metadata": ["{}"],
            "added_at": [logs.get_column("date").min()],
        },
        schema={
            "name": pl.String,
            "bucket": pl.String,
            "features": pl.String,
            "metadata": pl.String,
            "added_at": pl.Int64,
        },
    )
    moves = pl.DataFrame(
        schema={
            "seq": pl.Int64,
            "ledger": pl.String,
            "transactions_id": pl.Int64,
            "accounts_address": pl.String,
            "asset": pl.String,
            "amount": pl.String,
            "is_source": pl.Boolean,
            "pcv_in": pl.String,
            "pcv_out": pl.String,
        }
    )
    blocks = pl.DataFrame(
        schema={
            "id": pl.Int64,
            "previous": pl.Int64,
            "ledger": pl.String,
            "from_id": pl.Int64,
            "to_id": pl.Int64,
            "hash": pl.Binary,
        }
    )
    return BucketRows(
        ledgers=ledgers,
        transactions=transactions,
        postings=postings,
        accounts=accounts,
        volumes=volumes,
        moves=moves,
        logs=logs,
        blocks=blocks,
    )
