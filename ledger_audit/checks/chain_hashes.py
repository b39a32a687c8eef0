"""LACH-1 hashes of many rows at once: the canonical payload as polars string expressions.

``ledger_audit.schema.lach1`` is the one definition of the payload; this module builds the
same bytes for every row of a frame in parallel (JSON escaping as vectorised string
replacement, SHA-256 with polars-hash), and the row-by-row reference calls ``lach1`` itself.
Tests hold the two byte-identical. A row whose sealed integers (version, seq, times, an
entry's index or amount) are null has no payload: its content hash is null.

Speed (docs/scale.md, "Chain verification against the hardware"): rows are built and hashed
in chunks on every core at once; entries already stored in the versions' key order are
sliced, not joined; each row's ``entries`` array is one list join over Arrow offsets; a
text column without nulls enters the payload between literal quotes, not as a token.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar, cast

import polars as pl
import polars_hash as plh
import pyarrow as pa

from ledger_audit.checks import chain_json
from ledger_audit.gather import one_chunk
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
"""Versions whose payloads exist at once: the chunks in flight on all cores hold this many."""


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


def _escape(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    return frame.with_columns(_escaped(frame.get_column(c)) for c in columns)


# --- one JSON object as one concat_str -----------------------------------------------------

_Piece = str | pl.Expr


def _object(pieces: Sequence[_Piece]) -> list[pl.Expr]:
    """The inputs of one ``concat_str``: adjacent literal pieces merged into one literal."""
    out: list[pl.Expr] = []
    text = ""
    for piece in pieces:
        if isinstance(piece, str):
            text += piece
            continue
        if text:
            out.append(pl.lit(text))
            text = ""
        out.append(piece)
    if text:
        out.append(pl.lit(text))
    return out


def _text(frame: pl.DataFrame, column: str, key: str, lead: str = ",") -> list[_Piece]:
    """``"key":`` and an escaped text value: between literal quotes unless it has nulls."""
    if frame.get_column(column).null_count() == 0:
        return [f'{lead}"{key}":"', pl.col(column), '"']
    return [f'{lead}"{key}":', _token(column)]


def _number(column: str, key: str, lead: str = ",") -> list[_Piece]:
    """``"key":"<base-10>"`` (a null integer makes the whole payload null)."""
    return [f'{lead}"{key}":"', pl.col(column).cast(pl.String()), '"']


def _time(column: str, key: str) -> list[_Piece]:
    return [f',"{key}":"', iso_expr(pl.col(column)), '"']


def _entry_object(legs: pl.DataFrame) -> list[pl.Expr]:
    """One entry of the ``entries`` array (keys sorted), from escaped entry columns."""
    return _object(
        [
            *_text(legs, "account_id", "account_id", lead="{"),
            *_number("amount", "amount"),
            *_text(legs, "asset_id", "asset_id"),
            *_text(legs, "direction", "direction"),
            *_number("entry_index", "i"),
            "}",
        ]
    )


def _payload(rows: pl.DataFrame) -> list[pl.Expr]:
    """canonical_json(P(row)) (keys sorted) from escaped sealed columns and ``_legs``."""
    return _object(
        [
            '{"effective_at":"',
            iso_expr(pl.col("effective_ns")),
            '","entries":[',
            pl.col("_legs"),
            "]",
            *_text(rows, "external_id", "external_id"),
            *_text(rows, "idempotency_key", "idempotency_key"),
            *_text(rows, "kind", "kind"),
            *_text(rows, "ledger_id", "ledger_id"),
            *_text(rows, "pending_transaction_id", "pending_transaction_id"),
            *_time("recorded_ns", "recorded_at"),
            *_text(rows, "reverses_transaction_id", "reverses_transaction_id"),
            *_number("chain_seq", "seq"),
            *_text(rows, "status", "status"),
            *_text(rows, "transaction_id", "transaction_id"),
            *_number("version", "version"),
            "}",
        ]
    )


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
_ENTRY_STRINGS = ("account_id", "asset_id", "direction")
_LEG_COLUMNS = ("entry_index", "account_id", "asset_id", "direction", "amount")


# --- which entries belong to which row ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tagged:
    """Entries of the versions' rows, sorted by (row, entry index), ties in frame order.

    Attributes:
        row: the row (index in ``versions``) of each tagged entry, non-decreasing.
        at: each tagged entry's position in ``entries``; None when that is ``0, 1, 2, ...``
            (the entries are stored in exactly this order: chunks slice them, no gather).
    """

    row: pl.Series
    at: pl.Series | None


def _pairs(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Each value from the second on, and the one before it (zero-copy slices, no shift)."""
    return values.slice(1), values.slice(0, max(values.len() - 1, 0))


