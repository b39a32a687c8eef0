"""The demo's write phase through the bulk writer beside the reference writer, same run.

For each size, the month (set-up, opening balances, the month's requests, projection) is
written once by each writer into a fresh SQLite file, from the same scenario stream, and
timed end to end (scenario generation included: the stream is lazy). Where the reference
would take longer than ``--reference-budget`` seconds (estimated from the bulk run and the
ratio measured at the previous size), it writes only a prefix of the stream and its time
is extrapolated linearly to the whole stream (the output says so; a linear extrapolation
flatters the reference, whose per-request cost grows with the file). Both writers then
also write that same prefix, so the ratio is like for like, and the two files of every
pair are compared byte for byte. ``--bulk-only`` times the bulk writer alone (each size in
a fresh process, so each peak RSS is that size's own).

    .venv/bin/python benchmarks/bench_demo_writer.py --transactions 100000 1000000
    .venv/bin/python benchmarks/bench_demo_writer.py --bulk-only --transactions 100000 200000
    .venv/bin/python benchmarks/bench_demo_writer.py --bulk-only --parts --transactions 200000

The bulk writer's scenario is generated in a child process, as ``build_demo`` does;
``--in-process`` (with ``--bulk-only``) generates it on the caller's thread instead.
``--parts`` (with ``--bulk-only``) also prints where the thread CPU goes: the caller's thread
split into the planner (and the request hash inside it), sealing and row building, the
projector and the rest (the scenario's generation and the hand-over), the writer's SQLite
thread, the CPU of the child process that generates the scenario (it shares the two
cores), and the caller's wall time spent waiting for the SQLite thread. It wraps those
functions with ``time.thread_time()``, which adds about a microsecond a request hash
(hashed in the planner only with ``--in-process``).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ledger_audit.demo.build import (
    BatchSubmitter,
    StreamClock,
    WriteTally,
    _collector_paused,
    _single_file,
    scenario_feed,
    submit_hashed_stream,
    submit_stream,
)
from ledger_audit.demo.scenario import ASSET, CURRENCIES, LEDGER_ID, Scenario, Timed, parse_month
from ledger_audit.ledger import admin
from ledger_audit.ledger import writer as reference_module
from ledger_audit.ledger.bulk import BulkWriter
from ledger_audit.ledger.bulk_feed import ChildFeed
from ledger_audit.ledger.bulk_state import TxStore
from ledger_audit.ledger.engine import open_writer_engine, sqlite_url
from ledger_audit.ledger.projector import HeldVersions, project_balances
from ledger_audit.ledger.writer import LedgerWriter, RequestPlanner

SEED = 7
MONTH = "2025-01"


@dataclass(frozen=True, slots=True)
class Run:
    """One timed write: wall and CPU seconds, requests, whether the stream was cut, digest."""

    seconds: float
    cpu_seconds: float
    requests: int
    complete: bool
    sha256: str


class Parts:
    """Thread CPU seconds per part of a bulk write, by wrapping the functions that do each.

    The counters are per thread (``time.thread_time()``), so a part that runs on the
    writer's background thread is counted there; :data:`WAITING` is the caller's wall time
    in ``BulkWriter._wait``.
    """

    def __init__(self) -> None:
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self._undo: list[Callable[[], None]] = []

    def wrap(
        self,
        owner: object,
        name: str,
        label: str,
        clock: Callable[[], float] = time.thread_time,
    ) -> None:
        """Count ``owner.name``'s seconds by ``clock`` under ``label`` (outermost calls only)."""
        original = getattr(owner, name)
        depth = threading.local()

        def timed(*args: object, **kwargs: object) -> object:
            if getattr(depth, "n", 0):
                return original(*args, **kwargs)
            depth.n = 1
            start = clock()
            try:
                return original(*args, **kwargs)
            finally:
                depth.n = 0
                self.cpu[label] += clock() - start

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, original))

    def undo(self) -> None:
        """Put every wrapped function back."""
        for step in reversed(self._undo):
            step()
        self._undo.clear()


WAITING = "caller waiting for it (wall)"
SQLITE_THREAD = "SQLite thread (inserts, commits)"
SQLITE_WALL = "  its wall time in the batches"
RECEIVING = "  of which reading the feed (unpickling)"
COMMITS = "  of which commits (wall, both threads)"
PROJECTOR_PROCESS = "  projector, process CPU (polars' threads)"
IN_PROCESS = False
"""Set by ``--in-process``: the bulk writer's caller generates the scenario itself."""
PARTS: Parts | None = None
"""Set by ``--parts``: the profile of the next bulk write."""


