"""Benchmark: the invariant suites (great-expectations) on the frame path and the SQL path.

Generates N synthetic transactions with ``bench_load.generate`` (about 2.7 entries each),
writes them to a Parquet snapshot and a SQLite file (and PostgreSQL when ``--pg-url`` is
given), then runs every suite of ``expectations/`` in a fresh subprocess per path:

- ``frame``: load the Parquet snapshot, build ``legs`` in polars, hand GX a pandas frame
  through Arrow, validate each suite (GX pandas engine);
- ``sqlite`` / ``postgresql``: validate each suite inside the database (GX SQL engine over
  the ``legs`` query, read-only).

Prints wall seconds per suite, the findings each path reported, and each subprocess's peak
RSS (a child's ru_maxrss is its own: nothing big is held by this process).

Usage::

    python benchmarks/bench_suites.py --transactions 1000000
    python benchmarks/bench_suites.py --transactions 100000 --pg-url postgresql://u@host/db
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import generate, write_postgres, write_sqlite

from ledger_audit.checks.invariants import check_invariants, check_invariants_sql
from ledger_audit.checks.suite_files import read_suites
from ledger_audit.exports.snapshot import write_ledger_snapshot
from ledger_audit.sources import load_ledger
from ledger_audit.spec import VerifySpec


def prepare(n_transactions: int, workdir: Path, pg_url: str) -> None:
    """Generate and write the sources (in its own process, so no parent holds the frames)."""
    started = time.perf_counter()
    frames = generate(n_transactions)
    print(
        f"generated {n_transactions:,} transactions ({frames.transactions.height:,} versions, "
        f"{frames.entries.height:,} entries) in {time.perf_counter() - started:.1f}s"
    )
    write_ledger_snapshot(frames, workdir / "parquet", "parquet")
    sqlite_path = workdir / "ledger.sqlite"
    sqlite_path.unlink(missing_ok=True)
    write_sqlite(frames, sqlite_path)
    if pg_url != "-":
        write_postgres(frames, pg_url)
    print(f"sources written in {time.perf_counter() - started:.1f}s")


def worker(path: str, source: str) -> None:
    """Run every suite on one path in this fresh process; print JSON timings and peak RSS."""
    import great_expectations  # noqa: F401, PLC0415 - import cost is not suite cost

    timings: dict[str, float] = {}
    findings: dict[str, int] = {}
    frames = None
    if path == "frame":
        started = time.perf_counter()
        frames, _ = load_ledger(source)
        timings["(load parquet)"] = time.perf_counter() - started
    for suite in read_suites():
        started = time.perf_counter()
        if frames is not None:
            result = check_invariants(frames, VerifySpec(), suites=[suite])
        else:
            result = check_invariants_sql(VerifySpec(source=source, suites="sql"), suites=[suite])
        timings[suite.name] = time.perf_counter() - started
        findings[suite.name] = result.findings.height
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"timings": timings, "findings": findings, "peak_kib": peak_kib}))


def run_path(path: str, source: str) -> dict[str, object]:
    """One path in a fresh subprocess."""
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", path, source],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def bench(n_transactions: int, pg_url: str | None, workdir: Path) -> None:
    """Prepare the sources, then time each path in its own process."""
    subprocess.run(
        [sys.executable, __file__, "--prepare", str(n_transactions), str(workdir), pg_url or "-"],
        check=True,
    )
    paths = [
        ("frame", str(workdir / "parquet")),
        ("sqlite", f"sqlite:///{workdir / 'ledger.sqlite'}"),
    ]
    if pg_url:
        paths.append(("postgresql", pg_url))
    for name, source in paths:
        result = run_path(name, source)
        timings = result["timings"]
        counts = result["findings"]
        if not isinstance(timings, dict) or not isinstance(counts, dict):
            raise TypeError(f"unexpected worker output {result}")
        peak = int(str(result["peak_kib"])) / 1024
        total = sum(float(t) for suite, t in timings.items() if not suite.startswith("("))
        print(f"\n{name}: suites {total:.1f} s in all, peak RSS {peak:,.0f} MiB")
        for suite, seconds in timings.items():
            found = counts.get(suite, "")
            print(f"  {suite:<34} {float(seconds):>8.2f} s  {found!s:>8} findings")


def main() -> None:
    """Parse arguments and run (or act as a worker / preparer)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=None, help="also run the SQL path on PostgreSQL")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--worker", nargs=2, metavar=("PATH", "SOURCE"), help=argparse.SUPPRESS)
    parser.add_argument("--prepare", nargs=3, metavar=("N", "DIR", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
    elif args.prepare:
        prepare(int(args.prepare[0]), Path(args.prepare[1]), args.prepare[2])
    elif args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        bench(args.transactions, args.pg_url, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="bench_suites-") as tmp:
            bench(args.transactions, args.pg_url, Path(tmp))


if __name__ == "__main__":
    main()