def _strictly_increasing(frame: pl.DataFrame) -> bool:
    """Whether the version keys only go up (so they are unique); a null key: False."""
    up: pl.Series | None = None
    for column in reversed(VERSION_KEY):
        here, before = _pairs(frame.get_column(column))
        later = here > before
        up = later if up is None else later | ((here == before) & up)
    return up is None or bool(up.fill_null(value=False).all())


def _run_starts(keys: pl.DataFrame) -> pl.Series:
    """True where an entry's version key differs from the previous entry's (and first)."""
    here, before = _pairs(keys.get_column(VERSION_KEY[0]))
    changed = here.ne_missing(before)
    for column in VERSION_KEY[1:]:
        here, before = _pairs(keys.get_column(column))
        changed = changed | here.ne_missing(before)
    return pl.concat([pl.Series([True]), changed], rechunk=True).alias("_start")


def _aligned(versions: pl.DataFrame, entries: pl.DataFrame) -> pl.Series | None:
    """Each entry's row when entries are stored in the versions' order, else None.

    That is: version keys strictly increasing, and the entries' runs of equal keys are the
    versions' keys one for one. Then row = run number, with no join (the common layout: both
    tables read in key order). Anything else (a version without entries, an orphan entry,
    another order, a null key) returns None and takes the join. Only slices, flags and the
    heads of a chunk at a time are built: no copy of a key column.
    """
    if versions.height == 0 or entries.height == 0:
        return None
    starts = _run_starts(entries)
    if int(starts.sum()) != versions.height or not _strictly_increasing(versions):
        return None
    heads = starts.arg_true()
    keys = {column: one_chunk(entries.get_column(column)) for column in VERSION_KEY}
    for lo in range(0, versions.height, CHUNK_ROWS):
        at = heads.slice(lo, CHUNK_ROWS)
        for column in VERSION_KEY:
            head = keys[column].gather(at)
            same = head == versions.get_column(column).slice(lo, at.len())
            if not same.fill_null(value=False).all():
                return None
    return (starts.cast(pl.UInt32()).cum_sum() - 1).alias("_row")


def _in_index_order(row: pl.Series, index: pl.Series) -> bool:
    """Whether tagged entries are sorted by (row, entry index); a null index counts as sorted."""
    row_here, row_before = _pairs(row)
    index_here, index_before = _pairs(index)
    ordered = (row_here > row_before) | ((row_here == row_before) & (index_here >= index_before))
    return bool(ordered.fill_null(value=True).all())


def _row_entries(versions: pl.DataFrame, entries: pl.DataFrame) -> _Tagged:
    """Entry positions tagged with their version's row, sorted by (row, entry index).

    Ties keep frame order (as ``lach1.payload`` sorts). A version key that occurs twice gets
    the entries once per row. Only indices are kept: each chunk takes its own entries.
    """
    aligned = _aligned(versions, entries)
    if aligned is not None:
        tagged = pl.DataFrame([aligned, entries.get_column("entry_index")])
        at: pl.Series | None = None
    else:
        rows = versions.select(VERSION_KEY).with_row_index("_row")
        tagged = (
            entries.lazy()
            .select(VERSION_KEY)
            .with_row_index("_e")
            .join(rows.lazy(), on=VERSION_KEY, how="inner", maintain_order="left")
            .select("_e", "_row")
            .collect()
        )
        tagged = tagged.with_columns(
            entries.get_column("entry_index").gather(tagged.get_column("_e"))
        )
        at = tagged.get_column("_e")
    if not _in_index_order(tagged.get_column("_row"), tagged.get_column("entry_index")):
        if at is None:
            tagged = tagged.with_row_index("_e")
        tagged = tagged.sort("_row", "entry_index", maintain_order=True)
        at = tagged.get_column("_e")
    return _Tagged(tagged.get_column("_row"), at)


# --- chunks ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Rows ``start:stop`` of the versions and tagged entries ``lo:hi`` (theirs)."""

    start: int
    stop: int
    lo: int
    hi: int


def _plan(tagged: _Tagged, height: int, rows: int) -> list[_Chunk]:
    starts = list(range(0, max(height, 1), rows))
    bounds = tagged.row.search_sorted(
        pl.Series([*starts, height], dtype=tagged.row.dtype), "left"
    ).to_list()
    return [
        _Chunk(start, min(start + rows, height), bounds[n], bounds[n + 1])
        for n, start in enumerate(starts)
    ]