def _profile() -> Parts:
    parts = Parts()
    parts.wrap(RequestPlanner, "plan_batch", "planner")
    parts.wrap(reference_module, "request_hash", "request hash (in the planner)")
    parts.wrap(BulkWriter, "_seal", "sealing and row building")
    parts.wrap(BulkWriter, "_write", SQLITE_THREAD)
    parts.wrap(BulkWriter, "_write", SQLITE_WALL, clock=time.perf_counter)
    parts.wrap(BulkWriter, "_commit", COMMITS, clock=time.perf_counter)
    parts.wrap(BulkWriter, "_rotate", COMMITS, clock=time.perf_counter)
    parts.wrap(BulkWriter, "flush", "flush on the caller (last commit)")
    parts.wrap(BulkWriter, "_wait", WAITING, clock=time.perf_counter)
    parts.wrap(ChildFeed, "_receive", RECEIVING)
    parts.wrap(TxStore, "settle", "  packing the state (TxStore.settle)")
    parts.wrap(admin, "open_accounts", "  opening the accounts (set-up)")
    parts.wrap(sys.modules[__name__], "_single_file", "  the single-file step (checkpoint)")
    return parts


T = TypeVar("T")


def _counted(stream: Iterator[T], counter: list[int], limit: int | None) -> Iterator[T]:
    for item in stream if limit is None else itertools.islice(stream, max(limit - counter[0], 0)):
        counter[0] += 1
        yield item


def write(folder: Path, transactions: int, *, bulk: bool, limit: int | None = None) -> Run:
    """Write the month (or its first ``limit`` requests) as ``build_demo`` does; time it."""
    path = folder / ("bulk.sqlite" if bulk else "reference.sqlite")
    started, cpu, thread_cpu = time.perf_counter(), _cpu(), time.thread_time()
    scenario = Scenario(seed=SEED, transactions=transactions, month=parse_month(MONTH))
    engine = open_writer_engine(sqlite_url(path), create=True)
    admin.create_ledger(engine, LEDGER_ID, name="bench", created_ns=scenario.setup_ns)
    for currency in CURRENCIES:
        admin.register_asset(engine, ASSET[currency], kind="fiat")
    admin.open_accounts(engine, LEDGER_ID, scenario.accounts(), opened_ns=scenario.setup_ns)
    clock = StreamClock(scenario.setup_ns)
    tally = WriteTally()
    counter = [0]

    def post(writer: BatchSubmitter, flush: BulkWriter | None) -> None:
        submit_stream(writer, clock, _counted(scenario.opening(), counter, limit), tally)
        if flush is not None:
            flush.flush()
        admin.close_period(engine, LEDGER_ID, through_ns=scenario.month.closed_through_ns)
        submit_stream(writer, clock, _counted(scenario.month_events(), counter, limit), tally)

    def post_fed(writer: BulkWriter, feed: ChildFeed[tuple[Timed, str]]) -> None:
        submit_hashed_stream(writer, clock, _counted(feed.section(), counter, limit), tally)
        writer.flush()
        admin.close_period(engine, LEDGER_ID, through_ns=scenario.month.closed_through_ns)
        submit_hashed_stream(writer, clock, _counted(feed.section(), counter, limit), tally)

    held: HeldVersions | None = None
    if bulk:
        with _collector_paused(), BulkWriter(engine, LEDGER_ID, clock=clock) as writer:
            if IN_PROCESS:
                post(writer, writer)
            else:
                with scenario_feed(scenario) as feed:
                    post_fed(writer, feed)
        held = writer.hand_over_versions()  # closed: every batch committed
    else:
        post(LedgerWriter(engine, LEDGER_ID, clock=clock), None)
    projector, projector_cpu = time.thread_time(), _cpu()
    project_balances(engine, LEDGER_ID, held)
    held = None  # its frames go before the file is read back
    if PARTS is not None:
        PARTS.cpu["projector"] += time.thread_time() - projector
        PARTS.cpu[PROJECTOR_PROCESS] += _cpu() - projector_cpu
    complete = limit is None or counter[0] < limit
    engine.dispose()
    _single_file(path)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    if PARTS is not None:
        PARTS.cpu["caller's thread, all"] += time.thread_time() - thread_cpu
    with path.open("rb") as stream:  # not read whole: the 10M file is about 19 GB
        digest = hashlib.file_digest(stream, "sha256").hexdigest()
    path.unlink()
    return Run(seconds, cpu, counter[0], complete, digest)


