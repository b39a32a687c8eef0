"""Report tables as the writers see them: a frame, its money columns and their scale.

A writer cannot tell an amount from a count by its dtype, so a ``Table`` names its money
columns: integers (or Decimal(38, 0)) of minor units, with the number of decimal places in
a scale column beside them (the reports carry ``scale`` next to ``asset_id``). Writers turn
them into text only through :func:`decimal_text`, which is exact at any size: it splits
the integer's digits, with no float and no Decimal context involved.

``report_tables`` lists the tables of the close's reports (trial balance, summary journals)
with their money columns declared, in the order the workpaper and the HTML report show them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.reports.journals import SummaryJournals
from ledger_audit.reports.trial_balance import TrialBalance

_MONEY_DTYPES = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)


@dataclass(frozen=True, slots=True, eq=False)
class Table:
    """One report table.

    Attributes:
        name: what the table is called (a workpaper sheet name, a file stem, a caption).
        frame: the rows, in the order they are to be shown.
        money: columns holding minor units (integer or Decimal with scale 0).
        scale: the column holding each row's decimal places (required when ``money`` is set).
        percent: columns holding rates as fractions (0.25 is 25 %): shown as percentages.
        debit_credit: money columns holding signed debit-minus-credit balances: a reader
            sees them in their direction, ``1,234.50 Dr`` or ``1,234.50 Cr``.
        asset: the column naming each row's asset (its currency code labels the amounts
            and picks the workpaper's number format); absent: amounts carry no code.
        note: one sentence a reader needs to read the table (its sign convention, where
            its hidden rows are).
        limit: the rows the report shows inline (None: the report's own cap); the rest
            are counted in a note that says where they are.
        full: the table that holds every row and column, when this one is a summary of it
            (its workpaper sheet and ``tables/`` file name); None: this table itself.
        collapsed: the report shows it folded (``<details>``) under a one-line summary, so a
            reader opens it when they want it and the page stays short.
    """

    name: str
    frame: pl.DataFrame
    money: tuple[str, ...] = ()
    scale: str = "scale"
    percent: tuple[str, ...] = ()
    debit_credit: tuple[str, ...] = ()
    asset: str = "asset_id"
    note: str = ""
    limit: int | None = None
    full: str | None = None
    collapsed: bool = False

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InputError("table", "a table needs a name")
        schema = self.frame.schema
        for column in self.money:
            dtype = schema.get(column)
            if dtype is None:
                raise InputError(f"table {self.name}", f"has no money column {column!r}")
            exact_decimal = isinstance(dtype, pl.Decimal) and dtype.scale == 0
            if not (isinstance(dtype, _MONEY_DTYPES) or exact_decimal):
                raise InputError(
                    f"table {self.name}.{column}",
                    f"money is integer minor units, not {dtype}",
                )
        for column in self.percent:
            if column not in schema or not schema[column].is_numeric():
                raise InputError(f"table {self.name}", f"has no numeric rate column {column!r}")
        for column in self.debit_credit:
            if column not in self.money:
                raise InputError(
                    f"table {self.name}", f"debit/credit column {column!r} is not a money column"
                )
        if self.limit is not None and self.limit < 1:
            raise InputError(f"table {self.name}", f"limit must be at least 1, got {self.limit}")
        if self.money:
            dtype = schema.get(self.scale)
            if dtype is None or not dtype.is_integer():
                raise InputError(
                    f"table {self.name}",
                    f"money columns need an integer scale column {self.scale!r}",
                )


def decimal_text(amount: int | Decimal | None, scale: int | None, *, grouped: bool = False) -> str:
    """``123450, 2`` -> ``'1234.50'`` (``'1,234.50'`` when ``grouped``); None -> ``''``.

    Exact at any size and scale: the digits of the integer are split at ``scale`` places
    from the right, with no Decimal context involved (``Decimal.scaleb`` and ``format``
    round to the context's 28 significant digits; a Decimal(38, 0) amount has up to 38).
    """
    if amount is None:
        return ""
    if scale is None or scale < 0:
        raise InputError("amount", f"cannot format {amount} minor units with scale {scale!r}")
    units = int(amount)
    if units != amount:
        raise InputError("amount", f"{amount} is not a whole number of minor units")
    digits = str(abs(units)).zfill(scale + 1)
    whole, fraction = digits[: len(digits) - scale], digits[len(digits) - scale :]
    if grouped:
        whole = f"{int(whole):,}"
    sign = "-" if units < 0 else ""
    return f"{sign}{whole}.{fraction}" if scale else f"{sign}{whole}"


DEBIT_CREDIT_NOTE = (
    "Balances in their direction: Dr a debit balance, Cr a credit balance (the workpaper "
    "and the CSV/Parquet tables sign them debit minus credit: Dr positive, Cr negative)."
)


def file_stem(name: str) -> str:
    """``'Trial balance totals'`` -> ``'trial_balance_totals'`` (a table's file name)."""
    return re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")


def currency_code(asset_id: str | None) -> str:
    """``'USD/2'`` -> ``'USD'``; None -> ``''``."""
    return "" if asset_id is None else asset_id.split("/", 1)[0]


def percent_text(rate: float | None) -> str:
    """``0.9962756`` -> ``'99.63 %'`` (a rate, never money); None -> ``''``."""
    return "" if rate is None else f"{rate * 100:.2f} %"


def debit_credit_text(amount: int | Decimal | None, scale: int | None) -> str:
    """A signed debit-minus-credit balance in its direction: ``-123450, 2`` -> ``'1,234.50 Cr'``."""
    if amount is None:
        return ""
    text = decimal_text(abs(int(amount)), scale, grouped=True)
    return text if amount == 0 else f"{text} {'Dr' if amount > 0 else 'Cr'}"


def report_tables(
    trial_balance: TrialBalance,
    journals: SummaryJournals | None = None,
    *,
    drilldown: bool = False,
) -> tuple[Table, ...]:
    """The close's report tables with their money columns declared.

    Trial balance rows and totals; then, with ``journals``, the journal lines, per-journal
    totals and the tie-out, and the drill-down only when asked (it has a row per ledger
    entry: its place is the CSV/Parquet tables, not a spreadsheet).
    """
    tables = [
        Table(
            "Trial balance",
            trial_balance.rows,
            ("opening", "debits", "credits", "closing", "difference"),
            debit_credit=("opening", "closing"),
            note=DEBIT_CREDIT_NOTE,
        ),
        Table(
            "Trial balance totals",
            trial_balance.totals,
            ("opening", "debits", "credits", "closing", "movement"),
        ),
    ]
    if journals is not None:
        tables += [
            Table("Journal lines", journals.lines, ("debit", "credit")),
            Table("Journal totals", journals.totals, ("debits", "credits", "difference")),
            Table(
                "Tie-out",
                journals.tieout,
                (
                    "journal_debits",
                    "journal_credits",
                    "journal_net",
                    "trial_balance_debits",
                    "trial_balance_credits",
                    "trial_balance_net",
                    "difference",
                ),
            ),
        ]
        if drilldown:
            scale = journals.drilldown.join(
                journals.lines.select("line_id", "scale"), on="line_id", how="left"
            )
            tables.append(Table("Journal drill-down", scale, ("debit", "credit")))
    return tuple(tables)
