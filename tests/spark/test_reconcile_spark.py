"""The keyed stages on Spark give the frames path's matches, links, breaks and findings.

Whole frames are compared (rows, columns, dtypes, order): on the demo with its BAI2 and
camt.053 statements and processor report, on a tampered copy of those statements, and on a
dense synthetic month where ties are everywhere (few amounts, few days, shared references
and batch keys), stage by stage and end to end.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest

from ledger_audit.cli import default_rules_path, main
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.reconcile.internal import INTERNAL_SCHEMA, internal_items
from ledger_audit.reconcile.match import Reconciliation, reconcile
from ledger_audit.reconcile.normalise import Window, WorkFrames, prepare
from ledger_audit.reconcile.stages import Found, exact_stage, group_stage, key_stage
from ledger_audit.sources.bank.load import load_statements
from ledger_audit.sources.bank.records import RECORD_SCHEMA
from ledger_audit.sources.load import load_ledger
from ledger_audit.sources.match_rules import MatchRules, read_match_rules
from ledger_audit.spark.reconcile import (
    DRIVER_ROWS,
    SparkStages,
    exact_stage_spark,
    group_stage_spark,
    key_stage_spark,
)
from tests.reconcile.helpers import RULES, day, ledger_items, matched, records, tx

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _both(
    spark: SparkSession,
    items: pl.DataFrame,
    lines: pl.DataFrame,
    rules: MatchRules,
    **options: object,
) -> tuple[Reconciliation, Reconciliation, list[str]]:
    on_frames = reconcile(items, lines, rules, **options)  # type: ignore[arg-type]
    stages = SparkStages(spark)
    on_spark = reconcile(items, lines, rules, run=stages, **options)  # type: ignore[arg-type]
    return on_frames, on_spark, stages.ran


def _assert_same(on_frames: Reconciliation, on_spark: Reconciliation) -> None:
    for name, frame in on_frames.frames().items():
        assert on_spark.frames()[name].equals(frame, null_equal=True), name
    assert on_spark.coverage == on_frames.coverage


def _demo_inputs(demo: DemoSummary) -> tuple[pl.DataFrame, pl.DataFrame, MatchRules]:
    assert demo.statements is not None
    rules = read_match_rules(default_rules_path())
    frames, _ = load_ledger(demo.ledger_path)
    parsed = load_statements(demo.statements.statements)
    return internal_items(frames, rules), parsed.records, rules


def _month(demo: DemoSummary, rules: MatchRules) -> dict[str, object]:
    first = dt.date.fromisoformat(f"{demo.month}-01")
    last = (first + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
    return {"as_of": last, "window": Window(first, last, rules.lookback_days)}


def test_the_demo_reconciles_the_same_on_spark(
    spark: SparkSession, spark_demo: DemoSummary
) -> None:
    items, lines, rules = _demo_inputs(spark_demo)
    assert set(lines["source"]) >= {"bai2", "camt053"}
    on_frames, on_spark, ran = _both(spark, items, lines, rules, **_month(spark_demo, rules))
    assert ran == ["key", "group", "exact"]
    _assert_same(on_frames, on_spark)
    stages = set(on_spark.matches["stage_name"])
    assert {"key", "exact"} <= stages  # the Spark stages matched something real
    assert on_spark.findings.height > 0  # the planted breaks


def _tampered(lines: pl.DataFrame) -> pl.DataFrame:
    """Every 7th record's amount off by one cent, every 5th takes its predecessor's
    references (two records now claim one payment), every 11th loses its references."""
    n = pl.int_range(pl.len())
    refs = ("end_to_end_id", "customer_ref", "bank_ref", "tx_id")
    return lines.sort("file", "record_id").with_columns(
        pl.when(n % 7 == 3).then(pl.col("amount") + 1).otherwise(pl.col("amount")).alias("amount"),
        *(
            pl.when(n % 11 == 4)
            .then(None)
            .when(n % 5 == 1)
            .then(pl.col(ref).shift(1))
            .otherwise(pl.col(ref))
            .alias(ref)
            for ref in refs
        ),
    )


def test_a_tampered_statement_reconciles_the_same_on_spark(
    spark: SparkSession, spark_demo: DemoSummary
) -> None:
    items, lines, rules = _demo_inputs(spark_demo)
    tampered = _tampered(lines)
    honest = reconcile(items, lines, rules, **_month(spark_demo, rules))  # type: ignore[arg-type]
    on_frames, on_spark, _ = _both(spark, items, tampered, rules, **_month(spark_demo, rules))
    _assert_same(on_frames, on_spark)
    assert on_spark.breaks.height > honest.breaks.height  # the edits broke matches


def _item(k: int, amount: int, on: int, **refs: str | None) -> dict[str, object]:
    row: dict[str, object] = {
        "item_id": f"demo:t{k:03d}:0:0",
        "ledger_id": "demo",
        "transaction_id": f"t{k:03d}",
        "version": 0,
        "entry_index": 0,
        "account_ref": "ACC",
        "account_id": "assets:bank",
        "asset_id": "USD/2",
        "amount": amount,
        "date": day(on),
        "effective_ns": 0,
        "rail": "ach" if k % 3 == 0 else "default",
        "kind": "standard",
    }
    return {**row, **refs}


def _dense(seed: int, noise: int = 30) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Items and records where every stage meets ties.

    Noise drawn from a few amounts, days and references (shared, padded, lower-case,
    ``;``-joined, placeholders): stage-1 candidates tie on rank and distance. Keyed groups
    whose sums agree, two of them sharing a record (a member of two groups: both wait).
    Exact amounts with one candidate, with two records, and with two items. Every ninth
    record has no booking date.
    """
    rng = random.Random(seed)
    refs = [None, "R1", "R2", " r1 ", "R3;R1", "PO1", "NOTPROVIDED"]
    amounts = [500, 1000, -500, 1500]
    items = [
        _item(
            k,
            rng.choice(amounts),
            rng.randint(0, 4),
            external_id=rng.choice(refs),
            idempotency_key=rng.choice(refs),
            batch_key=rng.choice([None, "PO1"]),
        )
        for k in range(noise)
    ]
    lines: list[dict[str, object]] = [
        {
            "amount": rng.choice([*amounts, 2000]),
            "on": rng.randint(0, 5),
            "end_to_end_id": rng.choice(refs),
            "customer_ref": rng.choice(refs),
            "payout_id": rng.choice([None, "PO1"]),
        }
        for _ in range(noise)
    ]
    number = itertools.count(noise)
    for group in range(4):  # G0..G3: two items, one payout record of their sum
        parts = [rng.choice([100, 200]), rng.choice([100, 300])]
        items.extend(_item(next(number), part, 6, batch_key=f"G{group}") for part in parts)
        lines.append({"amount": sum(parts), "on": 7, "payout_id": f"G{group}"})
    items += [
        _item(next(number), 300, 6, batch_key="G4"),
        _item(next(number), 150, 6, batch_key="G5"),
    ]
    lines += [
        {"amount": 200, "on": 7, "payout_id": "G4"},
        {"amount": 100, "on": 7, "end_to_end_id": "G4;G5"},  # in both: G4 and G5 wait
        {"amount": 50, "on": 7, "payout_id": "G5"},
    ]
    for amount, copies_i, copies_x in ((7001, 1, 1), (7002, 1, 1), (7003, 1, 2), (7004, 2, 1)):
        items.extend(_item(next(number), amount, 10) for _ in range(copies_i))
        lines += [{"amount": amount, "on": 11}] * copies_x
    frame = pl.DataFrame(
        [{name: row.get(name) for name in INTERNAL_SCHEMA} for row in items], schema=INTERNAL_SCHEMA
    )
    undated = pl.int_range(pl.len()) % 9 == 4  # no booking date: a null distance sorts first
    bank = records(*lines).with_columns(
        pl.when(undated).then(None).otherwise(pl.col("booking_date")).alias("booking_date")
    )
    assert dict(bank.schema) == RECORD_SCHEMA
    return frame, bank