def _legs(entries: pl.DataFrame, tagged: _Tagged, chunk: _Chunk) -> tuple[pl.DataFrame, pl.Series]:
    """The chunk's entries in (row, entry index) order, and each row's offsets into them.

    Row r of the chunk owns ``legs[offsets[r]:offsets[r + 1]]``.
    """
    n = chunk.hi - chunk.lo
    if tagged.at is None:
        legs = entries.select(_LEG_COLUMNS).slice(chunk.lo, n)
    else:
        legs = entries.select(pl.col(_LEG_COLUMNS).gather(tagged.at.slice(chunk.lo, n)))
    rows = tagged.row.slice(chunk.lo, n)
    wanted = pl.int_range(chunk.start, chunk.stop + 1, eager=True).cast(rows.dtype)
    return legs, rows.search_sorted(wanted, "left").cast(pl.Int64())


def _entries_arrays(entries: pl.DataFrame, tagged: _Tagged, chunk: _Chunk) -> pl.Series:
    """Each row's ``entries`` array body (objects joined by ``,``); null if one is unreadable.

    The tagged entries of the chunk are contiguous and in row order, so the arrays are a list
    column over offsets (Arrow), joined per row with no hash join and no Python per row.
    """
    legs, offsets = _legs(entries, tagged, chunk)
    legs = _escape(legs, _ENTRY_STRINGS)
    objects = legs.select(pl.concat_str(_entry_object(legs)).alias("_obj")).to_series()
    # string views cross to Arrow and back without copying the bytes
    values = objects.to_arrow(compat_level=pl.CompatLevel.newest())
    lists = pa.LargeListArray.from_arrays(cast("pa.Int64Array", offsets.to_arrow()), values)
    arrays = pl.Series("_legs", lists)
    return arrays.list.join(",", ignore_nulls=False)


def _rows(
    versions: pl.DataFrame, entries: pl.DataFrame, tagged: _Tagged, chunk: _Chunk
) -> pl.DataFrame:
    """The chunk's sealed columns, escaped, with ``_legs``: what :func:`_payload` reads."""
    part = versions.select(SEALED_COLUMNS).slice(chunk.start, chunk.stop - chunk.start)
    return _escape(part, _STRINGS).with_columns(_entries_arrays(entries, tagged, chunk))


T = TypeVar("T")
A = TypeVar("A")


def _in_order(work: Callable[[A], T], chunks: Sequence[A], workers: int) -> Iterator[T]:
    """``map(work, chunks)`` on ``workers`` threads, in order, at most ``workers`` in flight.

    Polars releases the GIL, so the chunks build and hash on every core; the bound keeps at
    most ``workers`` chunks of payloads alive at once.
    """
    if workers <= 1 or len(chunks) <= 1:
        yield from map(work, chunks)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="lach1") as pool:
        pending: deque[Future[T]] = deque()
        for chunk in chunks:
            if len(pending) == workers:
                yield pending.popleft().result()
            pending.append(pool.submit(work, chunk))
        while pending:
            yield pending.popleft().result()


def _workers() -> int:
    return max(1, pl.thread_pool_size())


def _compiled(
    versions: pl.DataFrame,
    entries: pl.DataFrame,
    tagged: _Tagged,
    chunk: _Chunk,
    *,
    hashed: bool,
) -> pl.Series | None:
    """The chunk's payloads (or their hashes) by the compiled kernel (None: use polars)."""
    legs, offsets = _legs(entries, tagged, chunk)
    rows = versions.select(SEALED_COLUMNS).slice(chunk.start, chunk.stop - chunk.start)
    text = chain_json.payloads(rows, legs, offsets, reuse=hashed)
    if text is None or not hashed:
        return text
    return _sha256(text).alias("content")  # before the thread's buffer is written again


