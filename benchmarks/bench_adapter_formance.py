"""Benchmark: a Formance Ledger v2 database read through ``--adapter formance``, beside the
same ledger loaded from canonical tables, and Formance's log chain beside LACH-1.

Generates N posted transactions (one or two postings each, two assets, a thousand accounts,
every one with an idempotency key and a reference), seals them with LACH-1, and writes them
twice into PostgreSQL: as the canonical tables (``bench_load.write_postgres``) and in the
Formance bucket layout with its vendor semantics (``demo.vendors.formance``: moves with
post-commit volumes, accounts_volumes, logs with mementos and the SYNC hash chain). Then,
each in a fresh process, it times:

- ``canonical``: ``load_ledger(url)`` on the canonical tables, then ``verify_chain`` (LACH-1);
- ``frames``: ``formance.load(url, vendor_checks=False)``, the load the 1.5x target applies
  to (the same frames, without what only the vendor checks read);
- ``formance``: the full load step by step: every row read, the frames built, then each
  vendor check: the log hash chain, transactions against their logs, moves.

and prints seconds, rows/s, peak RSS, every run's client CPU seconds and the best of each,
the ratios adapter/canonical (the target is 1.5x or less), the load average and a digest of
the posted balances per account and asset, equal when the loads read the same ledger.

Usage::

    python benchmarks/bench_adapter_formance.py --transactions 200000
    python benchmarks/bench_adapter_formance.py --transactions 1000000 --repeat 2
    python benchmarks/bench_adapter_formance.py --repeat 5 --urls CANONICAL_URL FORMANCE_URL
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time

import polars as pl
from bench_load import write_postgres

from ledger_audit.schema import lach1
from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.sources import LedgerFrames, LoadReport

T0 = 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z
LEDGER = "main"
USERS = 1000


def generate(n: int, seed: int = 7) -> LedgerFrames:
    """N posted transactions of one or two postings (pairs of entries), sealed with LACH-1."""
    from ledger_audit.checks.chain_hashes import content_hashes  # noqa: PLC0415

    i = pl.int_range(0, n, dtype=pl.Int64)
    tx = pl.select(i.alias("i")).with_columns(
        pl.lit(LEDGER).alias("ledger_id"),
        pl.format("t{}", pl.col("i").cast(pl.String).str.zfill(9)).alias("transaction_id"),
        pl.lit(0, dtype=pl.Int32).alias("version"),
        pl.lit("standard").alias("kind"),
        pl.lit("posted").alias("status"),
        pl.lit(None, dtype=pl.String).alias("pending_transaction_id"),
        pl.lit(None, dtype=pl.String).alias("reverses_transaction_id"),
        (T0 + pl.col("i") * 1_000_000_000 + 123_456_000).alias("effective_ns"),
        (T0 + pl.col("i") * 1_000_000_000 + 123_456_000).alias("recorded_ns"),
        pl.format("ik-{}", pl.col("i")).alias("idempotency_key"),
        pl.format("ref-{}", pl.col("i")).alias("external_id"),
        pl.lit(None, dtype=pl.String).alias("description"),
        pl.format('{{"batch": "{}"}}', pl.col("i") % 7).alias("metadata"),
        pl.lit(None, dtype=pl.String).alias("meta_hash"),
        (pl.col("i") + 1).alias("chain_seq"),
    )
    postings = pl.when(pl.col("i").hash(seed=seed) % 100 < 15).then(2).otherwise(1)
    legs = (
        tx.select("ledger_id", "transaction_id", "version", "i", n=postings)
        .with_columns(pl.int_ranges(0, "n").alias("k"))
        .explode("k")
        .with_columns(
            (pl.col("i") * 7 + pl.col("k")).hash(seed=seed + 1).alias("h"),
        )
        .with_columns(
            pl.when(pl.col("h") % 5 == 0)
            .then(pl.lit("EUR/2"))
            .otherwise(pl.lit("USD/2"))
            .alias("asset_id"),
            (pl.col("h") % 100_000 + 1).cast(pl.Int64).alias("amount"),
            pl.format("liabilities:wallet:u{}", (pl.col("h") // 7 % USERS).cast(pl.String)).alias(
                "source"
            ),
            pl.format("liabilities:wallet:u{}", (pl.col("h") // 11 % USERS).cast(pl.String)).alias(
                "destination"
            ),
        )
    )
    sides = [
        legs.select(
            "ledger_id",
            "transaction_id",
            "version",
            (pl.col("k") * 2 + offset).cast(pl.Int32).alias("entry_index"),
            pl.col(column).alias("account_id"),
            "asset_id",
            pl.lit(direction).alias("direction"),
            "amount",
        )
        for offset, column, direction in ((0, "source", "debit"), (1, "destination", "credit"))
    ]
    entries = pl.concat(sides).sort("ledger_id", "transaction_id", "version", "entry_index")
    tx = (
        tx.drop("i")
        .with_columns(
            pl.lit(None, dtype=pl.String).alias("chain_prev_hash"),
            pl.lit(None, dtype=pl.String).alias("content_hash"),
            pl.lit(None, dtype=pl.String).alias("chain_hash"),
        )
        .select(list(FRAME_SCHEMAS["transactions"]))
    )
    content = content_hashes(tx, entries)
    prev = lach1.genesis(LEDGER)
    prevs: list[str] = []
    links: list[str] = []
    for c in content.to_list():
        prevs.append(prev)
        prev = hashlib.sha256(f"{lach1.ALGORITHM} link\n{prev}\n{c}".encode()).hexdigest()
        links.append(prev)
    tx = tx.with_columns(
        pl.Series("chain_prev_hash", prevs),
        content.alias("content_hash"),
        pl.Series("chain_hash", links),
    )
    accounts = pl.DataFrame(
        {"account_id": [f"liabilities:wallet:u{u}" for u in range(USERS)]}
    ).select(
        pl.lit(LEDGER).alias("ledger_id"),
        "account_id",
        pl.col("account_id").alias("name"),
        pl.lit("credit").alias("normal_balance"),
        pl.lit(None, dtype=pl.String).alias("asset_id"),
        pl.lit(value=True).alias("allow_negative"),
        pl.lit(T0).alias("opened_ns"),
        pl.lit(None, dtype=pl.Int64).alias("closed_ns"),
        pl.lit(None, dtype=pl.String).alias("external_id"),
        pl.lit("{}").alias("metadata"),
    )
    debit = pl.col("direction") == "debit"
    balances = (
        entries.group_by("ledger_id", "account_id", "asset_id")
        .agg(
            pl.col("amount").filter(debit).sum().alias("posted_debits"),
            pl.col("amount").filter(~debit).sum().alias("posted_credits"),
        )
        .with_columns(
            pl.lit(0, dtype=pl.Int64).alias("pending_debits"),
            pl.lit(0, dtype=pl.Int64).alias("pending_credits"),
            pl.lit(T0 + n * 1_000_000_000).alias("as_of_ns"),
            pl.lit(0, dtype=pl.Int64).alias("lock_version"),
        )
    )
    tables = {
        "ledgers": pl.DataFrame(
            {
                "ledger_id": [LEDGER],
                "name": ["Main"],
                "chain_algorithm": [lach1.ALGORITHM],
                "created_ns": [T0],
                "metadata": ["{}"],
            }
        ),
        "assets": pl.DataFrame(
            {
                "asset_id": ["EUR/2", "USD/2"],
                "code": ["EUR", "USD"],
                "scale": [2, 2],
                "kind": ["fiat", "fiat"],
            }
        ),
        "accounts": accounts,
        "transactions": tx,
        "entries": entries,
        "balances": balances,
    }
    return LedgerFrames.from_tables(
        {
            name: frame.select(list(FRAME_SCHEMAS[name]))
            .cast(pl.Schema(FRAME_SCHEMAS[name]))
            .sort(list(frame.columns[:1]))
            for name, frame in tables.items()
        }
    )


def prepare(n: int, canonical_url: str, formance_url: str) -> None:
    """Generate and write both layouts (its own process, so its memory is not measured)."""
    from ledger_audit.demo.vendors.formance import write_formance  # noqa: PLC0415

    started = time.perf_counter()
    frames = generate(n)
    write_postgres(frames, canonical_url)
    written = write_formance(frames, formance_url)
    import psycopg  # noqa: PLC0415
    import sqlalchemy as sa  # noqa: PLC0415

    conninfo = (
        sa.make_url(formance_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM (FREEZE, ANALYZE)")
    print(
        f"generated {n:,} transactions ({frames.entries.height:,} entries, {written.logs:,} "
        f"logs), both layouts written in {time.perf_counter() - started:.1f} s"
    )


def _posted_digest(frames: LedgerFrames) -> str:
    sums = (
        frames.entries.group_by("account_id", "asset_id", "direction")
        .agg(pl.col("amount").cast(pl.Int64).sum())
        .sort("account_id", "asset_id", "direction")
    )
    return hashlib.sha256(sums.write_csv().encode()).hexdigest()[:16]


def _formance_steps(
    url: str, out: dict[str, float | int | str], cpu_start: float
) -> tuple[LedgerFrames, LoadReport]:
    """``formance.load`` step by step (read, frames, each vendor check), each timed."""
    from ledger_audit.sources.adapters.formance import NOTES  # noqa: PLC0415
    from ledger_audit.sources.adapters.formance.chain import (  # noqa: PLC0415
        chain_check,
        features_of,
    )
    from ledger_audit.sources.adapters.formance.consistency import (  # noqa: PLC0415
        log_transactions,
        logs_check,
        moves_check,
    )
    from ledger_audit.sources.adapters.formance.frames import (  # noqa: PLC0415
        build_frames,
        transaction_keys,
    )
    from ledger_audit.sources.adapters.formance.read import (  # noqa: PLC0415
        read_rows,
        require,
    )
    from ledger_audit.sources.mapping import open_relations  # noqa: PLC0415

    start = time.perf_counter()
    with open_relations(url) as opened:
        rows = read_rows(opened, require(opened))
        label = opened.label
    out["read"] = time.perf_counter() - start
    log_tx = log_transactions(rows.logs)
    frames, report = build_frames(rows, transaction_keys(log_tx), label, NOTES)
    out["load"] = time.perf_counter() - start
    out["load_cpu"] = time.process_time() - cpu_start
    features = features_of(rows.ledgers)
    start = time.perf_counter()
    logs_result, content = logs_check(rows, log_tx)
    out["logs_check"] = time.perf_counter() - start
    start = time.perf_counter()
    chain = chain_check(rows.logs, rows.blocks, features, content)
    out["chain"] = time.perf_counter() - start
    out["chain_rows"] = rows.logs.height
    start = time.perf_counter()
    moves = moves_check(rows, features)
    out["moves_check"] = time.perf_counter() - start
    out["checks_cpu"] = time.process_time() - cpu_start - float(out["load_cpu"])
    out["findings"] = sum(
        r.findings.height for r in (chain.result, logs_result.result, moves.result)
    )
    return frames, report


def worker(kind: str, url: str) -> None:
    """Load once in this fresh process; print the timings as one JSON line."""
    import adbc_driver_postgresql.dbapi  # noqa: F401, PLC0415 - import cost is not load cost

    out: dict[str, float | int | str] = {}
    cpu_start = time.process_time()
    if kind == "canonical":
        from ledger_audit.checks.chain import verify_chain  # noqa: PLC0415
        from ledger_audit.sources import load_ledger  # noqa: PLC0415

        start = time.perf_counter()
        frames, report = load_ledger(url)
        out["load"] = time.perf_counter() - start
        out["load_cpu"] = time.process_time() - cpu_start
        start = time.perf_counter()
        verify_chain(frames.transactions, frames.entries, frames.ledgers)
        out["chain"] = time.perf_counter() - start
        out["chain_rows"] = frames.transactions.height
    elif kind == "frames":
        from ledger_audit.sources.adapters.formance import load  # noqa: PLC0415

        start = time.perf_counter()
        adapted = load(url, vendor_checks=False)
        frames, report = adapted.frames, adapted.report
        out["load"] = time.perf_counter() - start
        out["load_cpu"] = time.process_time() - cpu_start
    else:
        frames, report = _formance_steps(url, out, cpu_start)
    out["rows"] = report.read
    out["rejected"] = report.rejected
    out["peak_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["digest"] = _posted_digest(frames)
    print(json.dumps(out))


def _run(kind: str, url: str) -> dict[str, float | int | str]:
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", kind, url],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float | int | str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


KINDS = ("canonical", "frames", "formance")
"""Each a fresh process: canonical tables; ``load(url, vendor_checks=False)``; the full load."""


def _best(results: list[dict[str, float | int | str]], key: str) -> float:
    return min(float(r[key]) for r in results)


def measure(canonical_url: str, formance_url: str, repeat: int) -> None:
    """Run the three loads ``repeat`` times, interleaved, and print the best of each."""
    load_before = os.getloadavg()[0]
    runs: dict[str, list[dict[str, float | int | str]]] = {k: [] for k in KINDS}
    for _ in range(repeat):
        for kind in KINDS:
            runs[kind].append(_run(kind, canonical_url if kind == "canonical" else formance_url))
    c, fr, f = (min(runs[k], key=lambda r: float(r["load"])) for k in KINDS)
    native = float(f["chain"]) + float(f["logs_check"]) + float(f["moves_check"])
    print(
        f"best of {repeat} per load, interleaved, each in a fresh process; 1-minute load "
        f"average {load_before:.1f} before the runs, {os.getloadavg()[0]:.1f} after (2 cores)"
    )
    print(f"{'load':<38} {'seconds':>8} {'rows/s':>12} {'peak RSS':>10}")
    for label, result, seconds in (
        ("canonical tables (load_ledger)", c, float(c["load"])),
        ("formance load(vendor_checks=False)", fr, float(fr["load"])),
        ("formance frames, full read", f, float(f["load"])),
        ("formance frames + vendor checks", f, float(f["load"]) + native),
    ):
        print(
            f"{label:<38} {seconds:>8.2f} {int(result['rows']) / seconds:>12,.0f} "
            f"{int(result['peak_kib']) / 2**20:>8.2f} GiB"
        )
    base = float(c["load"])
    print(
        f"wall, adapter/canonical: {float(fr['load']) / base:.2f}x frames (vendor_checks=False), "
        f"{(float(f['load']) + native) / base:.2f}x with vendor checks (target <= 1.5x)"
    )
    cpu_c, cpu_fr = _best(runs["canonical"], "load_cpu"), _best(runs["frames"], "load_cpu")
    cpu_all = min(float(r["load_cpu"]) + float(r["checks_cpu"]) for r in runs["formance"])
    print(
        f"client CPU s (best of {repeat}): canonical {cpu_c:.2f}, frames {cpu_fr:.2f} "
        f"({cpu_fr / cpu_c:.2f}x), with vendor checks {cpu_all:.2f} ({cpu_all / cpu_c:.2f}x)"
    )
    print(
        "every run's client CPU s: "
        + "; ".join(
            f"{k} " + " ".join(f"{float(r['load_cpu']):.2f}" for r in runs[k]) for k in KINDS
        )
    )
    print(
        f"chain verification: Formance logs {int(f['chain_rows']):,} in "
        f"{float(f['chain']):.2f} s = {int(f['chain_rows']) / float(f['chain']):,.0f} "
        f"rows/s; LACH-1 {int(c['chain_rows']):,} in {float(c['chain']):.2f} s = "
        f"{int(c['chain_rows']) / float(c['chain']):,.0f} rows/s"
    )
    print(
        f"vendor checks: logs vs transactions {float(f['logs_check']):.2f} s, moves "
        f"{float(f['moves_check']):.2f} s; findings {f['findings']} (clean: expect 0)"
    )
    digests = {str(r["digest"]) for k in KINDS for r in runs[k]}
    print(
        f"same posted balances in every run: {'yes' if len(digests) == 1 else 'NO'} "
        f"({', '.join(sorted(digests))}); rejected {f['rejected']} / {fr['rejected']}"
    )


def bench(n: int, pg_url: str | None, repeat: int) -> None:
    server = None
    if pg_url is None:
        from ledger_audit.testing.pgserver import PostgresServer  # noqa: PLC0415

        server = PostgresServer(fsync=False, settings={"shared_buffers": "1GB"})
        server.start()
        canonical_url = server.create_database("bench_canonical")
        formance_url = server.create_database("bench_formance")
    else:
        canonical_url = formance_url = pg_url
    try:
        subprocess.run(
            [sys.executable, __file__, "--prepare", str(n), canonical_url, formance_url],
            check=True,
        )
        measure(canonical_url, formance_url, repeat)
    finally:
        if server is not None:
            server.stop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--prepare":
        prepare(int(sys.argv[2]), sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=None, help="an existing server (default: start one)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per method (best kept)")
    parser.add_argument(
        "--urls",
        nargs=2,
        metavar=("CANONICAL", "FORMANCE"),
        help="measure databases an earlier --prepare wrote (no generation)",
    )
    args = parser.parse_args()
    if args.urls:
        measure(args.urls[0], args.urls[1], args.repeat)
    else:
        bench(args.transactions, args.pg_url, args.repeat)


if __name__ == "__main__":
    main()
