"""Benchmark: a ledger loaded through a source mapping, beside its canonical load.

Generates N synthetic transactions with ``bench_load.generate`` and writes them twice, in
PostgreSQL and in a Parquet folder: once as the canonical tables, once in a foreign layout
that a home-grown ledger would have (``journal`` rows with a status word and ``timestamptz``
times, ``lines`` with a *signed NUMERIC amount in major units*, ``accounts`` with a type
word, ``balances`` in NUMERIC; in Parquet the NUMERIC columns are DECIMAL(38, 8)). Then,
each in a fresh process, it times:

- ``canonical``: ``load_ledger(source)`` on the canonical tables;
- ``mapped``: ``load_ledger(source, mapping=...)`` on the foreign layout, which converts every
  amount exactly (NUMERIC as decimal text in PostgreSQL, a DECIMAL's unscaled integer in
  Parquet), every status through a value map and every time zone.

and prints seconds, rows/s, peak RSS and the ratio mapped/canonical (the target is 1.5x or
less). The frames of both are digested: equal digests prove the mapping read back the same
ledger.

Usage::

    python benchmarks/bench_load_mapped.py --transactions 1000000
    python benchmarks/bench_load_mapped.py --transactions 20000 --pg-url postgresql://u@h/db
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from bench_load import _warm, frames_digest, generate, write_postgres

from ledger_audit.exports.snapshot import write_ledger_snapshot
from ledger_audit.sources import LedgerFrames, load_ledger

STATUS = {"posted": "APPLIED", "pending": "HOLD", "archived": "VOID"}

MAPPING = """format = "ledger-audit/mapping/1"

[ledger]
id = "{ledger}"
name = "{name}"

[assets]
from = "currencies"
code = "code"
scale = "minor_units"

[accounts]
from = "accounts"
ledger_id = "book"
id = "code"
name = "title"
normal_balance = {{ column = "side", map = {{ DR = "debit", CR = "credit" }} }}
currency = "currency"
allow_negative = "overdraft"
opened_at = "opened_at"

[transactions]
from = "journal"
ledger_id = "book"
shape = "versioned"
id = "journal_id"
version = "revision"
kind = "kind"
status = {{ column = "state", map = {{ APPLIED = "posted", HOLD = "pending", VOID = "archived" }} }}
recorded_at = "created_at"
effective_at = "effective_at"
pending_id = "hold_id"
reverses_id = "reverses_id"
idempotency_key = "idempotency_key"
external_id = "reference"
description = "memo"
metadata = "meta"

[entries]
from = "lines"
ledger_id = "book"
transaction_id = "journal_id"
version = "revision"
index = "line_no"
account = "account_code"
amount = {{ column = "amount", units = "major", sign = "debit_positive" }}
currency = "currency"

[balances]
from = "account_balances"
ledger_id = "book"
account = "account_code"
currency = "currency"
posted_debits = {{ column = "posted_dr", units = "major" }}
posted_credits = {{ column = "posted_cr", units = "major" }}
pending_debits = {{ column = "pending_dr", units = "major" }}
pending_credits = {{ column = "pending_cr", units = "major" }}
as_of = "as_of"
lock_version = "lock_version"
"""


def _major(column: str) -> pl.Expr:
    """Minor units as exact major-unit decimal text at the row's ``scale``."""
    digits = pl.col(column).abs().cast(pl.String).str.zfill(pl.col("scale") + 1)
    whole = digits.str.slice(0, digits.str.len_chars() - pl.col("scale"))
    fraction = digits.str.slice(digits.str.len_chars() - pl.col("scale"))
    text = pl.when(pl.col("scale") > 0).then(whole + "." + fraction).otherwise(whole)
    return pl.when(pl.col(column) < 0).then("-" + text).otherwise(text)


def _time(column: str) -> pl.Expr:
    return pl.from_epoch(pl.col(column), time_unit="ns").dt.replace_time_zone("UTC")