def _chunked(
    versions: pl.DataFrame,
    entries: pl.DataFrame,
    make: Callable[[pl.DataFrame], pl.Expr],
    chunk_rows: int,
    *,
    hashed: bool,
    compiled: bool | None = None,
) -> Iterator[pl.Series]:
    """``make(rows)`` for every chunk of ``versions``, consecutive, in row order.

    ``chunk_rows`` rows are in flight at once, split over the workers. From
    ``chain_json.JIT_MIN_ROWS`` versions (or whatever their number when ``compiled`` is
    True; never when it is False) the payloads are written by the compiled kernel
    (``chain_json``) and, when ``hashed``, hashed by polars-hash: the same bytes.
    """
    tagged = _row_entries(versions, entries)
    if tagged.at is not None:  # gathered chunk by chunk: the text in one chunk, made once
        entries = pl.DataFrame([one_chunk(entries.get_column(c)) for c in _LEG_COLUMNS])
    workers = _workers()
    chunks = _plan(tagged, versions.height, max(1, chunk_rows // workers))
    wanted = versions.height >= chain_json.JIT_MIN_ROWS if compiled is None else compiled
    kernel = wanted and chain_json.kernel() is not None

    def work(chunk: _Chunk) -> pl.Series:
        if kernel:
            done = _compiled(versions, entries, tagged, chunk, hashed=hashed)
            if done is not None:
                return done
        rows = _rows(versions, entries, tagged, chunk)
        return rows.select(make(rows)).to_series()

    return _in_order(work, chunks, workers)


def _sha256(text: pl.Series) -> pl.Series:
    """Lower-case hex SHA-256 of each string's UTF-8 bytes (null: null)."""
    return text.to_frame("_t").select(plh.col("_t").chash.sha2_256()).to_series()


def _payload_text(rows: pl.DataFrame) -> pl.Expr:
    return pl.concat_str(_payload(rows)).alias("payload")


def _payload_hash(rows: pl.DataFrame) -> pl.Expr:
    return plh.concat_str(_payload(rows)).chash.sha2_256().alias("content")


def payload_chunks(
    versions: pl.DataFrame, entries: pl.DataFrame, *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pl.Series]:
    """canonical_json(P(row)) a chunk at a time, consecutive, in row order."""
    return _chunked(versions, entries, _payload_text, chunk_rows, hashed=False)


def payloads(versions: pl.DataFrame, entries: pl.DataFrame) -> pl.Series:
    """canonical_json(P(row)) for every row of ``versions``, in row order (null if undefined).

    ``versions`` holds at least ``SEALED_COLUMNS``; ``entries`` at least ``ENTRY_COLUMNS``
    (amount Int64 or Decimal(38, 0)). Entries are sorted by entry index within a version.
    """
    return pl.concat(list(payload_chunks(versions, entries))).alias("payload")


def content_hash_chunks(
    versions: pl.DataFrame,
    entries: pl.DataFrame,
    *,
    chunk_rows: int = CHUNK_ROWS,
    compiled: bool | None = None,
) -> Iterator[pl.Series]:
    """content(row) for every row of ``versions``, vectorised, a chunk at a time.

    The chunks are consecutive and in row order; a caller that only compares them with the
    stored hashes never holds every recomputed hash at once, and at most ``chunk_rows``
    payloads exist at any moment.
    """
    return _chunked(versions, entries, _payload_hash, chunk_rows, hashed=True, compiled=compiled)


def content_hashes(
    versions: pl.DataFrame, entries: pl.DataFrame, *, compiled: bool | None = None
) -> pl.Series:
    """content(row) for every row of ``versions``, vectorised, in row order.

    Payloads are built and hashed ``CHUNK_ROWS`` rows at a time, so they never all sit in
    memory together. ``compiled``: True to write them with the compiled kernel whatever
    their number (a caller that hashes many small frames, once the kernel's load has paid),
    False never to; None decides by the number of rows (see :func:`_chunked`).
    """
    parts = list(content_hash_chunks(versions, entries, compiled=compiled))
    return pl.concat(parts) if parts else pl.Series("content", [], pl.String())


META_COLUMNS = ("description", "metadata")
"""The unsealed columns ``meta_hash`` covers (``lach1.meta_hash``)."""


def meta_hashes(versions: pl.DataFrame) -> pl.Series:
    """``lach1.meta_hash(description, metadata)`` for every row of ``versions``, vectorised.

    The payload is ``{"description":<token>,"metadata":<token>}`` (keys sorted, JCS
    escaping, null as ``null``), as ``lach1.canonical_json`` writes it.
    """
    workers = _workers()
    step = max(1, CHUNK_ROWS // workers)
    spans = [
        (start, min(start + step, versions.height)) for start in range(0, versions.height, step)
    ]

    def work(span: tuple[int, int]) -> pl.Series:
        part = versions.select(META_COLUMNS).slice(span[0], span[1] - span[0])
        part = _escape(part, META_COLUMNS)
        pieces = [*_text(part, "description", "description", lead="{")]
        text = plh.concat_str(_object([*pieces, *_text(part, "metadata", "metadata"), "}"]))
        return part.select(text.chash.sha2_256().alias("meta")).to_series()

    parts = list(_in_order(work, spans, workers))
    return pl.concat(parts) if parts else pl.Series("meta", [], pl.String())


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
    # one expression: polars-hash concatenates and hashes without an intermediate column
    text = plh.concat_str(pl.lit(_LINK_PREFIX), pl.col("prev"), pl.lit("\n"), pl.col("content"))
    return frame.select(text.chash.sha2_256().alias("link")).to_series()


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
