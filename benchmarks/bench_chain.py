"""Benchmark: LACH-1 chain verification, vectorised (polars + polars-hash) against hashlib.

Generates a properly sealed chain of N transaction versions over two ledgers (~2.5 entries
each, some multi-asset, pending then posted versions), caches it as Parquet under
``data/bench/chain-<N>/``, then times in fresh child processes:

- ``vectorised``: ``verify_chain`` (payloads written from Arrow buffers by the compiled
  kernel of ``checks.chain_json``, SHA-256 with polars-hash, all rows in parallel); the CPU
  seconds to import numba and load the cached kernel are measured apart, before the clock;
- ``streamed``: ``verify_chain_streamed`` over the Parquet files read ``STREAM_ROWS`` rows
  at a time (reading included), with its child's peak RSS (issue 16's target: 2 GiB at 10M);
- ``reference``: ``verify_chain_reference`` (``lach1.content_hash`` / ``link_hash`` row by row
  with hashlib). With ``--reference-rows K`` (default 1,000,000) it runs on the first K
  seqs of the chain only, and its time at N is extrapolated linearly: labelled as such.

Each prints seconds, rows/s, MB hashed per second (canonical payload bytes plus link input
bytes), the findings count (must be 0) and the child's peak RSS. The vectorised verifier runs
``--repeat`` times (fresh processes, best wall time kept; its CPU seconds and the size of the
loaded frames are printed beside it). ``openssl speed -multi <cores> sha256`` at the chain's
mean message size runs in the same invocation, and the verifier's share of it is printed
(issue 16's target: at least 50%), with the load average before and after: the machine is
shared. Beside that wall-clock share, the CPU share compares the verifier's MB per CPU
second with one ``openssl speed`` process (which divides by its own CPU time): the figure
the neighbours' load moves least.

With ``--command`` it measures instead the user-facing path, ``verify --chain-only``
(``cli_chain.verify_chain_only``: the source opened by ``sources.chain_batches``, every
batch through the loader's conform, the streamed verifier), each in a fresh child, with its
peak RSS: on the cached chain as a canonical Parquet folder (its three files linked beside
empty assets, accounts and balances files) at every size, written into a SQLite ledger at each
of ``--sqlite-sizes`` (cached beside it), stored in reverse order at each of
``--reversed-sizes`` (no file in chain order: both go through the buckets on disk), on each
``--sqlite`` ledger given, and
for comparison the frames path (``load_ledger`` then ``verify_chain``: what ``verify``'s
chain check holds) on the sources of at most ``--frames-up-to`` versions (default 1M).

Usage::

    python benchmarks/bench_chain.py                      # sizes 1M and 10M
    python benchmarks/bench_chain.py --sizes 1000000 --reference-rows 200000 --repeat 3
    python benchmarks/bench_chain.py --sizes 10000000 --reference-rows 200000 --repeat 1
    python benchmarks/bench_chain.py --command --sizes 1000000 10000000 --sqlite-sizes 1000000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import polars as pl
from proc_memory import status_mib

from ledger_audit.checks import chain_json
from ledger_audit.checks.chain import verify_chain
from ledger_audit.checks.chain_hashes import content_hashes, payload_chunks
from ledger_audit.checks.chain_stream import STREAM_COLUMNS, verify_chain_streamed
from ledger_audit.schema import lach1
from ledger_audit.schema.frames import ENTRIES, FRAME_SCHEMAS, LEDGERS, TRANSACTIONS

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "data" / "bench"
T0 = 1_735_689_600_000_000_000
LEDGER_IDS = ("main", "cards")
LINK_BYTES = len(f"{lach1.ALGORITHM} link\n") + 64 + 1 + 64
DEFAULT_REFERENCE_ROWS = 1_000_000
GENERATE_CHUNK = 1_000_000

# --------------------------------------------------------------------------- generation


def _unsealed(n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """N versions (chain fields empty) and their entries; ~20% are posted second versions."""
    base = pl.DataFrame({"i": pl.int_range(n, eager=True)}).with_columns(
        ledger_id=pl.when(pl.col("i") % 3 == 0).then(pl.lit("cards")).otherwise(pl.lit("main")),
        second=(pl.col("i").hash(seed=1) % 5 == 0) & (pl.col("i") > 0),
    )
    tx = base.with_columns(
        transaction_id=pl.format(
            "tx-{}",
            pl.when("second").then(pl.col("i") - 1).otherwise("i").cast(pl.String).str.zfill(10),
        ),
        version=pl.col("second").cast(pl.Int32),
        kind=pl.when("second").then(pl.lit("pending")).otherwise(pl.lit("standard")),
        status=pl.lit("posted"),
        pending_transaction_id=pl.lit(None, pl.String),
        reverses_transaction_id=pl.lit(None, pl.String),
        effective_ns=pl.lit(T0) + pl.col("i") * 1_000_003,
        recorded_ns=pl.lit(T0) + pl.col("i") * 1_000_003 + 17,
        idempotency_key=pl.when(pl.col("i") % 4 != 0).then(pl.format("ik-{}", "i")),
        external_id=pl.when(pl.col("i") % 7 == 0).then(pl.format('card "{}"\tauth', "i")),
        description=pl.format("payment {}", "i"),
        metadata=pl.lit(None, pl.String),
        meta_hash=pl.lit(None, pl.String),
    )
    # The first version of a transaction that gets a second one is pending.
    tx = tx.with_columns(
        kind=pl.when(pl.col("second").shift(-1).fill_null(value=False))
        .then(pl.lit("pending"))
        .otherwise("kind"),
        status=pl.when(pl.col("second").shift(-1).fill_null(value=False))
        .then(pl.lit("pending"))
        .otherwise("status"),
        # a second version belongs to the same ledger as its first
        ledger_id=pl.when("second").then(pl.col("ledger_id").shift(1)).otherwise("ledger_id"),
    ).with_columns(
        chain_seq=pl.int_range(1, pl.len() + 1).over("ledger_id").cast(pl.Int64),
        chain_prev_hash=pl.lit(None, pl.String),
        content_hash=pl.lit(None, pl.String),
        chain_hash=pl.lit(None, pl.String),
    )
    legs = pl.when(pl.col("i").hash(seed=2) % 10 < 3).then(4).otherwise(2)
    amount = (pl.col("i").hash(seed=3) % 10_000_000 + 1).cast(pl.Int64)
    entries = (
        tx.select("ledger_id", "transaction_id", "version", "i", legs=legs, a=amount)
        .with_columns(entry_index=pl.int_ranges(0, "legs", dtype=pl.Int32))
        .explode("entry_index")
        .with_columns(
            account_id=pl.format(
                "liabilities:wallet:{}", (pl.col("i") * 7 + pl.col("entry_index")) % 5000
            ),
            asset_id=pl.when(pl.col("entry_index") < 2)
            .then(pl.lit("USD/2"))
            .otherwise(pl.lit("EUR/2")),
            direction=pl.when(pl.col("entry_index") % 2 == 0)
            .then(pl.lit("debit"))
            .otherwise(pl.lit("credit")),
            amount=pl.col("a") + pl.col("entry_index") // 2,
        )
    )
    return (
        tx.select(list(TRANSACTIONS)).cast(pl.Schema(TRANSACTIONS)),
        entries.select(list(ENTRIES)).cast(pl.Schema(ENTRIES)),
    )


def generate(n: int, folder: Path) -> None:
    """Seal and cache a chain of ``n`` rows (contents in parallel, links in a Python loop)."""
    started = time.perf_counter()
    tx, entries = _unsealed(n)
    tx = tx.sort("ledger_id", "chain_seq")
    content = content_hashes(tx, entries)
    heads = {lid: lach1.genesis(lid) for lid in LEDGER_IDS}
    prev_parts: list[pl.Series] = []
    link_parts: list[pl.Series] = []
    for start in range(0, n, GENERATE_CHUNK):  # Python lists of one chunk at a time
        prevs: list[str] = []
        links: list[str] = []
        ids = tx["ledger_id"].slice(start, GENERATE_CHUNK).to_list()
        for lid, c in zip(ids, content.slice(start, GENERATE_CHUNK).to_list(), strict=True):
            prev = heads[lid]
            link = hashlib.sha256(f"{lach1.ALGORITHM} link\n{prev}\n{c}".encode()).hexdigest()
            prevs.append(prev)
            links.append(link)
            heads[lid] = link
        prev_parts.append(pl.Series(prevs, dtype=pl.String))
        link_parts.append(pl.Series(links, dtype=pl.String))
    tx = tx.with_columns(
        chain_prev_hash=pl.concat(prev_parts),
        content_hash=content,
        chain_hash=pl.concat(link_parts),
    ).sort("ledger_id", "transaction_id", "version")
    del prev_parts, link_parts, content
    ledgers = pl.DataFrame(
        {
            "ledger_id": sorted(LEDGER_IDS),
            "name": sorted(LEDGER_IDS),
            "chain_algorithm": [lach1.ALGORITHM] * 2,
            "created_ns": [T0, T0],
            "metadata": [None, None],
        },
        schema=LEDGERS,
    )
    folder.mkdir(parents=True, exist_ok=True)
    tx.write_parquet(folder / "transactions.parquet")
    entries.sort("ledger_id", "transaction_id", "version", "entry_index").write_parquet(
        folder / "entries.parquet"
    )
    ledgers.write_parquet(folder / "ledgers.parquet")
    print(
        f"generated and sealed {n:,} versions ({entries.height:,} entries) in "
        f"{time.perf_counter() - started:.1f}s -> {folder}"
    )


# --------------------------------------------------------------------------- workers


def _load(folder: Path, limit: int | None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    tx = pl.read_parquet(folder / "transactions.parquet")
    entries = pl.read_parquet(folder / "entries.parquet")
    if limit is not None and limit < tx.height:
        # A prefix of every chain (seq <= k) is itself a valid chain.
        cut = limit // len(LEDGER_IDS)
        tx = tx.filter(pl.col("chain_seq") <= cut)
        entries = entries.join(
            tx.select("ledger_id", "transaction_id", "version"),
            on=["ledger_id", "transaction_id", "version"],
            how="semi",
        )
    return tx, entries, pl.read_parquet(folder / "ledgers.parquet")


STREAM_ROWS = 250_000
"""Versions per batch of the streamed verifier (entries: the same number of rows a batch)."""


def _slices(path: Path, columns: tuple[str, ...] | None, rows: int) -> Iterator[pl.DataFrame]:
    """A Parquet file ``rows`` rows at a time, in file order.

    ``scan_parquet(...).slice(...)`` reads only the row groups a slice needs; pyarrow's
    ``iter_batches`` kept about 30 MiB of every batch in its pool (1.2 GiB after 24 batches).
    """
    scan = pl.scan_parquet(path)
    if columns is not None:
        scan = scan.select(columns)
    total = scan.select(pl.len()).collect().item()
    for start in range(0, total, rows):
        yield scan.slice(start, rows).collect()


def _jit_warm_up(tx: pl.DataFrame, entries: pl.DataFrame) -> float:
    """CPU seconds to import numba and load the compiled kernel (done once per process)."""
    cpu = time.process_time()
    if tx.height >= chain_json.JIT_MIN_ROWS and chain_json.kernel() is not None:
        before = chain_json.JIT_MIN_ROWS
        chain_json.JIT_MIN_ROWS = 0
        content_hashes(tx.head(2), entries.head(8))
        chain_json.JIT_MIN_ROWS = before
    return time.process_time() - cpu


def streamed_worker(folder: Path) -> None:
    """Time the streamed verifier (Parquet read a batch at a time) in this fresh process."""

    def load() -> tuple[pl.DataFrame, pl.DataFrame]:
        return (
            pl.read_parquet(folder / "transactions.parquet"),
            pl.read_parquet(folder / "entries.parquet"),
        )

    ledgers = pl.read_parquet(folder / "ledgers.parquet")
    start, cpu = time.perf_counter(), time.process_time()
    result = verify_chain_streamed(
        _slices(folder / "transactions.parquet", STREAM_COLUMNS, STREAM_ROWS),
        _slices(folder / "entries.parquet", None, STREAM_ROWS),
        ledgers,
        load,
    )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "rows": result.report.rows_checked,
                "streamed": result.streamed,
                "findings": result.report.findings.height,
                "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


def command_worker(method: str, source: str) -> None:
    """Time ``verify --chain-only``'s path (or the frames path) on ``source``; a JSON line."""
    from ledger_audit.cli_chain import verify_chain_only  # noqa: PLC0415
    from ledger_audit.sources.load import load_ledger  # noqa: PLC0415

    start, cpu = time.perf_counter(), time.process_time()
    if method == "command-stream":
        run = verify_chain_only(source)
        rows, streamed, findings = run.versions, run.streamed, run.result.findings.height
    else:
        frames, _ = load_ledger(source)
        report = verify_chain(frames.transactions, frames.entries, frames.ledgers)
        rows, streamed, findings = report.rows_checked, False, report.findings.height
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - start,
                "cpu": time.process_time() - cpu,
                "rows": rows,
                "streamed": streamed,
                "findings": findings,
                # VmHWM: ru_maxrss carries the forking parent's peak across exec on Linux
                "peak_kib": status_mib(os.getpid())["VmHWM"] * 1024,
            }
        )
    )