def foreign_tables(frames: LedgerFrames) -> dict[str, pl.DataFrame]:
    """The ledger as a home-grown schema would hold it (signed major-unit amounts)."""
    scales = frames.assets.select("asset_id", "code", "scale")
    entries = frames.entries.join(scales, on="asset_id", how="left")
    signed = (
        pl.when(pl.col("direction") == "debit").then(pl.col("amount")).otherwise(-pl.col("amount"))
    )
    lines = entries.with_columns(signed.alias("signed")).select(
        pl.col("ledger_id").alias("book"),
        pl.col("transaction_id").alias("journal_id"),
        pl.col("version").alias("revision"),
        pl.col("entry_index").alias("line_no"),
        pl.col("account_id").alias("account_code"),
        _major("signed").alias("amount"),
        pl.col("code").alias("currency"),
    )
    journal = frames.transactions.select(
        pl.col("ledger_id").alias("book"),
        pl.col("transaction_id").alias("journal_id"),
        pl.col("version").alias("revision"),
        "kind",
        pl.col("status").replace_strict(STATUS).alias("state"),
        _time("recorded_ns").dt.cast_time_unit("us").alias("created_at"),
        _time("effective_ns").dt.cast_time_unit("us").alias("effective_at"),
        pl.col("pending_transaction_id").alias("hold_id"),
        pl.col("reverses_transaction_id").alias("reverses_id"),
        "idempotency_key",
        pl.col("external_id").alias("reference"),
        pl.col("description").alias("memo"),
        pl.col("metadata").alias("meta"),
    )
    accounts = frames.accounts.join(scales, on="asset_id", how="left").select(
        pl.col("ledger_id").alias("book"),
        pl.col("account_id").alias("code"),
        pl.col("name").alias("title"),
        pl.col("normal_balance").replace_strict({"debit": "DR", "credit": "CR"}).alias("side"),
        pl.col("code").alias("currency"),
        pl.col("allow_negative").alias("overdraft"),
        _time("opened_ns").dt.cast_time_unit("us").alias("opened_at"),
    )
    balances = frames.balances.join(scales, on="asset_id", how="left").select(
        pl.col("ledger_id").alias("book"),
        pl.col("account_id").alias("account_code"),
        pl.col("code").alias("currency"),
        *(
            _major(column).alias(alias)
            for column, alias in (
                ("posted_debits", "posted_dr"),
                ("posted_credits", "posted_cr"),
                ("pending_debits", "pending_dr"),
                ("pending_credits", "pending_cr"),
            )
        ),
        _time("as_of_ns").dt.cast_time_unit("us").alias("as_of"),
        "lock_version",
    )
    currencies = frames.assets.select("code", pl.col("scale").alias("minor_units"))
    return {
        "currencies": currencies,
        "accounts": accounts,
        "journal": journal,
        "lines": lines,
        "account_balances": balances,
    }


_PG_TYPES = {
    pl.String: "text",
    pl.Int64: "bigint",
    pl.Int32: "integer",
    pl.Boolean: "boolean",
}
_NUMERIC = {"amount", "posted_dr", "posted_cr", "pending_dr", "pending_cr"}


def _pg_type(name: str, dtype: pl.DataType) -> str:
    if name in _NUMERIC:
        return "numeric(40, 8)"
    if isinstance(dtype, pl.Datetime):
        return "timestamptz"
    return _PG_TYPES[type(dtype)]


def write_foreign_postgres(tables: dict[str, pl.DataFrame], url: str) -> None:
    """CREATE TABLE in the foreign layout, then COPY (NUMERIC amounts, timestamptz times)."""
    import psycopg  # noqa: PLC0415

    conninfo = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        for name, frame in tables.items():
            columns = ", ".join(f"{c} {_pg_type(c, t)}" for c, t in frame.schema.items())
            conn.execute(f"CREATE TABLE {name} ({columns})")
            with conn.cursor() as cur, cur.copy(f"COPY {name} FROM STDIN (FORMAT csv)") as copy:
                for chunk in frame.iter_slices(200_000):
                    buffer = io.BytesIO()
                    chunk.write_csv(buffer, include_header=False)
                    copy.write(buffer.getvalue())
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM (FREEZE, ANALYZE)")


def prepare(n_transactions: int, workdir: Path, canonical_url: str, foreign_url: str) -> None:
    """Write the canonical and the foreign layout to PostgreSQL and Parquet, and the mapping."""
    frames = generate(n_transactions)
    write_postgres(frames, canonical_url)
    write_ledger_snapshot(frames, workdir / "canonical", "parquet")
    tables = foreign_tables(frames)
    write_foreign_postgres(tables, foreign_url)
    foreign = workdir / "foreign"
    foreign.mkdir()
    for name, frame in tables.items():
        # Parquet keeps exact decimals as DECIMAL, as a NUMERIC column exports to it.
        decimals = [c for c in frame.columns if c in _NUMERIC]
        frame.with_columns(pl.col(decimals).cast(pl.Decimal(38, 8))).write_parquet(
            foreign / f"{name}.parquet"
        )
    ledger = frames.ledgers.row(0, named=True)
    (workdir / "mapping.toml").write_text(
        MAPPING.format(ledger=ledger["ledger_id"], name=ledger["name"]), encoding="utf-8"
    )
    entries = frames.entries.height
    print(f"generated {n_transactions:,} transactions ({entries:,} entries), both layouts written")


