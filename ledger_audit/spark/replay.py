"""Balances as of an instant on Spark: ``replay.balance_sql``'s statement, compiled for Spark.

The statement is the one SQLite, PostgreSQL and DuckDB run (``checks.balance_engines``), so
the definition is written once; Spark SQL gets it through ``spark.dialect``. Every sum is
DECIMAL(38, 0), never a double, and ANSI mode makes an overflow an error, never a wrapped
number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl
import sqlalchemy as sa

from ledger_audit.checks.balance_engines import Fetch, balances_on
from ledger_audit.replay.balances import Basis
from ledger_audit.spark.dialect import spark_sql

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def spark_fetch(spark: SparkSession) -> Fetch:
    """A ``Fetch`` running SQLAlchemy statements with ``spark.sql`` over the session's views."""

    def fetch(statement: sa.Select[Any]) -> pl.DataFrame:
        frame = pl.from_arrow(spark.sql(spark_sql(statement)).toArrow())
        assert isinstance(frame, pl.DataFrame)  # noqa: S101 - a table gives a frame
        return frame

    return fetch


def balances_as_of_spark(
    spark: SparkSession, at_ns: int, basis: Basis = "effective"
) -> pl.DataFrame:
    """Posted, pending and available balances per account x asset at ``at_ns``, from Spark.

    The frame of ``replay.balances.balances_as_of`` (BALANCE_SCHEMA, Decimal(38, 0) sums,
    sorted by ledger, account, asset).
    """
    return balances_on(spark_fetch(spark), at_ns, basis)
