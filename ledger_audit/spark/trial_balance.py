"""The roll-forward and the trial balance on Spark, from the same parts as the frames path.

What scales with the ledger (each instant's posted balances, each period's posted movement)
is summed by Spark where the data is, with ``replay.balance_sql``'s statements (the ones
SQLite, PostgreSQL and DuckDB run); what is left is a few rows per account and asset, which
the frames path's own assembly (``replay.rollforward.assemble_roll_forward``,
``reports.trial_balance.trial_balance_of``) turns into the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from ledger_audit.checks.balance_engines import roll_forward_on, trial_balance_on
from ledger_audit.replay.balances import Basis
from ledger_audit.reports.trial_balance import TrialBalance
from ledger_audit.spark.replay import spark_fetch
from ledger_audit.spec import Period

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def roll_forward_spark(
    spark: SparkSession, periods: Sequence[Period], basis: Basis = "effective"
) -> pl.LazyFrame:
    """``replay.rollforward.roll_forward``'s rows, with the sums done by Spark."""
    return roll_forward_on(spark_fetch(spark), periods, basis)


def build_trial_balance_spark(
    spark: SparkSession, period: Period, basis: Basis = "effective"
) -> TrialBalance:
    """``reports.trial_balance.build_trial_balance`` of ``period``, summed on Spark."""
    return trial_balance_on(spark_fetch(spark), period, basis)
