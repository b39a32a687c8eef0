"""Open an audited SQLite file so that SQLite neither writes nor creates anything beside it.

URI ``mode=ro`` alone is not read-only on disk. A WAL-mode reader maps ``-shm`` read-write
and writes its read marks there, and when ``-wal``/``-shm`` are missing it creates them; in a
read-only folder that same open fails ("attempt to write a readonly database"). So the open
depends on what is on disk (``plan_read_only``):

- ``-wal`` holds frames (transactions committed but not yet checkpointed into the main file),
  or a live writer has ``-wal`` and ``-shm`` open: they must be read. ``mode=ro&readonly_shm=1``
  opens both read-only; with no live writer SQLite indexes the WAL in its own memory, with one
  it reads the live index without writing to it. Without a ``-shm`` SQLite cannot read the WAL
  unless it creates one: an InputError saying what to do, never a read that misses them.
- WAL mode with no frames to read and no live ``-shm``: ``immutable=1``, so SQLite opens the
  main file only, takes no lock and creates nothing. A writer that starts meanwhile writes to
  a new ``-wal``, and the main file changes only when that WAL is checkpointed: we hold a
  read lock on SQLite's SHARED bytes of the file (an open-file-description lock, which other
  SQLite connections in this process cannot drop), so a writer's closing checkpoint, which
  needs the EXCLUSIVE lock, is not done. An automatic checkpoint of a big write does not
  ask that lock, so the file's identity, size and times are also compared at the end
  (``unchanged``): a change is an InputError, never a mixed read.
- rollback-journal mode: ``mode=ro``; SQLite takes shared locks on the file itself and creates
  nothing (a hot journal left by a crashed writer is refused by SQLite: an InputError).

One race is left: a writer whose last connection closes (checkpoints and deletes ``-wal``)
between our look and SQLite's open makes SQLite create an empty ``-wal``; the open then
fails (no ``-shm``) and says so.
"""

from __future__ import annotations

import fcntl
import os
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from ledger_audit.errors import InputError

Mode = Literal["wal", "immutable", "rollback"]

_HEADER = b"SQLite format 3\x00"
_WAL_HEADER_BYTES = 32
"""A ``-wal`` file no longer than its header holds no frame."""
_WAL_VERSION = 2
"""Bytes 18-19 of the database header (write and read format): 2 in WAL mode, 1 otherwise."""

_SHARED_FIRST = 0x40000000 + 2
_SHARED_SIZE = 510
"""SQLite's SHARED lock bytes (unix VFS): an EXCLUSIVE lock write-locks all of them."""
_LOCK_TRIES = 50
_LOCK_PAUSE_S = 0.1

_QUERY: dict[Mode, str] = {
    "wal": "mode=ro&readonly_shm=1",
    "immutable": "mode=ro&immutable=1",
    "rollback": "mode=ro",
}


@dataclass(frozen=True, slots=True)
class ReadOnlyOpen:
    """How to open one SQLite file read-only, decided from the files on disk.

    Attributes:
        path: the database file (absolute).
        label: how errors name it (``sqlite:///path``).
        mode: ``wal`` (frames in ``-wal`` to read), ``immutable`` (WAL mode, nothing in
            ``-wal``) or ``rollback`` (rollback-journal mode).
        fingerprint: the file's device, inode, size, mtime and ctime when planned.
    """

    path: Path
    label: str
    mode: Mode
    fingerprint: tuple[int, int, int, int, int]

    @property
    def uri(self) -> str:
        """The ``file:`` URI for ``sqlite3_open_v2`` (path percent-encoded)."""
        return f"file:{quote(str(self.path))}?{_QUERY[self.mode]}"

    def unchanged(self) -> None:
        """Raise InputError if an immutable read may have seen the file change under it."""
        if self.mode == "immutable" and _fingerprint(self.path, self.label) != self.fingerprint:
            raise InputError(
                self.label,
                "the file changed while it was read (a live writer checkpointed?): "
                "the read may mix two states, so it is refused; run the audit again",
            )