def canonical_folder(n: int) -> Path:
    """The cached chain as a canonical ledger folder: its files linked, the rest empty."""
    cached = CACHE / f"chain-{n}"
    if not (cached / "ledgers.parquet").exists():
        subprocess.run([sys.executable, __file__, "--generate", str(n)], check=True)
    folder = CACHE / f"chain-{n}-canonical"
    folder.mkdir(parents=True, exist_ok=True)
    for table in ("ledgers", "transactions", "entries"):
        link = folder / f"{table}.parquet"
        if not link.exists():
            link.symlink_to(cached / f"{table}.parquet")
    for table in ("assets", "accounts", "balances"):
        pl.DataFrame(schema=FRAME_SCHEMAS[table]).write_parquet(folder / f"{table}.parquet")
    return folder


def reversed_folder(n: int) -> Path:
    """The canonical folder with transactions and entries stored in reverse chain order.

    No file is then in chain order: ``sources.chain_batches`` distributes both into buckets
    on disk (the path a folder sorted by anything but (ledger, chain_seq) takes).
    """
    import pyarrow.parquet as pq  # noqa: PLC0415

    source = canonical_folder(n)
    folder = CACHE / f"chain-{n}-reversed"
    folder.mkdir(parents=True, exist_ok=True)
    for table in ("ledgers", "assets", "accounts", "balances"):
        link = folder / f"{table}.parquet"
        if not link.exists():
            link.symlink_to((source / f"{table}.parquet").resolve())
    for table in ("transactions", "entries"):
        target = folder / f"{table}.parquet"
        if target.exists():
            continue
        scan = pl.scan_parquet(source / f"{table}.parquet")
        total = scan.select(pl.len()).collect().item()
        partial = target.with_suffix(".partial")
        writer: pq.ParquetWriter | None = None
        for end in range(total, 0, -GENERATE_CHUNK):
            start = max(0, end - GENERATE_CHUNK)
            chunk = scan.slice(start, end - start).collect().reverse().to_arrow()
            writer = writer or pq.ParquetWriter(partial, chunk.schema)
            writer.write_table(chunk)
        if writer is not None:
            writer.close()
        partial.rename(target)
    return folder


