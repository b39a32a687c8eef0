"""Benchmark: the Benford suite over the entries of N transactions beside a plain group-by.

Generates N synthetic transactions (``bench_load.generate``, about 2.7 entries each), then
times in the same process, best of ``--repeat`` runs:

- ``baseline``: one polars group-by over the entries (sum and count per account x asset);
- each Benford test (first, second, first-two, first-three, last-two, summation,
  second-order) alone over the entries' amounts per asset (``benford_test``);
- the whole suite in one call (``benford_suite``: the seven tests sharing one pass over the
  amounts), which is what the close and the notebooks run.

Prints each wall time and its ratio to the baseline (target: under 10x for the suite).

Usage::

    python benchmarks/bench_benford.py --transactions 1000000
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import generate

from ledger_audit.analytics.benford.suite import (
    SUITE_TESTS,
    BenfordParams,
    benford_suite,
    benford_test,
)


def best(action: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` wall times, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    params = BenfordParams()
    for n in args.transactions:
        entries = generate(n).entries
        amounts = entries.select("asset_id", "amount")
        print(f"{n:,} transactions, {entries.height:,} entries")

        def baseline(frame: pl.DataFrame = entries) -> pl.DataFrame:
            return frame.group_by("account_id", "asset_id").agg(pl.col("amount").sum(), pl.len())

        base = best(baseline, args.repeat)
        print(f"  baseline group-by      {base:8.3f} s")
        total = 0.0
        for test in SUITE_TESTS:
            seconds = best(partial(benford_test, amounts, test, params), args.repeat)
            total += seconds
            print(f"  benford {test:<14} {seconds:8.3f} s  {seconds / base:6.1f}x")
        print(f"  seven tests, one by one {total:7.3f} s  {total / base:6.1f}x")
        suite = best(partial(benford_suite, amounts, SUITE_TESTS, params), args.repeat)
        print(f"  the suite, one call     {suite:7.3f} s  {suite / base:6.1f}x  (target < 10x)")


if __name__ == "__main__":
    main()
