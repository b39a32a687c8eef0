"""The bulk writer: what the reference writer would store, decided in memory, written in bulk.

``LedgerWriter`` reads the ledger's state back from the database for every batch; that is
what lets many writers share a ledger, and what makes it slow. :class:`BulkWriter` is for
the other case, a ledger that it alone writes from genesis on (the demo): it keeps that
state in memory (every transaction's latest version, every idempotency key's request hash,
the balances of no-negative accounts), decides each batch through the reference writer's
own :class:`~ledger_audit.ledger.writer.RequestPlanner`, seals the accepted versions with
the vectorised LACH-1 payload hashing, and inserts the same rows with the same statements,
in the same order, through the same pooled connection, as the reference does.

So for the same requests in the same batches and the same clock, the two writers return the
same outcomes and leave byte-identical SQLite files: the same sequence of B-tree inserts
allocates the same pages, and the header's change counter is the same. (SQLite writes it
as one more than the value the connection last read from page 1; a connection that keeps
page 1 cached, nobody else writing, writes the same value at every commit. That is why
the bulk writer uses the pool's connection as the reference does, and why grouping
batches into fewer transactions changes no byte; the tests hold it.) The single-request
writer stays the reference for concurrency and idempotency. SQLite only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import operator
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain
from types import TracebackType
from typing import Self

import polars as pl
import sqlalchemy as sa
from sqlalchemy.pool import PoolProxiedConnection

from ledger_audit.checks.chain_hashes import content_hashes, meta_hashes
from ledger_audit.checks.chain_json import JIT_MIN_ROWS
from ledger_audit.errors import PostRejected
from ledger_audit.ledger.bulk_feed import BulkWriterError
from ledger_audit.ledger.bulk_state import RECENT_LEGS, TxStore
from ledger_audit.ledger.effects import BalanceCells, BalanceKey
from ledger_audit.ledger.projector import HeldVersions, slim_entries, slim_versions
from ledger_audit.ledger.requests import EntrySpec, PostResult, Request
from ledger_audit.ledger.sealing import ChainHead, NewVersion, SealedRow
from ledger_audit.ledger.writer import (
    AccountState,
    BatchPlan,
    BatchState,
    RequestPlanner,
    closed_through,
    settle,
)
from ledger_audit.schema import lach1, tables

__all__ = ["COMMIT_EVERY", "SWITCH_SECONDS", "BulkWriter", "BulkWriterError"]

COMMIT_EVERY = 400
"""Batches per database transaction (about 1.6M requests): fewer commits write each hot
index page to the WAL fewer times (the file's bytes do not depend on it: see the module's
docstring). At 1M the month is one transaction, and the SQLite thread takes about a
sixth less CPU than with 25 (docs/scale.md, "eleventh round of the writer"). The bound
limits the WAL, which holds a transaction's pages until its commit: 6.5 GB at 10M."""
SWITCH_SECONDS = 0.0005
"""Python's thread switch interval while a writer is open (used as a context manager).

The writer's thread needs the GIL back after each statement, and the caller, running
Python, gives it up only at its switch interval (5 ms by default): about 1,900 statements
at 1M. The interval is the interpreter's; the writer restores it when it closes."""
_Statement = tuple[str, Sequence[object]]
"""One ``execute``: SQL and its parameters."""
_MAX_PARAMETERS = 32_000
"""Bound values per multi-row INSERT (SQLite allows 32,766 since 3.32).

As many as SQLite allows: the writer's thread takes the GIL back after each statement, and
the caller, running Python, gives it up only at its next switch interval (5 ms), so each
statement costs the thread a wait. At 1M transactions 8,000 values a statement kept the
thread 107-109 s in its batches for 57-59 CPU s; 32,000 about 89 s (the bytes written are
the same: SQLite inserts the rows one by one, in order)."""


