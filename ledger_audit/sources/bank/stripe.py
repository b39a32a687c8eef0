"""Stripe balance-transaction and payout-reconciliation CSV reports.

Both itemised reports (``balance_change_from_activity.itemized.*`` and
``payout_reconciliation.itemized.*``) and the Dashboard's balance-transactions export
name the same things; headers are matched after normalisation, with these aliases:

=========================  ==================================================
our column                 report header (normalised)
=========================  ==================================================
balance transaction id     ``balance_transaction_id``, ``id``
gross, fee, net            ``gross`` (``amount``), ``fee``, ``net``
currency                   ``currency``
created / available on     ``created_utc`` (``created``), ``available_on_utc``
category                   ``reporting_category``, ``type``
source                     ``source_id``, ``source``
payout                     ``automatic_payout_id``, ``payout_id``, ``transfer``
description                ``description``
=========================  ==================================================

Amounts are major units as decimal text (``10.00``; ``1000`` for JPY); each becomes minor
units with the currency's ISO 4217 exponent, so ``12.345`` USD is a bad record. Each row
gives one record for ``gross`` (``record_id`` the balance transaction id) and, when the
fee is not zero, a second record of ``-fee`` (``record_id`` suffixed ``:fee``, type
``fee``): fees are lines of their own. ``net`` must equal ``gross - fee``, else a
``statement.control_total_mismatch``. The payout id is both ``payout_id`` and
``batch_key``; a payout row (category ``payout``) names its own payout in
``payout_id``. When the file holds a payout row and the rows paid out in it, their nets
must add up to minus the payout's amount.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ledger_audit.errors import InputError
from ledger_audit.sources.bank.amounts import AmountError, asset_for, to_minor
from ledger_audit.sources.bank.builder import StatementBuilder
from ledger_audit.sources.bank.csvrows import CsvRow, csv_row, read_csv_values
from ledger_audit.sources.bank.dates import DateError, iso_date
from ledger_audit.sources.bank.records import ParsedStatement
from ledger_audit.sources.bank.stripe_columns import (
    Nets,
    Payouts,
    control_total,
    net_mismatch,
    read_by_column,
)

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("balance_transaction_id", "id"),
    "gross": ("gross", "amount"),
    "fee": ("fee",),
    "net": ("net",),
    "currency": ("currency",),
    "created": ("created_utc", "created"),
    "available_on": ("available_on_utc", "available_on"),
    "category": ("reporting_category", "type"),
    "source": ("source_id", "source"),
    "payout": ("automatic_payout_id", "payout_id", "transfer"),
    "description": ("description",),
}
REQUIRED = ("id", "gross", "currency", "created")
ACCOUNT_REF = "stripe"
"""The ``account_ref`` of Stripe records: the Stripe balance."""


class _BadRowError(Exception):
    """One row cannot be loaded; the message is the reason."""


def looks_like_stripe(header: list[str]) -> bool:
    """True when a normalised CSV header has the columns of a Stripe report."""
    return "balance_transaction_id" in header or {"id", "amount", "fee", "net"} <= set(header)


def _columns(header: list[str], path: str) -> dict[str, str]:
    found = {
        ours: next((name for name in names if name in header), "")
        for ours, names in ALIASES.items()
    }
    missing = [ours for ours in REQUIRED if not found[ours]]
    if missing:
        raise InputError(
            f"{path}:1",
            f"not a Stripe report: no column for {', '.join(missing)} in the header",
        )
    return found


class _Parser:
    """The per-row parser: any report, each bad row rejected with its line and reason."""

    def __init__(self, out: StatementBuilder, rows: list[CsvRow], columns: dict[str, str]) -> None:
        self.out = out
        self.rows = rows
        self.columns = columns
        self.nets: Nets = {}
        self.payouts: Payouts = {}

    def cell(self, row: CsvRow, ours: str) -> str:
        name = self.columns[ours]
        return row.cells.get(name, "").strip() if name else ""

    def run(self) -> tuple[Payouts, Nets]:
        for row in self.rows:
            try:
                self._row(row)
            except (_BadRowError, AmountError, DateError) as exc:
                self.out.reject("records", row.line, str(exc))
        return self.payouts, self.nets

    def _minor(self, row: CsvRow, ours: str, exponent: int) -> int:
        text = self.cell(row, ours)
        if not text:
            if ours == "gross":
                raise _BadRowError("no gross amount")
            return 0
        return to_minor(text, exponent)

    def _row(self, row: CsvRow) -> None:
        if row.problem:
            raise _BadRowError(row.problem)
        txn = self.cell(row, "id")
        if not txn:
            raise _BadRowError("no balance transaction id")
        asset = asset_for(self.cell(row, "currency"))
        exponent = int(asset.split("/")[1])
        gross = self._minor(row, "gross", exponent)
        fee = self._minor(row, "fee", exponent)
        net_text = self.cell(row, "net")
        net = to_minor(net_text, exponent) if net_text else gross - fee
        booking = iso_date(self.cell(row, "created"))
        available = self.cell(row, "available_on")
        value_date: dt.date | None = iso_date(available) if available else None
        category = self.cell(row, "category") or None
        source = self.cell(row, "source") or None
        payout = self.cell(row, "payout") or None
        if category == "payout" and source:
            self.payouts[(source, asset)] = (gross, row.line)
            payout = source
        elif payout:
            self.nets[(payout, asset)] = self.nets.get((payout, asset), 0) + net
        if net != gross - fee:
            net_mismatch(self.out, row.line, txn, (gross, fee, net), asset)
        lines = [(txn, gross, self.cell(row, "description"), category)]
        if fee:
            lines.append((f"{txn}:fee", -fee, f"Stripe fee for {txn}", "fee"))
        for record_id, amount, text, type_code in lines:
            self.out.add_record(
                line=row.line,
                record_id=record_id,
                statement_id=payout,
                account_ref=ACCOUNT_REF,
                asset_id=asset,
                amount=amount,
                booking_date=booking,
                value_date=value_date,
                bank_ref=txn,
                tx_id=source,
                payout_id=payout,
                batch_key=payout,
                text=text,
                type_code=type_code,
            )


def verify_payouts(out: StatementBuilder, payouts: Payouts, nets: Nets) -> None:
    """A payout's amount against the nets of the rows paid out in it, where the file has both."""
    for (payout, asset), (amount, line) in payouts.items():
        if (payout, asset) not in nets:
            continue
        paid = nets[(payout, asset)]
        if paid != -amount:
            message = f"payout {payout} is {-amount}, but the rows paid out in it net to {paid}"
            control_total(out, line, message, expected=paid, actual=-amount, asset=asset)


def parse_stripe(path: str | Path, *, by_column: bool = True) -> ParsedStatement:
    """Parse one Stripe report CSV; raise InputError when its header is not Stripe's.

    A clean report is read by column (``stripe_columns``); any other, or every report with
    ``by_column=False``, row by row. Both give the same statement.
    """
    name = str(path)
    header, rows = read_csv_values(name)
    columns = _columns(header, name)
    out = StatementBuilder("stripe", name)
    out.understood()  # the header
    totals = read_by_column(out, header, rows, columns) if by_column else None
    if totals is None:
        parsed = [csv_row(header, line, values) for line, values in rows]
        totals = _Parser(out, parsed, columns).run()
    verify_payouts(out, *totals)
    return out.build()