def sqlite_copy(n: int) -> Path:
    """The cached chain written once into a SQLite ledger (the schema's DDL, ADBC ingest)."""
    import adbc_driver_sqlite.dbapi  # noqa: PLC0415
    import sqlalchemy as sa  # noqa: PLC0415
    from sqlalchemy.pool import NullPool  # noqa: PLC0415

    from ledger_audit.schema.ddl import create_schema  # noqa: PLC0415

    path = CACHE / f"chain-{n}.sqlite"
    if path.exists():
        return path
    folder = canonical_folder(n)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    engine = sa.create_engine(f"sqlite:///{partial}", poolclass=NullPool)
    create_schema(engine)
    engine.dispose()
    with adbc_driver_sqlite.dbapi.connect(str(partial)) as conn:
        cursor = conn.cursor()
        for table in ("ledgers", "transactions", "entries"):
            scan = pl.scan_parquet(folder / f"{table}.parquet")
            total = scan.select(pl.len()).collect().item()
            for start in range(0, total, GENERATE_CHUNK):
                chunk = scan.slice(start, GENERATE_CHUNK).collect()
                cursor.adbc_ingest(table, chunk.to_arrow(), mode="append")
        cursor.close()
        conn.commit()
    partial.rename(path)
    return path


def bench_command(
    sizes: list[int],
    sqlite: list[Path],
    frames_up_to: int,
    sqlite_sizes: list[int],
    reversed_sizes: list[int],
) -> None:
    """``verify --chain-only`` beside the frames path, each in a fresh child."""
    sources = [(f"Parquet folder, {n:,} versions", str(canonical_folder(n)), n) for n in sizes]
    sources += [
        (f"Parquet folder in reverse order, {n:,} versions", str(reversed_folder(n)), n)
        for n in reversed_sizes
    ]
    sqlite = [*(sqlite_copy(n) for n in sqlite_sizes), *sqlite]
    for path in sqlite:
        with closing(sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)) as conn:
            versions = int(conn.execute("SELECT count(*) FROM transactions").fetchone()[0])
        sources.append((f"SQLite {path}, {versions:,} versions", str(path), versions))
    print(f"load average (1, 5, 15 min) before: {_load_average()}")
    header = f"{'source':<72} {'path':<15} {'seconds':>8} {'CPU s':>7} {'streamed':>8}"
    print(f"{header} {'findings':>8} {'peak RSS MiB':>13}")
    for label, source, versions in sources:
        methods = ["command-stream"]
        if versions <= frames_up_to:
            methods.append("command-frames")
        for method in methods:
            args = [sys.executable, __file__, "--worker", method, source]
            done = subprocess.run(args, check=True, capture_output=True, text=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            how = "--chain-only" if method == "command-stream" else "frames"
            print(
                f"{label:<72} {how:<15} {r['seconds']:>8.1f} {r['cpu']:>7.1f} "
                f"{r['streamed']!s:>8} {r['findings']:>8} {r['peak_kib'] / 1024:>13,.0f}"
            )
    print(f"load average (1, 5, 15 min) after: {_load_average()}")


def worker(method: str, folder: Path, limit: int | None) -> None:
    """Time one verifier in this fresh process; print a JSON line."""
    if method.startswith("command-"):
        command_worker(method, str(folder))
        return
    if method == "streamed":
        streamed_worker(folder)
        return
    tx, entries, ledgers = _load(folder, limit)
    jit_load = _jit_warm_up(tx, entries) if method == "vectorised" else 0.0
    loaded = tx.estimated_size() + entries.estimated_size()
    start, cpu = time.perf_counter(), time.process_time()
    report = verify_chain(tx, entries, ledgers, reference=method == "reference")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # after the clock stops, chunk by chunk (all payloads of 10M rows would take gigabytes)
    payload_bytes = sum(int(chunk.str.len_bytes().sum()) for chunk in payload_chunks(tx, entries))
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "loaded_bytes": loaded,
                "rows": tx.height,
                "bytes": payload_bytes + LINK_BYTES * tx.height,
                "findings": report.findings.height,
                "peak_kib": peak_kib,
                "jit_load": jit_load,
            }
        )
    )


