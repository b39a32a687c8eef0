"""Benchmark: a pgledger database read through ``--adapter pgledger``, beside the same ledger
read from canonical tables, both on PostgreSQL in the same run.

Generates N synthetic transactions with ``bench_load.generate``, writes their posted state in
pgledger's layout (``ledger_audit.demo.vendors.pgledger``: accounts, transfers, two entries per
transfer with running balances and versions), reads it once through the adapter and writes
exactly those canonical frames as canonical tables into a second database. Then, each in a
fresh process, it times:

- ``canonical``: ``load_ledger(url)`` on the canonical tables;
- ``frames``: ``pgledger.load(url, vendor_checks=False)``: the mapping alone (the frames);
- ``adapter``: ``pgledger.load(url)``: the mapping (NUMERIC amounts scaled exactly, transfers
  as two entries, cached balances) plus the native checks (running balances and versions of
  every entry, every entry against its transfer);
- ``adapter+seal``: ``load_adapted(url, "pgledger")``: the same plus the LACH-1 seal of what
  was read.

and prints seconds, client CPU seconds (every run's and the best), rows/s, peak RSS, the
frames' digest (equal digests: the same ledger), the load average and the ratios
adapter/canonical (the target, 1.5x or less, applies to ``frames``: docs/adapters/pgledger.md).

Usage::

    python benchmarks/bench_adapter_pgledger.py --transactions 1000000
    python benchmarks/bench_adapter_pgledger.py --transactions 200000 --repeat 2 --phases
    python benchmarks/bench_adapter_pgledger.py --repeat 5 --urls CANONICAL_URL PGLEDGER_URL
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from bench_load import frames_digest, generate, write_postgres

from ledger_audit.sources import LedgerFrames, load_ledger

METHODS = ("canonical", "frames", "adapter", "adapter+seal")
"""``frames`` is ``pgledger.load(url, vendor_checks=False)``: the load without its checks."""


def prepare(n_transactions: int, canonical_url: str, vendor_url: str) -> None:
    """pgledger's tables in ``vendor_url``; the same ledger's canonical tables in the other."""
    from ledger_audit.demo.vendors.pgledger import write_pgledger  # noqa: PLC0415
    from ledger_audit.sources.adapters.pgledger import load  # noqa: PLC0415

    start = time.perf_counter()
    tables = write_pgledger(generate(n_transactions), vendor_url)
    adapted = load(vendor_url)
    write_postgres(adapted.frames, canonical_url)
    print(
        f"generated {n_transactions:,} transactions: {tables['pgledger_transfers'].height:,} "
        f"pgledger transfers, {tables['pgledger_entries'].height:,} entries, "
        f"{tables['pgledger_accounts'].height:,} accounts; both layouts written in "
        f"{time.perf_counter() - start:.1f} s"
    )


def worker(method: str, url: str) -> None:
    """Load once in this fresh process; print seconds, rows, peak RSS and the frames' digest."""
    import adbc_driver_postgresql.dbapi  # noqa: F401, PLC0415 - import cost is not load cost

    from ledger_audit.sources.adapters import load_adapted  # noqa: PLC0415
    from ledger_audit.sources.adapters.pgledger import load  # noqa: PLC0415

    start, cpu_start = time.perf_counter(), time.process_time()
    frames: LedgerFrames
    if method == "canonical":
        frames, report = load_ledger(url)
        rows, findings = report.read, 0
    else:
        if method == "frames":
            adapted = load(url, vendor_checks=False)
        elif method == "adapter":
            adapted = load(url)
        else:
            adapted = load_adapted(url, "pgledger")
        frames, report = adapted.frames, adapted.report
        rows = sum(c.read for c in report.source_counts) + sum(
            n.result.coverage.checked for n in adapted.native if n.result.check.startswith("pg")
        )
        findings = sum(n.result.findings.height for n in adapted.native)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "rows": rows,
                "entries": frames.entries.height,
                "findings": findings,
                "peak_kib": peak_kib,
                "digest": frames_digest(frames),
            }
        )
    )


def phases(url: str) -> None:
    """The steps of ``pgledger.load`` timed apart in this process (best of three), as JSON."""
    import adbc_driver_postgresql.dbapi  # noqa: F401, PLC0415 - import cost is not load cost

    from ledger_audit.sources.adapters.layout import load_with_mapping  # noqa: PLC0415
    from ledger_audit.sources.adapters.pgledger import ENTRY_COLUMNS, NAME  # noqa: PLC0415
    from ledger_audit.sources.adapters.pgledger.mapping import (  # noqa: PLC0415
        LEDGER_ID,
        TABLES,
        mapping_text,
        resolve_scales,
    )
    from ledger_audit.sources.adapters.pgledger.native import (  # noqa: PLC0415
        RUNNING,
        pgledger_entries,
        running_inputs,
    )
    from ledger_audit.sources.adapters.running import running_check  # noqa: PLC0415
    from ledger_audit.sources.mapping import open_relations  # noqa: PLC0415
    from ledger_audit.sources.mapping.relations import RelationRef  # noqa: PLC0415

    best: dict[str, list[float]] = {}
    cpu_at: dict[float, float] = {}

    def started() -> float:
        start = time.perf_counter()
        cpu_at[start] = time.process_time()
        return start

    def timed(name: str, start: float) -> None:
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_at.pop(start)
        old = best.get(name, [float("inf"), float("inf")])
        best[name] = [min(old[0], wall), min(old[1], cpu)]

    for _ in range(3):
        with open_relations(url) as opened:
            accounts = opened.read(
                RelationRef(name="pgledger_accounts"),
                TABLES["pgledger_accounts"],
            )
            scales, _ = resolve_scales(accounts.get_column("currency").drop_nulls().to_list())
            start = started()
            frames, _report = load_with_mapping(NAME, opened, mapping_text(scales))
            timed("mapped load", start)
            start = started()
            entries = opened.read(RelationRef(name="pgledger_entries"), ENTRY_COLUMNS)
            timed("read pgledger_entries", start)
        start = started()
        rows, cached, legs = running_inputs(entries, accounts, scales, LEDGER_ID)
        timed("NUMERIC to minor units", start)
        start = started()
        running_check(rows, cached, RUNNING)
        timed("running check", start)
        start = started()
        pgledger_entries(legs, frames)
        timed("entries against transfers", start)
    print(json.dumps(best))


