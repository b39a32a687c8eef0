"""Benchmark: one definition per check, run on every engine (issue 16, item 1), measured.

Three representative checks are written ONCE per candidate and run on every backend that
candidate supports; each run's finding rows are compared, exactly, with the existing polars
code's rows (the reference) over the same data:

(a) ``entry.unbalanced``: per transaction version and asset, debits = credits (group-by +
    filter; expected = debits, actual = credits, exact integer text);
(b) ``entry.invalid_amount`` / ``entry.empty_version``: a posted version has entries and each
    amount is positive (row-wise over a left join; expected = the minimum, actual = the value);
(c) ``balance.drift``: each stored ``balances`` row equals the replay (recorded basis) of
    entries per account and asset as of the row's own ``as_of_ns`` (join + aggregate; the
    four cells as ``posted_debits/posted_credits/pending_debits/pending_credits`` text).

Candidates: ``ibis`` (ibis-framework 12: polars, duckdb, sqlite, postgres, pyspark),
``sqla`` (SQLAlchemy Core compiled per dialect: sqlite, postgresql, and the postgresql text run
by DuckDB over Arrow and by Spark SQL), and the reference ``polars`` (the existing rules:
``prepare_legs`` + ``entry_unbalanced``; the legs frame filtered for (b), which no existing rule
covers whole; ``checks.drift.compare_stored_balances`` for (c)).

Each (candidate, backend) runs in a fresh process: imports, then opening the data (frames read
from Parquet; SQLite/PostgreSQL connected; Spark reading the Parquet files), then the three
checks three times (best of 3 reported; the first run's rows digested for determinism).
Peak RSS is the process's own ``ru_maxrss`` (plus the JVM's ``VmHWM`` for Spark); the parent
also prints ``getrusage(RUSAGE_CHILDREN)`` of a per-run intermediate process as a cross-check.

The data is ``bench_load.generate`` (N transactions) with tampering that every check must
find: shifted, zero and negative amounts, posted versions stripped of their entries, stored
balances as of mid-ledger (a few off by one), and one version whose debits pass 2^63.

Usage::

    python benchmarks/bench_engines.py --transactions 1000000
    python benchmarks/bench_engines.py --transactions 2000 --only ibis:duckdb sqla:sqlite

Needs (not project dependencies): ``pip install 'ibis-framework[duckdb,polars,postgres,sqlite,
pyspark]'`` (pulls pyspark) and a Java 17 runtime for Spark. See docs/engines.md.
"""

# ruff: noqa: PLC0415, ANN401 - the candidates import lazily; ibis, GX and pyspark are untyped
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

FINDING_SCHEMA: dict[str, pl.DataType] = {
    "rule": pl.String(),
    "ledger_id": pl.String(),
    "transaction_id": pl.String(),
    "version": pl.Int64(),
    "chain_seq": pl.Int64(),
    "account_id": pl.String(),
    "asset_id": pl.String(),
    "expected": pl.String(),
    "actual": pl.String(),
}
"""The rows every candidate returns; the amounts as exact base-10 text made by the engine."""

CHECKS = ("unbalanced", "posted_entries", "drift")
TX = ("ledger_id", "transaction_id")
VERSION = (*TX, "version")
BALANCE_KEY = ("ledger_id", "account_id", "asset_id")
CELLS = ("posted_debits", "posted_credits", "pending_debits", "pending_credits")
STATEMENT_LIMIT_S = 300
"""A database statement running longer than this is cancelled (PostgreSQL statement_timeout,
SQLite progress handler) and reported as an error: a measured result, not a hang."""
DUCKDB_MEMORY = "6GB"
"""DuckDB spills past this (its default is 80% of RAM, and the machine is shared)."""
SLOW_S = 20.0
"""A check whose first run takes longer than this is not repeated (best of 1, marked)."""
WIDE = 1 << 62
"""Two debit legs of 2^62 plus 1 pass int64: a float sum loses the 1, an int64 sum wraps."""

# --------------------------------------------------------------------------- the data


