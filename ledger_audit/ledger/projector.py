"""The balance projector: maintains the cached ``balances`` table from the append-only log.

It runs apart from the write path (CQRS): posts never touch ``balances``, the projector
folds sealed versions after its watermark into it. Every cached row then holds the balance
as of ``as_of_ns``, the recorded time of the last version folded in (recorded times strictly
increase along the chain, so that instant is exactly a chain prefix).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from ledger_audit.errors import PostRejected
from ledger_audit.ledger.effects import BalanceCells, BalanceKey
from ledger_audit.ledger.log_delta import chunks, log_delta
from ledger_audit.schema.tables import balance_projection, balances, transactions

FRAME_SHARE = 4
"""Fold with frames when the span is at least 1/FRAME_SHARE of the chain (else by index).

The frame fold reads the ledger's versions and entries whole, in table order, and joins
them in polars; the SQL fold looks each entry up by key, which is cheaper for a short span
and far dearer for a long one (at 1M the month's fold took 27 s of CPU through SQLite).
"""
_TX_SCHEMA = {
    "transaction_id": pl.String(),
    "version": pl.Int64(),
    "status": pl.String(),
    "chain_seq": pl.Int64(),
}
_ENTRY_SCHEMA = {
    "transaction_id": pl.String(),
    "version": pl.Int64(),
    "account_id": pl.String(),
    "asset_id": pl.String(),
    "direction": pl.String(),
    "amount": pl.Int64(),
}
_COUNTED = ("posted", "pending")
READ_CHUNK = 200_000
"""Rows read from SQLite per frame: one chunk's rows are the only ones held as Python
tuples at a time (read whole, a 1M demo's 3M entries would all be at once)."""


@dataclass(frozen=True, slots=True)
class ProjectionResult:
    """What one projection run folded in."""

    ledger_id: str
    from_seq: int
    through_seq: int
    balances_changed: int
    as_of_ns: int


def _lock_watermark(conn: sa.Connection, ledger_id: str) -> tuple[int, int]:
    query = sa.select(balance_projection.c.through_seq, balance_projection.c.as_of_ns).where(
        balance_projection.c.ledger_id == ledger_id
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise PostRejected("unknown_ledger", f"no ledger {ledger_id!r}: create it first")
    return int(row.through_seq), int(row.as_of_ns)


HELD_CHUNK = 1_000_000
"""Entries of a writer's frames folded per join: a join builds its hash table again for each
chunk (1M a chunk at 1M transactions: 1.9 s of CPU against 2.3 s for 200k, for 20 MiB more
at the peak)."""


def slim_versions(frame: pl.DataFrame) -> pl.DataFrame:
    """What :func:`fold_frames` reads of a writer's versions, the status as a category.

    A category (four bytes a row, and a cheaper group-by) instead of the repeated text; the
    fold gives the same keys and cells either way.
    """
    return frame.select(
        "transaction_id", "version", pl.col("status").cast(pl.Categorical()), "chain_seq"
    )


def slim_entries(frame: pl.DataFrame) -> pl.DataFrame:
    """What :func:`fold_frames` reads of a writer's entries, the repeated text as categories.

    Account, asset and direction as categories: a third less memory held (about 60 bytes
    an entry instead of 95), and a cheaper group-by.
    """
    return frame.select(
        "transaction_id",
        "version",
        *(pl.col(c).cast(pl.Categorical()) for c in ("account_id", "asset_id", "direction")),
        "amount",
    )


@dataclass(frozen=True, slots=True)
class HeldVersions:
    """Every version one writer sealed on a ledger since genesis, as it holds them in memory.

    ``versions`` and ``entries`` are the rows it wrote, a frame per batch
    (:func:`slim_versions`, :func:`slim_entries`); ``head_seq`` and ``head_hash`` are the
    chain head its last version left. The projector folds them instead of reading the span
    back only where they are the whole log: see :meth:`covers`.
    """

    ledger_id: str
    head_seq: int
    head_hash: str
    versions: tuple[pl.DataFrame, ...]
    entries: tuple[pl.DataFrame, ...]

    def covers(self, ledger_id: str, low: int, head_seq: int, head_hash: str) -> bool:
        """Whether these are all the ledger's versions, through its head (read under the lock).

        ``head_seq`` and ``head_hash`` are the ledger's chain head, ``low`` its watermark.
        The writer started on an empty chain (the bulk writer refuses any other), so the
        rows it holds are every chained version from seq 1 on; if the ledger's head is still
        the one its last version sealed, nobody appended after it, and an append-only log
        holds exactly those versions (an unchained row cannot be the version another one
        replaces: the writer wrote those, and the key is unique).
        """
        return (
            ledger_id == self.ledger_id
            and head_seq == self.head_seq
            and head_hash == self.head_hash
            and 0 <= low <= head_seq
        )


def project_balances(
    engine: sa.Engine, ledger_id: str, held: HeldVersions | None = None
) -> ProjectionResult:
    """Fold every version sealed after the watermark into the cached balances.

    ``held``: the versions a writer sealed on this ledger since genesis, if it kept them
    (the bulk writer does); they are folded instead of reading the span back when the
    ledger's chain head, read under the lock, is still theirs, else the span is read as
    without them.
    """
    with engine.begin() as conn:
        low, as_of = _lock_watermark(conn, ledger_id)
        head = conn.execute(
            sa.select(
                transactions.c.chain_seq, transactions.c.recorded_ns, transactions.c.chain_hash
            )
            .where(transactions.c.ledger_id == ledger_id, transactions.c.chain_seq.is_not(None))
            .order_by(transactions.c.chain_seq.desc())
            .limit(1)
        ).first()
        if head is None or int(head.chain_seq) <= low:
            return ProjectionResult(ledger_id, low, low, 0, as_of)
        high, as_of = int(head.chain_seq), int(head.recorded_ns)
        if held is not None and held.covers(ledger_id, low, high, str(head.chain_hash)):
            entry_chunks = _batched(held.entries, HELD_CHUNK)
            delta = fold_frames(pl.concat(held.versions), entry_chunks, low, high)
        else:
            delta = _delta(conn, ledger_id, low, high)
        changed = _write(conn, ledger_id, delta, as_of)
        conn.execute(
            balances.update().where(balances.c.ledger_id == ledger_id).values(as_of_ns=as_of)
        )
        conn.execute(
            balance_projection.update()
            .where(balance_projection.c.ledger_id == ledger_id)
            .values(through_seq=high, as_of_ns=as_of)
        )
        return ProjectionResult(ledger_id, low, high, changed, as_of)


def _delta(
    conn: sa.Connection, ledger_id: str, low: int, high: int
) -> dict[BalanceKey, BalanceCells]:
    """``log_delta`` of the span: by frames over a long span of a SQLite ledger, else in SQL."""
    db = conn.connection.driver_connection
    if isinstance(db, sqlite3.Connection) and (high - low) * FRAME_SHARE >= high:
        return frame_delta(db, ledger_id, low, high)
    return log_delta(conn, ledger_id, low, high)


def frame_delta(
    db: sqlite3.Connection, ledger_id: str, low: int, high: int
) -> dict[BalanceKey, BalanceCells]:
    """``log_delta(conn, ledger_id, low, high)``, the same keys and cells, folded in polars.

    The ledger's versions are read whole and its entries a chunk at a time, so no more than
    one chunk of them is ever held as Python rows; :func:`fold_frames` folds them.
    """
    txs = _read(
        db,
        "SELECT transaction_id, version, status, chain_seq FROM transactions WHERE ledger_id = ?",
        ledger_id,
        _TX_SCHEMA,
    )
    entry_chunks = _chunks(
        db,
        "SELECT transaction_id, version, account_id, asset_id, direction, amount "
        "FROM entries WHERE ledger_id = ?",
        ledger_id,
        _ENTRY_SCHEMA,
    )
    return fold_frames(txs, entry_chunks, low, high)


def fold_frames(
    txs: pl.DataFrame, entry_chunks: Iterable[pl.DataFrame], low: int, high: int
) -> dict[BalanceKey, BalanceCells]:
    """The change to each account x asset made by the versions sealed at seq in (low, high].

    ``txs`` holds every version of the ledger (transaction_id, version, status, chain_seq)
    and ``entry_chunks`` all its entries (transaction_id, version, account_id, asset_id,
    direction, amount), in chunks, however they were read (the database, a writer's memory).
    A version sealed in the span adds its entries and takes away those of the version it
    replaces (version - 1), each counted only while posted or pending; an account x asset
    is in the result if any such entry touches it, even if its cells come to zero (the SQL
    fold's groups; a property test holds the two equal). Sums are taken in 128 bits, so
    they are exact where SQLite's would overflow and raise; each chunk is summed on its own.
    """
    versions = txs.lazy()
    new = versions.filter((pl.col("chain_seq") > low) & (pl.col("chain_seq") <= high))
    added = new.select("transaction_id", "version", "status", sign=pl.lit(1, pl.Int8()))
    replaced = (
        new.select("transaction_id", version=pl.col("version") - 1)
        .join(
            versions.select("transaction_id", "version", "status"),
            on=["transaction_id", "version"],
        )
        .select("transaction_id", "version", "status", sign=pl.lit(-1, pl.Int8()))
    )
    counted = pl.concat([added, replaced]).filter(pl.col("status").is_in(_COUNTED)).collect()
    amount = pl.col("amount").cast(pl.Int128()) * pl.col("sign")

    def cell(status: str, direction: str) -> pl.Expr:
        wanted = (pl.col("status") == status) & (pl.col("direction") == direction)
        return amount.filter(wanted).sum()

    keys = ["account_id", "asset_id"]
    partial = [
        counted.lazy()
        .join(chunk.lazy(), on=["transaction_id", "version"])
        .group_by(keys)
        .agg(
            cell("posted", "debit").alias("posted_debits"),
            cell("posted", "credit").alias("posted_credits"),
            cell("pending", "debit").alias("pending_debits"),
            cell("pending", "credit").alias("pending_credits"),
        )
        .collect()
        for chunk in entry_chunks
    ]
    if not partial:
        return {}
    cells = pl.concat(partial).group_by(keys).agg(pl.col(_CELLS).sum())
    return {
        (account, asset): BalanceCells(int(pd), int(pc), int(ed), int(ec))
        for account, asset, pd, pc, ed, ec in cells.select(*keys, *_CELLS).iter_rows()
    }


def _batched(frames: Iterable[pl.DataFrame], rows: int) -> Iterator[pl.DataFrame]:
    """Frames joined into chunks of about ``rows`` rows (a writer's batches are small)."""
    group: list[pl.DataFrame] = []
    size = 0
    for frame in frames:
        group.append(frame)
        size += frame.height
        if size >= rows:
            yield pl.concat(group)
            group, size = [], 0
    if group:
        yield pl.concat(group)


def _chunks(
    db: sqlite3.Connection, sql: str, ledger_id: str, schema: Mapping[str, pl.DataType]
) -> Iterator[pl.DataFrame]:
    """A query's rows as frames of at most :data:`READ_CHUNK` rows, in table order."""
    cursor = db.execute(sql, (ledger_id,))
    while rows := cursor.fetchmany(READ_CHUNK):
        yield pl.DataFrame(rows, schema=schema, orient="row")


def _read(
    db: sqlite3.Connection, sql: str, ledger_id: str, schema: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    """A query's rows as one frame, read a chunk at a time."""
    return pl.concat([pl.DataFrame(schema=schema), *_chunks(db, sql, ledger_id, schema)])


def rebuild_balances(engine: sa.Engine, ledger_id: str) -> ProjectionResult:
    """Drop the ledger's cached balances and project the whole log again."""
    with engine.begin() as conn:
        _lock_watermark(conn, ledger_id)
        conn.execute(balances.delete().where(balances.c.ledger_id == ledger_id))
        conn.execute(
            balance_projection.update()
            .where(balance_projection.c.ledger_id == ledger_id)
            .values(through_seq=0, as_of_ns=0)
        )
    return project_balances(engine, ledger_id)


_CELLS = ("posted_debits", "posted_credits", "pending_debits", "pending_credits")


def _write(
    conn: sa.Connection, ledger_id: str, delta: dict[BalanceKey, BalanceCells], as_of: int
) -> int:
    """Add ``delta`` to the cached rows (inserting missing ones); returns rows written."""
    existing: dict[BalanceKey, tuple[int, ...]] = {}
    touched = sorted({account for account, _ in delta})
    for chunk in chunks(touched):
        query = sa.select(
            balances.c.account_id,
            balances.c.asset_id,
            *(balances.c[name] for name in _CELLS),
            balances.c.lock_version,
        ).where(
            balances.c.ledger_id == ledger_id,
            balances.c.account_id.in_(chunk),
        )
        for row in conn.execute(query):
            existing[(row[0], row[1])] = tuple(int(v) for v in row[2:])
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    for key in sorted(delta):
        cells = delta[key]
        old = existing.get(key)
        base = (0, 0, 0, 0, -1) if old is None else old
        values: dict[str, object] = {
            "posted_debits": base[0] + cells.posted_debits,
            "posted_credits": base[1] + cells.posted_credits,
            "pending_debits": base[2] + cells.pending_debits,
            "pending_credits": base[3] + cells.pending_credits,
            "as_of_ns": as_of,
            "lock_version": base[4] + 1,
        }
        if old is None:
            inserts.append(
                {"ledger_id": ledger_id, "account_id": key[0], "asset_id": key[1], **values}
            )
        else:
            updates.append(
                {"k_ledger": ledger_id, "k_account": key[0], "k_asset": key[1], **values}
            )
    if inserts:
        conn.execute(balances.insert(), inserts)
    if updates:
        conn.execute(
            balances.update()
            .where(
                balances.c.ledger_id == sa.bindparam("k_ledger"),
                balances.c.account_id == sa.bindparam("k_account"),
                balances.c.asset_id == sa.bindparam("k_asset"),
            )
            .values({name: sa.bindparam(name) for name in (*_CELLS, "as_of_ns", "lock_version")}),
            updates,
        )
    return len(delta)
