"""The child-process request feed gives back what it was given, and fails loudly and cleanly.

Every test here that starts a child starts a real one (a fresh interpreter), feeding from
the module-level sources below; the failures are real too (an exception, an exit, a
SIGKILL).
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.demo.build import DEMO_JSON_FILE, build_demo
from ledger_audit.demo.scenario import Scenario, parse_month, streamed_scenario
from ledger_audit.ledger.bulk import BulkWriterError
from ledger_audit.ledger.bulk_feed import BATCH, ChildFeed, _dumps, hashed
from ledger_audit.ledger.requests import (
    EntrySpec,
    PostPending,
    PostTransaction,
    Request,
    ReverseTransaction,
    VoidPending,
)
from ledger_audit.ledger.writer import request_hash
from tests.ledger.test_bulk_request_hash import declared, unusual


@dataclass(frozen=True, slots=True)
class _Keyworded:
    """A record whose constructor takes a field by keyword only: pickled the usual way."""

    name: str
    tags: tuple[str, ...] = field(default=(), kw_only=True)


def _item(i: int) -> object:
    """The i-th item of a section: requests of every type, and a few other values."""
    legs = (
        EntrySpec(f"liabilities:wallet:u{i % 7:06d}:usd", "USD/2", "debit", i + 1),
        EntrySpec("assets:bank:operating:usd", "USD/2", "credit", i + 1),
    )
    kinds: tuple[object, ...] = (
        PostTransaction(
            f"k{i}", legs, pending=i % 2 == 0, external_id=None, metadata=(("e", "é"),)
        ),
        PostPending(f"k{i}", f"tx-{i}", entries=None if i % 3 else legs, effective_ns=2**62 + i),
        VoidPending(f"k{i}", f"tx-{i}", description="voided \u2603"),
        ReverseTransaction(f"k{i}", f"tx-{i}", reversal_transaction_id=None),
        _Keyworded(f"n{i}", tags=("a", str(i))),
        (i, None, b"\x00", -(2**80)),
    )
    return kinds[i % len(kinds)]


@dataclass(frozen=True, slots=True)
class _Source:
    """Two sections of ``sizes`` items; ``fail`` at item ``at`` of the second section."""

    sizes: tuple[int, int]
    fail: str = ""
    at: int = 0

    def sections(self) -> Iterator[Iterator[object]]:
        yield (_item(i) for i in range(self.sizes[0]))
        yield self._second()

    def _second(self) -> Iterator[object]:
        for i in range(self.sizes[1]):
            if i == self.at and self.fail == "raise":
                raise ValueError("the scenario ran out of users\nat line 2")
            if i == self.at and self.fail == "exit":
                os._exit(3)
            if i == self.at and self.fail == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            yield _item(self.sizes[0] + i)

    def summary(self) -> object:
        return {"items": sum(self.sizes)}


def _source(sizes: tuple[int, int], fail: str = "", at: int = 0) -> _Source:
    return _Source(sizes, fail, at)


@dataclass(frozen=True, slots=True)
class _Marked:
    """``_Source``'s first section alone; touches ``done`` once its last item is generated."""

    size: int
    done: str

    def sections(self) -> Iterator[Iterator[object]]:
        yield self._items()

    def _items(self) -> Iterator[object]:
        yield from (_item(i) for i in range(self.size))
        Path(self.done).touch()

    def summary(self) -> object:
        return {"items": self.size}


def _marked(size: int, done: str) -> _Marked:
    return _Marked(size, done)


def _feed_children() -> list[int]:
    """Pids of this process's feed children still alive or not yet reaped (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        parent = next(line for line in status.splitlines() if line.startswith("PPid:"))
        if int(parent.split()[1]) == os.getpid() and b"ledger_audit.ledger.bulk_feed" in cmdline:
            found.append(int(entry.name))
    return found


def _gone(pid: int | None) -> bool:
    """True once ``pid`` is no child of ours any more (reaped: no zombie, no orphan)."""
    assert pid is not None
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@settings(max_examples=300)
@given(request=st.one_of(declared, unusual))
def test_the_batch_codec_gives_back_equal_records_with_equal_request_hashes(
    request: Request,
) -> None:
    back = pickle.loads(_dumps(("items", [request, request])))  # noqa: S301 - our own bytes
    assert back[1] == [request, request]
    assert type(back[1][0]) is type(request)
    assert back[1][0] is back[1][1]  # a retry's shared request stays one object
    assert request_hash(back[1][0]) == request_hash(request)


@dataclass(frozen=True, slots=True)
class _One:
    """A record of one field (its reducer cannot be a bare ``attrgetter``: that gives no tuple)."""

    value: object


@dataclass(frozen=True)
class _Empty:
    """A record of no field."""


class _Plain:
    """Not a dataclass: pickled the usual way."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Plain) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


