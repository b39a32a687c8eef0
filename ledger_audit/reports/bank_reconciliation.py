"""The bank reconciliation statement per bank account and currency, in the standard form.

For each mapped bank account x asset of the drift report, at the period's end:

    balance per bank statement (at the statement balance's date)
  + deposits in transit          ledger receipts the bank has not credited yet
  - outstanding payments         ledger payments the bank has not debited yet
  +/- timing                     matched items booked on one side only by the balance's date
  +/- bank items not booked      bank lines the ledger does not hold: fees, unexpected,
                                 duplicated or reversed lines
  = adjusted bank balance
    balance per ledger
    difference                   adjusted bank balance - balance per ledger, explained by:
      ledger items with no bank record, amount mismatches, unmatched ledger reversals,
      match differences within tolerance, suggested matches to confirm, and a remainder
      nothing explains (``unexplained``).

Every line is signed as it moves the bank balance toward the ledger balance (an outstanding
payment is negative); the explained lines are signed as the difference is. Balances are in
the bank's convention (money in the account positive), as ``reports.drift`` states them. So
``bank + adjustments - ledger = difference = explained + unexplained`` holds by
construction, and a clean reconciliation shows a difference of zero.

Values only: ``statement`` has one row per account x line, ``items`` one row per open break
behind a line (what a reviewer ticks off). The break classes and the items open at the
period's end are those of ``reports.drift`` (a ledger item dated up to the last day, a bank
record booked up to the statement balance's date); ``timing``, ``match_difference`` and
``suggested`` come from the drift report's period-end row. Amounts are integer minor units
per account and asset (Decimal(38, 0) sums); no line adds two assets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from ledger_audit.reconcile.match import Reconciliation
from ledger_audit.replay.balances import SUM_AMOUNT
from ledger_audit.reports.drift import NOT_EXPLAINING, DriftReport
from ledger_audit.reports.trial_balance import asset_scale

ACCOUNT = ("ledger_id", "account_id", "account_ref", "asset_id")
"""The key of one statement: a ledger bank account in one asset, and its bank account."""

LINES: tuple[tuple[str, str], ...] = (
    ("bank", "Balance per bank statement"),
    ("deposits_in_transit", "Add: deposits in transit"),
    ("outstanding_payments", "Less: outstanding payments"),
    ("timing", "Add/less: matched items booked on one side only by the balance date"),
    ("bank_not_booked", "Add/less: bank items not booked in the ledger (fees, unexpected lines)"),
    ("adjusted_bank", "Adjusted bank balance"),
    ("ledger", "Balance per ledger"),
    ("difference", "Difference (adjusted bank balance - balance per ledger)"),
    ("missing_external", "  explained by: ledger items with no bank record"),
    ("amount_mismatch", "  explained by: amounts that differ from the bank's"),
    ("reversal", "  explained by: ledger reversals left unmatched"),
    ("match_difference", "  explained by: match differences within tolerance"),
    ("suggested", "  explained by: suggested matches to confirm"),
    ("unexplained", "  unexplained"),
)
"""(key, label) of each statement line, in the statement's order."""

EXPLAINING = ("missing_external", "amount_mismatch", "reversal", "match_difference", "suggested")
"""The lines that explain the difference (with ``unexplained``, they add up to it)."""

BANK_SIDE_CLASSES = ("missing_internal", "duplicate", "reversal")
"""Break classes of bank records that are bank items not booked in the ledger."""

STATEMENT_SCHEMA: dict[str, pl.DataType] = {
    "ledger_id": pl.String(),
    "account_id": pl.String(),
    "account_ref": pl.String(),
    "asset_id": pl.String(),
    "scale": pl.Int32(),
    "line_no": pl.Int8(),
    "line": pl.String(),
    "label": pl.String(),
    "date": pl.Date(),
    "amount": SUM_AMOUNT,
    "items": pl.UInt32(),
}
"""One row per account x line; ``date`` is the balance's day on the balance lines; ``items``
counts the open breaks behind a line (null on the computed lines). ``amount`` is null on
every line of an account with no statement balance yet, but the ledger's."""

