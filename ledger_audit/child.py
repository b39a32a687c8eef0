"""Work handed to a child process of our own interpreter, so that its Python runs on another core.

A child is a fresh interpreter (``python -m`` a module of ours), not a fork: the parent has
polars' (and a writer's) threads, which a fork would copy half-held; and not
multiprocessing's ``spawn``, which runs the caller's ``__main__`` script again in the child
(a script without a ``__main__`` guard would run twice). The parent writes a pickled header
to the child's stdin (its ``sys.path`` first, so the child imports what the parent does);
the child answers with length-framed pickled messages through a pipe of its own.

:class:`ChildCall` runs one function and reads its value back: the parent goes on with its
own work meanwhile, and a thread of the parent takes the answer off the pipe as soon as it
is sent, so the child exits (and frees its memory) without waiting for the parent to ask.
The bulk writer's request feed (``ledger.bulk_feed``) streams many messages over the same
plumbing.

Failures are the parent's to report. An error of this package raised in the child (an
``InputError`` naming a file and line) is raised again in the parent as it was; any other
exception becomes a :class:`ChildFailed` with its one-line text (the child's traceback as a
note); a child that dies (killed, out of memory) a :class:`ChildFailed` with its exit code
or signal. The child is always terminated and reaped when the call closes, and a called
child whose parent is killed stops within a second.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Generic, Self, TypeVar, cast

from ledger_audit.errors import LedgerAuditError

T = TypeVar("T")

LENGTH_BYTES = 8
"""Each message's length, little-endian, before its pickled bytes."""
JOIN_SECONDS = 5.0
"""How long a finished child is given to exit before it is terminated."""
MESSAGE_CHARS = 300
PARENT_POLL_SECONDS = 0.5
"""How often a called child checks that its parent is still there."""
_VALUE, _FAILED, _SPOOLED = "value", "failed", "spooled"


class ChildFailed(LedgerAuditError):
    """A child process of ours raised an unexpected error or died; the message says which."""


def start_child(
    module: str, header: object, *, pipe_bytes: int | None = None
) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """Start ``python -m module FD`` with ``header`` pickled on its stdin; our end of its pipe.

    The child's messages come through the pipe ``FD`` (``pipe_bytes`` of buffer where Linux
    allows it); reading it gives EOF once the child has exited. The header is sent as
    ``(sys.path, header)``: see :func:`read_header`.
    """
    blob = pickle.dumps((list(sys.path), header), protocol=pickle.HIGHEST_PROTOCOL)
    inbox, outbox = os.pipe()
    resize = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux
    if resize is not None and pipe_bytes:
        with contextlib.suppress(OSError):  # a larger pipe where allowed
            fcntl.fcntl(outbox, resize, pipe_bytes)
    try:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", module, str(outbox)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            pass_fds=(outbox,),
        )
    except BaseException:
        os.close(inbox)
        raise
    finally:
        os.close(outbox)  # the child's end only: our reads see EOF when it exits
    reader = os.fdopen(inbox, "rb", buffering=pipe_bytes or -1)
    try:
        if process.stdin is not None:
            with process.stdin:
                process.stdin.write(blob)
    except BrokenPipeError:
        pass  # it died before reading: the first read says how
    except BaseException:
        reader.close()
        stop(process, finished=False)
        raise
    return process, reader


def read_header() -> object:
    """In the child: the parent's header, with the parent's ``sys.path`` put in place first."""
    path, header = pickle.load(sys.stdin.buffer)  # noqa: S301 - from our parent
    sys.path[:] = path  # the parent's: its sources import as they do there
    return header


def framed(blob: bytes) -> bytes:
    """``blob`` with its length in front, as :func:`read_message` reads it."""
    return len(blob).to_bytes(LENGTH_BYTES, "little") + blob


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (a pipe takes it in pieces)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_message(inbox: IO[bytes]) -> bytes:
    """The next message's pickled bytes; empty once the child has exited (EOF)."""
    head = inbox.read(LENGTH_BYTES)
    if len(head) != LENGTH_BYTES:
        return b""
    return inbox.read(int.from_bytes(head, "little"))


