"""The roll-forward and the trial balance on Spark, from the same parts as the frames path.

What scales with the ledger (each instant's posted balances, each period's posted movement)
is summed by Spark where the data is; what is left is a few rows per account and asset,
which :func:`~ledger_audit.replay.rollforward.assemble_roll_forward` and
:func:`~ledger_audit.reports.trial_balance.trial_balance_of` turn into the same rows as the
frames path, so the conventions are written once.

Movement is ``replay.events.posted_moves``'s definition: a posted version's legs count from
its time on the basis until the earliest time of a higher version of its transaction
(never, when none came later; not at all, when one came first); a leg adds its amount
where it starts counting inside the period and takes it away where it stops inside it.
Every sum is DECIMAL(38, 0) under ANSI mode: exact, and an overflow is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from ledger_audit.replay.balances import SUM_AMOUNT, Basis
from ledger_audit.replay.events import BALANCE_KEY
from ledger_audit.replay.rollforward import assemble_roll_forward, period_instants
from ledger_audit.reports.trial_balance import TrialBalance, trial_balance_of
from ledger_audit.spark.replay import balances_as_of_spark
from ledger_audit.spec import Period

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_MONEY = "DECIMAL(38, 0)"
_BASES = ("effective", "recorded")


def movement_sql(period: Period, basis: Basis = "effective") -> str:
    """The Spark SQL of ``period``'s posted debits and credits per account x asset."""
    if basis not in _BASES:
        msg = f"basis {basis!r} is not effective or recorded"
        raise ValueError(msg)
    first, last = int(period.start_ns), int(period.end_ns) - 1

    def moved(direction: str) -> str:
        amount = f"CAST(amount AS {_MONEY})"
        zero = f"CAST(0 AS {_MONEY})"
        starts = f"CASE WHEN start_ns BETWEEN {first} AND {last} THEN {amount} ELSE {zero} END"
        ends = f"CASE WHEN end_ns BETWEEN {first} AND {last} THEN {amount} ELSE {zero} END"
        return f"SUM(CASE WHEN direction = '{direction}' THEN {starts} - {ends} ELSE {zero} END)"

    return f"""
    WITH intervals AS (
      SELECT ledger_id, transaction_id, version, status, {basis}_ns AS start_ns,
             min({basis}_ns) OVER (
               PARTITION BY ledger_id, transaction_id ORDER BY version DESC
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
             ) AS end_ns
      FROM transactions
    ),
    counted AS (
      SELECT e.ledger_id, e.account_id, e.asset_id, e.direction, e.amount,
             v.start_ns, v.end_ns
      FROM entries e JOIN intervals v
        ON v.ledger_id = e.ledger_id AND v.transaction_id = e.transaction_id
       AND v.version = e.version
      WHERE v.status = 'posted' AND (v.end_ns IS NULL OR v.end_ns > v.start_ns)
    )
    SELECT ledger_id, account_id, asset_id,
           {moved("debit")} AS debits,
           {moved("credit")} AS credits
    FROM counted
    WHERE start_ns BETWEEN {first} AND {last} OR end_ns BETWEEN {first} AND {last}
    GROUP BY ledger_id, account_id, asset_id
    """


def _frame(spark: SparkSession, sql: str) -> pl.DataFrame:
    frame = pl.from_arrow(spark.sql(sql).toArrow())
    assert isinstance(frame, pl.DataFrame)  # noqa: S101 - a table gives a frame
    return frame


def roll_forward_spark(
    spark: SparkSession, periods: Sequence[Period], basis: Basis = "effective"
) -> pl.LazyFrame:
    """``replay.rollforward.roll_forward``'s rows, with the sums done by Spark."""
    posted = {
        at: balances_as_of_spark(spark, at, basis).select(*BALANCE_KEY, "posted").lazy()
        for at in period_instants(periods)
    }
    movements = {
        period.label: _frame(spark, movement_sql(period, basis))
        .select(*BALANCE_KEY, "debits", "credits")
        .cast({"debits": SUM_AMOUNT, "credits": SUM_AMOUNT})
        .lazy()
        for period in periods
    }
    normal = _frame(spark, "SELECT ledger_id, account_id, normal_balance FROM accounts").lazy()
    return assemble_roll_forward(periods, posted, lambda p: movements[p.label], normal)


def build_trial_balance_spark(
    spark: SparkSession, period: Period, basis: Basis = "effective"
) -> TrialBalance:
    """``reports.trial_balance.build_trial_balance`` of ``period``, summed on Spark."""
    return trial_balance_of(roll_forward_spark(spark, [period], basis), period, basis)