ITEM_SCHEMA: dict[str, pl.DataType] = {
    "ledger_id": pl.String(),
    "account_id": pl.String(),
    "account_ref": pl.String(),
    "asset_id": pl.String(),
    "scale": pl.Int32(),
    "line": pl.String(),
    "class": pl.String(),
    "side": pl.String(),
    "item_id": pl.String(),
    "file": pl.String(),
    "record_line": pl.Int64(),
    "transaction_id": pl.String(),
    "date": pl.Date(),
    "amount": pl.Int64(),
    "effect": pl.Int64(),
    "counterpart": pl.String(),
}
"""One row per open break behind a line: ``amount`` as the break states it (the bank's
sign), ``effect`` what it adds to its line. Sorted by account, line order, date, item."""

_ORDER = {key: number for number, (key, _) in enumerate(LINES, start=1)}


@dataclass(frozen=True, slots=True, eq=False)
class BankReconciliation:
    """The bank reconciliation statements of one close (see the module docstring).

    Attributes:
        as_of: the period's last day (the ledger balance's day).
        statement: STATEMENT_SCHEMA, sorted by account_ref, asset_id, line_no.
        items: ITEM_SCHEMA.
    """

    as_of: dt.date
    statement: pl.DataFrame
    items: pl.DataFrame

    def accounts(self) -> list[tuple[str, str, str, str]]:
        """The statements' keys (ledger, account, bank account, asset), in order."""
        keys = self.statement.select(ACCOUNT).unique(maintain_order=True)
        return [(str(a), str(b), str(c), str(d)) for a, b, c, d in keys.rows()]

    def line(self, account_ref: str, asset_id: str, line: str) -> int | None:
        """One line's amount (minor units), or None when it cannot be stated."""
        row = self.statement.filter(
            (pl.col("account_ref") == account_ref)
            & (pl.col("asset_id") == asset_id)
            & (pl.col("line") == line)
        )
        value = row["amount"].item() if row.height == 1 else None
        return None if value is None else int(value)

    @property
    def reconciled(self) -> bool:
        """True when every statement has a bank balance and a difference of zero."""
        differences = self.statement.filter(pl.col("line") == "difference")["amount"]
        return differences.len() > 0 and bool((differences.fill_null(1) == 0).all())


def _line_of() -> pl.Expr:
    """The statement line an open break feeds (see the module docstring)."""
    klass, side, amount = pl.col("class"), pl.col("side"), pl.col("amount")
    return (
        pl.when((klass == "in_transit") & (amount >= 0))
        .then(pl.lit("deposits_in_transit"))
        .when(klass == "in_transit")
        .then(pl.lit("outstanding_payments"))
        .when((side == "external") & klass.is_in(BANK_SIDE_CLASSES))
        .then(pl.lit("bank_not_booked"))
        .otherwise(klass)
    )


def _effect() -> pl.Expr:
    """What a break adds to its line: toward the ledger, or to the difference."""
    amount, line, side = pl.col("amount"), pl.col("line"), pl.col("side")
    toward_ledger = pl.when(line == "bank_not_booked").then(-amount).otherwise(amount)
    to_difference = pl.when(side == "external").then(amount).otherwise(-amount)
    return pl.when(line.is_in(EXPLAINING)).then(to_difference).otherwise(toward_ledger)


def build_bank_reconciliation(
    drift: DriftReport, reconciliation: Reconciliation
) -> BankReconciliation:
    """The statement per bank account x asset at ``drift.last_day``."""
    end = drift.daily.filter(pl.col("day") == drift.last_day).select(
        *ACCOUNT,
        "external",
        "external_date",
        "ledger",
        "timing",
        "match_difference",
        "suggested",
    )
    open_at_end = (
        reconciliation.breaks.join(
            end.select("account_ref", "asset_id", "external_date"),
            on=["account_ref", "asset_id"],
            how="inner",
        )
        .filter(~pl.col("class").is_in(NOT_EXPLAINING))
        .filter(
            pl.when(pl.col("side") == "internal")
            .then(pl.col("date") <= drift.last_day)
            .otherwise(pl.col("date") <= pl.col("external_date"))
        )
        .drop("ledger_id", "account_id")
        .join(end.select(ACCOUNT), on=["account_ref", "asset_id"], how="inner")
    )
    items = _items(open_at_end)
    return BankReconciliation(
        as_of=drift.last_day, statement=_statement(end, items, drift.last_day), items=items
    )


