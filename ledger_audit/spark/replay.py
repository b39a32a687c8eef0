"""Balances as of an instant on Spark: ``replay.balances.balances_as_of``'s definition, exact.

Per transaction, the latest version whose time on the basis is at or before the instant
counts (posted or pending by its status; archived nowhere; a pending version another
transaction resolved by then no longer counts). Every sum is DECIMAL(38, 0), never a double,
and ANSI mode makes an overflow an error, never a wrapped number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from ledger_audit.replay.balances import BALANCE_SCHEMA, Basis

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_MONEY = "DECIMAL(38, 0)"


def balances_sql(at_ns: int, basis: Basis = "effective") -> str:
    """The Spark SQL of the balances at ``at_ns`` over the canonical views."""
    if basis not in ("effective", "recorded"):
        msg = f"basis {basis!r} is not effective or recorded"
        raise ValueError(msg)
    at = int(at_ns)

    def total(status: str, debit: bool) -> str:
        side = "direction = 'debit'" if debit else "NOT (direction = 'debit')"
        return (
            f"SUM(CASE WHEN status = '{status}' AND {side} "
            f"THEN CAST(amount AS {_MONEY}) ELSE CAST(0 AS {_MONEY}) END)"
        )

    return f"""
    WITH seen AS (
      SELECT ledger_id, transaction_id, version, status, pending_transaction_id,
             max(version) OVER (PARTITION BY ledger_id, transaction_id) AS _latest
      FROM transactions WHERE {basis}_ns <= {at}
    ),
    resolved AS (
      SELECT DISTINCT ledger_id, pending_transaction_id AS transaction_id FROM seen
      WHERE pending_transaction_id IS NOT NULL
    ),
    counting AS (
      SELECT s.ledger_id, s.transaction_id, s.version,
             CASE WHEN r.transaction_id IS NOT NULL AND s.status = 'pending' THEN 'resolved'
                  ELSE s.status END AS status
      FROM seen s LEFT JOIN resolved r
        ON r.ledger_id = s.ledger_id AND r.transaction_id = s.transaction_id
      WHERE s.version = s._latest
    ),
    sums AS (
      SELECT e.ledger_id, e.account_id, e.asset_id,
             {total("posted", debit=True)} AS posted_debits,
             {total("posted", debit=False)} AS posted_credits,
             {total("pending", debit=True)} AS pending_debits,
             {total("pending", debit=False)} AS pending_credits
      FROM entries e JOIN counting v
        ON v.ledger_id = e.ledger_id AND v.transaction_id = e.transaction_id
       AND v.version = e.version
      WHERE v.status IN ('posted', 'pending')
      GROUP BY e.ledger_id, e.account_id, e.asset_id
    ),
    oriented AS (
      SELECT s.*, a.normal_balance,
             CASE WHEN a.normal_balance = 'credit' THEN posted_credits - posted_debits
                  ELSE posted_debits - posted_credits END AS posted
      FROM sums s LEFT JOIN accounts a
        ON a.ledger_id = s.ledger_id AND a.account_id = s.account_id
    )
    SELECT {", ".join(_columns())},
           CASE WHEN normal_balance = 'credit' THEN posted - pending_debits
                ELSE posted - pending_credits END AS available
    FROM oriented
    """


def _columns() -> list[str]:
    return [name for name in BALANCE_SCHEMA if name != "available"]


def balances_as_of_spark(
    spark: SparkSession, at_ns: int, basis: Basis = "effective"
) -> pl.DataFrame:
    """Posted, pending and available balances per account x asset at ``at_ns``, from Spark.

    The frame of ``replay.balances.balances_as_of`` (BALANCE_SCHEMA, Decimal(38, 0) sums,
    sorted by ledger, account, asset).
    """
    table = spark.sql(balances_sql(at_ns, basis)).toArrow()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # noqa: S101 - a table gives a frame
    return (
        frame.select(list(BALANCE_SCHEMA))
        .cast(BALANCE_SCHEMA)  # type: ignore[arg-type]
        .sort("ledger_id", "account_id", "asset_id")
    )
