"""A request stream generated in a child process, so that its Python runs on another core.

The bulk writer's caller has one thread of Python to plan, seal and build rows; a
deterministic client stream (the demo's scenario, about a quarter of that thread at 1M)
needs no answer from the writer, so it can run ahead in a child process while the parent
writes. :class:`ChildFeed` starts the child as a fresh interpreter (``python -m`` this
module, through ``ledger_audit.child``: not a fork, nor multiprocessing's ``spawn``, which
would build a second demo from a script without a ``__main__`` guard). The child builds a
:class:`FeedSource` and sends its sections' items in pickled batches through a pipe; the
parent reads them back in the same order, one section after another. The child queues up
to ``_AHEAD`` pickled batches beyond what the pipe holds (bounded memory), so that it
generates whenever a core is free rather than only when the parent has just taken a batch.

The batches are pickled with every dataclass record reduced to its constructor and field
values (``EntrySpec``'s account and asset ids interned, so each batch carries each id once),
through the pickler's ``dispatch_table``: unpickling calls the constructors from C, about 3.5
microseconds a request on the parent's thread against about 25 for generating it (the
default pickling of a slotted dataclass calls a Python ``__setstate__`` per record, slower
than generating it).

Failures are the parent's to report: an exception in the child comes back as its one-line
message, a child that dies (killed, out of memory) as its exit code, both as a
:class:`BulkWriterError` naming how many items had arrived; the child is always terminated
and reaped when the feed closes, whatever happened.
"""

from __future__ import annotations

import contextlib
import copyreg
import dataclasses
import gc
import io
import operator
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, Generic, Protocol, Self, TypeVar, cast

from ledger_audit.child import (
    exit_text,
    framed,
    one_line,
    read_header,
    read_message,
    start_child,
    stop,
    write_all,
)
from ledger_audit.errors import LedgerAuditError
from ledger_audit.ledger.requests import EntrySpec, Request
from ledger_audit.ledger.writer import request_hash

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

BATCH = 4_000
"""Items per message (about 0.6 MB pickled for the demo's requests)."""
_ITEMS, _END, _DONE, _FAILED = "items", "end", "done", "failed"
_PIPE_BUFFER = 1 << 20
_AHEAD = 64
"""Batches the child may have generated beyond what the pipe holds (about 40 MB)."""
_NICE = 19
"""The child's scheduling priority: it runs when a core is free of the parent's threads."""


class BulkWriterError(LedgerAuditError):
    """The bulk writer cannot go on: the ledger is not its own, or a batch or its feed failed."""


class FeedSource(Protocol[T_co]):
    """What the child streams: sections of items, then a picklable summary."""

    def sections(self) -> Iterator[Iterator[T_co]]:
        """The sections in order, each a lazy stream of items."""
        ...

    def summary(self) -> object:
        """What the parent needs to know once every section is consumed (picklable)."""
        ...


class Requested(Protocol):
    """An item that carries a request (the demo's ``Timed``)."""

    @property
    def request(self) -> Request:
        """The request the writer is given."""
        ...


R = TypeVar("R", bound=Requested)


@dataclass(frozen=True, slots=True)
class _Hashed(Generic[R]):
    """A source whose items come paired with their request's ``request_hash``."""

    source: FeedSource[R]

    def sections(self) -> Iterator[Iterator[tuple[R, str]]]:
        for section in self.source.sections():
            yield ((item, request_hash(item.request)) for item in section)

    def summary(self) -> object:
        return self.source.summary()


def hashed(produce: Callable[..., FeedSource[R]], *args: object) -> FeedSource[tuple[R, str]]:
    """``produce(*args)``, each item paired with its request's digest (computed in the child).

    The planner hashes every request (``request_hash``, the idempotency check); hashed in
    the child, that work leaves the writer's thread too (``BulkWriter.submit_many``'s
    ``digests``). Use as ``ChildFeed(hashed, produce, *args)``.
    """
    return _Hashed(produce(*args))


_Reduce = Callable[[Any], Any]
"""What pickle calls for a record: its reduction, ``(constructor, arguments)``."""


class _Reducers(dict[type, _Reduce]):
    """Per type, how a record is pickled: a call of its constructor with its field values.

    A pickler's ``dispatch_table`` is consulted only for types that are not the built-in
    containers and scalars, and each record type's reducer is made once, on first sight, as
    an ``attrgetter`` of its fields (one C call a record; a ``reducer_override``, which the
    pickler calls for every such object, cost about half as much again). A type that is not a
    dataclass taking its fields positionally is pickled as usual (``KeyError``: the pickler's
    default).
    """

    def __missing__(self, kind: type) -> _Reduce:
        names = _init_fields(kind)
        if names is None:
            raise KeyError(kind)
        self[kind] = reduce = _record_reducer(kind, names)
        return reduce


def _record_reducer(kind: type, names: tuple[str, ...]) -> _Reduce:
    """``kind``'s constructor and ``names``' values (an ``attrgetter`` gives a tuple from two)."""
    values: Callable[[Any], tuple[object, ...]]
    if len(names) > 1:
        values = operator.attrgetter(*names)
    else:
        values = lambda obj: tuple(getattr(obj, name) for name in names)  # noqa: E731

    def reduce(obj: object) -> tuple[object, ...]:
        return kind, values(obj)

    return reduce


