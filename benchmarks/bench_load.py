"""Benchmark: loading a large ledger into frames, from SQLite, PostgreSQL, Parquet and CSV.

Generates N synthetic transactions (about 2.7 entries each) with polars, bulk-loads them
(SQLite: ADBC ingest; PostgreSQL: COPY; Parquet/CSV: the snapshot writer), then times each
read method in a fresh subprocess and prints rows/s and the subprocess's peak RSS:

- ``load_ledger``: the package's loader (ADBC -> Arrow batches -> polars -> conform -> sort);
- ``adbc-arrow``: ADBC fetch of the six tables to Arrow only (the loader's I/O floor);
- ``connectorx``: connectorx to Arrow (no single snapshot across tables, see database.py);
- ``cursor-fetchall``: a plain DB-API cursor, all rows as Python tuples (sqlite3 / psycopg);
- ``cursor-frames``: a plain DB-API cursor, fetchmany batches turned into polars frames;
- ``read-parquet`` / ``read-csv``: polars readers without conform (file baselines).

Usage::

    python benchmarks/bench_load.py --transactions 1000000
    python benchmarks/bench_load.py --transactions 20000 --pg-url postgresql://u@host/db

The SHA-256 of the frames each ``load_ledger`` run produced is compared across sources.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ledger_audit.exports.snapshot import write_ledger_snapshot
from ledger_audit.schema.ddl import create_schema
from ledger_audit.schema.frames import FRAME_SCHEMAS, KEYS
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources import LedgerFrames, load_ledger

T0 = 1_735_689_600_000_000_000
ACCOUNTS_PER_LEDGER = 1_000
FETCH_ROWS = 65_536
LEDGERS = ("L1", "L2")
ASSETS = ("USD/2", "EUR/2", "JPY/0")

# --------------------------------------------------------------------------- generation


def _hash_text(seed: int) -> pl.Expr:
    """A 64-character pseudo hash per row, deterministic and fast (not a real digest)."""
    parts = [
        pl.col("i").hash(seed=seed + k).cast(pl.String).str.pad_start(20, "0") for k in range(4)
    ]
    return pl.concat_str(parts).str.slice(0, 64)


def generate(n_transactions: int, seed: int = 7) -> LedgerFrames:
    """Synthetic canonical frames: ~25% of transactions have two versions, ~15% three legs."""
    ledgers = pl.DataFrame(
        {
            "ledger_id": list(LEDGERS),
            "name": ["Main", "Side"],
            "chain_algorithm": ["lach/1", "lach/1"],
            "created_ns": [T0, T0],
            "metadata": ['{"region": "eu"}', None],
        },
        schema=FRAME_SCHEMAS["ledgers"],
    )
    assets = pl.DataFrame(
        {
            "asset_id": list(ASSETS),
            "code": [a.split("/")[0] for a in ASSETS],
            "scale": [int(a.split("/")[1]) for a in ASSETS],
            "kind": ["fiat"] * 3,
        },
        schema=FRAME_SCHEMAS["assets"],
    )
    accounts = (
        pl.DataFrame({"ledger_id": list(LEDGERS)})
        .join(pl.DataFrame({"k": range(ACCOUNTS_PER_LEDGER)}), how="cross")
        .select(
            "ledger_id",
            account_id=pl.format("acct:{}", "k"),
            name=pl.format("account {}", "k"),
            normal_balance=pl.when(pl.col("k") % 2 == 0)
            .then(pl.lit("debit"))
            .otherwise(pl.lit("credit")),
            asset_id=pl.when(pl.col("k") == 0).then(None).otherwise(pl.lit("USD/2")),
            allow_negative=pl.col("k") % 3 != 0,
            opened_ns=pl.lit(T0),
            closed_ns=pl.lit(None, pl.Int64),
            external_id=pl.format("ext-{}", "k"),
            metadata=pl.lit(None, pl.String),
        )
        .cast(pl.Schema(FRAME_SCHEMAS["accounts"]))
    )
    base = pl.DataFrame({"i": pl.int_range(n_transactions, eager=True)}).with_columns(
        ledger_id=pl.when(pl.col("i") % 2 == 0).then(pl.lit("L1")).otherwise(pl.lit("L2")),
        transaction_id=pl.format("tx-{}", pl.col("i").cast(pl.String).str.pad_start(9, "0")),
        two=(pl.col("i").hash(seed=seed) % 4 == 0),
    )
    versions = pl.concat(
        [
            base.with_columns(version=pl.lit(0, pl.Int32)),
            base.filter("two").with_columns(version=pl.lit(1, pl.Int32)),
        ]
    ).sort("ledger_id", "i", "version")
    transactions = versions.with_columns(
        kind=pl.when("two").then(pl.lit("pending")).otherwise(pl.lit("standard")),
        status=pl.when(pl.col("two") & (pl.col("version") == 0))
        .then(pl.lit("pending"))
        .otherwise(pl.lit("posted")),
        pending_transaction_id=pl.when(pl.col("version") == 1).then("transaction_id"),
        reverses_transaction_id=pl.lit(None, pl.String),
        effective_ns=pl.lit(T0) + pl.col("i") * 1_000_000_000,
        recorded_ns=pl.lit(T0) + pl.col("i") * 1_000_000_000 + pl.col("version") * 1_000,
        idempotency_key=pl.when(pl.col("i") % 2 == 0).then(pl.format("ik-{}", "i")),
        external_id=pl.when(pl.col("i") % 10 == 0).then(pl.format("ext-{}", "i")),
        description=pl.format("payment {}", "i"),
        metadata=pl.lit('{"channel": "api"}'),
        meta_hash=_hash_text(1),
        chain_seq=pl.int_range(1, pl.len() + 1).over("ledger_id").cast(pl.Int64),
        chain_prev_hash=_hash_text(2),
        content_hash=_hash_text(3),
        chain_hash=_hash_text(4),
    )
    legs = pl.when(pl.col("i").hash(seed=seed + 1) % 100 < 15).then(3).otherwise(2)
    amount = (pl.col("i").hash(seed=seed + 2) % 10_000_000 + 100).cast(pl.Int64)
    entries = (
        transactions.select("ledger_id", "transaction_id", "version", "i", legs=legs, a=amount)
        .with_columns(entry_index=pl.int_ranges(0, "legs", dtype=pl.Int32))
        .explode("entry_index")
        .with_columns(
            account_id=pl.format(
                "acct:{}",
                ((pl.col("i") * 7 + pl.col("entry_index") * 13) % ACCOUNTS_PER_LEDGER),
            ),
            asset_id=pl.lit("USD/2"),
            direction=pl.when(pl.col("entry_index") == 0)
            .then(pl.lit("debit"))
            .otherwise(pl.lit("credit")),
            amount=pl.when((pl.col("entry_index") == 0) | (pl.col("legs") == 2))
            .then("a")
            .when(pl.col("entry_index") == 1)
            .then(pl.col("a") - pl.col("a") // 3)
            .otherwise(pl.col("a") // 3),
        )
    )
    balances = accounts.select(
        "ledger_id",
        "account_id",
        asset_id=pl.lit("USD/2"),
        posted_debits=pl.lit(0, pl.Int64),
        posted_credits=pl.lit(0, pl.Int64),
        pending_debits=pl.lit(0, pl.Int64),
        pending_credits=pl.lit(0, pl.Int64),
        as_of_ns=pl.lit(T0),
        lock_version=pl.lit(1, pl.Int64),
    )
    frames = {
        "ledgers": ledgers,
        "assets": assets,
        "accounts": accounts,
        "transactions": transactions,
        "entries": entries,
        "balances": balances,
    }
    return LedgerFrames.from_tables(
        {
            table: frame.select(list(FRAME_SCHEMAS[table]))
            .cast(pl.Schema(FRAME_SCHEMAS[table]))
            .sort(list(KEYS[table]))
            for table, frame in frames.items()
        }
    )


def write_sqlite(frames: LedgerFrames, path: Path) -> None:
    """Create the schema with SQLAlchemy, then bulk-load with ADBC ingest (Arrow, no tuples)."""
    import adbc_driver_sqlite.dbapi  # noqa: PLC0415

    engine = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)
    create_schema(engine)
    engine.dispose()
    with adbc_driver_sqlite.dbapi.connect(str(path)) as conn:
        cursor = conn.cursor()
        for table, frame in frames.items():
            cursor.adbc_ingest(table, frame.to_arrow(), mode="append")
        cursor.close()
        conn.commit()


def write_postgres(frames: LedgerFrames, url: str) -> None:
    """Create the schema with SQLAlchemy, then COPY each table in CSV chunks."""
    import psycopg  # noqa: PLC0415

    engine = sa.create_engine(url, poolclass=NullPool)
    create_schema(engine)
    engine.dispose()
    conninfo = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        for table, frame in frames.items():
            columns = ", ".join(frame.columns)
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy,
            ):
                for chunk in frame.iter_slices(200_000):
                    buffer = io.BytesIO()
                    chunk.write_csv(buffer, include_header=False)
                    copy.write(buffer.getvalue())
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM (FREEZE, ANALYZE)")  # set hint bits now, not during the reads


# --------------------------------------------------------------------------- read methods


def _libpq(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _select(table: str) -> str:
    return f"SELECT {', '.join(FRAME_SCHEMAS[table])} FROM {table}"


def frames_digest(frames: LedgerFrames) -> str:
    """SHA-256 over dtypes and row hashes, in order: equal digests mean equal frames."""
    digest = hashlib.sha256()
    for table, frame in frames.items():
        digest.update(f"{table}:{frame.schema}".encode())
        digest.update(frame.hash_rows(seed=0).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def m_load_ledger(source: str) -> tuple[int, LedgerFrames | None]:
    frames, report = load_ledger(source)
    return sum(count.read for count in report.counts), frames


def m_adbc_arrow(source: str) -> tuple[int, LedgerFrames | None]:
    if source.startswith("sqlite"):
        import adbc_driver_sqlite.dbapi as driver  # noqa: PLC0415

        conn = driver.connect(
            Path(sa.make_url(source).database or "").resolve().as_uri() + "?mode=ro"
        )
    else:
        import adbc_driver_postgresql.dbapi as driver  # type: ignore[no-redef]  # noqa: PLC0415

        conn = driver.connect(_libpq(source))
    rows = 0
    tables = []
    with conn:
        cursor = conn.cursor()
        for table in CANONICAL_TABLES:
            cursor.execute(_select(table))
            tables.append(cursor.fetch_arrow_table())
            rows += tables[-1].num_rows
        cursor.close()
    return rows, None


def m_connectorx(source: str) -> tuple[int, LedgerFrames | None]:
    import connectorx as cx  # noqa: PLC0415

    conn = source if source.startswith("sqlite") else _libpq(source)
    rows = 0
    for table in CANONICAL_TABLES:
        frame = pl.DataFrame(cx.read_sql(conn, _select(table), return_type="arrow"))
        rows += frame.height
    return rows, None


def _fetch_tuples(source: str, *, keep_all: bool) -> int:
    """A plain DB-API cursor: sqlite3, or psycopg with a server-side (named) cursor.

    ``keep_all``: fetchall and keep every tuple; else fetchmany batches become polars frames.
    """
    if source.startswith("sqlite"):
        import sqlite3  # noqa: PLC0415

        path = Path(sa.make_url(source).database or "").resolve()
        conn: Any = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    else:
        import psycopg  # noqa: PLC0415

        conn = psycopg.connect(_libpq(source))
    held: list[Any] = []
    for table in CANONICAL_TABLES:
        cursor = conn.cursor() if source.startswith("sqlite") else conn.cursor(name=table)
        cursor.execute(_select(table))
        if keep_all:
            held.append(cursor.fetchall())
        else:
            parts = []
            while batch := cursor.fetchmany(FETCH_ROWS):
                parts.append(pl.DataFrame(batch, schema=list(FRAME_SCHEMAS[table]), orient="row"))
            held.append(pl.concat(parts) if parts else pl.DataFrame())
        cursor.close()
    conn.close()
    return sum(len(part) for part in held)


def m_cursor_fetchall(source: str) -> tuple[int, LedgerFrames | None]:
    return _fetch_tuples(source, keep_all=True), None


def m_cursor_frames(source: str) -> tuple[int, LedgerFrames | None]:
    return _fetch_tuples(source, keep_all=False), None


def m_read_files(source: str) -> tuple[int, LedgerFrames | None]:
    folder = Path(source)
    fmt = "parquet" if (folder / "ledgers.parquet").exists() else "csv"
    rows = 0
    for table in CANONICAL_TABLES:
        path = folder / f"{table}.{fmt}"
        frame = pl.read_parquet(path) if fmt == "parquet" else pl.read_csv(path, infer_schema=False)
        rows += frame.height
    return rows, None


def m_baseline(source: str) -> tuple[int, LedgerFrames | None]:  # noqa: ARG001 - same signature as the others
    return 0, None


METHODS: dict[str, Callable[[str], tuple[int, LedgerFrames | None]]] = {
    "baseline": m_baseline,
    "load_ledger": m_load_ledger,
    "adbc-arrow": m_adbc_arrow,
    "connectorx": m_connectorx,
    "cursor-fetchall": m_cursor_fetchall,
    "cursor-frames": m_cursor_frames,
    "read-files": m_read_files,
}


def worker(method: str, source: str) -> None:
    """Run one method in this (fresh) process and print seconds, rows and peak RSS as JSON."""
    import sqlite3  # noqa: F401, PLC0415 - import cost is not read cost

    import adbc_driver_postgresql.dbapi  # noqa: F401, PLC0415
    import adbc_driver_sqlite.dbapi  # noqa: F401, PLC0415
    import connectorx  # noqa: F401, PLC0415
    import psycopg  # noqa: F401, PLC0415

    start = time.perf_counter()
    rows, frames = METHODS[method](source)
    seconds = time.perf_counter() - start
    digest = frames_digest(frames) if frames is not None else ""  # after the clock stops
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_kib": peak_kib, "digest": digest}))


# --------------------------------------------------------------------------- driver


def run_method(method: str, source: str) -> dict[str, float | int | str]:
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", method, source],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float | int | str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _warm(path: Path) -> None:
    """Read files once so every method starts from the page cache, not the disk."""
    for file in [path] if path.is_file() else sorted(path.iterdir()):
        with file.open("rb") as handle:
            while handle.read(1 << 24):
                pass


def prepare(n_transactions: int, workdir: Path, pg_url: str) -> None:
    """Generate and write every source (run in its own process: see ``bench``)."""
    started = time.perf_counter()
    frames = generate(n_transactions)
    sizes = {table: frame.height for table, frame in frames.items()}
    print(
        f"generated {n_transactions:,} transactions in {time.perf_counter() - started:.1f}s: "
        + ", ".join(f"{table} {rows:,}" for table, rows in sizes.items())
        + f" (total {sum(sizes.values()):,} rows)"
    )
    sqlite_path = workdir / "ledger.sqlite"
    sqlite_path.unlink(missing_ok=True)
    started = time.perf_counter()
    write_sqlite(frames, sqlite_path)
    mib = sqlite_path.stat().st_size / 2**20
    print(f"SQLite written (ADBC ingest) in {time.perf_counter() - started:.1f}s, {mib:.0f} MiB")
    started = time.perf_counter()
    write_postgres(frames, pg_url)
    print(f"PostgreSQL written (COPY + VACUUM) in {time.perf_counter() - started:.1f}s")
    write_ledger_snapshot(frames, workdir / "parquet", "parquet")
    write_ledger_snapshot(frames, workdir / "csv", "csv")
    for path in (sqlite_path, workdir / "parquet", workdir / "csv"):
        _warm(path)


def bench(n_transactions: int, pg_url: str | None, workdir: Path, methods: list[str]) -> None:
    """Prepare the sources, then time each method in a fresh process.

    Nothing big is ever held by this process: on Linux a child's ru_maxrss starts at the
    parent's RSS at fork time, so a parent holding the generated frames would inflate every
    figure. Generation therefore runs in its own subprocess too.
    """
    server = None
    if pg_url is None:
        from ledger_audit.testing.pgserver import PostgresServer  # noqa: PLC0415

        server = PostgresServer(fsync=False, settings={"shared_buffers": "1GB"})
        server.start()
        pg_url = server.create_database("bench_load")
    try:
        subprocess.run(
            [sys.executable, __file__, "--prepare", str(n_transactions), str(workdir), pg_url],
            check=True,
        )
        sqlite_path = workdir / "ledger.sqlite"
        db_methods = ["load_ledger", "adbc-arrow", "connectorx", "cursor-fetchall", "cursor-frames"]
        sources = [
            ("sqlite", f"sqlite:///{sqlite_path}", db_methods),
            ("postgresql", pg_url, db_methods),
            ("parquet", str(workdir / "parquet"), ["load_ledger", "read-files"]),
            ("csv", str(workdir / "csv"), ["load_ledger", "read-files"]),
        ]
        baseline = run_method("baseline", "")
        base_mib = int(baseline["peak_kib"]) / 1024
        print(f"baseline process (imports only): peak RSS {base_mib:.0f} MiB\n")
        header = (
            f"{'source':<11} {'method':<16} {'seconds':>8} {'rows/s':>12} "
            f"{'peak RSS MiB':>13}  frames sha256[:16]"
        )
        print(header)
        print("-" * len(header))
        digests: dict[str, str] = {}
        for name, source, source_methods in sources:
            for method in source_methods:
                if methods and method not in methods:
                    continue
                result = run_method(method, source)
                seconds, rows = float(result["seconds"]), int(result["rows"])
                if result["digest"]:
                    digests[name] = str(result["digest"])
                print(
                    f"{name:<11} {method:<16} {seconds:>8.2f} {rows / seconds:>12,.0f} "
                    f"{int(result['peak_kib']) / 1024:>13,.0f}  {result['digest']}"
                )
        if digests:
            same = len(set(digests.values())) == 1
            verdict = "yes" if same else "NO"
            print(f"\nload_ledger frames identical across {', '.join(digests)}: {verdict}")
    finally:
        if server is not None:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument(
        "--pg-url", help="an existing empty PostgreSQL database (else one is started)"
    )
    parser.add_argument(
        "--workdir", type=Path, help="where to write the files (default: a temp dir)"
    )
    parser.add_argument("--method", action="append", default=[], choices=sorted(METHODS))
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "SOURCE"), help=argparse.SUPPRESS)
    parser.add_argument("--prepare", nargs=3, metavar=("N", "DIR", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    if args.prepare:
        n, folder, url = args.prepare
        prepare(int(n), Path(folder), url)
        return
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        bench(args.transactions, args.pg_url, args.workdir, args.method)
        return
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        bench(args.transactions, args.pg_url, Path(tmp), args.method)


if __name__ == "__main__":
    os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 1))
    main()
