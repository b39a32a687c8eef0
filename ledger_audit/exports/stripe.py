"""Write canonical processor records as a Stripe itemised balance-transactions CSV report.

The inverse of ``ledger_audit.sources.bank.stripe``: a record whose ``record_id`` is
``<id>:fee`` is the fee of balance transaction ``<id>`` (its amount is minus the fee);
every other record is a balance transaction: ``record_id`` the id, ``amount`` the gross,
``booking_date`` the created day, ``value_date`` the available-on day, ``type_code`` the
reporting category, ``tx_id`` the source, ``payout_id`` the automatic payout (a ``payout``
row names its own payout as its source) and ``text`` the description. ``net`` is written as
gross minus fee. Amounts are major units at the currency's ISO exponent.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import polars as pl

from ledger_audit.exports.atomic import write_text_atomic
from ledger_audit.money import to_decimal
from ledger_audit.sources.bank.records import RECORD_SCHEMA

HEADER = (
    "balance_transaction_id",
    "created_utc",
    "available_on_utc",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "automatic_payout_id",
    "description",
)
FEE_SUFFIX = ":fee"

Row = dict[str, object]


def _day(value: object) -> str:
    return f"{value.isoformat()} 00:00:00" if isinstance(value, dt.date) else ""


def write_stripe_report(path: Path, records: pl.DataFrame) -> Path:
    """Write ``records`` (RECORD_SCHEMA, the Stripe parser's layout) to ``path``.

    Raises ValueError for a fee record without its balance transaction.
    """
    if dict(records.schema) != RECORD_SCHEMA:
        raise ValueError("write_stripe_report takes RECORD_SCHEMA records")
    rows = records.to_dicts()
    fees: dict[str, int] = {}
    for row in rows:
        record_id = str(row["record_id"])
        if record_id.endswith(FEE_SUFFIX):
            fees[record_id.removesuffix(FEE_SUFFIX)] = -int(str(row["amount"]))
    known = {str(row["record_id"]) for row in rows}
    orphans = sorted(set(fees) - known)
    if orphans:
        raise ValueError(f"fee record(s) without a balance transaction: {', '.join(orphans)}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows:
        record_id = str(row["record_id"])
        if record_id.endswith(FEE_SUFFIX):
            continue
        asset = str(row["asset_id"])
        gross = int(str(row["amount"]))
        fee = fees.get(record_id, 0)
        category = str(row["type_code"] or "")
        payout = "" if category == "payout" else str(row["payout_id"] or "")
        writer.writerow(
            (
                record_id,
                _day(row["booking_date"]),
                _day(row["value_date"]),
                asset.split("/", maxsplit=1)[0].lower(),
                to_decimal(gross, asset),
                to_decimal(fee, asset),
                to_decimal(gross - fee, asset),
                category,
                str(row["tx_id"] or ""),
                payout,
                str(row["text"] or ""),
            )
        )
    return write_text_atomic(path, buffer.getvalue())