def _entry_reduce(leg: EntrySpec) -> tuple[object, ...]:
    """A leg with its account and asset ids interned, so each batch carries each id once."""
    account, asset = leg.account_id, leg.asset_id
    if type(account) is str and type(asset) is str:
        account, asset = sys.intern(account), sys.intern(asset)
    return EntrySpec, (account, asset, leg.direction, leg.amount)


def _reducers() -> _Reducers:
    table = _Reducers(copyreg.dispatch_table)
    table[EntrySpec] = _entry_reduce
    return table


_REDUCERS = _reducers()


def _init_fields(kind: type) -> tuple[str, ...] | None:
    """A dataclass's fields when its constructor takes them all positionally, else None."""
    if not dataclasses.is_dataclass(kind):
        return None
    fields = dataclasses.fields(kind)
    if any(not f.init or f.kw_only for f in fields):
        return None
    return tuple(f.name for f in fields)


def _dumps(message: tuple[str, object]) -> bytes:
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _REDUCERS
    pickler.dump(message)
    return out.getvalue()


class _Sender:
    """Writes the child's messages to the pipe from a thread of their own.

    The parent takes a batch only between two of its own batches, so a child writing
    directly would wait on a full pipe while the parent's writer thread has a core to spare,
    and run later in competition with it. Queued here, up to ``_AHEAD`` batches, the child
    keeps generating whenever it has a core (a blocked write releases the GIL). A write to a
    parent that went away ends the child: nobody is left to tell.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_AHEAD)
        self._thread = threading.Thread(target=self._run, name="feed-sender", daemon=True)
        self._thread.start()

    def send(self, message: tuple[str, object]) -> None:
        self._queue.put(framed(_dumps(message)))

    def close(self) -> None:
        """Wait until every queued message is written."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (frame := self._queue.get()) is not None:
            try:
                write_all(self._fd, frame)
            except OSError:  # the parent went away (EPIPE): nobody to tell
                os._exit(1)


def _child_main(fd: int) -> None:
    """The child: read what to produce from stdin, stream it through ``fd``, then its summary."""
    gc.disable()  # short-lived records and no cycles; the collector's passes cost a third
    with contextlib.suppress(OSError):
        os.nice(_NICE)
    out = _Sender(fd)
    try:
        produce, args = cast(
            "tuple[Callable[..., FeedSource[object]], tuple[object, ...]]", read_header()
        )
        source = produce(*args)
        for section in source.sections():
            batch: list[object] = []
            for item in section:
                batch.append(item)
                if len(batch) >= BATCH:
                    out.send((_ITEMS, batch))
                    batch = []
            if batch:
                out.send((_ITEMS, batch))
            out.send((_END, None))
        out.send((_DONE, source.summary()))
        out.close()
    except BaseException as exc:  # noqa: BLE001 - every failure goes back as one line
        out.send((_FAILED, one_line(exc)))
        out.close()
        os._exit(1)


class ChildFeed(Generic[T]):
    """Items of ``produce(*args)``'s sections, generated in a child process (see the module).

    Use it as a context manager; read each section with :meth:`section` in order, then
    :meth:`summary`. ``produce`` and ``args`` must be picklable (a module-level function).
    """

    def __init__(
        self, produce: Callable[..., FeedSource[T]], *args: object, what: str = "request feed"
    ) -> None:
        self._produce = produce
        self._args = args
        self._what = what
        self._process: subprocess.Popen[bytes] | None = None
        self._inbox: IO[bytes] | None = None
        self._received = 0
        self._finished = False

    def __enter__(self) -> Self:
        self._process, self._inbox = start_child(
            __name__, (self._produce, self._args), pipe_bytes=_PIPE_BUFFER
        )
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

    def section(self) -> Iterator[T]:
        """The next section's items, in the child's order."""
        while True:
            kind, payload = self._receive()
            if kind == _END:
                return
            if kind != _ITEMS or not isinstance(payload, list):
                raise self._error(f"sent {kind!r} where a section's items were due")
            self._received += len(payload)
            yield from payload

    def summary(self) -> object:
        """The source's summary, once every section has been read."""
        kind, payload = self._receive()
        if kind != _DONE:
            raise self._error(f"sent {kind!r} where its summary was due")
        self._finished = True
        return payload

    def close(self) -> None:
        """Stop the child if it still runs, reap it and close the pipe."""
        process, self._process = self._process, None
        inbox, self._inbox = self._inbox, None
        if inbox is not None:
            inbox.close()
        if process is not None:
            stop(process, finished=self._finished)

    def _receive(self) -> tuple[str, object]:
        if self._inbox is None:
            raise self._error("is not running (use the feed as a context manager)")
        blob = read_message(self._inbox)
        if not blob:
            raise self._died()
        kind, payload = pickle.loads(blob)  # noqa: S301 - our own child's bytes
        if kind == _FAILED:
            raise self._error(f"failed: {payload}")
        return str(kind), payload

    def _died(self) -> BulkWriterError:
        return self._error(f"{exit_text(self._process)} before it finished")

    def _error(self, what: str) -> BulkWriterError:
        return BulkWriterError(
            f"the {self._what} (child process {self.pid}) {what}; "
            f"{self._received:,} items had arrived; the bulk writer stopped"
        )


if __name__ == "__main__":
    _child_main(int(sys.argv[1]))