def test_the_batch_codec_gives_back_every_shape_of_record_and_shares_the_legs_ids() -> None:
    values = [_One(_One(3)), _One(None), _Empty(), _Plain(5), _Keyworded("n", tags=("t",))]
    back = pickle.loads(_dumps(("items", values)))  # noqa: S301 - our own bytes
    assert back == ("items", values)
    assert [type(v) for v in back[1]] == [type(v) for v in values]
    user = 1
    ids = [f"liabilities:wallet:u{user:06d}:usd" for _ in range(3)]  # three equal objects
    assert ids[0] is not ids[2]
    legs = [EntrySpec(account, "USD/2", "debit", n) for n, account in enumerate(ids)]
    blob = _dumps(("items", legs))
    assert blob.count(b"liabilities:wallet:u000001:usd") == 1  # one id, pickled once
    again = pickle.loads(blob)[1]  # noqa: S301 - our own bytes
    assert again == legs
    assert again[0].account_id is again[2].account_id


def test_a_child_streams_every_section_in_order_then_its_summary() -> None:
    sizes = (BATCH + 3, 2 * BATCH)  # a partial batch, and a section that ends on a batch
    with ChildFeed(_source, sizes) as feed:
        first = list(feed.section())
        second = list(feed.section())
        summary = feed.summary()
        pid = feed.pid
    assert first == [_item(i) for i in range(sizes[0])]
    assert second == [_item(sizes[0] + i) for i in range(sizes[1])]
    assert summary == {"items": sum(sizes)}
    assert _gone(pid)


def test_a_child_generates_ahead_of_a_parent_that_reads_nothing(tmp_path: Path) -> None:
    """Batches beyond the pipe's size wait in the child's queue, not in its generator."""
    size, done = 20 * BATCH, tmp_path / "generated"  # 2.9 MB pickled: nearly 3 pipes full
    with ChildFeed(_marked, size, str(done)) as feed:
        deadline = time.monotonic() + 60
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert done.exists()  # the child generated every item while we read none
        assert list(feed.section()) == [_item(i) for i in range(size)]
        assert feed.summary() == {"items": size}


@pytest.mark.parametrize("transactions", [100, 3_000])
def test_the_demo_scenario_streamed_by_a_child_is_the_same_stream_with_its_hashes(
    transactions: int,
) -> None:
    month = parse_month("2025-02")
    here = Scenario(seed=11, transactions=transactions, month=month)
    expected = [list(here.opening()), list(here.month_events())]
    with ChildFeed(hashed, streamed_scenario, 11, transactions, month) as feed:
        got = [list(feed.section()), list(feed.section())]
        counts = feed.summary()
    assert [[item for item, _ in section] for section in got] == expected
    assert [d for section in got for _, d in section] == [
        request_hash(item.request) for section in expected for item in section
    ]
    assert counts == here.summary()


@pytest.mark.parametrize(
    ("fail", "message"),
    [
        ("raise", r"failed: ValueError: the scenario ran out of users at line 2; "),
        ("exit", r"exited with code 3 before it finished; "),
        ("kill", r"was killed by signal 9 before it finished; "),
    ],
)
def test_a_failing_child_stops_the_feed_with_one_line_and_is_reaped(
    fail: str, message: str
) -> None:
    with ChildFeed(_source, (10, 3 * BATCH), fail, BATCH + 5) as feed:
        assert len(list(feed.section())) == 10
        got: list[object] = []
        with pytest.raises(BulkWriterError, match=message) as raised:
            got.extend(feed.section())
        pid = feed.pid
    received = 10 + len(got)
    assert got == [_item(i) for i in range(10, received)]
    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(f"the request feed (child process {pid}) ")
    assert f"; {received:,} items had arrived; the bulk writer stopped" in text
    # a raise sends what it had generated first; an exit or a kill may take queued batches
    assert received == 10 + BATCH if fail == "raise" else received in (10, 10 + BATCH)
    assert _gone(pid)


def test_a_feed_left_early_stops_its_child() -> None:
    with ChildFeed(_source, (5 * BATCH, 5 * BATCH)) as feed:
        next(feed.section())
        pid = feed.pid
    assert _gone(pid)
    assert not _feed_children()


def test_a_bulk_demo_whose_scenario_child_is_killed_stops_and_reports_nothing_done(
    tmp_path: Path,
) -> None:
    """A real build: SIGKILL its scenario child as soon as it exists."""
    killed: list[int] = []

    def kill_the_child() -> None:
        for _ in range(2_000):
            for pid in _feed_children():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            threading.Event().wait(0.005)

    watcher = threading.Thread(target=kill_the_child)
    watcher.start()
    try:
        with pytest.raises(BulkWriterError, match=r"was killed by signal 9 before it finished"):
            build_demo(tmp_path, transactions=2_000, seed=1, clean=True, writer="bulk")
    finally:
        watcher.join()
    assert killed
    assert _gone(killed[0])
    assert not (tmp_path / DEMO_JSON_FILE).exists()
