r"""Formance's log hash, byte for byte: the synchronous chain and the asynchronous blocks.

Formance Ledger v2 hashes each log (``HASH_LOGS=SYNC``) in a PL/pgSQL trigger
(``compute_hash``, bucket migrations 35 and 47) that must agree with the Go
``Log.ComputeHash``. The digested stream is:

1. when the ledger already has a log: the previous log's hash as a JSON string of its
   standard base64, then ``\\n`` (Go's ``json.Encoder`` writes a newline after each value);
2. ``{"type":"<TYPE>","data":<memento>,"date":"<date>Z","idempotencyKey":"<key>","id":0,``
   ``"hash":null`` then ``,"schemaVersion":"<v>"`` only when the log has one, then ``}\\n``.

``<date>`` is PostgreSQL's JSON text of a ``timestamp`` (microseconds, trailing fraction
zeros trimmed: ``2025-01-31T12:00:00``, ``2025-01-31T12:05:00.1234``), which is what Go's
RFC 3339 nano format gives for a microsecond instant in UTC. ``<memento>`` is the stored
``memento`` bytes as they are (the trigger escapes them to text and its final ``::bytea``
cast undoes the escaping). The trigger writes the idempotency key raw where Go writes it as
a JSON string; the two differ only for a key holding ``"``, ``\\``, ``<``, ``>``, ``&`` or a
control character, and the verifier accepts a log that matches either rendering.

``HASH_LOGS=ASYNC`` ledgers leave ``logs.hash`` null; a job seals ranges of logs into
``logs_blocks`` (migration 38): the SHA-256 of one text, with no delimiters at all: the
previous block's hash in PostgreSQL's bytea text form (``\\x`` and lower-case hex; a bare
``\\x`` for the first block, whose previous hash is the empty bytea), then for each log of
the range in id order its type, its memento through ``encode(.., 'escape')`` (backslashes
doubled, NUL and bytes >= 0x80 as ``\\ooo``), its date (no ``Z``), its key and its id.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence

import polars as pl

_BACKSLASH, _HIGH, _CONTROL = 0x5C, 0x80, 0x20
_NEEDS_ESCAPE = re.compile(rb"[\\\x00\x80-\xff]")


def pg_escape(data: bytes) -> bytes:
    r"""PostgreSQL ``encode(data, 'escape')``: ``\\`` doubled, NUL and high bytes as ``\\ooo``.

    The async block hash digests this text as it is.
    """
    if _NEEDS_ESCAPE.search(data) is None:
        return data
    out = bytearray()
    for byte in data:
        if byte == _BACKSLASH:
            out += b"\\\\"
        elif byte == 0 or byte >= _HIGH:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    return bytes(out)


def pg_json_time(column: pl.Expr) -> pl.Expr:
    """PostgreSQL's JSON text of a ``timestamp`` from epoch nanoseconds (microseconds kept).

    ``to_json(ts)#>>'{}'``: ``YYYY-MM-DDTHH:MM:SS`` then ``.`` and the microseconds with
    trailing zeros trimmed, nothing when they are zero.
    """
    micros = (column // 1000).cast(pl.Datetime("us"))
    text = micros.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f")
    return text.str.replace(r"0+$", "").str.replace(r"\.$", "")


def log_body(
    log_type: str, memento: bytes, date: str, idempotency_key: str, schema_version: str | None
) -> bytes:
    """The hashed object of one log, newline included (the trigger's rendering: key raw)."""
    tail = b"" if schema_version is None else b',"schemaVersion":"' + schema_version.encode() + b'"'
    return b"".join(
        (
            b'{"type":"',
            log_type.encode(),
            b'","data":',
            memento,
            b',"date":"',
            date.encode(),
            b'Z","idempotencyKey":"',
            idempotency_key.encode(),
            b'","id":0,"hash":null',
            tail,
            b"}\n",
        )
    )


def go_log_body(
    log_type: str, memento: bytes, date: str, idempotency_key: str, schema_version: str | None
) -> bytes:
    """The same object as Go's ``json.Encoder`` writes it: memento raw, strings JSON-escaped."""
    tail = b"" if not schema_version else b',"schemaVersion":' + go_string(schema_version)
    return b"".join(
        (
            b'{"type":',
            go_string(log_type),
            b',"data":',
            memento,
            b',"date":"',
            date.encode(),
            b'Z","idempotencyKey":',
            go_string(idempotency_key),
            b',"id":0,"hash":null',
            tail,
            b"}\n",
        )
    )


_GO_SHORT = {
    0x22: b'\\"',
    0x5C: b"\\\\",
    0x0A: b"\\n",
    0x0D: b"\\r",
    0x09: b"\\t",
    0x08: b"\\b",
    0x0C: b"\\f",
}
"""Go's short escapes (``\\b`` and ``\\f`` since Go 1.22, which Formance v2 builds with)."""
_GO_HTML = {
    "<": b"\\u003c",
    ">": b"\\u003e",
    "&": b"\\u0026",
    "\u2028": b"\\u2028",
    "\u2029": b"\\u2029",
}


def go_string(text: str) -> bytes:
    """A JSON string as Go's ``encoding/json`` writes it (HTML escaping on, UTF-8 raw)."""
    out = bytearray(b'"')
    for char in text:
        code = ord(char)
        if code in _GO_SHORT:
            out += _GO_SHORT[code]
        elif code < _CONTROL:
            out += b"\\u%04x" % code
        elif char in _GO_HTML:
            out += _GO_HTML[char]
        else:
            out += char.encode()
    out += b'"'
    return bytes(out)


def prefix(previous: bytes | None) -> bytes:
    """The previous hash as Go encodes a ``[]byte`` value: a base64 JSON string and newline."""
    if previous is None:
        return b""
    return b'"' + base64.b64encode(previous) + b'"\n'


def log_hash(previous: bytes | None, body: bytes) -> bytes:
    """One log's hash from its predecessor's stored hash (None for the ledger's first log)."""
    return hashlib.sha256(prefix(previous) + body).digest()


def log_bodies(logs: pl.DataFrame) -> list[bytes]:
    """The trigger rendering of every row of ``logs`` (type, memento, date_text, key, schema)."""
    keys = logs.get_column("idempotency_key").fill_null("").to_list()
    versions = logs.get_column("schema_version").to_list()
    return [
        log_body(t, m, d, k, v)
        for t, m, d, k, v in zip(
            logs.get_column("type").to_list(),
            logs.get_column("memento").to_list(),
            logs.get_column("date_text").to_list(),
            keys,
            versions,
            strict=True,
        )
    ]


def chain_hashes(bodies: Sequence[bytes]) -> list[bytes]:
    """Seal a ledger's logs in order, as the trigger does (sequential by nature)."""
    hashes: list[bytes] = []
    previous: bytes | None = None
    for body in bodies:
        previous = log_hash(previous, body)
        hashes.append(previous)
    return hashes


def block_part(
    log_type: str, memento: bytes, date: str, idempotency_key: str, log_id: int
) -> bytes:
    """One log's contribution to an async block hash (no delimiters, date without ``Z``)."""
    return (
        log_type.encode()
        + pg_escape(memento)
        + date.encode()
        + idempotency_key.encode()
        + str(log_id).encode()
    )


def block_hash(previous: bytes | None, parts: Sequence[bytes]) -> bytes:
    r"""A ``logs_blocks`` hash: the previous hash as bytea text (``\\x`` + hex), then the parts."""
    digest = hashlib.sha256(b"\\x" + (previous or b"").hex().encode())
    for part in parts:
        digest.update(part)
    return digest.digest()


def utf8_text(values: pl.Series) -> pl.Series:
    """Binary values as text; a value that is not UTF-8 becomes null (a tampered memento)."""
    try:
        return values.cast(pl.String)
    except pl.exceptions.ComputeError:
        decoded: list[str | None] = []
        for value in values.to_list():
            try:
                decoded.append(None if value is None else bytes(value).decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(None)
        return pl.Series(values.name, decoded, dtype=pl.String)


def log_inputs(logs: pl.DataFrame) -> list[bytes]:
    """The exact bytes hashed for each log of one ledger (sorted by id), given stored hashes.

    Each row's input depends only on its own fields and its predecessor's *stored* hash, so
    the inputs are built column-wise; only the SHA-256 calls remain per row. A memento that
    is not UTF-8 is rendered byte by byte (``log_body``).
    """
    text = utf8_text(logs.get_column("memento"))
    previous = logs.get_column("hash").shift(1)
    frame = logs.select(
        pl.lit(previous).bin.encode("base64").alias("prev"),
        pl.lit(text).alias("memento_text"),
        "type",
        "date_text",
        pl.col("idempotency_key").fill_null(""),
        "schema_version",
    )
    tail = (
        pl.when(pl.col("schema_version").is_null())
        .then(pl.lit(""))
        .otherwise(pl.concat_str(pl.lit(',"schemaVersion":"'), "schema_version", pl.lit('"')))
    )
    head = (
        pl.when(pl.col("prev").is_null())
        .then(pl.lit(""))
        .otherwise(pl.concat_str(pl.lit('"'), "prev", pl.lit('"\n')))
    )
    whole = pl.concat_str(
        head,
        pl.lit('{"type":"'),
        "type",
        pl.lit('","data":'),
        "memento_text",
        pl.lit(',"date":"'),
        "date_text",
        pl.lit('Z","idempotencyKey":"'),
        "idempotency_key",
        pl.lit('","id":0,"hash":null'),
        tail,
        pl.lit("}\n"),
    )
    inputs: list[bytes | None] = frame.select(whole.cast(pl.Binary)).to_series().to_list()
    if text.null_count() == 0:
        return [bytes(value or b"") for value in inputs]
    stored = previous.to_list()
    bodies = log_bodies(logs)
    return [
        value if value is not None else prefix(stored[i]) + bodies[i]
        for i, value in enumerate(inputs)
    ]