def _fingerprint(path: Path, label: str) -> tuple[int, int, int, int, int]:
    try:
        stat = path.stat()
    except OSError as error:
        raise InputError(label, f"cannot read: {error.strerror or error}") from error
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def _side(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _wal_frames(path: Path) -> bool:
    """True when ``path-wal`` exists and is longer than a WAL header (it may hold frames)."""
    try:
        return _side(path, "-wal").stat().st_size > _WAL_HEADER_BYTES
    except FileNotFoundError:
        return False


def plan_read_only(path: Path, label: str) -> ReadOnlyOpen:
    """Decide how to open ``path`` read-only (see the module doc); InputError if impossible."""
    path = path.resolve()
    fingerprint = _fingerprint(path, label)
    try:
        with path.open("rb") as file:
            header = file.read(20)
    except OSError as error:
        raise InputError(label, f"cannot read: {error.strerror or error}") from error
    if len(header) < len(_HEADER) + 4 or not header.startswith(_HEADER):
        raise InputError(label, "not a SQLite database (no SQLite header)")
    shm = _side(path, "-shm").is_file()
    if _side(path, "-wal").is_file() and shm:
        mode: Mode = "wal"
    elif _wal_frames(path):
        raise InputError(
            label,
            f"its latest transactions are in {path.name}-wal, which SQLite reads only "
            f"through {path.name}-shm, and that file is missing; the audit never creates "
            "files beside the ledger: checkpoint it (sqlite3 FILE 'PRAGMA "
            "wal_checkpoint(TRUNCATE)') or audit a copy of FILE and FILE-wal",
        )
    elif _WAL_VERSION in (header[18], header[19]):
        mode = "immutable"
    else:
        mode = "rollback"
    return ReadOnlyOpen(path, label, mode, fingerprint)


def sqlite_label(path: Path) -> str:
    """How reports and errors name a SQLite file."""
    return f"sqlite:///{path.resolve()}"


@contextmanager
def _shared_lock(plan: ReadOnlyOpen) -> Iterator[None]:
    """Hold a read lock on SQLite's SHARED bytes: no EXCLUSIVE lock, no closing checkpoint.

    Taken on our own read-only descriptor as an open-file-description lock, so that closing
    another descriptor of the file (SQLite's, in this process) does not drop it.
    """
    if plan.mode != "immutable":
        yield
        return
    request = struct.pack("hhqqi4x", fcntl.F_RDLCK, os.SEEK_SET, _SHARED_FIRST, _SHARED_SIZE, 0)
    descriptor = os.open(plan.path, os.O_RDONLY)
    try:
        for attempt in range(_LOCK_TRIES):
            try:
                fcntl.fcntl(descriptor, fcntl.F_OFD_SETLK, request)
                break
            except OSError:
                if attempt == _LOCK_TRIES - 1:
                    raise InputError(
                        plan.label, "a writer holds the database's exclusive lock"
                    ) from None
                time.sleep(_LOCK_PAUSE_S)
        yield
    finally:
        os.close(descriptor)


@contextmanager
def read_only_sqlite(path: Path, label: str) -> Iterator[ReadOnlyOpen]:
    """How to open ``path`` read-only, valid for the block (``plan_read_only``).

    An immutable read holds the SHARED lock for the block and is refused at its end if the
    file changed all the same (``ReadOnlyOpen.unchanged``).
    """
    plan = plan_read_only(path, label)
    with _shared_lock(plan):
        yield plan
    plan.unchanged()


def read_failure(path: Path, reason: str) -> str:
    """``reason`` for a failed read of ``path``, with the cause SQLite's words hide.

    SQLite says "attempt to write a readonly database" when a crashed writer's hot journal
    must be rolled back before the file can be read; the audit never does that.
    """
    journal = _side(path, "-journal")
    if "readonly" in reason and journal.is_file() and journal.stat().st_size > 0:
        return (
            f"{reason}; {journal.name} is the journal of a write that never finished (a "
            "crashed writer): SQLite must roll it back into the file first, which the audit "
            "never does: open the ledger once with its writer or sqlite3, or audit a copy of "
            "both files recovered elsewhere"
        )
    return reason
