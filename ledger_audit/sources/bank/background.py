"""Bank files parsed in a child process while the ledger loads and is audited.

The parsers are Python record by record (about 80 s for the three files of a 10M demo:
180 MB of camt.053, 90 MB of BAI2, 300 MB of Stripe report) and need nothing from the
ledger. A close loads and audits the ledger first, on about one core and a half, so the
files can be parsed meanwhile on the other: :class:`StatementsInBackground` starts
:func:`~ledger_audit.sources.bank.load.load_statements` in a child process (``child``) at
the lowest priority, so that it takes only what the close leaves idle, and
:meth:`~StatementsInBackground.result` gives the same ``ParsedStatement`` a parse in
process would, or raises the same ``InputError``.

The parsed statements wait for the close in a file the child writes under ``spool_under``
(the close's spill folder, on disk) when one is given: at 10M they are about 1.7 GB, which
would otherwise sit in the close's heap through the audit. A run that is killed leaves that
folder behind only until the next one starts (``scratch``).

Files of less than ``BACKGROUND_MIN_BYTES`` in all are parsed in process when the result is
asked for: a child interpreter costs about a second of CPU to start (its imports), more than
such a parse.

:func:`check_statements` is the check that throws the parse away (``ledger-audit close``
parses every statement before its notebook starts, so that a bad file fails in seconds):
large files are parsed side by side, a child per file, as many at a time as there are cores.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from ledger_audit.child import ChildCall
from ledger_audit.scratch import ScratchFolder
from ledger_audit.sources.bank.load import load_statement, load_statements
from ledger_audit.sources.bank.records import ParsedStatement

BACKGROUND_MIN_BYTES = 16 * 2**20
"""Files of at least this many bytes in all are parsed in a child process."""
SPOOL_PREFIX = "statements-"
"""The prefix of the folder (under ``spool_under``) the child's answer waits in."""
BACKGROUND_NICE = 19
"""The child's scheduling priority: it parses when a core is free of the close's work."""


def _parse(paths: tuple[str, ...], encoding: str | None) -> ParsedStatement:
    return load_statements(paths, encoding=encoding)


def _check(path: str, encoding: str | None) -> None:
    load_statement(path, encoding=encoding)


def check_statements(
    paths: Sequence[str], *, encoding: str | None = None, min_bytes: int | None = None
) -> None:
    """Raise the ``InputError`` that ``load_statements(paths)`` would raise; nothing is kept.

    Files of at least ``min_bytes`` in all (None: ``BACKGROUND_MIN_BYTES``) are parsed a child
    per file, at most one per core at a time, and waited for in the given order, so the error
    raised is the first failing file's, as ``load_statements`` raises it; smaller sets are
    parsed in process.

    Raises:
        InputError: a file that cannot be parsed (the first, in the given order).
        ChildFailed: a child died or failed on something other than the input.
    """
    files = tuple(str(path) for path in paths)
    if not _large(files, min_bytes):
        load_statements(files, encoding=encoding)
        return
    waiting = deque(files)
    with contextlib.ExitStack() as stack:
        running: deque[ChildCall[None]] = deque()
        while waiting or running:
            while waiting and len(running) < (os.cpu_count() or 1):
                path = waiting.popleft()
                call = ChildCall(_check, path, encoding, what=f"statement parse of {path}")
                running.append(stack.enter_context(call))
            running.popleft().result()


def _large(paths: tuple[str, ...], min_bytes: int | None) -> bool:
    """Whether ``paths`` hold at least ``min_bytes`` (None: ``BACKGROUND_MIN_BYTES``) in all."""
    threshold = BACKGROUND_MIN_BYTES if min_bytes is None else min_bytes
    return bool(paths) and sum(_size(path) for path in paths) >= threshold


def _size(path: str) -> int:
    with contextlib.suppress(OSError):  # a missing file is the parse's to report
        return Path(path).stat().st_size
    return 0


class StatementsInBackground:
    """``load_statements(paths, encoding=encoding)``, started on entry, read by :meth:`result`.

    Use it as a context manager: on exit a child still parsing is stopped and reaped.
    ``min_bytes``: the files' total size from which a child parses them (None:
    ``BACKGROUND_MIN_BYTES`` as it is when the object is made); ``spool_under``: a
    folder on disk under which the child's answer waits in a file (None: in the heap).
    """

    def __init__(
        self,
        paths: Sequence[str],
        *,
        encoding: str | None = None,
        min_bytes: int | None = None,
        spool_under: Path | None = None,
    ) -> None:
        self._paths = tuple(str(path) for path in paths)
        self._encoding = encoding
        self._large = _large(self._paths, min_bytes)
        self._spool_under = spool_under
        self._spool: ScratchFolder | None = None
        self._call: ChildCall[ParsedStatement] | None = None

    @property
    def in_child(self) -> bool:
        """Whether the files are parsed in a child process (known once entered)."""
        return self._call is not None

    def __enter__(self) -> Self:
        if not self._large:
            return self
        if self._spool_under is not None:
            with contextlib.suppress(OSError):  # unwritable: the answer comes by the pipe
                self._spool_under.mkdir(parents=True, exist_ok=True)
                self._spool = ScratchFolder(SPOOL_PREFIX, self._spool_under)
        call = ChildCall(
            _parse,
            self._paths,
            self._encoding,
            what="statement parse",
            nice=BACKGROUND_NICE,
            spool=None if self._spool is None else self._spool.path,
        )
        try:
            self._call = call.__enter__()
        except BaseException:
            self._remove_spool()
            raise
        return self

    def _remove_spool(self) -> None:
        if self._spool is not None:
            self._spool.remove()
            self._spool = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._call is not None:
            self._call.close()
        self._remove_spool()

    def result(self) -> ParsedStatement:
        """The parsed files (waits for the child; parses in process without one).

        Raises:
            InputError: a file that cannot be parsed, as ``load_statements`` raises it.
            ChildFailed: the child died or failed on something other than the input.
        """
        if self._call is None:
            return _parse(self._paths, self._encoding)
        return self._call.result()