def worker(source: str, mapping: str) -> None:
    """Load once in this fresh process; print seconds, rows, peak RSS and the frames' digest."""
    import adbc_driver_postgresql.dbapi  # noqa: F401, PLC0415 - import cost is not load cost

    start = time.perf_counter()
    frames, report = load_ledger(source, mapping=mapping or None)
    seconds = time.perf_counter() - start
    # The foreign layout keeps no chain and fewer time digits: compare what both carry.
    comparable = LedgerFrames.from_tables(
        {
            "ledgers": frames.ledgers.with_columns(
                pl.col("ledger_id").alias("name"),
                pl.lit(None, pl.String).alias("chain_algorithm"),
                pl.lit(None, pl.String).alias("metadata"),
                pl.lit(0, pl.Int64).alias("created_ns"),
            ),
            "assets": frames.assets.with_columns(pl.lit("").alias("kind")),
            "accounts": frames.accounts.with_columns(
                pl.col("opened_ns") // 1000,
                pl.lit(None, pl.String).alias("external_id"),
                pl.lit(None, pl.String).alias("metadata"),
                pl.lit(None, pl.Int64).alias("closed_ns"),
            ),
            "transactions": frames.transactions.with_columns(
                pl.col("effective_ns") // 1000,
                pl.col("recorded_ns") // 1000,
                *(
                    pl.lit(None, frames.transactions.schema[c]).alias(c)
                    for c in (
                        "meta_hash",
                        "chain_seq",
                        "chain_prev_hash",
                        "content_hash",
                        "chain_hash",
                    )
                ),
            ),
            "entries": frames.entries,
            "balances": frames.balances.with_columns(pl.col("as_of_ns") // 1000),
        }
    )
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": report.read,
                "rejected": report.rejected,
                "peak_kib": peak_kib,
                "digest": frames_digest(comparable),
            }
        )
    )


def run(source: str, mapping: str) -> dict[str, float | int | str]:
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", source, mapping],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float | int | str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def bench(n_transactions: int, pg_url: str | None, repeat: int) -> None:
    server = None
    with tempfile.TemporaryDirectory(prefix="bench-load-mapped-") as tmp:
        workdir = Path(tmp)
        if pg_url is None:
            from ledger_audit.testing.pgserver import PostgresServer  # noqa: PLC0415

            server = PostgresServer(fsync=False, settings={"shared_buffers": "1GB"})
            server.start()
            canonical_url = server.create_database("bench_canonical")
            foreign_url = server.create_database("bench_foreign")
        else:
            canonical_url = foreign_url = pg_url
        try:
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--prepare",
                    str(n_transactions),
                    str(workdir),
                    canonical_url,
                    foreign_url,
                ],
                check=True,
            )
            del child
            _warm(workdir / "canonical")
            _warm(workdir / "foreign")
            mapping = str(workdir / "mapping.toml")
            cases = [
                ("PostgreSQL", canonical_url, foreign_url),
                ("Parquet", str(workdir / "canonical"), str(workdir / "foreign")),
            ]
            print(
                f"{'source':<11} {'load':<10} {'seconds':>8} {'rows/s':>12} {'peak RSS':>10}"
                f"  digest"
            )
            for label, canonical, foreign in cases:
                best: dict[str, dict[str, float | int | str]] = {}
                for _ in range(repeat):
                    for name, source, used in (
                        ("canonical", canonical, ""),
                        ("mapped", foreign, mapping),
                    ):
                        result = run(source, used)
                        if name not in best or float(result["seconds"]) < float(
                            best[name]["seconds"]
                        ):
                            best[name] = result
                for name, result in best.items():
                    seconds = float(result["seconds"])
                    print(
                        f"{label:<11} {name:<10} {seconds:>8.2f} "
                        f"{int(result['rows']) / seconds:>12,.0f} "
                        f"{int(result['peak_kib']) / 2**20:>8.2f} GiB  {result['digest']}"
                    )
                ratio = float(best["mapped"]["seconds"]) / float(best["canonical"]["seconds"])
                same = best["mapped"]["digest"] == best["canonical"]["digest"]
                print(
                    f"{label:<11} mapped/canonical = {ratio:.2f}x (target <= 1.5x); "
                    f"same frames: {'yes' if same else 'NO'}; "
                    f"rejected {best['mapped']['rejected']}"
                )
        finally:
            if server is not None:
                server.stop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--prepare":
        prepare(int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=None, help="an existing server (default: start one)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per method (best kept)")
    args = parser.parse_args()
    bench(args.transactions, args.pg_url, args.repeat)


if __name__ == "__main__":
    main()