@pytest.mark.parametrize(("seed", "driver_rows"), [(1, 0), (2, DRIVER_ROWS)])
def test_every_keyed_stage_breaks_ties_as_the_frames_do(
    spark: SparkSession, seed: int, driver_rows: int
) -> None:
    """Stage by stage on the same open rows, then the whole reconciliation; with
    ``driver_rows`` 0 every mutual-best round of stage 1 runs on Spark (three rounds here:
    the contested pairs settle one after another)."""
    items, lines = _dense(seed)
    work: WorkFrames = prepare(items, lines, RULES)
    pairs = (
        (key_stage, partial(key_stage_spark, driver_rows=driver_rows)),
        (group_stage, group_stage_spark),
        (exact_stage, exact_stage_spark),
    )
    for on_frames, on_spark in pairs:
        expected: Found = on_frames(work.internal, work.external)
        found = on_spark(spark, work.internal, work.external)
        assert found.matches.equals(expected.matches), on_frames.__name__
        assert found.links.equals(expected.links), on_frames.__name__
        assert expected.matches.height > 0, on_frames.__name__
    stages = SparkStages(spark)
    on_spark_run = reconcile(items, lines, RULES, as_of=day(20), run=stages)
    _assert_same(reconcile(items, lines, RULES, as_of=day(20)), on_spark_run)
    assert stages.ran == ["key", "group", "exact"]
    groups = on_spark_run.links.filter(pl.col("match_id").str.starts_with("group/"))
    assert groups.filter(pl.col("side") == "internal").height >= 8  # G0..G3, not G4 or G5