def run(method: str, folder: Path, limit: int | None) -> dict[str, float]:
    args = [sys.executable, __file__, "--worker", method, str(folder)]
    if limit is not None:
        args += ["--limit", str(limit)]
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- driver


def openssl_sha256(message_bytes: int, cores: int) -> float | None:
    """MB/s of ``openssl speed -multi CORES`` for SHA-256 at ``message_bytes`` (None: no openssl).

    The hardware figure the issue compares with: OpenSSL's own SHA-256 (SHA-NI where the CPU
    has it) hashing messages of the chain's mean size, on all cores, in this run. With
    ``cores`` 1 it runs one process without ``-multi``: OpenSSL divides by its user CPU
    time, so that is its MB per CPU second, the figure the verifier's CPU share compares with.
    """
    command = ["openssl", "speed", "-seconds", "3", "-bytes", str(message_bytes)]
    command += ["-multi", str(cores), "sha256"] if cores > 1 else ["sha256"]
    try:
        done = subprocess.run(command, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    for line in done.stdout.splitlines():
        # the summary row: "sha256  <rate>k" (thousands of bytes per second)
        fields = line.split()
        if len(fields) == 2 and fields[0] == "sha256" and fields[1].endswith("k"):
            return float(fields[1][:-1]) * 1_000 / 1e6
    return None


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text(encoding="ascii").split()[:3])
    except OSError:
        return "unknown"