def _items(open_at_end: pl.DataFrame) -> pl.DataFrame:
    return (
        open_at_end.rename({"line": "record_line"})
        .with_columns(_line_of().alias("line"), asset_scale(pl.col("asset_id")).alias("scale"))
        .with_columns(
            _effect().alias("effect"),
            pl.col("line").replace_strict(_ORDER, return_dtype=pl.Int8()).alias("_order"),
        )
        .sort("account_ref", "asset_id", "_order", "date", "side", "item_id", "file")
        .select(list(ITEM_SCHEMA))
    )


def _statement(end: pl.DataFrame, items: pl.DataFrame, last_day: dt.date) -> pl.DataFrame:
    sums = items.group_by("account_ref", "asset_id", "line").agg(
        pl.col("effect").cast(SUM_AMOUNT).sum().alias("amount"),
        pl.len().cast(pl.UInt32()).alias("items"),
    )
    wide = end.with_columns(asset_scale(pl.col("asset_id")).alias("scale"))
    for key in _BREAK_LINES:  # timing, match_difference, suggested: the drift's own columns
        mine = sums.filter(pl.col("line") == key).select(
            "account_ref",
            "asset_id",
            pl.col("amount").alias(key),
            pl.col("items").alias(f"{key}_items"),
        )
        wide = wide.join(mine, on=["account_ref", "asset_id"], how="left").with_columns(
            pl.col(key).fill_null(pl.lit(0).cast(SUM_AMOUNT)),
            pl.col(f"{key}_items").fill_null(0),
        )
    zero = pl.lit(0).cast(SUM_AMOUNT)
    adjusted = (
        pl.col("external")
        + pl.col("deposits_in_transit")
        + pl.col("outstanding_payments")
        - pl.col("timing")
        + pl.col("bank_not_booked")
    )
    wide = (
        wide.with_columns(
            pl.col("external").alias("bank"),
            (zero - pl.col("timing")).alias("timing"),
            adjusted.alias("adjusted_bank"),
        )
        .with_columns((pl.col("adjusted_bank") - pl.col("ledger")).alias("difference"))
        .with_columns(
            (pl.col("difference") - pl.sum_horizontal(*(pl.col(k) for k in EXPLAINING))).alias(
                "unexplained"
            )
        )
    )
    rows = []
    for number, (key, label) in enumerate(LINES, start=1):
        counted = key in _BREAK_LINES
        date = (
            pl.col("external_date")
            if key == "bank"
            else pl.lit(last_day)
            if key == "ledger"
            else pl.lit(None, dtype=pl.Date())
        )
        rows.append(
            wide.select(
                *ACCOUNT,
                "scale",
                pl.lit(number, dtype=pl.Int8()).alias("line_no"),
                pl.lit(key).alias("line"),
                pl.lit(label).alias("label"),
                date.alias("date"),
                pl.col(key).cast(SUM_AMOUNT).alias("amount"),
                (
                    pl.col(f"{key}_items").cast(pl.UInt32())
                    if counted
                    else pl.lit(None, dtype=pl.UInt32())
                ).alias("items"),
            )
        )
    return pl.concat(rows).sort("account_ref", "asset_id", "line_no").select(list(STATEMENT_SCHEMA))


_BREAK_LINES = (
    "deposits_in_transit",
    "outstanding_payments",
    "bank_not_booked",
    "missing_external",
    "amount_mismatch",
    "reversal",
)
"""The lines made of open breaks (the others are balances, sums or the drift's columns)."""
