"""Benchmark: posted/pending/available balances as of one instant, polars vs DuckDB SQL.

Generates N synthetic transactions (``bench_load.generate``: about 2.7 entries each, a
quarter of them with two versions) once into a Parquet snapshot under ``data/bench/``, then
in a fresh process per method computes every account x asset's balances as of the middle
of the data on the effective basis, straight from the Parquet files:

- ``polars``: ``replay.balances_as_of`` over lazy ``scan_parquet`` frames (the package);
- ``duckdb``: the same numbers in one DuckDB SQL query over ``read_parquet``.

Both results are compared row for row (SHA-256 of the sorted result). Prints wall time,
entries/s and the child's peak RSS.

Usage::

    python benchmarks/bench_replay.py --transactions 1000000 10000000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = ROOT / "data" / "bench"
COLUMNS = (
    "ledger_id",
    "account_id",
    "asset_id",
    "posted_debits",
    "posted_credits",
    "pending_debits",
    "pending_credits",
    "posted",
    "available",
)

DUCKDB_SQL = """
WITH seen AS (
    SELECT ledger_id, transaction_id, version, status, pending_transaction_id
    FROM read_parquet('{folder}/transactions.parquet') WHERE effective_ns <= {at}
), latest AS (
    SELECT ledger_id, transaction_id, max(version) AS version FROM seen GROUP BY ALL
), resolved AS (
    SELECT DISTINCT ledger_id, pending_transaction_id AS transaction_id
    FROM seen WHERE pending_transaction_id IS NOT NULL
), counting AS (
    SELECT s.ledger_id, s.transaction_id, s.version,
           CASE WHEN r.transaction_id IS NOT NULL AND s.status = 'pending'
                THEN 'resolved' ELSE s.status END AS status
    FROM seen s
    JOIN latest l USING (ledger_id, transaction_id, version)
    LEFT JOIN resolved r USING (ledger_id, transaction_id)
), sums AS (
    SELECT e.ledger_id, e.account_id, e.asset_id,
        coalesce(sum(e.amount) FILTER (WHERE c.status = 'posted' AND e.direction = 'debit'), 0)
            AS posted_debits,
        coalesce(sum(e.amount) FILTER (WHERE c.status = 'posted' AND e.direction = 'credit'), 0)
            AS posted_credits,
        coalesce(sum(e.amount) FILTER (WHERE c.status = 'pending' AND e.direction = 'debit'), 0)
            AS pending_debits,
        coalesce(sum(e.amount) FILTER (WHERE c.status = 'pending' AND e.direction = 'credit'), 0)
            AS pending_credits
    FROM read_parquet('{folder}/entries.parquet') e
    JOIN counting c USING (ledger_id, transaction_id, version)
    GROUP BY ALL
)
SELECT s.*,
    CASE WHEN a.normal_balance = 'credit' THEN posted_credits - posted_debits
         ELSE posted_debits - posted_credits END AS posted,
    CASE WHEN a.normal_balance = 'credit' THEN posted_credits - posted_debits - pending_debits
         ELSE posted_debits - posted_credits - pending_credits END AS available
FROM sums s
LEFT JOIN read_parquet('{folder}/accounts.parquet') a USING (ledger_id, account_id)
"""


def prepare(n_transactions: int, cache: Path) -> Path:
    """The Parquet snapshot of N generated transactions (generated once, then reused)."""
    folder = cache / f"replay-{n_transactions}"
    if not (folder / "entries.parquet").exists():
        subprocess.run(
            [sys.executable, __file__, "--generate", str(n_transactions), str(folder)], check=True
        )
    return folder


def generate(n_transactions: int, folder: Path) -> None:
    from bench_load import generate as synthetic  # noqa: PLC0415 - beside this script

    from ledger_audit.exports.snapshot import write_ledger_snapshot  # noqa: PLC0415

    started = time.perf_counter()
    frames = synthetic(n_transactions)
    write_ledger_snapshot(frames, folder, "parquet")
    print(
        f"generated {n_transactions:,} transactions ({frames.entries.height:,} entries) in "
        f"{time.perf_counter() - started:.1f} s -> {folder}"
    )


def instant(folder: Path) -> int:
    """The middle of the data's effective times (so both sides of the instant matter)."""
    times = pl.scan_parquet(folder / "transactions.parquet").select(
        pl.col("effective_ns").min().alias("lo"), pl.col("effective_ns").max().alias("hi")
    )
    lo, hi = times.collect().row(0)
    return int(lo + (hi - lo) // 2)


def digest(frame: pl.DataFrame) -> str:
    ordered = frame.select(COLUMNS).sort("ledger_id", "account_id", "asset_id")
    data = ordered.cast(dict.fromkeys(COLUMNS[3:], pl.Int64)).write_csv()
    return hashlib.sha256(data.encode()).hexdigest()


def run_polars(folder: Path, at: int) -> pl.DataFrame:
    from ledger_audit.replay.balances import LazyLedger, balances_as_of  # noqa: PLC0415

    ledger = LazyLedger(
        transactions=pl.scan_parquet(folder / "transactions.parquet"),
        entries=pl.scan_parquet(folder / "entries.parquet"),
        accounts=pl.scan_parquet(folder / "accounts.parquet"),
    )
    return balances_as_of(ledger, at, "effective").collect()


def run_duckdb(folder: Path, at: int) -> pl.DataFrame:
    import duckdb  # noqa: PLC0415

    with duckdb.connect() as conn:
        result: pl.DataFrame = conn.sql(DUCKDB_SQL.format(folder=folder, at=at)).pl()
        return result


def worker(method: str, folder: Path) -> None:
    """One method in this fresh process: seconds, rows, digest and peak RSS as JSON."""
    import duckdb  # noqa: F401, PLC0415 - import cost is not replay cost

    import ledger_audit.replay.balances  # noqa: F401, PLC0415

    at = instant(folder)
    started = time.perf_counter()
    result = run_polars(folder, at) if method == "polars" else run_duckdb(folder, at)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": result.height,
                "digest": digest(result),
                "peak_kib": peak_kib,
            }
        )
    )


def measure(method: str, folder: Path) -> dict[str, float | int | str]:
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", method, str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float | int | str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def bench(sizes: list[int], cache: Path, repeat: int) -> None:
    header = (
        f"{'transactions':>13} {'entries':>12} {'method':<7} {'best s':>7} {'entries/s':>12} "
        f"{'peak RSS MiB':>13}  result sha256[:16]"
    )
    print(header)
    print("-" * len(header))
    for n in sizes:
        folder = prepare(n, cache)
        entries = pl.scan_parquet(folder / "entries.parquet").select(pl.len()).collect().item()
        digests = {}
        for method in ("polars", "duckdb"):
            runs = [measure(method, folder) for _ in range(repeat)]
            best = min(float(r["seconds"]) for r in runs)
            peak = max(int(r["peak_kib"]) for r in runs) / 1024
            digests[method] = str(runs[0]["digest"])
            print(
                f"{n:>13,} {entries:>12,} {method:<7} {best:>7.2f} {entries / best:>12,.0f} "
                f"{peak:>13,.0f}  {digests[method][:16]}"
            )
        same = "yes" if len(set(digests.values())) == 1 else "NO"
        print(f"{'':>13} same balances from both: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transactions", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (best is shown)")
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "FOLDER"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=2, metavar=("N", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]))
    elif args.generate:
        generate(int(args.generate[0]), Path(args.generate[1]))
    else:
        bench(args.transactions, args.cache, args.repeat)


if __name__ == "__main__":
    main()