def tamper(frames: Any, *, wide: bool) -> Any:
    """The generated ledger with faults each check must report (see the module docstring)."""
    from bench_load import T0

    from ledger_audit.checks.drift import compare_stored_balances
    from ledger_audit.schema.frames import FRAME_SCHEMAS, KEYS
    from ledger_audit.sources.ledger_frames import LedgerFrames

    n = frames.transactions.height
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    entries = frames.entries.with_columns(
        pl.when(row % 100_003 == 5)
        .then(pl.col("amount") + 1)
        .when(row % 250_007 == 11)
        .then(0)
        .when(row % 250_009 == 17)
        .then(-pl.col("amount"))
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    tx_number = pl.col("transaction_id").str.slice(3).cast(pl.Int64)
    entries = entries.filter(tx_number % 200_003 != 3)  # versions left without entries
    last = frames.transactions.filter(pl.col("ledger_id") == "L1").sort("chain_seq").tail(1)
    wide_tx = last.with_columns(
        pl.lit("tx-wide").alias("transaction_id"),
        pl.lit(0, pl.Int32).alias("version"),
        pl.lit("standard").alias("kind"),
        pl.lit("posted").alias("status"),
        pl.lit(None, pl.String).alias("pending_transaction_id"),
        pl.lit(None, pl.String).alias("idempotency_key"),
        pl.lit(None, pl.String).alias("external_id"),
        (pl.col("chain_seq") + 1).alias("chain_seq"),
        (pl.col("recorded_ns") + 1).alias("recorded_ns"),
        (pl.col("effective_ns") + 1).alias("effective_ns"),
    )
    wide_legs = pl.DataFrame(
        {
            "ledger_id": ["L1"] * 5,
            "transaction_id": ["tx-wide"] * 5,
            "version": [0] * 5,
            "entry_index": list(range(5)),
            "account_id": ["acct:2", "acct:4", "acct:6", "acct:1", "acct:3"],
            "asset_id": ["USD/2"] * 5,
            "direction": ["debit", "debit", "debit", "credit", "credit"],
            "amount": [WIDE, WIDE, 1, WIDE, WIDE],
        }
    )
    if wide:
        transactions = pl.concat([frames.transactions, wide_tx])
        entries = pl.concat([entries, wide_legs.cast(pl.Schema(entries.schema))])
    else:
        transactions = frames.transactions
    mid = T0 + (n // 2) * 1_000_000_000
    stored = frames.balances.with_columns(pl.lit(mid).alias("as_of_ns"))
    probe = LedgerFrames.from_tables(
        {
            **dict(frames.items()),
            "transactions": transactions,
            "entries": entries,
            "balances": stored,
        }
    )
    replayed = compare_stored_balances(probe).collect()
    off = pl.col("account_id").str.slice(5).cast(pl.Int64) % 97 == 0
    balances = (
        stored.drop(CELLS)
        .join(
            replayed.select(*BALANCE_KEY, *[pl.col(f"replayed_{c}").alias(c) for c in CELLS]),
            on=list(BALANCE_KEY),
            how="left",
        )
        .with_columns(
            *[pl.col(c).fill_null(0).cast(pl.Int64) for c in CELLS],
        )
        .with_columns(
            pl.when(off).then(pl.col("posted_debits") + 1).otherwise(pl.col("posted_debits")),
            pl.when(off & (pl.col("ledger_id") == "L2"))
            .then(pl.col("pending_credits") + 7)
            .otherwise(pl.col("pending_credits")),
        )
    )
    tables = {
        **dict(frames.items()),
        "transactions": transactions,
        "entries": entries,
        "balances": balances,
    }
    return LedgerFrames.from_tables(
        {
            table: frame.select(list(FRAME_SCHEMAS[table]))
            .cast(pl.Schema(FRAME_SCHEMAS[table]))
            .sort(list(KEYS[table]))
            for table, frame in tables.items()
        }
    )


def prepare(n_transactions: int, workdir: Path, pg_url: str, *, wide: bool) -> None:
    """Generate, tamper and write Parquet, SQLite and PostgreSQL (in its own process)."""
    from bench_load import generate, write_postgres, write_sqlite

    from ledger_audit.exports.snapshot import write_ledger_snapshot

    started = time.perf_counter()
    frames = tamper(generate(n_transactions), wide=wide)
    sizes = ", ".join(f"{t} {f.height:,}" for t, f in frames.items())
    print(f"generated and tampered in {time.perf_counter() - started:.1f}s: {sizes}")
    write_ledger_snapshot(frames, workdir / "parquet", "parquet")
    started = time.perf_counter()
    (workdir / "ledger.sqlite").unlink(missing_ok=True)
    write_sqlite(frames, workdir / "ledger.sqlite")
    write_postgres(frames, pg_url)
    print(f"SQLite and PostgreSQL written in {time.perf_counter() - started:.1f}s")


def read_frames(workdir: Path) -> Any:
    """The ledger's six frames from the Parquet snapshot (the frame backends' input)."""
    from ledger_audit.schema.tables import CANONICAL_TABLES
    from ledger_audit.sources.ledger_frames import LedgerFrames

    folder = workdir / "parquet"
    return LedgerFrames.from_tables(
        {t: pl.read_parquet(folder / f"{t}.parquet") for t in CANONICAL_TABLES}
    )


# --------------------------------------------------------------------------- reference


def _rows(frame: pl.DataFrame | pl.LazyFrame, rule: str | pl.Expr, **cols: pl.Expr) -> pl.DataFrame:
    lazy = frame.lazy()
    names = set(lazy.collect_schema().names())
    exprs = [(rule if isinstance(rule, pl.Expr) else pl.lit(rule)).alias("rule")]
    for name, dtype in list(FINDING_SCHEMA.items())[1:]:
        expr = cols.get(name)
        if expr is None:
            expr = pl.col(name) if name in names else pl.lit(None)
        exprs.append(expr.cast(dtype).alias(name))
    return lazy.select(exprs).collect()


def polars_checks(frames: Any) -> dict[str, Callable[[], pl.DataFrame]]:
    """The reference: the existing frame-path code, its output mapped to FINDING_SCHEMA rows.

    (a) was the polars rule when docs/engines.md was measured; that copy is gone, and the
    frame path now runs the invariant's one statement on DuckDB over the ``legs`` frame.
    """
    from ledger_audit.checks.drift import compare_stored_balances
    from ledger_audit.checks.engines import frame_engine, violations_on
    from ledger_audit.checks.invariant_rules import prepare_legs

    def unbalanced() -> pl.DataFrame:
        with frame_engine(prepare_legs(frames)) as engine:
            return _rows(violations_on(engine, "entry_unbalanced"), "entry.unbalanced")

    def posted_entries() -> pl.DataFrame:
        legs = prepare_legs(frames).lazy()
        empty = pl.col("entry_index").is_null()
        bad = legs.filter(
            (pl.col("has_version") == 1)
            & (pl.col("status") == "posted")
            & (empty | (pl.col("amount") < 1))
        )
        return _rows(
            bad,
            pl.when(empty)
            .then(pl.lit("entry.empty_version"))
            .otherwise(pl.lit("entry.invalid_amount")),
            expected=pl.lit("1"),
            actual=pl.when(empty).then(pl.lit("0")).otherwise(pl.col("amount").cast(pl.String)),
        )

    def drift() -> pl.DataFrame:
        compared = compare_stored_balances(frames).filter(
            pl.col("drifted") & pl.col("stored_posted_debits").is_not_null()
        )

        def text(prefix: str) -> pl.Expr:
            return pl.concat_str(
                [pl.col(f"{prefix}{c}").cast(pl.String) for c in CELLS], separator="/"
            )

        return _rows(compared, "balance.drift", expected=text("replayed_"), actual=text("stored_"))

    return {"unbalanced": unbalanced, "posted_entries": posted_entries, "drift": drift}


# --------------------------------------------------------------------------- candidate: ibis


def ibis_checks(t: Mapping[str, Any], money: str = "decimal(38, 0)") -> dict[str, Any]:  # noqa: PLR0915 - the three checks side by side, to read and count
    """The three checks as ibis expressions over tables ``t`` (written once, any backend)."""
    import ibis  # type: ignore[import-untyped, import-not-found, unused-ignore]

    money_t = ibis.dtype(money)
    zero = ibis.literal(0).cast(money_t)
    tx, en, bal = t["transactions"], t["entries"], t["balances"]

    def out(rel: Any, rule: Any, **cols: Any) -> Any:
        exprs = {"rule": rule if isinstance(rule, ibis.Expr) else ibis.literal(rule)}
        for name, dtype in list(FINDING_SCHEMA.items())[1:]:
            kind = "string" if dtype == pl.String() else "int64"
            value = cols[name] if name in cols else (rel[name] if name in rel.columns else None)
            exprs[name] = ibis.null(kind) if value is None else value.cast(kind)
        return rel.select(**exprs).order_by(list(FINDING_SCHEMA))

    def side(rel: Any, direction: str, status: str | None = None) -> Any:
        picked = rel.direction == direction
        if status is not None:
            picked = picked & (rel.status == status)
        return picked.ifelse(rel.amount.cast(money_t), zero).sum()

    # check a: per version and asset, debits = credits
    versions = tx.select(*VERSION, "chain_seq")
    legs = en.join(versions, list(VERSION))
    sums = legs.group_by([*VERSION, "chain_seq", "asset_id"]).agg(
        expected=side(legs, "debit"), actual=side(legs, "credit")
    )
    unbalanced = out(sums.filter(sums.expected != sums.actual), "entry.unbalanced")

    # check b: a posted version has entries, each amount positive
    posted = tx.filter(tx.status == "posted").select(*VERSION, "chain_seq")
    amounts = en.select(
        *[en[k].name(f"e_{k}") for k in VERSION], "entry_index", "account_id", "asset_id", "amount"
    )
    joined = posted.left_join(amounts, [posted[k] == amounts[f"e_{k}"] for k in VERSION])
    empty = joined.entry_index.isnull()
    bad = joined.filter(empty | (joined.amount < 1))
    posted_entries = out(
        bad,
        empty.ifelse("entry.empty_version", "entry.invalid_amount").name("rule"),
        expected=ibis.literal("1"),
        actual=bad.entry_index.isnull().ifelse("0", bad.amount.cast("string")),
    )

    # check c: stored balances = the replay (recorded basis) as of each row's as_of_ns
    v = tx.select(*VERSION, "status", "pending_transaction_id", start="recorded_ns")
    w = v.view()
    pairs = v.join(w, [v.ledger_id == w.ledger_id, v.transaction_id == w.transaction_id])
    pairs = pairs.select(*VERSION, w_version=w.version, w_start=w.start).filter(
        lambda r: r.w_version > r.version
    )
    superseded = pairs.group_by(list(VERSION)).agg(end_super=pairs.w_start.min())
    resolving = v.filter(v.pending_transaction_id.notnull())
    resolved = resolving.group_by(
        resolving.ledger_id, resolving.pending_transaction_id.name("transaction_id")
    ).agg(resolved=resolving.start.min())
    iv = v.left_join(superseded, list(VERSION)).left_join(resolved, list(TX))
    sup, res = iv.end_super, iv.resolved
    earlier = res.isnull().ifelse(sup, sup.isnull().ifelse(res, (res < sup).ifelse(res, sup)))
    iv = iv.select(
        *VERSION,
        "status",
        "start",
        end_ns=(iv.status == "pending").ifelse(earlier, sup),
    )
    iv = iv.filter(
        iv.status.isin(["posted", "pending"]) & (iv.end_ns.isnull() | (iv.end_ns > iv.start))
    )
    # each interval as a + event at its start and a - event at its end; a stored row sums the
    # events at or before its as_of (joined on the balance key: no cross product to plan)
    spans = en.join(iv, list(VERSION))

    def cells(rel: Any, sign: int) -> dict[str, Any]:
        amount = rel.amount.cast(money_t) if sign > 0 else -rel.amount.cast(money_t)
        return {
            c: ((rel.status == c.split("_")[0]) & (rel.direction == c.split("_")[1][:-1])).ifelse(
                amount, zero
            )
            for c in CELLS
        }

    starts = spans.select(*BALANCE_KEY, at_ns=spans.start, **cells(spans, 1))
    closed = spans.filter(spans.end_ns.notnull())
    ends = closed.select(*BALANCE_KEY, at_ns=closed.end_ns, **cells(closed, -1))
    events = starts.union(ends, distinct=False)
    stored = bal.select(*BALANCE_KEY, "as_of_ns")
    counted = stored.join(events, list(BALANCE_KEY))
    counted = counted.filter(counted.at_ns <= counted.as_of_ns)
    replay = counted.group_by(list(BALANCE_KEY)).agg(**{f"r_{c}": counted[c].sum() for c in CELLS})
    cmp = bal.left_join(replay, list(BALANCE_KEY))
    cmp = cmp.select(
        *BALANCE_KEY, *CELLS, **{f"r_{c}": cmp[f"r_{c}"].coalesce(zero) for c in CELLS}
    )
    differs = [cmp[c].cast(money_t) != cmp[f"r_{c}"] for c in CELLS]
    drifted = cmp.filter(differs[0] | differs[1] | differs[2] | differs[3])

    def text(prefix: str) -> Any:
        parts = [drifted[f"{prefix}{c}"].cast("string") for c in CELLS]
        return parts[0] + "/" + parts[1] + "/" + parts[2] + "/" + parts[3]

    drift = out(drifted, "balance.drift", expected=text("r_"), actual=text(""))
    return {"unbalanced": unbalanced, "posted_entries": posted_entries, "drift": drift}


# --------------------------------------------------------------------------- candidate: SQLAlchemy


def sqla_checks() -> dict[str, Any]:
    """The three checks as SQLAlchemy Core statements over the canonical tables (written once)."""
    import sqlalchemy as sa

    from ledger_audit.schema.tables import balances, entries, transactions

    money = sa.Numeric(38, 0)
    text_t = sa.String()
    zero = sa.cast(sa.literal(0), money)

    def out(rel: Any, rule: Any, **cols: Any) -> Any:
        exprs = [(rule if isinstance(rule, sa.ColumnElement) else sa.literal(rule)).label("rule")]
        for name, dtype in list(FINDING_SCHEMA.items())[1:]:
            kind = text_t if dtype == pl.String() else sa.BigInteger()
            value = cols.get(name, rel.c.get(name))
            exprs.append(sa.cast(value if value is not None else sa.null(), kind).label(name))
        statement = sa.select(*exprs)
        return statement.order_by(*[sa.literal_column(n) for n in FINDING_SCHEMA])

    def side(rel: Any, direction: str, status: str | None = None) -> Any:
        picked = rel.c.direction == direction
        if status is not None:
            picked = sa.and_(picked, rel.c.status == status)
        return sa.func.sum(sa.case((picked, sa.cast(rel.c.amount, money)), else_=zero))

    t, e, b = transactions, entries, balances

    # check a: per version and asset, debits = credits
    legs = (
        sa.select(
            e.c.ledger_id,
            e.c.transaction_id,
            e.c.version,
            t.c.chain_seq,
            e.c.asset_id,
            e.c.direction,
            e.c.amount,
        )
        .join_from(e, t, sa.and_(*[e.c[k] == t.c[k] for k in VERSION]))
        .subquery("legs")
    )
    keys = [legs.c[k] for k in (*VERSION, "chain_seq", "asset_id")]
    sums = (
        sa.select(
            *keys, side(legs, "debit").label("expected"), side(legs, "credit").label("actual")
        )
        .group_by(*keys)
        .subquery("sums")
    )
    unbalanced = out(sums, "entry.unbalanced").where(sums.c.expected != sums.c.actual)

    # check b: a posted version has entries, each amount positive
    joined = (
        sa.select(
            t.c.ledger_id,
            t.c.transaction_id,
            t.c.version,
            t.c.chain_seq,
            e.c.entry_index,
            e.c.account_id,
            e.c.asset_id,
            e.c.amount,
        )
        .join_from(t, e, sa.and_(*[e.c[k] == t.c[k] for k in VERSION]), isouter=True)
        .where(t.c.status == "posted")
        .subquery("joined")
    )
    empty = joined.c.entry_index.is_(None)
    posted_entries = out(
        joined,
        sa.case(
            (empty, sa.literal("entry.empty_version")), else_=sa.literal("entry.invalid_amount")
        ),
        expected=sa.literal("1"),
        actual=sa.case((empty, sa.literal("0")), else_=sa.cast(joined.c.amount, text_t)),
    ).where(sa.or_(empty, joined.c.amount < 1))

    # check c: stored balances = the replay (recorded basis) as of each row's as_of_ns
    v = sa.select(
        t.c.ledger_id,
        t.c.transaction_id,
        t.c.version,
        t.c.status,
        t.c.pending_transaction_id,
        t.c.recorded_ns.label("start"),
    ).subquery("v")
    w = v.alias("w")
    superseded = (
        sa.select(
            v.c.ledger_id,
            v.c.transaction_id,
            v.c.version,
            sa.func.min(w.c.start).label("end_super"),
        )
        .join_from(
            v,
            w,
            sa.and_(
                v.c.ledger_id == w.c.ledger_id,
                v.c.transaction_id == w.c.transaction_id,
                w.c.version > v.c.version,
            ),
        )
        .group_by(v.c.ledger_id, v.c.transaction_id, v.c.version)
        .subquery("superseded")
    )
    resolved = (
        sa.select(
            v.c.ledger_id,
            v.c.pending_transaction_id.label("transaction_id"),
            sa.func.min(v.c.start).label("resolved"),
        )
        .where(v.c.pending_transaction_id.is_not(None))
        .group_by(v.c.ledger_id, v.c.pending_transaction_id)
        .subquery("resolved")
    )
    sup, res = superseded.c.end_super, resolved.c.resolved
    earlier = sa.case((res.is_(None), sup), (sup.is_(None), res), (res < sup, res), else_=sup)
    end_ns = sa.case((v.c.status == "pending", earlier), else_=sup)
    iv = (
        sa.select(
            v.c.ledger_id,
            v.c.transaction_id,
            v.c.version,
            v.c.status,
            v.c.start,
            end_ns.label("end_ns"),
        )
        .outerjoin_from(v, superseded, sa.and_(*[v.c[k] == superseded.c[k] for k in VERSION]))
        .outerjoin(resolved, sa.and_(*[v.c[k] == resolved.c[k] for k in TX]))
        .where(v.c.status.in_(["posted", "pending"]))
        .where(sa.or_(end_ns.is_(None), end_ns > v.c.start))
        .subquery("iv")
    )
    # each interval as a + event at its start and a - event at its end; a stored row sums the
    # events at or before its as_of (joined on the balance key: no cross product to plan)

    def cells(sign: int) -> list[Any]:
        amount = sa.cast(e.c.amount, money) * sign
        return [
            sa.case(
                (
                    sa.and_(iv.c.status == c.split("_")[0], e.c.direction == c.split("_")[1][:-1]),
                    amount,
                ),
                else_=zero,
            ).label(c)
            for c in CELLS
        ]

    on_version = sa.and_(*[e.c[k] == iv.c[k] for k in VERSION])
    key = [e.c[k] for k in BALANCE_KEY]
    events = sa.union_all(
        sa.select(*key, iv.c.start.label("at_ns"), *cells(1)).join_from(e, iv, on_version),
        sa.select(*key, iv.c.end_ns.label("at_ns"), *cells(-1))
        .join_from(e, iv, on_version)
        .where(iv.c.end_ns.is_not(None)),
    ).subquery("events")
    replay = (
        sa.select(
            *[events.c[k] for k in BALANCE_KEY],
            *[sa.func.sum(events.c[c]).label(f"r_{c}") for c in CELLS],
        )
        .join_from(b, events, sa.and_(*[b.c[k] == events.c[k] for k in BALANCE_KEY]))
        .where(events.c.at_ns <= b.c.as_of_ns)
        .group_by(*[events.c[k] for k in BALANCE_KEY])
        .subquery("replay")
    )
    cmp = (
        sa.select(
            *[b.c[k] for k in BALANCE_KEY],
            *[b.c[c] for c in CELLS],
            *[sa.func.coalesce(replay.c[f"r_{c}"], zero).label(f"r_{c}") for c in CELLS],
        )
        .outerjoin_from(b, replay, sa.and_(*[b.c[k] == replay.c[k] for k in BALANCE_KEY]))
        .subquery("cmp")
    )

    def text(prefix: str) -> Any:
        parts = [sa.cast(cmp.c[f"{prefix}{c}"], text_t) for c in CELLS]
        return parts[0] + "/" + parts[1] + "/" + parts[2] + "/" + parts[3]

    drift = out(cmp, "balance.drift", expected=text("r_"), actual=text("")).where(
        sa.or_(*[sa.cast(cmp.c[c], money) != cmp.c[f"r_{c}"] for c in CELLS])
    )
    return {"unbalanced": unbalanced, "posted_entries": posted_entries, "drift": drift}


# --------------------------------------------------------------------------- backends


def spark_dialect() -> Any:
    """PostgreSQL's SQL with Spark's type names and backtick quoting: enough for these checks.

    Spark SQL rejects VARCHAR without a length and double-quoted identifiers; everything else
    these statements use (CASE, CAST AS NUMERIC, ||, joins, GROUP BY) parses as it is.
    """
    from sqlalchemy.dialects.postgresql.base import (
        PGDialect,
        PGIdentifierPreparer,
        PGTypeCompiler,
    )

    class SparkTypes(PGTypeCompiler):
        def visit_VARCHAR(self, type_: Any, **kw: Any) -> str:  # noqa: ARG002, N802 - SQLAlchemy's visitor names
            return "STRING"

    class SparkQuoting(PGIdentifierPreparer):
        def __init__(self, dialect: Any) -> None:
            super().__init__(dialect, initial_quote="`")

    class SparkDialect(PGDialect):
        name = "spark"
        type_compiler_cls = SparkTypes
        preparer = SparkQuoting  # type: ignore[assignment]

    return SparkDialect()  # type: ignore[no-untyped-call]


def _spark(workdir: Path) -> Any:
    from pyspark.sql import SparkSession

    from ledger_audit.schema.tables import CANONICAL_TABLES

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("bench_engines")
        .config("spark.driver.memory", "6g")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    for table in CANONICAL_TABLES:
        spark.read.parquet(str(workdir / "parquet" / f"{table}.parquet")).createOrReplaceTempView(
            table
        )
    return spark


def _sqlite_deadline(connection: Any) -> None:
    """Abort any statement of this sqlite3 connection that runs past STATEMENT_LIMIT_S."""
    state = {"start": time.monotonic()}

    def handler() -> int:
        return int(time.monotonic() - state["start"] > STATEMENT_LIMIT_S)

    connection.set_progress_handler(handler, 100_000)
    _DEADLINES.append(state)


_DEADLINES: list[dict[str, float]] = []


def _to_frame(arrow: Any) -> pl.DataFrame:
    frame = pl.from_arrow(arrow)
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(type(frame).__name__)
    return frame


def open_backend(  # noqa: C901, PLR0912, PLR0915 - one flat branch per candidate and backend
    candidate: str, backend: str, workdir: Path, pg_url: str
) -> tuple[dict[str, Callable[[], pl.DataFrame]], dict[str, str], Callable[[], None]]:
    """The three checks ready to run on one backend, the SUM types seen, and a closer."""
    sums: dict[str, str] = {}
    if candidate == "polars":
        return (
            polars_checks(read_frames(workdir)),
            {"unbalanced": "Decimal(38, 0) (SUM_AMOUNT)"},
            lambda: None,
        )
    if candidate == "ibis":
        import ibis  # type: ignore[import-untyped, import-not-found, unused-ignore]

        from ledger_audit.schema.tables import CANONICAL_TABLES

        closer: Callable[[], None] = lambda: None  # noqa: E731
        if backend in {"polars", "duckdb"}:
            frames = read_frames(workdir)
            con = getattr(ibis, backend).connect()
            if backend == "duckdb":  # create_table's DROP VIEW breaks with sqlglot 30 (see doc)
                con.con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
                for n, f in frames.items():
                    con.con.register(n, f.to_arrow())
                tables = {n: con.table(n) for n, _ in frames.items()}
            else:
                tables = {n: con.create_table(n, f) for n, f in frames.items()}
        elif backend == "sqlite":
            con = ibis.sqlite.connect(str(workdir / "ledger.sqlite"))
            _sqlite_deadline(con.con)
            tables = {n: con.table(n) for n in CANONICAL_TABLES}
        elif backend == "postgres":
            con = ibis.connect(pg_url.replace("postgresql+psycopg://", "postgres://"))
            con.raw_sql("SET default_transaction_read_only = on")
            con.raw_sql(f"SET statement_timeout = '{STATEMENT_LIMIT_S}s'")
            tables = {n: con.table(n) for n in CANONICAL_TABLES}
        else:
            spark = _spark(workdir)
            con = ibis.pyspark.connect(spark)
            tables = {n: con.table(n) for n in CANONICAL_TABLES}
            closer = spark.stop
        exprs = ibis_checks(tables)
        en = tables["entries"]
        money = en.amount.cast("decimal(38, 0)").sum()
        sums_probe = en.aggregate(decimal_sum=money, int64_sum=en.amount.sum())
        sums["ibis types"] = str(dict(sums_probe.schema().items()))
        try:
            sums["backend types"] = str(con.to_pyarrow(sums_probe).schema).replace("\n", ", ")
        except Exception as error:  # noqa: BLE001 - an overflow here is the finding
            sums["backend types"] = f"{type(error).__name__}: {str(error)[:120]}"
        sums["sql"] = ibis.to_sql(exprs["unbalanced"]) if backend != "polars" else "(polars plan)"

        def runner(name: str) -> Callable[[], pl.DataFrame]:
            return lambda: _to_frame(con.to_pyarrow(exprs[name]))

        return {name: runner(name) for name in CHECKS}, sums, closer
    # sqla
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql

    statements = sqla_checks()
    e = sa.table("entries", sa.column("amount"))
    sums_probe = sa.select(
        sa.func.sum(sa.cast(e.c.amount, sa.Numeric(38, 0))).label("decimal_sum"),
        sa.func.sum(e.c.amount).label("int64_sum"),
    )
    if backend in {"sqlite", "postgresql"}:
        from contextlib import ExitStack

        from sqlalchemy.pool import NullPool

        from ledger_audit.sources.invariant_sql import read_only_database, sqlite_file_url

        stack = ExitStack()
        source = sqlite_file_url(workdir / "ledger.sqlite") if backend == "sqlite" else pg_url
        url = stack.enter_context(read_only_database(source))
        engine = sa.create_engine(url, poolclass=NullPool)
        conn = engine.connect()
        if backend == "sqlite":
            _sqlite_deadline(conn.connection.dbapi_connection)
        else:
            conn.exec_driver_sql(f"SET statement_timeout = '{STATEMENT_LIMIT_S}s'")
        try:
            row = conn.execute(sums_probe).one()
            sums["backend types"] = str({k: type(v).__name__ for k, v in row._mapping.items()})  # noqa: SLF001
        except Exception as error:  # noqa: BLE001 - an overflow here is the finding
            sums["backend types"] = f"{type(error).__name__}: {str(error)[:120]}"

        def sql_runner(name: str) -> Callable[[], pl.DataFrame]:
            def run() -> pl.DataFrame:
                rows = conn.execute(statements[name]).all()
                return pl.DataFrame([tuple(r) for r in rows], schema=FINDING_SCHEMA, orient="row")

            return run

        def close_sql() -> None:
            conn.close()
            engine.dispose()
            stack.close()

        return {name: sql_runner(name) for name in CHECKS}, sums, close_sql
    dialect = postgresql.dialect() if backend == "duckdb" else spark_dialect()  # type: ignore[no-untyped-call]
    texts = {
        name: str(s.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        for name, s in statements.items()
    }
    if backend == "duckdb":
        import duckdb

        frames = read_frames(workdir)
        db = duckdb.connect()
        db.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        for table, frame in frames.items():
            db.register(table, frame.to_arrow())
        probe_sql = str(sums_probe.compile(dialect=dialect))
        sums["backend types"] = str(db.sql(probe_sql).to_arrow_table().schema).replace("\n", ", ")

        def on_duckdb(name: str) -> Callable[[], pl.DataFrame]:
            return lambda: _to_frame(db.sql(texts[name]).to_arrow_table())

        return {name: on_duckdb(name) for name in CHECKS}, sums, db.close
    spark = _spark(workdir)
    probe_sql = str(sums_probe.compile(dialect=dialect))
    sums["backend types"] = spark.sql(probe_sql).schema.simpleString()

    def on_spark(name: str) -> Callable[[], pl.DataFrame]:
        return lambda: _to_frame(spark.sql(texts[name]).toArrow())

    return (
        {name: on_spark(name) for name in CHECKS},
        sums,
        spark.stop,
    )


# --------------------------------------------------------------------------- worker / driver


def _digest(frame: pl.DataFrame) -> str:
    return hashlib.sha256(frame.write_csv().encode()).hexdigest()[:16]


def _jvm_peak_kib() -> int:
    """Sum of VmHWM over this process's descendants (the Spark JVM), from /proc."""
    total, todo = 0, [os.getpid()]
    while todo:
        pid = todo.pop()
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            todo.extend(int(c) for c in task.read_text().split())
        if pid != os.getpid():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    return total


def worker(candidate: str, backend: str, workdir: Path, pg_url: str, out: Path) -> None:
    """Run one (candidate, backend) in this fresh process; print timings as JSON."""
    started = time.perf_counter()
    if candidate == "ibis":
        import ibis  # noqa: F401  # type: ignore[import-untyped, import-not-found, unused-ignore]
    if backend in {"pyspark", "spark"}:
        import pyspark  # noqa: F401
    if backend == "duckdb":
        import duckdb  # noqa: F401
    import sqlalchemy  # noqa: F401

    import ledger_audit.checks.drift
    import ledger_audit.checks.engines
    import ledger_audit.checks.invariant_rules  # noqa: F401

    import_s = time.perf_counter() - started
    started = time.perf_counter()
    checks, sums, close = open_backend(candidate, backend, workdir, pg_url)
    open_s = time.perf_counter() - started
    best: dict[str, float] = {}
    first: dict[str, float] = {}
    results: dict[str, pl.DataFrame] = {}
    digests: dict[str, set[str]] = {}
    errors: dict[str, str] = {}
    for repeat in range(3):
        for name in CHECKS:
            if name in errors:
                continue
            if repeat and first.get(name, 0.0) > SLOW_S:
                continue
            started = time.perf_counter()
            for state in _DEADLINES:
                state["start"] = time.monotonic()
            try:
                frame = checks[name]()
            except Exception as error:  # noqa: BLE001 - a backend's failure is a measured result
                errors[name] = f"{type(error).__name__}: {str(error).splitlines()[0][:160]}"
                continue
            seconds = time.perf_counter() - started
            best[name] = min(best.get(name, seconds), seconds)
            if repeat == 0:
                first[name] = seconds
                results[name] = frame
            digests.setdefault(name, set()).add(_digest(frame))
    jvm = _jvm_peak_kib()
    close()
    for name, frame in results.items():
        frame.with_columns(
            [pl.col(c).cast(d) for c, d in FINDING_SCHEMA.items() if c in frame.columns]
        ).write_parquet(out / f"{candidate}-{backend}-{name}.parquet")
    print(
        json.dumps(
            {
                "import_s": import_s,
                "open_s": open_s,
                "best": best,
                "first": first,
                "deterministic": {n: len(d) == 1 for n, d in digests.items()},
                "errors": errors,
                "self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "jvm_kib": jvm,
                "sums": sums,
            }
        )
    )


def measure(args: list[str]) -> None:
    """Run the worker as a child and add its RUSAGE_CHILDREN peak (the brief's measure)."""
    try:
        completed = subprocess.run(
            [sys.executable, __file__, "--worker", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
    except subprocess.TimeoutExpired:
        print(json.dumps({"crashed": "no result within 1800 s"}))
        return
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        tail = completed.stderr.strip().splitlines()[-3:]
        print(json.dumps({"crashed": " | ".join(tail)[:400]}))
        return
    result = json.loads(lines[-1])
    result["children_kib"] = children
    print(json.dumps(result))


# ------------------------------------------------------------------ candidate 3: GX wrapping


def gx_probe(workdir: Path) -> None:
    """Can great-expectations wrap ONE definition on its Spark and SQL engines? (check (a))

    A table metric implemented for SparkDFExecutionEngine (the SQLAlchemy statement compiled
    to Spark SQL, run on the batch's session) and SqlAlchemyExecutionEngine (the statement
    itself), behind one custom expectation; the violations are compared with the polars rules.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    started = time.perf_counter()
    import great_expectations as gx
    from great_expectations.core.metric_domain_types import MetricDomainTypes
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine.sparkdf_execution_engine import (
        SparkDFExecutionEngine,
    )
    from great_expectations.execution_engine.sqlalchemy_execution_engine import (
        SqlAlchemyExecutionEngine,
    )
    from great_expectations.expectations.expectation import BatchExpectation
    from great_expectations.expectations.metrics.metric_provider import metric_value
    from great_expectations.expectations.metrics.table_metric_provider import (
        TableMetricProvider,
    )

    from ledger_audit.sources.invariant_sql import read_only_database, sqlite_file_url

    print(f"great_expectations imported in {time.perf_counter() - started:.1f}s")
    statement = sqla_checks()["unbalanced"]

    def on_spark(  # noqa: PLR0917 - GX's metric signature
        cls: Any,  # noqa: ARG001 - GX's metric signature
        execution_engine: Any,
        metric_domain_kwargs: dict[str, Any],
        metric_value_kwargs: dict[str, Any],  # noqa: ARG001
        metrics: dict[str, Any],  # noqa: ARG001
        runtime_configuration: dict[str, Any],  # noqa: ARG001
    ) -> list[dict[str, Any]]:
        frame, _, _ = execution_engine.get_compute_domain(
            metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE
        )
        text = str(
            statement.compile(dialect=spark_dialect(), compile_kwargs={"literal_binds": True})
        )
        return [row.asDict() for row in frame.sparkSession.sql(text).collect()]

    def on_sql(  # noqa: PLR0917 - GX's metric signature
        cls: Any,  # noqa: ARG001 - GX's metric signature
        execution_engine: Any,
        metric_domain_kwargs: dict[str, Any],  # noqa: ARG001
        metric_value_kwargs: dict[str, Any],  # noqa: ARG001
        metrics: dict[str, Any],  # noqa: ARG001
        runtime_configuration: dict[str, Any],  # noqa: ARG001
    ) -> list[dict[str, Any]]:
        return [dict(row._mapping) for row in execution_engine.execute_query(statement)]  # noqa: SLF001

    type(
        "EnginesProbeUnbalanced",
        (TableMetricProvider,),
        {
            "metric_name": "engines_probe.unbalanced",
            "_spark": metric_value(engine=SparkDFExecutionEngine)(on_spark),
            "_sql": metric_value(engine=SqlAlchemyExecutionEngine)(on_sql),
        },
    )

    class ExpectEnginesProbeBalanced(BatchExpectation):
        metric_dependencies: ClassVar[tuple[str, ...]] = ("engines_probe.unbalanced",)
        domain_keys: ClassVar[tuple[str, ...]] = ("batch_id", "row_condition", "condition_parser")
        success_keys: ClassVar[tuple[str, ...]] = ()

        def _validate(
            self,
            metrics: dict[str, Any],
            runtime_configuration: dict[str, Any] | None = None,  # noqa: ARG002 - GX signature
            execution_engine: Any = None,  # noqa: ARG002
        ) -> dict[str, Any]:
            found = metrics["engines_probe.unbalanced"]
            return {
                "success": not found,
                "result": {"observed_value": len(found), "details": {"violations": found}},
            }

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    found: dict[str, list[dict[str, Any]]] = {}
    spark = _spark(workdir)
    started = time.perf_counter()
    asset = context.data_sources.add_spark("ledger_spark").add_dataframe_asset("entries")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": spark.table("entries")}
    )
    result = batch.validate(ExpectEnginesProbeBalanced())
    found["gx spark"] = result.result["details"]["violations"]
    print(
        f"GX SparkDFExecutionEngine: {time.perf_counter() - started:.1f}s, success={result.success}"
    )
    spark.stop()
    with read_only_database(sqlite_file_url(workdir / "ledger.sqlite")) as url:
        source = context.data_sources.add_sqlite("ledger_sqlite", connection_string=url)
        table_asset = source.add_table_asset("entries", table_name="entries")
        started = time.perf_counter()
        result = (
            table_asset.add_batch_definition_whole_table("all")
            .get_batch()
            .validate(ExpectEnginesProbeBalanced())
        )
        found["gx sqlite"] = result.result["details"]["violations"]
        print(
            f"GX SqlAlchemyExecutionEngine (SQLite): {time.perf_counter() - started:.1f}s, "
            f"success={result.success}"
        )
    reference = _normal(pl.read_parquet(workdir / "findings" / "polars-polars-unbalanced.parquet"))
    for engine, rows in found.items():
        mine = _normal(pl.DataFrame(rows, schema=FINDING_SCHEMA, orient="row"))
        print(
            f"{engine}: {mine.height} violations, "
            f"equal to the polars rules: {mine.equals(reference)}"
        )


RUNS = [
    ("polars", "polars"),
    ("ibis", "polars"),
    ("ibis", "duckdb"),
    ("ibis", "sqlite"),
    ("ibis", "postgres"),
    ("ibis", "pyspark"),
    ("sqla", "duckdb"),
    ("sqla", "sqlite"),
    ("sqla", "postgresql"),
    ("sqla", "spark"),
]


def _normal(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(list(FINDING_SCHEMA), nulls_last=True)


def compare(out: Path, candidate: str, backend: str) -> dict[str, str]:
    """Per check: ``equal``, ``equal (engine order differs)``, or what differs."""
    verdicts: dict[str, str] = {}
    for name in CHECKS:
        mine_path = out / f"{candidate}-{backend}-{name}.parquet"
        if not mine_path.exists():
            verdicts[name] = "no result"
            continue
        ref = _normal(pl.read_parquet(out / f"polars-polars-{name}.parquet"))
        raw = pl.read_parquet(mine_path)
        mine = _normal(raw)
        if mine.equals(ref):
            verdicts[name] = "equal" if raw.equals(mine) else "equal (engine order differs)"
            continue
        extra = mine.join(ref, on=list(FINDING_SCHEMA), how="anti", nulls_equal=True)
        missing = ref.join(mine, on=list(FINDING_SCHEMA), how="anti", nulls_equal=True)
        sample = (extra.head(1).to_dicts() or missing.head(1).to_dicts() or [{}])[0]
        verdicts[name] = (
            f"DIFFERS: {extra.height} extra, {missing.height} missing of {ref.height}; "
            f"e.g. {sample.get('rule')} expected={sample.get('expected')} "
            f"actual={sample.get('actual')}"
        )
    return verdicts


def bench(n: int, workdir: Path, only: list[str], pg_url: str | None, *, wide: bool) -> None:
    """Prepare the data, run every (candidate, backend) in a fresh process, print the table."""
    server = None
    if pg_url is None:
        from ledger_audit.testing.pgserver import PostgresServer

        server = PostgresServer(fsync=False, settings={"shared_buffers": "1GB"})
        server.start()
        pg_url = server.create_database("bench_engines")
    out = workdir / "findings"
    out.mkdir(parents=True, exist_ok=True)
    try:
        prep = [sys.executable, __file__, "--prepare", str(n), str(workdir), pg_url]
        subprocess.run([*prep, *(["--wide"] if wide else [])], check=True)
        print(f"/proc/loadavg before: {Path('/proc/loadavg').read_text().strip()}")
        header = (
            f"{'candidate':<7} {'backend':<10} {'import':>6} {'open':>6} "
            + " ".join(f"{c:>14}" for c in CHECKS)
            + f" {'peak MiB':>9} {'kids MiB':>9}  same rows as polars rules / determinism"
        )
        print(header)
        print("-" * len(header))
        summary = []
        for candidate, backend in RUNS:
            if only and f"{candidate}:{backend}" not in only and candidate != "polars":
                continue
            completed = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--measure",
                    candidate,
                    backend,
                    str(workdir),
                    pg_url,
                    str(out),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(completed.stdout.strip().splitlines()[-1])
            if "crashed" in result:
                print(f"{candidate:<7} {backend:<10} CRASHED: {result['crashed']}")
                continue
            cells = []
            for name in CHECKS:
                if name in result["errors"]:
                    cells.append(f"{'error':>14}")
                else:
                    cells.append(f"{result['best'][name]:>7.2f} ({result['first'][name]:>4.1f})")
            peak = (result["self_kib"] + result["jvm_kib"]) / 1024
            verdicts = compare(out, candidate, backend)
            print(
                f"{candidate:<7} {backend:<10} {result['import_s']:>6.2f} {result['open_s']:>6.2f} "
                + " ".join(cells)
                + f" {peak:>9,.0f} {result['children_kib'] / 1024:>9,.0f}  "
                + "; ".join(f"{k}: {v}" for k, v in verdicts.items())
                + f" / deterministic: {all(result['deterministic'].values())}"
            )
            summary.append(
                {"candidate": candidate, "backend": backend, **result, "verdicts": verdicts}
            )
        print(f"/proc/loadavg after: {Path('/proc/loadavg').read_text().strip()}")
        print("\nerrors and SUM types per run:")
        for row in summary:
            types = {k: v for k, v in row["sums"].items() if k != "sql"}
            (workdir / f"{row['candidate']}-{row['backend']}.sql").write_text(
                row["sums"].get("sql", "")
            )
            print(
                f"  {row['candidate']}:{row['backend']}: "
                f"errors={row['errors'] or 'none'} types={types}"
            )
        (workdir / "summary.json").write_text(json.dumps(summary, indent=1))
    finally:
        if server is not None:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument(
        "--workdir", type=Path, help="where to write the data (default: a temp dir)"
    )
    parser.add_argument(
        "--pg-url", help="an existing empty PostgreSQL database (else one is started)"
    )
    parser.add_argument(
        "--only", nargs="*", default=[], help="candidate:backend pairs, e.g. ibis:duckdb"
    )
    parser.add_argument(
        "--wide",
        action="store_true",
        help="add a version whose debits pass 2^63 (exactness probe: int64 sums must fail loudly)",
    )
    parser.add_argument(
        "--gx-probe",
        type=Path,
        metavar="WORKDIR",
        help="after a run kept in WORKDIR: GX's Spark and SQL engines wrapping check (a)",
    )
    parser.add_argument("--prepare", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gx_probe:
        gx_probe(args.gx_probe)
    elif args.prepare:
        prepare(int(args.prepare[0]), Path(args.prepare[1]), args.prepare[2], wide=args.wide)
    elif args.measure:
        measure(args.measure)
    elif args.worker:
        candidate, backend, workdir, pg_url, out = args.worker
        worker(candidate, backend, Path(workdir), pg_url, Path(out))
    elif args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        bench(args.transactions, args.workdir, args.only, args.pg_url, wide=args.wide)
    else:
        with tempfile.TemporaryDirectory(prefix="bench_engines_") as tmp:
            bench(args.transactions, Path(tmp), args.only, args.pg_url, wide=args.wide)


if __name__ == "__main__":
    os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 1))
    main()
