"""Benchmark: a Stripe report read by column beside the per-row parser, same file, same run.

Parses the demo's ``statements/processor-payouts.csv`` (the demo of N transactions, built
by ``bench_close.demo_dir`` in ``--workdir`` unless it is there, the same cache the close
benchmark uses) with ``parse_stripe(by_column=True)`` and ``by_column=False``, alternated
``--repeat`` times in this process, and prints each run's CPU and wall seconds, the best of
each, their ratio, and whether the two statements are equal (records, findings, counts:
they must be). A report with a row the per-row parser rejects is read row by row by both
calls; the demo's report is clean.

Usage::

    python benchmarks/bench_stripe.py --transactions 1000000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_close import demo_dir

from ledger_audit.sources.bank.records import ParsedStatement
from ledger_audit.sources.bank.stripe import parse_stripe

REPORT = Path("statements") / "processor-payouts.csv"


def _timed(path: Path, *, by_column: bool) -> tuple[float, float, ParsedStatement]:
    cpu, wall = time.process_time(), time.perf_counter()
    parsed = parse_stripe(path, by_column=by_column)
    return time.process_time() - cpu, time.perf_counter() - wall, parsed


def _same(a: ParsedStatement, b: ParsedStatement) -> bool:
    return (
        a.records.equals(b.records)
        and a.findings.equals(b.findings)
        and a.balances.equals(b.balances)
        and a.counts == b.counts
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    # the close benchmark's cache (its demos)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ledger-audit-bench-close"))  # noqa: S108
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder, _ = demo_dir(args.workdir, args.transactions)
    path = folder / REPORT
    best: dict[bool, tuple[float, float]] = {}
    kept: dict[bool, ParsedStatement] = {}
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    for run in range(1, args.repeat + 1):
        for by_column in (True, False):
            cpu, wall, parsed = _timed(path, by_column=by_column)
            label = "by column" if by_column else "row by row"
            print(f"  run {run}, {label:<10}  cpu {cpu:6.2f} s  wall {wall:6.2f} s")
            old = best.get(by_column, (cpu, wall))
            best[by_column] = (min(old[0], cpu), min(old[1], wall))
            kept[by_column] = parsed
    records = kept[True].records.height
    print(
        f"{records:,} records; best CPU by column {best[True][0]:.2f} s, row by row "
        f"{best[False][0]:.2f} s ({best[False][0] / best[True][0]:.1f}x); "
        f"same statement: {'yes' if _same(kept[True], kept[False]) else 'NO'}"
    )


if __name__ == "__main__":
    main()
