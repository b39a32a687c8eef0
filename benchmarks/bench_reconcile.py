"""Benchmark: the reconciliation matcher against a naive pandas merge, in the same run.

Synthesises N ledger items (``INTERNAL_SCHEMA``) and about N bank lines (``RECORD_SCHEMA``)
on 200 bank accounts over 30 days (seeded, vectorised):

- 90% of the items one-to-one: the bank books the same amount 0-2 days later; 40% of these
  lines carry the item's external id as end-to-end id, the rest no reference;
- 5% batched in fours: one bank line per batch for the sum; half the batches keyed (the
  items' metadata batch key is the line's payout id), half unkeyed;
- 5% unmatched: half ledger items with no bank line, half bank lines with no item.

Then, each in a fresh child process: ``engine`` runs ``reconcile`` and prints wall time, RSS
now and peak RSS after each step, and the share of automatic matches that are true;
``pandas`` runs the naive matcher a spreadsheet would (an outer merge on account, amount and
booking date) and prints its time, peak RSS, how many items it paired and how many pairs are
wrong or duplicated.

Usage::

    python benchmarks/bench_reconcile.py                 # 1,000,000 items
    python benchmarks/bench_reconcile.py --n 200000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from ledger_audit.reconcile.internal import INTERNAL_SCHEMA
from ledger_audit.reconcile.match import reconcile
from ledger_audit.sources.bank.records import RECORD_SCHEMA
from ledger_audit.sources.match_rules import BankAccount, MatchRules, Rail

ACCOUNTS = 200
START = dt.date(2025, 1, 1)
AS_OF = dt.date(2025, 2, 3)
SEED = 20250131


def _rules() -> MatchRules:
    return MatchRules(
        version="bench",
        accounts=tuple(
            BankAccount(f"ACC{a:04d}", "USD/2", f"assets:bank:{a:04d}") for a in range(ACCOUNTS)
        ),
        default_rail=Rail("default", 1, 3),
        rails=(Rail("ach", 0, 5, external_id_prefixes=("ach-",)),),
    )


def synthesise(n: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(items, records, truth): truth maps ``side``/``item_id`` to the true group."""
    rng = np.random.default_rng(SEED)
    one, batched = int(n * 0.90), int(n * 0.05) // 4 * 4
    rest = n - one - batched
    ledger_only = rest // 2
    bank_only = rest - ledger_only
    account = rng.integers(0, ACCOUNTS, n)
    amount = rng.integers(100, 10_000_000, n) * np.where(rng.random(n) < 0.7, 1, -1)
    day = rng.integers(0, 30, n)
    # batches: members share account, sign, day
    first_batch = one
    batch_of = np.full(n, -1)
    batch_of[first_batch : first_batch + batched] = np.arange(batched) // 4
    for column in (account, day):
        column[first_batch : first_batch + batched] = np.repeat(
            column[first_batch : first_batch + batched : 4], 4
        )
    amount[first_batch : first_batch + batched] = np.abs(
        amount[first_batch : first_batch + batched]
    )
    ids = np.arange(n)
    keyed_batch = batch_of % 2 == 0
    items = (
        pl.DataFrame(
            {
                "item_id": [f"l:t{i:08d}:0:0" for i in ids],
                "account": account,
                "amount": amount,
                "day": day,
                "batch": batch_of,
                "keyed": keyed_batch & (batch_of >= 0),
            }
        )
        .with_columns(
            pl.col("item_id").str.split(":").list.get(1).alias("transaction_id"),
            pl.col("day").cast(pl.Int64()),
        )
        .with_columns(
            pl.lit("l").alias("ledger_id"),
            pl.lit(0, dtype=pl.Int32()).alias("version"),
            pl.lit(0, dtype=pl.Int32()).alias("entry_index"),
            pl.format("ACC{}", pl.col("account").cast(pl.String()).str.zfill(4)).alias(
                "account_ref"
            ),
            pl.format("assets:bank:{}", pl.col("account").cast(pl.String()).str.zfill(4)).alias(
                "account_id"
            ),
            pl.lit("USD/2").alias("asset_id"),
            (pl.lit(START) + pl.duration(days=pl.col("day"))).alias("date"),
            pl.lit(None, dtype=pl.String()).alias("kind"),
            pl.lit(None, dtype=pl.String()).alias("reverses_transaction_id"),
            pl.format("ach-{}", pl.col("transaction_id")).alias("external_id"),
            pl.lit(None, dtype=pl.String()).alias("idempotency_key"),
            pl.when(pl.col("keyed"))
            .then(pl.format("po_{}", pl.col("batch")))
            .otherwise(None)
            .alias("batch_key"),
            pl.lit(None, dtype=pl.String()).alias("description"),
        )
    )
    items = items.with_columns(
        (pl.col("date").cast(pl.Datetime("ns")).cast(pl.Int64())).alias("effective_ns"),
        pl.lit("ach").alias("rail"),
        pl.lit("standard").alias("kind"),
    )
    lag = pl.Series(rng.integers(0, 3, n))
    with_ref = pl.Series(rng.random(n) < 0.4)
    singles = (
        items.slice(0, one)
        .with_columns(lag.slice(0, one).alias("lag"), with_ref.slice(0, one).alias("ref"))
        .select(
            "account_ref",
            "amount",
            (pl.col("date") + pl.duration(days=pl.col("lag"))).alias("booking_date"),
            pl.when(pl.col("ref")).then(pl.col("external_id")).alias("end_to_end_id"),
            pl.lit(None, dtype=pl.String()).alias("payout_id"),
            pl.col("item_id").alias("truth"),
        )
    )
    batches = (
        items.slice(first_batch, batched)
        .group_by("batch")
        .agg(
            pl.col("account_ref").first(),
            pl.col("amount").sum(),
            (pl.col("date").first() + pl.duration(days=1)).alias("booking_date"),
            pl.lit(None, dtype=pl.String()).alias("end_to_end_id"),
            pl.col("batch_key").first().alias("payout_id"),
            pl.format("batch-{}", pl.col("batch").first()).alias("truth"),
        )
        .sort("batch")
        .drop("batch")
    )
    orphan = pl.DataFrame(
        {
            "account_ref": [f"ACC{a:04d}" for a in rng.integers(0, ACCOUNTS, bank_only)],
            "amount": rng.integers(100, 10_000_000, bank_only),
            "booking_date": [
                START + dt.timedelta(days=int(d)) for d in rng.integers(0, 30, bank_only)
            ],
        }
    ).with_columns(
        pl.lit(None, dtype=pl.String()).alias("end_to_end_id"),
        pl.lit(None, dtype=pl.String()).alias("payout_id"),
        pl.lit(None, dtype=pl.String()).alias("truth"),
    )
    lines = pl.concat([singles, batches, orphan], how="vertical_relaxed")
    lines = lines.sample(fraction=1.0, shuffle=True, seed=SEED).with_row_index("n")
    records = lines.select(
        pl.lit("canonical").alias("source"),
        pl.lit("bank.csv").alias("file"),
        (pl.col("n").cast(pl.Int64()) + 1).alias("line"),
        pl.format("r{}", pl.col("n")).alias("record_id"),
        pl.lit("s").alias("statement_id"),
        "account_ref",
        pl.lit("USD/2").alias("asset_id"),
        pl.col("amount").cast(pl.Int64()),
        pl.col("booking_date").cast(pl.Date()),
        pl.lit(None, dtype=pl.Date()).alias("value_date"),
        pl.lit("BOOK").alias("status"),
        pl.lit(value=False).alias("reversal"),
        pl.lit(None, dtype=pl.String()).alias("bank_ref"),
        pl.lit(None, dtype=pl.String()).alias("customer_ref"),
        "end_to_end_id",
        pl.lit(None, dtype=pl.String()).alias("tx_id"),
        "payout_id",
        pl.lit(None, dtype=pl.String()).alias("counterparty"),
        pl.lit(None, dtype=pl.String()).alias("text"),
        pl.lit(None, dtype=pl.String()).alias("type_code"),
        pl.lit(None, dtype=pl.String()).alias("batch_key"),
    ).cast(pl.Schema(RECORD_SCHEMA))
    truth = pl.concat(
        [
            items.select(
                pl.lit("internal").alias("side"),
                "item_id",
                pl.when(pl.col("batch") >= 0)
                .then(pl.format("batch-{}", pl.col("batch")))
                .when(pl.int_range(pl.len()) < one)
                .then(pl.col("item_id"))
                .alias("truth"),
            ),
            lines.select(
                pl.lit("external").alias("side"),
                pl.format("r{}", pl.col("n")).alias("item_id"),
                "truth",
            ),
        ]
    )
    internal = items.select(list(INTERNAL_SCHEMA)).cast(pl.Schema(INTERNAL_SCHEMA))
    return internal, records, truth


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_engine(n: int) -> dict[str, object]:
    """Run the matcher and report each step."""
    started = time.perf_counter()
    items, records, truth = synthesise(n)
    generated = time.perf_counter() - started
    steps: list[dict[str, object]] = []
    last = time.perf_counter()

    def on_stage(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        steps.append(
            {
                "step": name,
                "seconds": round(now - last, 2),
                "rss_mb": round(_rss_mb()),
                "peak_mb": round(_peak_mb()),
            }
        )
        last = now

    base_peak = _peak_mb()
    begin = time.perf_counter()
    result = reconcile(items, records, _rules(), as_of=AS_OF, on_stage=on_stage)
    total = time.perf_counter() - begin
    auto = result.matches.filter(pl.col("status") == "auto").select("match_id")
    members = result.links.join(auto, on="match_id", how="semi").join(
        truth, on=["side", "item_id"], how="left"
    )
    per_match = members.group_by("match_id").agg(
        (pl.col("truth").n_unique() == 1).alias("same"), pl.col("truth").null_count().alias("nulls")
    )
    false_auto = per_match.filter(~pl.col("same") | (pl.col("nulls") > 0)).height
    return {
        "items": items.height,
        "records": records.height,
        "generated_s": round(generated, 1),
        "input_peak_mb": round(base_peak),
        "steps": steps,
        "total_s": round(total, 2),
        "peak_mb": round(_peak_mb()),
        "matches": result.matches.height,
        "auto": auto.height,
        "false_auto": false_auto,
        "rates": result.rates.select(
            "stage_name", "status", "internal_items", "external_records"
        ).rows(),
        "breaks": result.breaks.group_by("class").len().sort("class").rows(),
    }


def child_pandas(n: int) -> dict[str, object]:
    """The naive matcher: an outer merge on account, amount and date."""
    items, records, truth = synthesise(n)
    left = items.select("item_id", "account_ref", "amount", "date").to_pandas()
    right = records.select(
        pl.col("record_id"), "account_ref", "amount", pl.col("booking_date").alias("date")
    ).to_pandas()
    base_peak = _peak_mb()
    begin = time.perf_counter()
    merged = left.merge(right, on=["account_ref", "amount", "date"], how="outer", indicator=True)
    both = merged[merged["_merge"] == "both"]
    seconds = time.perf_counter() - begin
    paired = both[["item_id", "record_id"]]
    truth_i = truth.filter(pl.col("side") == "internal").select("item_id", "truth").to_pandas()
    truth_x = (
        truth.filter(pl.col("side") == "external")
        .select(pl.col("item_id").alias("record_id"), pl.col("truth").alias("truth_x"))
        .to_pandas()
    )
    checked = paired.merge(truth_i, on="item_id").merge(truth_x, on="record_id")
    wrong = int((checked["truth"] != checked["truth_x"]).sum())
    return {
        "items": items.height,
        "records": records.height,
        "input_peak_mb": round(base_peak),
        "seconds": round(seconds, 2),
        "peak_mb": round(_peak_mb()),
        "pairs": len(paired),
        "items_paired": int(paired["item_id"].nunique()),
        "items_in_several_pairs": int((paired["item_id"].value_counts() > 1).sum()),
        "wrong_pairs": wrong,
    }


def _child(kind: str, n: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--n", str(n)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run both children and print the figures side by side."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--child", choices=["engine", "pandas"])
    args = parser.parse_args()
    if args.child == "engine":
        print(json.dumps(child_engine(args.n)))
        return
    if args.child == "pandas":
        print(json.dumps(child_pandas(args.n)))
        return
    engine = _child("engine", args.n)
    naive = _child("pandas", args.n)
    print(f"reconcile: {engine['items']:,} ledger items vs {engine['records']:,} bank lines")
    print(
        f"(synthesis {engine['generated_s']} s, peak RSS after inputs {engine['input_peak_mb']} MB)"
    )
    print(f"{'step':<10} {'seconds':>8} {'RSS MB':>8} {'peak MB':>8}")
    steps = engine["steps"]
    if not isinstance(steps, list):
        raise TypeError(steps)
    for step in steps:
        print(f"{step['step']:<10} {step['seconds']:>8} {step['rss_mb']:>8} {step['peak_mb']:>8}")
    print(f"{'engine':<10} {engine['total_s']:>8} {'':>8} {engine['peak_mb']:>8}")
    print(
        f"matches {engine['matches']:,}, automatic {engine['auto']:,}, "
        f"false automatic {engine['false_auto']}"
    )
    print("rates (stage, status, items, records):", engine["rates"])
    print("breaks:", engine["breaks"])
    print(
        f"{'pandas':<10} {naive['seconds']:>8} {'':>8} {naive['peak_mb']:>8}  "
        f"(outer merge on account + amount + date; peak after inputs {naive['input_peak_mb']} MB)"
    )
    print(
        f"pandas pairs {naive['pairs']:,}, items paired {naive['items_paired']:,}, "
        f"items in several pairs {naive['items_in_several_pairs']:,}, "
        f"wrong pairs {naive['wrong_pairs']:,}"
    )


if __name__ == "__main__":
    main()
