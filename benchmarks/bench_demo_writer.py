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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ledger_audit.demo.build import (
    BatchSubmitter,
    StreamClock,
    WriteTally,
    _collector_paused,
    _single_file,
    submit_stream,
)
from ledger_audit.demo.scenario import ASSET, CURRENCIES, LEDGER_ID, Scenario, Timed, parse_month
from ledger_audit.ledger import admin
from ledger_audit.ledger.bulk import BulkWriter
from ledger_audit.ledger.engine import open_writer_engine, sqlite_url
from ledger_audit.ledger.projector import project_balances
from ledger_audit.ledger.writer import LedgerWriter

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


def _counted(stream: Iterator[Timed], counter: list[int], limit: int | None) -> Iterator[Timed]:
    for item in stream if limit is None else itertools.islice(stream, max(limit - counter[0], 0)):
        counter[0] += 1
        yield item


def write(folder: Path, transactions: int, *, bulk: bool, limit: int | None = None) -> Run:
    """Write the month (or its first ``limit`` requests) as ``build_demo`` does; time it."""
    path = folder / ("bulk.sqlite" if bulk else "reference.sqlite")
    started, cpu = time.perf_counter(), _cpu()
    scenario = Scenario(seed=SEED, transactions=transactions, month=parse_month(MONTH))
    engine = open_writer_engine(sqlite_url(path), create=True)
    admin.create_ledger(engine, LEDGER_ID, name="bench", created_ns=scenario.setup_ns)
    for currency in CURRENCIES:
        admin.register_asset(engine, ASSET[currency], kind="fiat")
    admin.open_accounts(engine, LEDGER_ID, scenario.accounts(), opened_ns=scenario.setup_ns)
    clock = StreamClock(scenario.setup_ns)
    tally = WriteTally()
    counter = [0]
    month = _counted(scenario.month_events(), counter, limit)

    def post(writer: BatchSubmitter, flush: BulkWriter | None) -> None:
        submit_stream(writer, clock, _counted(scenario.opening(), counter, limit), tally)
        if flush is not None:
            flush.flush()
        admin.close_period(engine, LEDGER_ID, through_ns=scenario.month.closed_through_ns)
        submit_stream(writer, clock, month, tally)

    if bulk:
        with _collector_paused(), BulkWriter(engine, LEDGER_ID, clock=clock) as writer:
            post(writer, writer)
    else:
        post(LedgerWriter(engine, LEDGER_ID, clock=clock), None)
    project_balances(engine, LEDGER_ID)
    complete = limit is None or counter[0] < limit
    engine.dispose()
    _single_file(path)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.unlink()
    return Run(seconds, cpu, counter[0], complete, digest)


def _cpu() -> float:
    """User and system CPU seconds of this process so far (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.transactions[0])
        return
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.bulk_only:
        for transactions in args.transactions:
            subprocess.run(
                [sys.executable, __file__, "--one", "--transactions", str(transactions)],
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


def _one(transactions: int) -> None:
    """The bulk writer alone at one size, in this process: time, CPU, peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        run = write(Path(tmp), transactions, bulk=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{transactions:,} transactions (seed {SEED}, {MONTH}):")
    print(_line("bulk writer", transactions, run))
    print(
        f"  peak RSS {peak:,.0f} MiB ({peak * 2**20 / run.requests:,.0f} bytes a request); "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