def bench(n: int, reference_rows: int, repeat: int, *, streamed: bool) -> None:
    folder = CACHE / f"chain-{n}"
    if not (folder / "ledgers.parquet").exists():
        subprocess.run([sys.executable, __file__, "--generate", str(n)], check=True)
    load_before = _load_average()
    runs = [run("vectorised", folder, None) for _ in range(max(1, repeat))]
    fast = min(runs, key=lambda r: r["seconds"])
    stream = run("streamed", folder, None) if streamed else None
    limit = reference_rows if reference_rows < n else None
    slow = run("reference", folder, limit)
    scale = fast["rows"] / slow["rows"]
    slow_seconds = slow["seconds"] * scale
    label = "hashlib loop" + (
        f" (measured on {int(slow['rows']):,} rows, extrapolated)" if limit else ""
    )
    print(f"\nchain of {int(fast['rows']):,} versions, {fast['bytes'] / 1e6:,.0f} MB hashed")
    header = f"{'method':<58} {'seconds':>9} {'rows/s':>12} {'MB/s':>8} {'findings':>8}"
    print(f"{header} {'peak RSS MiB':>13}")
    rows = [("vectorised (numba payloads + polars-hash)", fast, fast["seconds"])]
    if stream is not None:
        rows.append(
            ("streamed from Parquet (batches, reading included)", stream, stream["seconds"])
        )
    rows.append((label, slow, slow_seconds))
    for name, result, seconds in rows:
        rows_s = fast["rows"] / seconds
        mb_s = fast["bytes"] / 1e6 / seconds
        print(
            f"{name:<58} {seconds:>9.2f} {rows_s:>12,.0f} {mb_s:>8,.0f} "
            f"{int(result['findings']):>8} {result['peak_kib'] / 1024:>13,.0f}"
        )
    times = ", ".join(f"{r['seconds']:.2f}" for r in runs)
    cpus = ", ".join(f"{r['cpu']:.2f}" for r in runs)
    print(
        f"vectorised: best of {len(runs)} runs ({times} s; CPU {cpus} s), CPU {fast['cpu']:.2f} s "
        f"in the best run, plus {fast['jit_load']:.2f} CPU s before it to import numba and load "
        f"the cached kernel; loaded frames {fast['loaded_bytes'] / 2**20:,.0f} MiB, "
        f"peak RSS {max(r['peak_kib'] for r in runs) / 1024:,.0f} MiB at most"
    )
    if stream is not None:
        print(
            f"streamed: {stream['seconds']:.2f} s, CPU {stream['cpu']:.2f} s (Parquet decoding "
            f"and the kernel's load included), peak RSS {stream['peak_kib'] / 1024:,.0f} MiB "
            f"(target: 2 GiB), proven by the stream alone: {bool(stream['streamed'])}"
        )
    print(f"speed-up: {slow_seconds / fast['seconds']:.1f}x (goal: at least 5x)")
    cores = os.cpu_count() or 1
    mean_bytes = round(fast["bytes"] / fast["rows"] / 2)  # two messages per row: content, link
    hardware = openssl_sha256(mean_bytes, cores)
    one_core = openssl_sha256(mean_bytes, 1)
    ours = fast["bytes"] / 1e6 / fast["seconds"]
    per_cpu = fast["bytes"] / 1e6 / min(r["cpu"] for r in runs)
    if hardware is None or one_core is None:
        print("openssl speed: not available, no hardware comparison")
    else:
        print(
            f"openssl speed sha256, {cores} cores, {mean_bytes}-byte messages: "
            f"{hardware:,.0f} MB/s; vectorised verification {ours:,.0f} MB/s wall = "
            f"{100 * ours / hardware:.0f}% (target: at least 50%)"
        )
        print(
            f"openssl speed sha256, one process: {one_core:,.0f} MB per CPU second; "
            f"vectorised verification {per_cpu:,.0f} MB per CPU second (best run) = "
            f"{100 * per_cpu / one_core:.0f}% of it; with the kernel's load "
            f"{100 * fast['bytes'] / 1e6 / (fast['cpu'] + fast['jit_load']) / one_core:.0f}%"
        )
    if limit:
        print(f"(hashlib loop measured: {slow['seconds']:.2f}s for {int(slow['rows']):,} rows)")
    print(f"load average (1, 5, 15 min): before {load_before}, after {_load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--reference-rows", type=int, default=DEFAULT_REFERENCE_ROWS)
    parser.add_argument(
        "--repeat", type=int, default=3, help="vectorised runs per size (best kept)"
    )
    parser.add_argument(
        "--no-streamed", action="store_true", help="skip the streamed verifier's run"
    )
    parser.add_argument(
        "--command",
        action="store_true",
        help="measure verify --chain-only (and the frames path) instead of the verifiers",
    )
    parser.add_argument(
        "--sqlite", type=Path, nargs="*", default=[], help="with --command: SQLite ledgers too"
    )
    parser.add_argument(
        "--sqlite-sizes",
        type=int,
        nargs="*",
        default=[],
        help="with --command: the cached chains of these sizes written into SQLite ledgers too",
    )
    parser.add_argument(
        "--reversed-sizes",
        type=int,
        nargs="*",
        default=[],
        help="with --command: the cached chains of these sizes stored in reverse order too",
    )
    parser.add_argument(
        "--frames-up-to",
        type=int,
        default=1_000_000,
        help="with --command: run the frames path on sources of at most this many versions",
    )
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]), args.limit)
        return
    if args.generate:
        generate(args.generate, CACHE / f"chain-{args.generate}")
        return
    if args.command:
        bench_command(
            args.sizes, args.sqlite, args.frames_up_to, args.sqlite_sizes, args.reversed_sizes
        )
        return
    for n in args.sizes:
        bench(n, args.reference_rows, args.repeat, streamed=not args.no_streamed)


if __name__ == "__main__":
    os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 1))
    main()
