"""The roll-forward and trial balance summed on Spark equal the frames path's, and a mapped
foreign layout audits on Spark as it does on frames.

Issue 16's acceptance asks for the same findings, balances, trial balance and checkpoints
from every engine on the demo, on a tampered demo and on a mapped foreign layout. The
demo and the tampered copy are read by Spark from Parquet; the foreign layout (the demo as
versioned CSV files, read through its mapping) is shipped to Spark from the loaded frames,
which is how ``--engine spark`` runs any source Spark cannot read itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest

from ledger_audit.checks.runner import audit
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.replay.balances import balances_as_of
from ledger_audit.replay.rollforward import roll_forward
from ledger_audit.reports.trial_balance import build_trial_balance
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.sources.load import load_ledger
from ledger_audit.spark.replay import balances_as_of_spark
from ledger_audit.spark.run import active, spark_catalogue
from ledger_audit.spark.trial_balance import build_trial_balance_spark, roll_forward_spark
from ledger_audit.spec import Period, VerifySpec
from tests.analytics.jet.ledger import Tx, move, ns
from tests.analytics.jet.ledger import frames as jet_frames
from tests.sources.mapping.foreign import Exported, export_csv_versioned

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

JANUARY = Period.month("2025-01")
PERIODS = [Period.month("2024-12"), JANUARY, Period.month("2025-02")]
BASES = ("effective", "recorded")


def _trial_balances_equal(spark: SparkSession, frames: LedgerFrames) -> int:
    """Assert equality on both bases; the number of January rows compared."""
    compared = 0
    for basis in BASES:
        ours = build_trial_balance_spark(spark, JANUARY, basis)  # type: ignore[arg-type]
        theirs = build_trial_balance(frames, JANUARY, basis)  # type: ignore[arg-type]
        assert ours.rows.equals(theirs.rows), basis
        assert ours.totals.equals(theirs.totals), basis
        assert ours.balanced == theirs.balanced
        rolled = roll_forward_spark(spark, PERIODS, basis).collect()  # type: ignore[arg-type]
        assert rolled.equals(roll_forward(frames, PERIODS, basis).collect()), basis  # type: ignore[arg-type]
        compared += ours.rows.height
    return compared


@pytest.mark.parametrize("ledger", ["demo_parquet", "tampered_parquet"])
def test_the_trial_balance_summed_on_spark_is_the_frames_one(
    spark: SparkSession, ledger: str, request: pytest.FixtureRequest
) -> None:
    folder = Path(request.getfixturevalue(ledger))
    frames, _ = load_ledger(folder)
    with active(spark, folder, frames, as_loaded=True):
        assert _trial_balances_equal(spark, frames) > 0


def test_a_superseded_posting_moves_back_in_the_period_it_stops(spark: SparkSession) -> None:
    """A version replaced inside the period adds its legs and takes them away there (its
    debits net to zero), and one replaced after the period still counts in it."""
    ledger = jet_frames(
        [
            Tx("a", ns(5), move("assets:bank", "revenue:r0", 1_000)),
            Tx("a", ns(9), move("assets:bank", "revenue:r0", 1_500), version=1),
            Tx("b", ns(20), move("assets:bank", "revenue:r1", 700)),
            Tx("b", ns(3, month=2), move("assets:bank", "revenue:r1", 900), version=1),
        ]
    )
    with active(spark, "moves", ledger, as_loaded=False):
        assert _trial_balances_equal(spark, ledger) > 0
        rows = build_trial_balance_spark(spark, JANUARY, "recorded").rows
    bank = rows.filter(pl.col("account_id") == "assets:bank")
    # a's 1,000 counts from the 5th and is taken back (a negative debit) when version 1's
    # 1,500 replaces it on the 9th; b's 700 still counts at the month's end
    assert bank.select("debits", "credits", "closing").rows() == [(2_200, 0, 2_200)]


@pytest.fixture(scope="module")
def csv_layout(spark_demo: DemoSummary, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """The Spark tests' demo as versioned CSV files and the mapping that reads them back."""
    frames, _ = load_ledger(spark_demo.ledger_path)
    return export_csv_versioned(frames, tmp_path_factory.mktemp("csv-layout") / "demo")


def test_a_mapped_foreign_layout_audits_on_spark_as_on_frames(
    spark: SparkSession, csv_layout: Exported
) -> None:
    frames, report = load_ledger(csv_layout.source, mapping=csv_layout.mapping)
    assert report.rejected == 0, report.rejections
    spec = VerifySpec(source=csv_layout.source)
    on_frames = audit(frames, report, spec)
    with active(spark, csv_layout.source, frames, as_loaded=False):
        on_spark = audit(frames, report, spec, spark_catalogue())
        for basis in BASES:
            end = JANUARY.end_ns - 1
            spark_balances = balances_as_of_spark(spark, end, basis)  # type: ignore[arg-type]
            frame_balances = balances_as_of(frames, end, basis).collect()  # type: ignore[arg-type]
            assert spark_balances.equals(frame_balances), basis
        assert _trial_balances_equal(spark, frames) > 0
    assert on_spark.findings.equals(on_frames.findings)
    assert on_spark.checkpoints == on_frames.checkpoints
    assert on_spark.checkpoints  # the layout carries the chain: checkpoints to compare
    rules = set(on_spark.findings.get_column("rule"))
    assert "check.crashed" not in rules
    assert {"reversal.not_inverse", "idempotency.conflict"} <= rules  # planted, still found
    scopes = {r.check: r.coverage.scope for r in on_spark.results}
    assert "Spark SQL" in scopes["invariants"]
