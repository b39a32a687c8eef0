"""Benchmark: the whole JET pack (JE-01..JE-22 and the score) beside a plain polars group-by.

Generates N synthetic transactions (``bench_load.generate``: about 2.7 entries each, a
quarter with two versions, one per second from 2025-01-01), turns 1 % of them into manual
adjustments and gives every transaction an actor and an approver (so the who-rules run
too), then times in the same process:

- ``baseline``: one polars group-by over the entries (sum and count per account x asset);
- ``per-tx``: a second, heavier baseline: the same sum and count per transaction (a
  million groups: the JET pack's unit is the transaction);
- ``jet``: :func:`run_jet` over January 2025, every rule, without the completeness proof;
- ``completeness``: the roll-forward tie-out and the chain verification, on their own.

Prints each wall time (best of ``--repeat``, every run shown) with the process CPU seconds
of that best run (steadier than wall time while other jobs share the machine), and the
ratios jet / baseline (target: under 10x) and jet / per-tx.

Usage::

    python benchmarks/bench_jet.py --transactions 100000 1000000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import generate

from ledger_audit.analytics.jet.completeness import population_completeness
from ledger_audit.analytics.jet.engine import run_jet
from ledger_audit.analytics.jet.params import JetParams
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period

PERIOD = Period.month("2025-01")
PARAMS = replace(JetParams(), timezone="Europe/Berlin")


def prepare(n: int) -> LedgerFrames:
    """The synthetic ledger with manual kinds and who-fields added."""
    frames = generate(n)
    number = pl.col("transaction_id").str.extract(r"(\d+)$").cast(pl.Int64(), strict=False)
    transactions = frames.transactions.with_columns(
        pl.when((number.fill_null(0) % 100 == 0) & (pl.col("kind") == "standard"))
        .then(pl.lit("adjustment"))
        .otherwise(pl.col("kind"))
        .alias("kind"),
        pl.format(
            '{{"actor": "user{}", "approved_by": "user{}"}}',
            number.fill_null(0) % 37,
            number.fill_null(0) % 41,
        ).alias("metadata"),
    )
    return replace(frames, transactions=transactions)


def _cpu() -> float:
    used = os.times()
    return used.user + used.system


def timed(label: str, run: object, repeat: int = 1) -> float:
    """Best wall seconds of ``run()`` over ``repeat`` runs (each run printed, with CPU)."""
    times: list[tuple[float, float]] = []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), _cpu()
        run()  # type: ignore[operator]
        times.append((time.perf_counter() - started, _cpu() - cpu))
    runs = ", ".join(f"{t:.3f}" for t, _ in times)
    best, cpu = min(times)
    print(f"  {label:<14} {best:8.3f} s  {cpu:7.3f} CPU s  (best of {repeat}: {runs})")
    return best


def run_size(n: int, repeat: int) -> None:
    """Time the baseline, the pack and the completeness proof over ``n`` transactions."""
    frames = prepare(n)
    print(
        f"{n:,} transactions, {frames.transactions.height:,} versions, "
        f"{frames.entries.height:,} entries"
    )
    entries = frames.entries.lazy()

    def baseline() -> pl.DataFrame:
        return (
            entries.group_by("ledger_id", "account_id", "asset_id")
            .agg(pl.col("amount").sum(), pl.len())
            .collect()
        )

    def per_transaction() -> pl.DataFrame:
        return (
            entries.group_by("ledger_id", "transaction_id")
            .agg(pl.col("amount").sum(), pl.len())
            .collect()
        )

    base = timed("baseline", baseline, repeat)
    per_tx = timed("per-tx", per_transaction, repeat)
    jet = timed("jet", lambda: run_jet(frames, PERIOD, PARAMS, completeness=False), repeat)
    timed("completeness", lambda: population_completeness(frames, PERIOD))
    result = run_jet(frames, PERIOD, PARAMS, completeness=False)
    print(
        f"  jet / baseline = {jet / base:.1f}x (target < 10x); jet / per-tx = "
        f"{jet / per_tx:.1f}x; {result.findings.height:,} findings, "
        f"{result.scores.height:,} scored transactions"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for each size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, nargs="+", default=[100_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    args = parser.parse_args(argv)
    print(f"load average before: {Path('/proc/loadavg').read_text().split()[0]}")
    for n in args.transactions:
        run_size(n, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