def stop(process: subprocess.Popen[bytes], *, finished: bool) -> None:
    """Reap ``process``: a finished one is given a moment to exit, then it is terminated."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(JOIN_SECONDS if finished else 0)
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(JOIN_SECONDS)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGTERM is not ignored
            process.kill()
            process.wait()


def exit_text(process: subprocess.Popen[bytes] | None) -> str:
    """How a child ended: ``was killed by signal 9``, ``exited with code 1``."""
    code: int | None = None
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(JOIN_SECONDS)
        code = process.returncode
    if code is not None and code < 0:
        return f"was killed by signal {-code}"
    return f"exited with code {code}"


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line of at most ``MESSAGE_CHARS`` characters."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 3] + "..."


class ChildCall(Generic[T]):
    """``func(*args)`` run in a child process; its value (or its error) on :meth:`result`.

    Use it as a context manager: the child starts on entry and is stopped and reaped on exit,
    whether or not the value was asked for. ``func`` and ``args`` must be picklable (a
    module-level function), and so must the value. ``what`` names the work in errors;
    ``nice`` is added to the child's scheduling priority (19: it runs on what the parent
    leaves idle).

    ``spool``: a folder on disk where the child writes its value (pickled) instead of
    sending it through the pipe, so that a large value waits for :meth:`result` in the page
    cache (which the kernel can evict) rather than in the parent's heap; the file is removed
    once read, or when the call closes. Where the file cannot be written, the pipe is used.
    """

    def __init__(
        self,
        func: Callable[..., T],
        *args: object,
        what: str,
        nice: int = 0,
        spool: Path | None = None,
    ) -> None:
        self._func = func
        self._args = args
        self._what = what
        self._nice = nice
        self._spool = None if spool is None else str(spool)
        self._process: subprocess.Popen[bytes] | None = None
        self._message = b""
        self._reader: threading.Thread | None = None

    def __enter__(self) -> Self:
        header = (self._func, self._args, self._nice, self._spool)
        process, inbox = start_child(__name__, header)
        self._process = process

        def take() -> None:  # the child exits once its answer is off the pipe
            with inbox:
                self._message = read_message(inbox)

        self._reader = threading.Thread(target=take, name="child-call", daemon=True)
        self._reader.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The child's process id (None before it starts)."""
        return None if self._process is None else self._process.pid

    def result(self) -> T:
        """The function's value, once the child has sent it (waits for it); ask once.

        Raises:
            LedgerAuditError: the one the function raised (an ``InputError``, say).
            ChildFailed: any other exception in the child (its text, the traceback as a
                note), or a child that died before it answered.
        """
        if self._reader is None:
            raise ChildFailed(f"the {self._what} was not started (use it as a context manager)")
        self._reader.join()
        if not self._message:
            raise ChildFailed(
                f"the {self._what} (child process {self.pid}) {exit_text(self._process)} "
                "before it answered"
            )
        kind, payload = pickle.loads(self._message)  # noqa: S301 - our own child's bytes
        if kind == _SPOOLED:
            spooled = Path(payload)
            with spooled.open("rb") as answer:
                kind, payload = pickle.load(answer)  # noqa: S301 - written by our own child
            spooled.unlink()
        if kind == _VALUE:
            value: T = payload
            return value
        error, text, trace = payload
        if isinstance(error, LedgerAuditError):
            raise error
        failed = ChildFailed(f"the {self._what} (child process {self.pid}) failed: {text}")
        failed.add_note(trace)
        raise failed

    def close(self) -> None:
        """Stop the child if it still runs and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        stop(process, finished=bool(self._message))
        if self._reader is not None:
            self._reader.join()  # EOF once the child is gone
        if self._spool is not None:  # an answer never read, or half written
            _answer_file(Path(self._spool), process.pid).unlink(missing_ok=True)


def _failure(exc: BaseException) -> bytes:
    """The pickled report of ``exc``: itself when it pickles back, else None, with its text."""
    trace = "".join(traceback.format_exception(exc))
    error: BaseException | None = exc
    try:
        blob = pickle.dumps((_FAILED, (exc, one_line(exc), trace)))
        pickle.loads(blob)  # noqa: S301 - our own bytes; an exception that cannot be rebuilt
    except Exception:  # noqa: BLE001 - any failure to round-trip: send its text instead
        error = None
        blob = pickle.dumps((_FAILED, (error, one_line(exc), trace)))
    return blob


def _answer_file(spool: Path, pid: int) -> Path:
    return spool / f"answer-{pid}.pickle"


def _spooled(answer: tuple[str, object], spool: Path) -> bytes | None:
    """``answer`` pickled into a file in ``spool``, and the message naming it; None: unwritable."""
    path = _answer_file(spool, os.getpid())
    try:
        with path.open("wb") as out:
            pickle.dump(answer, out, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError:  # full or read-only: the pipe takes it
        path.unlink(missing_ok=True)
        return None
    return pickle.dumps((_SPOOLED, str(path)))


def _exit_with_parent() -> None:
    """Stop this child once its parent has gone (killed): nobody is left to read its answer.

    A parent that is killed cannot stop its child, which would otherwise work on to the end
    (at 10M transactions, a minute and a half of parsing) and spool an answer nobody reads.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _child_main(fd: int) -> None:
    """The child: run the header's function and send back its value or its error."""
    _exit_with_parent()
    try:
        header = read_header()
        func, args, nice, spool = cast(
            "tuple[Callable[..., object], tuple[object, ...], int, str | None]", header
        )
        if nice:
            with contextlib.suppress(OSError):
                os.nice(nice)
        answer = (_VALUE, func(*args))
        blob = (_spooled(answer, Path(spool)) if spool else None) or pickle.dumps(
            answer, protocol=pickle.HIGHEST_PROTOCOL
        )
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        blob = _failure(exc)
    try:
        write_all(fd, framed(blob))
    except OSError:  # the parent went away: nobody is left to tell
        os._exit(1)


if __name__ == "__main__":
    _child_main(int(sys.argv[1]))
