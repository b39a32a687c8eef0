"""Benchmark: Blnk's native hash chain verified by ``--adapter blnk``, beside LACH-1 verification
of the same ledger, in the same run.

Generates N sealed canonical transaction versions with ``bench_chain.generate`` (cached under
``data/bench/chain-<N>/``), writes the same ledger in Blnk's layout in memory with the demo's
Blnk generator (``ledger_audit.demo.vendors.blnk.blnk_tables``: one row per source ->
destination movement, the global chain computed as Blnk's chainer does), then times, best of
``--repeat``:

- ``lach1``: ``verify_chain`` over the canonical versions (rows = transaction versions);
- ``blnk``: ``verify_blnk_chain`` over the Blnk rows (rows = chained transaction rows: a
  four-leg version is two rows);
- ``blnk_seal``: the generator's own sealing (Blnk's chain is sequential: one hashlib call
  per row), for scale.

Each line prints seconds, rows/s and the findings count (must be 0). No database is needed:
the verification is what is measured, not PostgreSQL reads (``tests/sources/adapters/
test_blnk.py`` reads the same layout from a real server).

Usage::

    python benchmarks/bench_adapter_blnk.py --transactions 200000
    python benchmarks/bench_adapter_blnk.py --transactions 1000000 --repeat 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import polars as pl
from bench_chain import CACHE, generate

from ledger_audit.checks.chain import verify_chain
from ledger_audit.demo.vendors.blnk import blnk_tables
from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.sources.adapters.blnk.chain_verify import verify_blnk_chain
from ledger_audit.sources.adapters.blnk.read import BlnkRows, ChainState
from ledger_audit.sources.ledger_frames import LedgerFrames


def _frames(folder: Path) -> LedgerFrames:
    """The cached chain as LedgerFrames (accounts and assets from the entries)."""
    tx = pl.read_parquet(folder / "transactions.parquet")
    entries = pl.read_parquet(folder / "entries.parquet")
    ledgers = pl.read_parquet(folder / "ledgers.parquet")
    assets = (
        entries.select("asset_id")
        .unique()
        .with_columns(
            code=pl.col("asset_id").str.split("/").list.first(),
            scale=pl.col("asset_id").str.split("/").list.last().cast(pl.Int32),
            kind=pl.lit("currency"),
        )
    )
    accounts = (
        entries.select("ledger_id", "account_id")
        .unique()
        .with_columns(
            name=pl.col("account_id"),
            normal_balance=pl.lit("credit"),
            asset_id=pl.lit(None, pl.String),
            allow_negative=pl.lit(value=True),
            opened_ns=pl.lit(0, pl.Int64),
            closed_ns=pl.lit(None, pl.Int64),
            external_id=pl.lit(None, pl.String),
            metadata=pl.lit(None, pl.String),
        )
    )
    tables = {
        "ledgers": ledgers,
        "assets": assets,
        "accounts": accounts,
        "transactions": tx,
        "entries": entries,
        "balances": pl.DataFrame(schema=FRAME_SCHEMAS["balances"]),
    }
    return LedgerFrames.from_tables(
        {
            name: frame.select(list(FRAME_SCHEMAS[name])).cast(pl.Schema(FRAME_SCHEMAS[name]))
            for name, frame in tables.items()
        }
    )


def _blnk_rows(frames: LedgerFrames) -> tuple[BlnkRows, float]:
    """The ledger as Blnk's rows (as the adapter reads them) and the sealing time."""
    started = time.perf_counter()
    tables = blnk_tables(frames)
    sealed = time.perf_counter() - started
    tx = tables["blnk.transactions"].rename(
        {"amount": "amount_text", "precise_amount": "precise_text"}
    )
    tx = tx.with_columns(pl.col("precision").cast(pl.String).alias("precision_text"))
    state = tables["blnk.chain_state"].row(0, named=True)
    rows = BlnkRows(
        label="in-memory Blnk rows",
        ledgers=tables["blnk.ledgers"],
        balances=tables["blnk.balances"],
        transactions=tx,
        chained=True,
        has_effective=True,
        state=ChainState(state["last_seq"], state["head_hash"], state["genesis_hash"]),
    )
    return rows, sealed


def bench(n: int, repeat: int) -> None:
    """Print one line per method for ``n`` canonical versions."""
    folder = CACHE / f"chain-{n}"
    if not (folder / "transactions.parquet").exists():
        generate(n, folder)
    frames = _frames(folder)
    rows, sealed = _blnk_rows(frames)
    n_rows = rows.transactions.height
    print(f"blnk_seal  {sealed:8.2f}s  {n_rows / sealed:12,.0f} rows/s  ({n_rows:,} Blnk rows)")
    best_lach, best_blnk = float("inf"), float("inf")
    found_lach = found_blnk = -1
    for _ in range(repeat):
        started = time.perf_counter()
        report = verify_chain(frames.transactions, frames.entries, frames.ledgers)
        best_lach = min(best_lach, time.perf_counter() - started)
        found_lach = report.findings.height
        started = time.perf_counter()
        native = verify_blnk_chain(rows)
        best_blnk = min(best_blnk, time.perf_counter() - started)
        found_blnk = native.result.findings.height
    versions = frames.transactions.height
    print(
        f"lach1      {best_lach:8.2f}s  {versions / best_lach:12,.0f} rows/s  "
        f"({versions:,} versions, {found_lach} findings)"
    )
    print(
        f"blnk       {best_blnk:8.2f}s  {n_rows / best_blnk:12,.0f} rows/s  "
        f"({n_rows:,} rows, {found_blnk} findings)"
    )


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    bench(args.transactions, args.repeat)


if __name__ == "__main__":
    main()