def _cpu() -> float:
    """User and system CPU seconds of this process and its waited-for children so far."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _line(label: str, transactions: int, run: Run) -> str:
    cpu = f"cpu {run.cpu_seconds:7.1f} s"
    if not run.complete:
        rate = run.requests / run.seconds
        return (
            f"  {label:<28} {run.seconds:9.1f} s {cpu} {rate:10,.0f} requests/s "
            f"(first {run.requests:,})"
        )
    rate = transactions / run.seconds
    return (
        f"  {label:<28} {run.seconds:9.1f} s {cpu} {rate:10,.0f} tx/s ({run.requests:,} requests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--transactions", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--reference-budget",
        type=float,
        default=240.0,
        help="longest the reference may run in full at one size (seconds; default 240)",
    )
    parser.add_argument(
        "--bulk-only", action="store_true", help="time the bulk writer alone, a process per size"
    )
    parser.add_argument(
        "--parts", action="store_true", help="with --bulk-only: thread CPU seconds per part"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="generate the scenario on the bulk writer's caller thread, not in a child process",
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.transactions[0], parts=args.parts, in_process=args.in_process)
        return
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.bulk_only:
        for transactions in args.transactions:
            flags = [
                *(["--parts"] if args.parts else []),
                *(["--in-process"] if args.in_process else []),
            ]
            subprocess.run(
                [sys.executable, __file__, "--one", *flags, "--transactions", str(transactions)],
                check=True,
            )
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
        return
    ratio = 4.0  # reference / bulk seconds, a first guess refined at each size
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for transactions in args.transactions:
            print(f"{transactions:,} transactions (seed {SEED}, {MONTH}):")
            bulk = write(folder, transactions, bulk=True)
            print(_line("bulk writer", transactions, bulk))
            if bulk.seconds * ratio <= args.reference_budget:
                reference = write(folder, transactions, bulk=False)
                print(_line("reference writer", transactions, reference))
                same = "yes" if reference.sha256 == bulk.sha256 else "NO"
                print(f"  same ledger.sqlite bytes: {same}")
                ratio = reference.seconds / bulk.seconds
            else:
                share = max(args.reference_budget / ratio / bulk.seconds, 0.01)
                limit = max(int(bulk.requests * share), 1)
                prefix_ref = write(folder, transactions, bulk=False, limit=limit)
                prefix_bulk = write(folder, transactions, bulk=True, limit=limit)
                estimate = prefix_ref.seconds * bulk.requests / prefix_ref.requests
                print(
                    f"  reference writer (estimate) {estimate:9.1f} s "
                    f"{transactions / estimate:12,.0f} tx/s: EXTRAPOLATED linearly from its "
                    f"first {prefix_ref.requests:,} of {bulk.requests:,} requests"
                )
                print(_line("reference writer, prefix", transactions, prefix_ref))
                print(_line("bulk writer, same prefix", transactions, prefix_bulk))
                same = "yes" if prefix_ref.sha256 == prefix_bulk.sha256 else "NO"
                print(f"  same ledger.sqlite bytes on the prefix: {same}")
                ratio = prefix_ref.seconds / prefix_bulk.seconds
            print(f"  reference / bulk (like for like): {ratio:.1f}x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the run: {peak:,.0f} MiB; load average at end: {os.getloadavg()[0]:.1f}")


def _one(transactions: int, *, parts: bool = False, in_process: bool = False) -> None:
    """The bulk writer alone at one size, in this process: time, CPU, peak RSS."""
    global PARTS, IN_PROCESS  # noqa: PLW0603 - the benchmark's own switches
    PARTS = _profile() if parts else None
    IN_PROCESS = in_process
    with tempfile.TemporaryDirectory() as tmp:
        run = write(Path(tmp), transactions, bulk=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{transactions:,} transactions (seed {SEED}, {MONTH}):")
    print(_line("bulk writer", transactions, run))
    print(
        f"  peak RSS {peak:,.0f} MiB ({peak * 2**20 / run.requests:,.0f} bytes a request), "
        f"largest child {children:,.0f} MiB; load average {os.getloadavg()[0]:.1f}; "
        f"ledger.sqlite {run.sha256[:16]}"
    )
    if PARTS is not None:
        PARTS.undo()
        cpu = PARTS.cpu
        caller = cpu["caller's thread, all"]
        known = sum(
            cpu[k]
            for k in (
                "planner",
                "sealing and row building",
                "projector",
                "flush on the caller (last commit)",
            )
        )
        print("  thread CPU seconds:")
        for label in (
            "caller's thread, all",
            "planner",
            "request hash (in the planner)",
            "sealing and row building",
            "projector",
            PROJECTOR_PROCESS,
            "flush on the caller (last commit)",
        ):
            print(f"    {label:<40} {cpu[label]:8.1f}")
        print(f"    {'rest (scenario, hand-over, set-up)':<40} {caller - known:8.1f}")
        for label in (
            RECEIVING,
            "  packing the state (TxStore.settle)",
            "  opening the accounts (set-up)",
            "  the single-file step (checkpoint)",
        ):
            print(f"    {label:<40} {cpu[label]:8.1f}")
        times = os.times()
        print(f"    {'process user / system CPU':<40} {times.user:8.1f} / {times.system:.1f}")
        child = "the scenario's child process (CPU)"
        print(f"    {child:<40} {times.children_user + times.children_system:8.1f}")
        for label in (SQLITE_THREAD, SQLITE_WALL, COMMITS):
            print(f"    {label:<40} {cpu[label]:8.1f}")
        print(f"    {WAITING:<40} {cpu[WAITING]:8.1f}")


if __name__ == "__main__":
    main()
