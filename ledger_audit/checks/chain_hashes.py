"""LACH-1 hashes of many rows at once: the canonical payload as polars string expressions.

``ledger_audit.schema.lach1`` is the one definition of the payload; this module builds the
same bytes for every row of a frame in parallel (JSON escaping as vectorised string
replacement, SHA-256 with polars-hash), and the row-by-row reference calls ``lach1`` itself.
Tests hold the two byte-identical. A row whose sealed integers (version, seq, times, an
entry's index or amount) are null has no payload: its content hash is null.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import polars as pl
import polars_hash as plh

from ledger_audit.schema import lach1
from ledger_audit.schema.times import iso_expr

VERSION_KEY = ("ledger_id", "transaction_id", "version")
"""The key of a transaction version, shared by transactions and entries."""

SEALED_COLUMNS = (
    *VERSION_KEY,
    "chain_seq",
    "kind",
    "status",
    "pending_transaction_id",
    "reverses_transaction_id",
    "effective_ns",
    "recorded_ns",
    "idempotency_key",
    "external_id",
)
"""The transaction columns P(row) reads (DESIGN.md section 4)."""

ENTRY_COLUMNS = (*VERSION_KEY, "entry_index", "account_id", "asset_id", "direction", "amount")
"""The entry columns P(row) reads."""

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r"}
_ESCAPES["\t"] = "\\t"
_ESCAPE_FROM = [*_ESCAPES, *(chr(c) for c in range(0x20) if chr(c) not in _ESCAPES)]
_ESCAPE_TO = [*_ESCAPES.values(), *(f"\\u{c:04x}" for c in range(0x20) if chr(c) not in _ESCAPES)]
_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'
_LINK_PREFIX = f"{lach1.ALGORITHM} link\n"
CHUNK_ROWS = 250_000
"""Versions whose payloads are built and hashed together."""


def _escaped(values: pl.Series) -> pl.Series:
    """JSON string escaping (JCS), touching only the rows that need it; nulls stay null.

    A fast regex scan finds those rows; only they go through the slower multi-pattern
    replacement.
    """
    text = values.cast(pl.String())
    needs = text.str.contains(_NEEDS_ESCAPE).fill_null(value=False)
    if needs.any():
        rows = needs.arg_true()
        text = text.scatter(rows, text.gather(rows).str.replace_many(_ESCAPE_FROM, _ESCAPE_TO))
    return text


def _token(column: str) -> pl.Expr:
    """An escaped text column as a JSON token: ``"..."``, or ``null``."""
    return pl.concat_str(pl.lit('"'), pl.col(column), pl.lit('"')).fill_null("null")


def json_strings(values: pl.Series) -> pl.Series:
    """Each value as a JSON string token (JCS escaping, non-ASCII raw); null as ``null``."""
    frame = _escaped(values).to_frame("_v")
    return frame.select(_token("_v")).to_series().alias(values.name)


def _int_string(column: str) -> pl.Expr:
    """An integer as a JSON string token (null stays null: the payload is then undefined)."""
    return pl.concat_str(pl.lit('"'), pl.col(column).cast(pl.String()), pl.lit('"'))


def _time_string(column: str) -> pl.Expr:
    return pl.concat_str(pl.lit('"'), iso_expr(pl.col(column)), pl.lit('"'))


def _escape(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    return frame.with_columns(_escaped(frame.get_column(c)) for c in columns)


_STRINGS = (
    "ledger_id",
    "transaction_id",
    "kind",
    "status",
    "pending_transaction_id",
    "reverses_transaction_id",
    "idempotency_key",
    "external_id",
)
_PAYLOAD = pl.concat_str(
    pl.lit('{"effective_at":'),
    _time_string("effective_ns"),
    pl.lit(',"entries":['),
    pl.col("_legs"),
    pl.lit('],"external_id":'),
    _token("external_id"),
    pl.lit(',"idempotency_key":'),
    _token("idempotency_key"),
    pl.lit(',"kind":'),
    _token("kind"),
    pl.lit(',"ledger_id":'),
    _token("ledger_id"),
    pl.lit(',"pending_transaction_id":'),
    _token("pending_transaction_id"),
    pl.lit(',"recorded_at":'),
    _time_string("recorded_ns"),
    pl.lit(',"reverses_transaction_id":'),
    _token("reverses_transaction_id"),
    pl.lit(',"seq":'),
    _int_string("chain_seq"),
    pl.lit(',"status":'),
    _token("status"),
    pl.lit(',"transaction_id":'),
    _token("transaction_id"),
    pl.lit(',"version":'),
    _int_string("version"),
    pl.lit("}"),
)
_ENTRY = pl.concat_str(
    pl.lit('{"account_id":'),
    _token("account_id"),
    pl.lit(',"amount":'),
    _int_string("amount"),
    pl.lit(',"asset_id":'),
    _token("asset_id"),
    pl.lit(',"direction":'),
    _token("direction"),
    pl.lit(',"i":'),
    _int_string("entry_index"),
    pl.lit("}"),
)
_GROUP_END = "\x1e"  # never inside a JSON token: control characters are escaped


def _row_entries(versions: pl.DataFrame, entries: pl.DataFrame) -> pl.DataFrame:
    """Entry positions ``_e`` (in ``entries``) tagged with ``_row``, their version's index.

    Sorted by (``_row``, entry index), ties in frame order (as ``lach1.payload`` sorts). A
    version key that occurs twice gets the entries once per row. Only the two indices are
    kept: each chunk gathers its own entries' columns.
    """
    rows = versions.select(VERSION_KEY).with_row_index("_row")
    tagged = (
        entries.lazy()
        .select(VERSION_KEY)
        .with_row_index("_e")
        .join(rows.lazy(), on=VERSION_KEY, how="inner", maintain_order="left")
        .select("_e", "_row")
        .collect()
    )
    tagged = tagged.with_columns(entries.get_column("entry_index").gather(tagged.get_column("_e")))
    row, index = pl.col("_row"), pl.col("entry_index")
    ordered = (row > row.shift()) | ((row == row.shift()) & (index >= index.shift()))
    if not tagged.select(ordered.fill_null(value=True).all()).item():
        tagged = tagged.sort("_row", "entry_index", maintain_order=True)
    return tagged.select("_e", "_row")


def _entry_lists(legs: pl.DataFrame) -> pl.DataFrame:
    """Per ``_row`` with entries: the ``entries`` array body, and whether one is unreadable.

    Rows are contiguous and in order, so the bodies come from one string: each object ends
    in ``,`` or, last of its row, in a separator no token contains; split on it.
    """
    if legs.height == 0:
        return pl.DataFrame(
            schema={"_row": pl.UInt32(), "_legs": pl.String(), "_bad": pl.Boolean()}
        )
    objects = _escape(legs, ("account_id", "asset_id", "direction")).select(
        "_row", _ENTRY.alias("_obj")
    )
    last = pl.col("_row") != pl.col("_row").shift(-1).fill_null(-1)
    first = pl.col("_row") != pl.col("_row").shift(1).fill_null(-1)
    end = pl.when(last).then(pl.lit(_GROUP_END)).otherwise(pl.lit(","))
    joined = objects.select(
        pl.concat_str(pl.col("_obj").fill_null(""), end).str.join("").str.split(_GROUP_END)
    ).item()
    bad = objects.filter(pl.col("_obj").is_null()).get_column("_row").unique()
    heads = objects.filter(first).select("_row")
    return heads.with_columns(
        pl.Series("_legs", joined, dtype=pl.String()).head(heads.height),
        pl.col("_row").is_in(bad.implode()).alias("_bad"),
    )


def _chunk_payloads(versions: pl.DataFrame, legs: pl.DataFrame, offset: int) -> pl.Series:
    rows = _escape(versions.select(SEALED_COLUMNS), _STRINGS).with_row_index("_row", offset)
    lists = _entry_lists(legs)
    joined = rows.join(lists, on="_row", how="left", maintain_order="left").with_columns(
        pl.col("_legs").fill_null(""), pl.col("_bad").fill_null(value=False)
    )
    payload = pl.when(pl.col("_bad")).then(None).otherwise(_PAYLOAD)
    return joined.select(payload.alias("payload")).to_series()


def _chunks(versions: pl.DataFrame, entries: pl.DataFrame) -> Iterator[pl.Series]:
    """canonical_json(P(row)) chunk by chunk (bounded memory for any number of rows)."""
    tagged = _row_entries(versions, entries)
    row = tagged.get_column("_row")
    for start in range(0, max(versions.height, 1), CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, versions.height)
        lo = int(row.search_sorted(start, "left"))
        hi = int(row.search_sorted(stop, "left"))
        part = tagged.slice(lo, hi - lo)
        legs = entries.select(pl.col(ENTRY_COLUMNS).gather(part.get_column("_e"))).with_columns(
            part.get_column("_row")
        )
        yield _chunk_payloads(versions.slice(start, stop - start), legs, start)


def payload_chunks(versions: pl.DataFrame, entries: pl.DataFrame) -> Iterator[pl.Series]:
    """canonical_json(P(row)) ``CHUNK_ROWS`` rows at a time, consecutive, in row order."""
    return _chunks(versions, entries)


def payloads(versions: pl.DataFrame, entries: pl.DataFrame) -> pl.Series:
    """canonical_json(P(row)) for every row of ``versions``, in row order (null if undefined).

    ``versions`` holds at least ``SEALED_COLUMNS``; ``entries`` at least ``ENTRY_COLUMNS``
    (amount Int64 or Decimal(38, 0)). Entries are sorted by entry index within a version.
    """
    return pl.concat(list(_chunks(versions, entries))).alias("payload")


def content_hash_chunks(versions: pl.DataFrame, entries: pl.DataFrame) -> Iterator[pl.Series]:
    """content(row) for every row of ``versions``, vectorised, ``CHUNK_ROWS`` rows at a time.

    The chunks are consecutive and in row order; a caller that only compares them with the
    stored hashes never holds every recomputed hash at once.
    """
    for chunk in _chunks(versions, entries):
        hashed = chunk.to_frame("payload").select(
            plh.col("payload").chash.sha2_256().alias("content")
        )
        yield hashed.to_series()


def content_hashes(versions: pl.DataFrame, entries: pl.DataFrame) -> pl.Series:
    """content(row) for every row of ``versions``, vectorised, in row order.

    Payloads are built and hashed ``CHUNK_ROWS`` rows at a time, so they never all sit in
    memory together.
    """
    parts = list(content_hash_chunks(versions, entries))
    return pl.concat(parts) if parts else pl.Series("content", [], pl.String())


META_COLUMNS = ("description", "metadata")
"""The unsealed columns ``meta_hash`` covers (``lach1.meta_hash``)."""


def meta_hashes(versions: pl.DataFrame) -> pl.Series:
    """``lach1.meta_hash(description, metadata)`` for every row of ``versions``, vectorised.

    The payload is ``{"description":<token>,"metadata":<token>}`` (keys sorted, JCS
    escaping, null as ``null``), as ``lach1.canonical_json`` writes it.
    """
    escaped = _escape(versions.select(META_COLUMNS), META_COLUMNS)
    text = pl.concat_str(
        pl.lit('{"description":'),
        _token("description"),
        pl.lit(',"metadata":'),
        _token("metadata"),
        pl.lit("}"),
    )
    hashed = escaped.select(text.alias("_t")).select(plh.col("_t").chash.sha2_256().alias("meta"))
    return hashed.to_series()


def reference_meta_hashes(versions: pl.DataFrame) -> pl.Series:
    """``lach1.meta_hash`` one row at a time (hashlib): the reference for :func:`meta_hashes`."""
    hashes = [
        lach1.meta_hash(description, metadata)
        for description, metadata in versions.select(META_COLUMNS).iter_rows()
    ]
    return pl.Series("meta", hashes, dtype=pl.String())


def link_hashes(prev: pl.Series, content: pl.Series) -> pl.Series:
    """chain_hash(row) from ``prev`` and ``content`` element-wise, vectorised (null: null)."""
    frame = pl.DataFrame({"prev": prev, "content": content})
    text = pl.concat_str(pl.lit(_LINK_PREFIX), pl.col("prev"), pl.lit("\n"), pl.col("content"))
    texts = frame.select(text.alias("_t"))
    return texts.select(plh.col("_t").chash.sha2_256().alias("link")).to_series()


# --- the reference: lach1 itself, one row at a time ---------------------------------------


def _sealed_version(
    row: dict[str, object], legs: list[tuple[object, ...]]
) -> lach1.SealedVersion | None:
    numbers = (row["version"], row["chain_seq"], row["effective_ns"], row["recorded_ns"])
    if any(n is None for n in numbers) or any(leg[0] is None or leg[4] is None for leg in legs):
        return None
    return lach1.SealedVersion(
        ledger_id=row["ledger_id"],  # type: ignore[arg-type]
        seq=int(row["chain_seq"]),  # type: ignore[call-overload]
        transaction_id=row["transaction_id"],  # type: ignore[arg-type]
        version=int(row["version"]),  # type: ignore[call-overload]
        kind=row["kind"],  # type: ignore[arg-type]
        status=row["status"],  # type: ignore[arg-type]
        pending_transaction_id=row["pending_transaction_id"],  # type: ignore[arg-type]
        reverses_transaction_id=row["reverses_transaction_id"],  # type: ignore[arg-type]
        effective_ns=int(row["effective_ns"]),  # type: ignore[call-overload]
        recorded_ns=int(row["recorded_ns"]),  # type: ignore[call-overload]
        idempotency_key=row["idempotency_key"],  # type: ignore[arg-type]
        external_id=row["external_id"],  # type: ignore[arg-type]
        entries=tuple(
            lach1.SealedEntry(int(i), account, asset, direction, int(amount))  # type: ignore[call-overload, arg-type]
            for i, account, asset, direction, amount in legs
        ),
    )


def reference_payloads(versions: pl.DataFrame, entries: pl.DataFrame) -> list[str | None]:
    """``lach1.canonical_json(lach1.payload(row))`` row by row (the slow reference)."""
    return [
        None if sealed is None else lach1.canonical_json(lach1.payload(sealed))
        for sealed in _reference_rows(versions, entries)
    ]


def _reference_rows(
    versions: pl.DataFrame, entries: pl.DataFrame
) -> list[lach1.SealedVersion | None]:
    legs: defaultdict[tuple[object, ...], list[tuple[object, ...]]] = defaultdict(list)
    for row in entries.select(ENTRY_COLUMNS).iter_rows():
        legs[row[:3]].append(row[3:])
    return [
        _sealed_version(
            row, legs.get((row["ledger_id"], row["transaction_id"], row["version"]), [])
        )
        for row in versions.select(SEALED_COLUMNS).iter_rows(named=True)
    ]


def reference_content_hashes(versions: pl.DataFrame, entries: pl.DataFrame) -> pl.Series:
    """content(row) through ``lach1.content_hash``, one row at a time (hashlib)."""
    hashes = [
        None if sealed is None else lach1.content_hash(sealed)
        for sealed in _reference_rows(versions, entries)
    ]
    return pl.Series("content", hashes, dtype=pl.String())


def reference_content_hash_chunks(
    versions: pl.DataFrame, entries: pl.DataFrame
) -> Iterator[pl.Series]:
    """:func:`reference_content_hashes` as one chunk (the reference is not memory-bound)."""
    yield reference_content_hashes(versions, entries)


def reference_link_hashes(prev: pl.Series, content: pl.Series) -> pl.Series:
    """chain_hash(row) through ``lach1.link_hash``, one row at a time (hashlib)."""
    hashes = [
        None if p is None or c is None else lach1.link_hash(p, c)
        for p, c in zip(prev.to_list(), content.to_list(), strict=True)
    ]
    return pl.Series("link", hashes, dtype=pl.String())


@dataclass(frozen=True, slots=True)
class ChainHasher:
    """How a verifier computes hashes: both functions keep the input row order.

    Attributes:
        name: ``vectorised`` or ``reference``.
        contents: content(row) of every row of a versions frame, given the entries.
        links: chain_hash from prev and content, element-wise.
        content_chunks: ``contents`` as consecutive chunks in row order (bounded memory).
        metas: meta_hash of every row of a versions frame (description and metadata).
    """

    name: str
    contents: Callable[[pl.DataFrame, pl.DataFrame], pl.Series]
    links: Callable[[pl.Series, pl.Series], pl.Series]
    content_chunks: Callable[[pl.DataFrame, pl.DataFrame], Iterator[pl.Series]]
    metas: Callable[[pl.DataFrame], pl.Series]


VECTORISED = ChainHasher(
    "vectorised", content_hashes, link_hashes, content_hash_chunks, meta_hashes
)
REFERENCE = ChainHasher(
    "reference",
    reference_content_hashes,
    reference_link_hashes,
    reference_content_hash_chunks,
    reference_meta_hashes,
)