class _Insert:
    """Rows into one table as multi-row INSERTs: SQLite inserts them one by one, in order.

    One statement per few hundred rows binds its values in one call and then runs without
    the GIL, so the background thread's inserts overlap the caller's Python work.

    ``OR ROLLBACK``: a row that breaks a constraint ends the whole database transaction
    instead of the statement alone. The writer stops and rolls back on any failed insert
    anyway, and a statement that cannot be undone on its own needs no statement journal:
    with foreign keys off during the batches (:data:`_BULK_PRAGMAS`), SQLite no longer
    copies each statement's pages to one (7 GiB of journal writes at 200k; the thread's
    CPU 16.5 -> 10.2 s together with the foreign keys). The rows and bytes are the same.
    """

    def __init__(self, table: str, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self.head = f"INSERT OR ROLLBACK INTO {table} ({', '.join(columns)}) VALUES "
        self.row = "(" + ", ".join("?" * len(columns)) + ")"
        self.per_statement = _MAX_PARAMETERS // len(columns)
        self._sql: dict[int, str] = {}

    def statements(self, rows: Sequence[tuple[object, ...]]) -> list[_Statement]:
        """The statements that insert ``rows`` in order."""
        out: list[_Statement] = []
        for start in range(0, len(rows), self.per_statement):
            chunk = rows[start : start + self.per_statement]
            sql = self._sql.get(len(chunk))
            if sql is None:
                sql = self._sql[len(chunk)] = self.head + ", ".join([self.row] * len(chunk))
            out.append((sql, list(chain.from_iterable(chunk))))
        return out


_INSERT_TX = _Insert("transactions", tuple(tables.transactions.c.keys()))
_INSERT_ENTRY = _Insert("entries", tuple(tables.entries.c.keys()))
_INSERT_KEY = _Insert("idempotency_keys", tuple(tables.idempotency_keys.c.keys()))
_KEY_VALUES = operator.itemgetter(*_INSERT_KEY.columns)
"""An idempotency row's values in ``_INSERT_KEY``'s column order (a tuple)."""
_UPDATE_HEAD = (
    "UPDATE chain_heads SET seq = ?, head_hash = ?, last_recorded_ns = ? WHERE ledger_id = ?"
)
_LINK_PREFIX = f"{lach1.ALGORITHM} link\n"
_BULK_PRAGMAS = (
    "PRAGMA cache_size = -1048576",
    "PRAGMA synchronous = OFF",
    "PRAGMA wal_autocheckpoint = 50000",
    "PRAGMA foreign_keys = OFF",
)
"""Speed only, never content: a 1 GiB page cache for the random index inserts, no fsync,
fewer, larger checkpoints, and no foreign-key lookups (the file's bytes do not depend on
any of them).

The one foreign key the bulk writer's rows could break is an entry's version
(``entries_version_fk``): each batch inserts its versions before their entries, so the
lookup could never fail; it cost a random descent of the transactions' key index per
entry, and it kept SQLite writing a statement journal (see :class:`_Insert`). The
ledger's row exists (its chain head was read under the lock).
"""
_PLAIN_PRAGMAS = (
    "PRAGMA synchronous = NORMAL",
    "PRAGMA wal_autocheckpoint = 1000",
    "PRAGMA foreign_keys = ON",
)
"""What the writer engine sets (and SQLite's default checkpoint), put back after a batch.

The page cache is left large: shrinking it would only evict pages.
"""

_STRING = pl.String()
_INT = pl.Int64()
_VERSIONS_SCHEMA = {
    "ledger_id": _STRING,
    "transaction_id": _STRING,
    "version": _INT,
    "chain_seq": _INT,
    "kind": _STRING,
    "status": _STRING,
    "pending_transaction_id": _STRING,
    "reverses_transaction_id": _STRING,
    "effective_ns": _INT,
    "recorded_ns": _INT,
    "idempotency_key": _STRING,
    "external_id": _STRING,
}
_ENTRIES_SCHEMA = {
    "ledger_id": _STRING,
    "transaction_id": _STRING,
    "version": _INT,
    "entry_index": _INT,
    "account_id": _STRING,
    "asset_id": _STRING,
    "direction": _STRING,
    "amount": _INT,
}


def _sqlite(raw: PoolProxiedConnection) -> sqlite3.Connection:
    db = raw.driver_connection
    if not isinstance(db, sqlite3.Connection):  # pragma: no cover - the sqlite dialect
        raise BulkWriterError("the bulk writer needs the sqlite3 driver")
    allowed = db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    if allowed < _MAX_PARAMETERS:  # pragma: no cover - SQLite before 3.32, or built so
        message = (
            f"this SQLite binds at most {allowed:,} values a statement; the bulk writer "
            f"needs {_MAX_PARAMETERS:,} (SQLite 3.32 or later): use the reference writer"
        )
        raise BulkWriterError(message)
    return db


def _release(raw: PoolProxiedConnection) -> None:
    """Put the engine's usual settings back and return the connection to the pool."""
    try:
        db = raw.driver_connection
        if isinstance(db, sqlite3.Connection):
            for pragma in _PLAIN_PRAGMAS:
                db.execute(pragma)
    finally:
        raw.close()


class _KeyStore(Mapping[str, tuple[str, PostResult]]):
    """Every idempotency key this writer recorded: a hash in memory, the rest in the database.

    The planner asks for a key's entry on every request; an entry is found only for a retry
    or a conflict, rare enough to read its request hash and sealed result back from the
    database (inside the batch's transaction, where every earlier batch's rows are) rather
    than keep a million of them in memory. The set of hashes only says where to look: two
    keys of one hash both go to the database, which has the exact answer.
    """

    def __init__(self, ledger_id: str, before_read: Callable[[], None]) -> None:
        self.db: sqlite3.Connection | None = None
        self._ledger_id = ledger_id
        self._before_read = before_read
        self._hashes: set[int] = set()
        self._count = 0

    def record(self, key: str) -> None:
        """Remember that ``key`` now has a row (each key is recorded once)."""
        self._hashes.add(hash(key))
        self._count += 1

    def get(self, key: str, default: None = None) -> tuple[str, PostResult] | None:  # type: ignore[override]
        """``(request hash, original result)`` of a recorded key, else None."""
        if hash(key) not in self._hashes:
            return default
        self._before_read()
        db = self.connection()
        row = db.execute(
            "SELECT k.request_hash, t.transaction_id, t.version, t.status, t.chain_seq, "
            "t.chain_hash, t.recorded_ns FROM idempotency_keys AS k JOIN transactions AS t "
            "ON t.ledger_id = k.ledger_id AND t.transaction_id = k.transaction_id "
            "AND t.version = k.version WHERE k.ledger_id = ? AND k.idempotency_key = ?",
            (self._ledger_id, key),
        ).fetchone()
        if row is None:  # another key of the same hash
            return default
        return str(row[0]), PostResult(
            str(row[1]),
            int(row[2]),
            str(row[3]),
            int(row[4]),
            str(row[5]),
            int(row[6]),
            replayed=True,
        )

    def __getitem__(self, key: str) -> tuple[str, PostResult]:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[str]:
        self._before_read()
        rows = self.connection().execute(
            "SELECT idempotency_key FROM idempotency_keys WHERE ledger_id = ? "
            "ORDER BY idempotency_key",
            (self._ledger_id,),
        )
        return (str(row[0]) for row in rows.fetchall())

    def __len__(self) -> int:
        return self._count

    def connection(self) -> sqlite3.Connection:
        """The connection of the batch being planned."""
        if self.db is None:  # pragma: no cover - set before every batch
            raise BulkWriterError("the key store is used outside a batch")
        return self.db


class BulkWriter:
    """Posts to a ledger that it alone writes, from genesis on: ``LedgerWriter``'s results, fast.

    ``submit_many`` has the reference writer's contract (each request accepted, replayed or
    refused on its own) and gives the same outcomes and rows; batches are committed in
    groups, and :meth:`flush` commits (call it before anything else writes the ledger).
    When it opens a transaction after a flush it checks, under the write lock, that the
    chain head is where it left it (another writer would make its memory stale:
    :class:`BulkWriterError`) and re-reads assets, accounts and the closed period if
    anything else has written since (``PRAGMA data_version``, ``total_changes``), as the
    reference reads them per batch. Within a stream, its thread opens the next transaction
    as soon as it commits one, and the writer stops if another connection wrote in between.
    Use it as a context manager (it closes its background thread).
    """

    def __init__(
        self,
        engine: sa.Engine,
        ledger_id: str,
        *,
        clock: Callable[[], int] = time.time_ns,
        recent_legs: int = RECENT_LEGS,
        compiled_from: int = JIT_MIN_ROWS,
        commit_every: int = COMMIT_EVERY,
    ) -> None:
        """``recent_legs``: reversible versions whose legs stay in memory (``TxStore``).

        ``compiled_from``: versions sealed before the compiled payload writer
        (``checks.chain_json``) hashes the batches instead of polars' expressions: it costs
        about 0.5 s to load once, then about 1.3 microseconds a version less on a batch of
        4,000. The bytes are the same either way. ``commit_every``: batches per database
        transaction (:data:`COMMIT_EVERY`).
        """
        if engine.dialect.name != "sqlite":
            raise BulkWriterError(
                f"the bulk writer writes SQLite ledgers only, not {engine.dialect.name}"
            )
        self.engine = engine
        self.ledger_id = ledger_id
        self.clock = clock
        self._planner = RequestPlanner(ledger_id)
        self._head: ChainHead | None = None
        self._seen: tuple[sqlite3.Connection, int, int] | None = None
        self._assets: set[str] = set()
        self._accounts: dict[str, AccountState] = {}
        self._closed_through: int | None = None
        self._txs = TxStore(self._legs_of, recent=recent_legs)
        self._keys = _KeyStore(ledger_id, self._wait)
        self._balances: dict[BalanceKey, BalanceCells] = {}
        self._metadata_json: dict[tuple[tuple[str, str], ...], str] = {}
        self._held: tuple[list[pl.DataFrame], list[pl.DataFrame]] | None = ([], [])
        self._sealed = 0
        self._compiled_from = compiled_from
        self._broken = False
        self._pending: Future[None] | None = None
        self._commit_every = max(1, commit_every)
        self._switch: float | None = None
        self._interleaved = False
        self._open: tuple[PoolProxiedConnection, sqlite3.Connection] | None = None
        self._uncommitted = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-writer")

    def submit_many(
        self, requests: Sequence[Request], digests: Sequence[str] | None = None
    ) -> list[PostResult | PostRejected]:
        """Apply requests in order as one batch; each succeeds or fails alone.

        The outcomes are final when this returns; the batch's inserts run on a background
        thread while the caller prepares the next batch. Consecutive batches share one
        database transaction (committed every :data:`COMMIT_EVERY` batches and by
        :meth:`flush`), which leaves the same bytes as a commit per batch: call
        :meth:`flush` before anything else writes the ledger. ``digests``: the requests'
        ``request_hash`` values, if already computed (see ``RequestPlanner.plan_batch``).
        """
        if not requests:
            return []
        fresh = self._open is None
        if self._open is None:
            raw = self.engine.raw_connection()  # a pool checkout, as engine.begin()
            try:
                db = _sqlite(raw)
                for pragma in _BULK_PRAGMAS:
                    db.execute(pragma)
                db.execute("BEGIN IMMEDIATE")
            except BaseException:
                _release(raw)
                raise
            self._open = (raw, db)
        raw, db = self._open
        try:
            outcomes, statements = self._submit_locked(db, requests, digests, fresh=fresh)
            self._wait()  # the batch in flight (usually written by now) goes first
        except BaseException:
            with contextlib.suppress(BulkWriterError):  # the error in flight says more
                self._wait()
            self._abort()
            raise
        self._uncommitted += 1
        commit = self._uncommitted >= self._commit_every
        if commit:
            self._uncommitted = 0
        self._pending = self._executor.submit(self._write, statements, commit=commit)
        return outcomes

    def flush(self) -> None:
        """Wait for the batches handed over and commit them; raise if one failed."""
        self._wait()
        if self._open is not None:
            try:
                self._commit()
            except BaseException as exc:
                raise self._stopped("the last batches could not be committed", exc) from exc

    def close(self) -> None:
        """Flush, then stop the background thread."""
        try:
            self.flush()
        finally:
            self._executor.shutdown()
            self._abort()

    def hand_over_versions(self) -> HeldVersions | None:
        """Every version this writer sealed, for ``project_balances``; None once it failed.

        Slim frames of the rows it built to seal them (:func:`slim_versions`,
        :func:`slim_entries`), so that the projection after a bulk write need not read the
        month back (about 270 MiB at 1M transactions). Handed over once: the writer then
        stops keeping them (a later batch would make them incomplete), so their memory goes
        with the caller's last reference. Call it after :meth:`flush`: the projector takes
        them only if the ledger's chain head is still the one they end at.
        """
        held, self._held = self._held, None
        if held is None or self._broken or self._head is None or not held[0]:
            return None
        return HeldVersions(
            self.ledger_id, self._head.seq, self._head.head_hash, tuple(held[0]), tuple(held[1])
        )

    def __enter__(self) -> Self:
        """Hand the GIL over sooner while the writer is open (see :data:`SWITCH_SECONDS`)."""
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch, SWITCH_SECONDS))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                self.close()
                return
            with contextlib.suppress(BulkWriterError):  # the error in flight says more
                self.close()
        finally:
            if self._switch is not None:
                sys.setswitchinterval(self._switch)

    def _wait(self) -> None:
        """Wait for the batch in flight (its inserts, maybe its commit); a failure stops the writer.

        The caller plans and seals the next batch while one is written, and waits only
        before it reads the database (a key's or a version's rows, the chain head of a new
        transaction) and before it hands the next batch over: the connection is never used
        by both threads at once.
        """
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            pending.result()
        except BaseException as exc:
            raise self._stopped("a batch could not be written", exc) from exc

    def _stopped(self, what: str, exc: BaseException) -> BulkWriterError:
        """Mark the writer broken, roll back what is open, and say what failed."""
        self._broken = True
        self._abort()
        return BulkWriterError(
            f"ledger {self.ledger_id!r}: {what} ({exc}); the bulk writer stopped"
        )

    def _write(self, statements: list[_Statement], *, commit: bool) -> None:
        """The background part of a batch: its inserts, in order (and maybe the commit)."""
        if self._open is None:  # pragma: no cover - submit_many opened it
            raise BulkWriterError("no open transaction to write the batch in")
        if self._interleaved:
            raise BulkWriterError(
                "another connection wrote the database between two of the bulk writer's "
                "transactions, so this batch was planned on a stale state (call flush() "
                "before anything else writes)"
            )
        _, db = self._open
        for sql, parameters in statements:
            db.execute(sql, parameters)
        if commit:
            self._rotate(db)

    def _rotate(self, db: sqlite3.Connection) -> None:
        """Commit a group of batches and open the next transaction."""
        db.commit()
        self._begin_next(db, self._data_version(db))

    def _begin_next(self, db: sqlite3.Connection, committed_version: int) -> None:
        """Open the next transaction on the connection at once, after a commit in a group.

        The caller plans the next batch from memory meanwhile, as if the transaction had
        gone on (a commit takes about a second at 1M: the caller waiting for it kept a core
        idle). That holds unless another connection wrote between the commit and this
        ``BEGIN IMMEDIATE`` (``data_version`` moved): then the next batch is refused.
        """
        db.execute("BEGIN IMMEDIATE")
        version = self._data_version(db)
        if version != committed_version:
            self._interleaved = True
        self._seen = (db, version, db.total_changes)

    def _commit(self) -> None:
        if self._open is None:  # pragma: no cover - callers check
            return
        raw, db = self._open
        db.commit()
        self._seen = (db, self._data_version(db), db.total_changes)
        self._open = None
        self._uncommitted = 0
        _release(raw)

    def _abort(self) -> None:
        """Roll back an open transaction (nothing of it stays) and give the connection back."""
        if self._open is None:
            return
        raw, db = self._open
        self._open = None
        self._uncommitted = 0
        try:
            if db.in_transaction:
                db.rollback()
        finally:
            _release(raw)

    # --- the locked section -----------------------------------------------------------

    def _submit_locked(
        self,
        db: sqlite3.Connection,
        requests: Sequence[Request],
        digests: Sequence[str] | None,
        *,
        fresh: bool,
    ) -> tuple[list[PostResult | PostRejected], list[_Statement]]:
        if fresh:  # within an open transaction, nobody else can have written
            head = self._read_head(db)
            self._refresh_setup(db)
        else:  # the transaction is ours since its BEGIN IMMEDIATE: the head is where we left it
            head = self._own_head()
        self._keys.db = db
        batch = BatchState(
            assets=self._assets,
            accounts=self._accounts,
            closed_through_ns=self._closed_through,
            txs=self._txs,
            idem=self._keys,
        )
        self._broken = True  # the planner updates the state in memory from here on
        plan = self._planner.plan_batch(batch, requests, self._balances_of, digests)
        self._txs.settle()
        self._head, statements = self._seal(head, plan)
        self._broken = False
        outcomes: list[PostResult | PostRejected] = []
        for outcome in plan.outcomes:
            if outcome is None:  # pragma: no cover - settle fills every accepted slot
                raise BulkWriterError("an accepted request was not sealed")
            outcomes.append(outcome)
        return outcomes, statements

    def _own_head(self) -> ChainHead:
        if self._broken or self._head is None:
            raise BulkWriterError(
                f"ledger {self.ledger_id!r}: an earlier batch failed; the bulk writer stopped"
            )
        return self._head

    def _read_head(self, db: sqlite3.Connection) -> ChainHead:
        row = db.execute(
            "SELECT seq, head_hash, last_recorded_ns FROM chain_heads WHERE ledger_id = ?",
            (self.ledger_id,),
        ).fetchone()
        if row is None:
            raise PostRejected("unknown_ledger", f"no ledger {self.ledger_id!r}: create it first")
        head = ChainHead(seq=int(row[0]), head_hash=str(row[1]), last_recorded_ns=int(row[2]))
        if self._broken:
            raise BulkWriterError(
                f"ledger {self.ledger_id!r}: an earlier batch failed; the bulk writer stopped"
            )
        if self._head is None and head.seq != 0:
            raise BulkWriterError(
                f"ledger {self.ledger_id!r} already holds {head.seq} sealed versions: "
                "the bulk writer starts from an empty ledger (use LedgerWriter)"
            )
        if self._head is not None and head != self._head:
            raise BulkWriterError(
                f"ledger {self.ledger_id!r}: the chain moved from seq {self._head.seq} to "
                f"{head.seq} under the bulk writer (another writer); use LedgerWriter"
            )
        return head

    @staticmethod
    def _data_version(db: sqlite3.Connection) -> int:
        return int(db.execute("PRAGMA data_version").fetchone()[0])

    def _refresh_setup(self, db: sqlite3.Connection) -> None:
        """Re-read assets, accounts and the closed period unless nothing but us wrote since.

        Nothing did if this is the connection of our last batch, no other connection has
        committed since (``data_version``) and this one changed no row (``total_changes``).
        """
        if self._seen == (db, self._data_version(db), db.total_changes):
            return
        self._assets = {str(row[0]) for row in db.execute("SELECT asset_id FROM assets")}
        self._accounts = {
            str(row[0]): AccountState(str(row[1]), row[2], bool(row[3]), row[4])
            for row in db.execute(
                "SELECT account_id, normal_balance, asset_id, allow_negative, closed_ns "
                "FROM accounts WHERE ledger_id = ?",
                (self.ledger_id,),
            )
        }
        meta = db.execute(
            "SELECT metadata FROM ledgers WHERE ledger_id = ?", (self.ledger_id,)
        ).fetchone()
        self._closed_through = closed_through(meta[0] if meta else None)

    def _balances_of(self, keys: Iterable[BalanceKey]) -> Mapping[BalanceKey, BalanceCells]:
        """Stored balances before the batch: all this writer's versions (zero if untouched)."""
        for key in keys:
            if key not in self._balances:
                self._balances[key] = BalanceCells()
        return self._balances

    def _legs_of(self, tx_id: str, version: int) -> tuple[EntrySpec, ...]:
        """A stored version's legs, read back as the reference writer reads them."""
        self._wait()
        rows = self._keys.connection().execute(
            "SELECT account_id, asset_id, direction, amount FROM entries "
            "WHERE ledger_id = ? AND transaction_id = ? AND version = ? ORDER BY entry_index",
            (self.ledger_id, tx_id, version),
        )
        return tuple(EntrySpec(a, s, d, int(m)) for a, s, d, m in rows.fetchall())

    # --- sealing ------------------------------------------------------------------------

    def _seal(self, head: ChainHead, plan: BatchPlan) -> tuple[ChainHead, list[_Statement]]:
        """Seal the accepted versions as ``append_versions`` would; the statements that store them.

        The same statements in the same order as the reference: the versions, their entries,
        the new chain head, then the idempotency keys.
        """
        versions = [version for _, version, _, _ in plan.accepted]
        if not versions:
            settle(self.ledger_id, plan, [])
            return head, []
        tx_rows, entry_rows, sealed = self._rows(head, versions)
        last = sealed[-1]
        new_head = ChainHead(
            seq=last.seq, head_hash=last.chain_hash, last_recorded_ns=last.recorded_ns
        )
        key_rows = settle(self.ledger_id, plan, sealed)
        for _, _, _, request in plan.accepted:
            self._keys.record(request.idempotency_key)
        for bkey, cells in plan.staged.items():
            if bkey in self._balances:
                target = self._balances[bkey]
                target.posted_debits += cells.posted_debits
                target.posted_credits += cells.posted_credits
                target.pending_debits += cells.pending_debits
                target.pending_credits += cells.pending_credits
        statements = [
            *_INSERT_TX.statements(tx_rows),
            *_INSERT_ENTRY.statements(entry_rows),
            (
                _UPDATE_HEAD,
                (new_head.seq, new_head.head_hash, new_head.last_recorded_ns, self.ledger_id),
            ),
            *_INSERT_KEY.statements([_KEY_VALUES(row) for row in key_rows]),
        ]
        return new_head, statements

    def _rows(
        self, head: ChainHead, versions: list[NewVersion]
    ) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[SealedRow]]:
        """Transaction and entry rows in insert order, sealed; and what each version sealed.

        Seq, recorded and effective times as ``append_versions`` assigns them (one clock
        reading per version), content and meta hashes vectorised, links in chain order.
        """
        ledger_id = self.ledger_id
        seq, last_recorded = head.seq, head.last_recorded_ns
        seqs: list[int] = []
        recorded_ns: list[int] = []
        effective_ns: list[int] = []
        for version in versions:
            seq += 1
            recorded = max(self.clock(), last_recorded + 1)
            last_recorded = recorded
            seqs.append(seq)
            recorded_ns.append(recorded)
            effective_ns.append(recorded if version.effective_ns is None else version.effective_ns)
        tx_ids = [v.transaction_id for v in versions]
        numbers = [v.version for v in versions]
        kinds = [v.kind for v in versions]
        statuses = [v.status for v in versions]
        pending_ids = [v.pending_transaction_id for v in versions]
        reversed_ids = [v.reverses_transaction_id for v in versions]
        keys = [v.idempotency_key for v in versions]
        external_ids = [v.external_id for v in versions]
        ledger_ids = [ledger_id] * len(versions)
        frame = pl.DataFrame(
            {
                "ledger_id": ledger_ids,
                "transaction_id": tx_ids,
                "version": numbers,
                "chain_seq": seqs,
                "kind": kinds,
                "status": statuses,
                "pending_transaction_id": pending_ids,
                "reverses_transaction_id": reversed_ids,
                "effective_ns": effective_ns,
                "recorded_ns": recorded_ns,
                "idempotency_key": keys,
                "external_id": external_ids,
            },
            schema=_VERSIONS_SCHEMA,
        )
        entry_rows: list[tuple[object, ...]] = [
            (
                ledger_id,
                v.transaction_id,
                v.version,
                i,
                e.account_id,
                e.asset_id,
                e.direction,
                e.amount,
            )
            for v in versions
            for i, e in enumerate(v.entries)
        ]
        # by column (a transpose in C): polars' row orientation cost about three times more
        columns = list(zip(*entry_rows, strict=True)) or [() for _ in _ENTRIES_SCHEMA]
        legs = pl.DataFrame(
            dict(zip(_ENTRIES_SCHEMA, columns, strict=True)), schema=_ENTRIES_SCHEMA
        )
        if self._held is not None:
            self._held[0].append(slim_versions(frame))
            self._held[1].append(slim_entries(legs))
        compiled = self._sealed >= self._compiled_from  # see __init__
        self._sealed += len(versions)
        contents: list[str] = content_hashes(frame, legs, compiled=compiled).to_list()
        descriptions = [v.description for v in versions]
        metadata = [self._metadata(v.metadata) for v in versions]
        metas: list[str] = meta_hashes(
            pl.DataFrame(
                {"description": descriptions, "metadata": metadata},
                schema={"description": _STRING, "metadata": _STRING},
            )
        ).to_list()
        prevs: list[str] = []
        links: list[str] = []
        prev = head.head_hash
        for content in contents:
            prevs.append(prev)
            prev = hashlib.sha256(f"{_LINK_PREFIX}{prev}\n{content}".encode()).hexdigest()
            links.append(prev)
        tx_rows: list[tuple[object, ...]] = list(
            zip(
                ledger_ids,
                tx_ids,
                numbers,
                kinds,
                statuses,
                pending_ids,
                reversed_ids,
                effective_ns,
                recorded_ns,
                keys,
                external_ids,
                descriptions,
                metadata,
                metas,
                seqs,
                prevs,
                contents,
                links,
                strict=True,
            )
        )
        sealed = [
            SealedRow(seq=s, chain_hash=h, recorded_ns=r, effective_ns=e)
            for s, h, r, e in zip(seqs, links, recorded_ns, effective_ns, strict=True)
        ]
        return tx_rows, entry_rows, sealed

    def _metadata(self, pairs: tuple[tuple[str, str], ...]) -> str:
        """``json.dumps(dict(metadata))`` as ``append_versions`` stores it (memoised).

        Only pairs of plain strings are stored, so a hit needs no type check (a pair of other
        types that equals them dumps the same text): the look-up comes first.
        """
        try:
            text = self._metadata_json.get(pairs)
        except TypeError:  # an unhashable value: never stored
            return json.dumps(dict(pairs))
        if text is not None:
            return text
        text = json.dumps(dict(pairs))
        if all(type(k) is str and type(v) is str for k, v in pairs):
            self._metadata_json[pairs] = text  # equal keys of other types may dump differently
        return text