def test_two_equal_candidates_go_to_the_smaller_record(spark: SparkSession) -> None:
    """One payment, two bank lines with its reference, amount and distance: stage 1 takes the
    first record (smaller ``x``); the exact stage matches neither of two equal lines."""
    items = ledger_items(tx("t1", 500, 2, ext="E1"), tx("t2", 700, 2))
    lines = records(
        {"amount": 500, "on": 3, "end_to_end_id": "E1"},
        {"amount": 500, "on": 1, "end_to_end_id": "e1 "},
        {"amount": 700, "on": 2},
        {"amount": 700, "on": 3},
    )
    on_frames, on_spark, _ = _both(spark, items, lines, RULES, as_of=day(9))
    _assert_same(on_frames, on_spark)
    assert ("key", "key:external_id=end_to_end_id", "auto", ("t1",), ("r1",)) in matched(on_spark)
    assert not on_spark.matches.filter(pl.col("stage_name") == "exact").height


def test_reconcile_engine_spark_writes_what_the_frames_write(
    spark: SparkSession, spark_demo: DemoSummary, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert spark_demo.statements is not None
    base = [
        "reconcile",
        "--ledger",
        str(spark_demo.ledger_path),
        "--statements",
        *map(str, spark_demo.statements.statements),
        "--period",
        spark_demo.month,
    ]
    assert main([*base, "--out", str(tmp_path / "frames")]) == 0
    assert main([*base, "--engine", "spark", "--out", str(tmp_path / "spark")]) == 0
    assert "Spark ran the key, group, exact stage(s)" in capsys.readouterr().out
    for name in ("matches", "links", "breaks", "aging", "rates", "payouts", "findings"):
        frames, on_spark = (
            pl.read_parquet(tmp_path / out / f"{name}.parquet") for out in ("frames", "spark")
        )
        assert on_spark.equals(frames, null_equal=True), name
    assert spark.sql("SELECT 1").count() == 1  # the test's session is left running