def run(method: str, url: str) -> dict[str, float | int | str]:
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", method, url],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float | int | str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def measure(canonical_url: str, vendor_url: str, repeat: int, *, split: bool = False) -> None:
    """Run every method ``repeat`` times, interleaved, and print the best of each."""
    load_before = os.getloadavg()[0]
    runs: dict[str, list[dict[str, float | int | str]]] = {m: [] for m in METHODS}
    for _ in range(repeat):
        for method in METHODS:
            runs[method].append(run(method, canonical_url if method == "canonical" else vendor_url))
    best = {m: min(runs[m], key=lambda r: float(r["seconds"])) for m in METHODS}
    cpu = {m: min(float(r["cpu"]) for r in runs[m]) for m in METHODS}
    print(
        f"best of {repeat} per method, interleaved, each in a fresh process; 1-minute load "
        f"average {load_before:.1f} before the runs, {os.getloadavg()[0]:.1f} after (2 cores)"
    )
    print(
        f"{'load':<13} {'seconds':>8} {'CPU s':>6} {'entries/s':>12} {'rows read':>12} "
        f"{'peak RSS':>10}  findings  digest"
    )
    for method in METHODS:
        result = best[method]
        seconds = float(result["seconds"])
        print(
            f"{method:<13} {seconds:>8.2f} {cpu[method]:>6.2f} "
            f"{int(result['entries']) / seconds:>12,.0f} "
            f"{int(result['rows']):>12,} {int(result['peak_kib']) / 2**20:>8.2f} GiB  "
            f"{int(result['findings']):>8}  {result['digest']}"
        )
    print(
        "every run's client CPU s: "
        + "; ".join(f"{m} " + " ".join(f"{float(r['cpu']):.2f}" for r in runs[m]) for m in METHODS)
    )
    base = float(best["canonical"]["seconds"])
    if split:
        completed = subprocess.run(
            [sys.executable, __file__, "--phases", vendor_url],
            check=True,
            capture_output=True,
            text=True,
        )
        steps: dict[str, list[float]] = json.loads(completed.stdout.strip().splitlines()[-1])
        print("steps of pgledger.load, best of 3 in one process (wall s, client CPU s):")
        for step, (seconds, step_cpu) in steps.items():
            print(f"  {step:<27} {seconds:>6.2f} s {step_cpu:>6.2f} CPU s")
    digests = {str(r["digest"]) for m in METHODS for r in runs[m]}
    for method in METHODS[1:]:
        print(
            f"{method}/canonical = {float(best[method]['seconds']) / base:.2f}x wall, "
            f"{cpu[method] / cpu['canonical']:.2f}x client CPU (target <= 1.5x)"
        )
    print(f"same frames in every run: {'yes' if len(digests) == 1 else 'NO'}")


def bench(n_transactions: int, repeat: int, *, split: bool = False) -> None:
    from ledger_audit.testing.pgserver import PostgresServer  # noqa: PLC0415

    server = PostgresServer(fsync=False, settings={"shared_buffers": "1GB"})
    server.start()
    try:
        canonical_url = server.create_database("bench_canonical")
        vendor_url = server.create_database("bench_pgledger")
        subprocess.run(
            [sys.executable, __file__, "--prepare", str(n_transactions), canonical_url, vendor_url],
            check=True,
        )
        measure(canonical_url, vendor_url, repeat, split=split)
    finally:
        server.stop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--phases":
        phases(sys.argv[2])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--prepare":
        prepare(int(sys.argv[2]), sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs per method (best kept)")
    parser.add_argument(
        "--phases",
        action="store_true",
        help="also time the adapter's steps apart (mapped load, entries read, conversion, checks)",
    )
    parser.add_argument(
        "--urls",
        nargs=2,
        metavar=("CANONICAL", "PGLEDGER"),
        help="measure databases an earlier --prepare wrote (no generation)",
    )
    args = parser.parse_args()
    if args.urls:
        measure(args.urls[0], args.urls[1], args.repeat, split=args.phases)
    else:
        bench(args.transactions, args.repeat, split=args.phases)


if __name__ == "__main__":
    main()
