"""Our own statement layout: the canonical record columns in a CSV or Parquet file.

The layout (also in ``docs/canonical-statement.md``) is one row per record or stated
balance, with a header naming the columns of ``RECORD_SCHEMA`` minus ``source``, ``file``
and ``line`` (the loader fills those), in any order, plus two optional balance columns:

* required: ``record_id``, ``account_ref``, ``asset_id`` (``CODE/scale``), ``amount``
  (signed integer minor units: ``-1050`` is -10.50 in ``EUR/2``; ``10.50`` or ``1e3`` is a
  bad record), ``booking_date`` (``YYYY-MM-DD``);
* optional: ``statement_id``, ``value_date``, ``status`` (default ``BOOK``), ``reversal``
  (``true``/``false``/``1``/``0``, default false), ``bank_ref``, ``customer_ref``,
  ``end_to_end_id``, ``tx_id``, ``payout_id``, ``counterparty``, ``text``, ``type_code``,
  ``batch_key``;
* balances: a row with a non-empty ``kind`` (OPBD, CLBD, CLAV, ...) is a stated balance of
  ``statement_id`` on ``booking_date``; ``intermediate`` is optional. Opening + booked
  records = closing is verified per statement as for bank files.

In Parquet the same columns may carry native types (integers, dates, booleans); a float
amount is a bad record, as in CSV. ``line`` is the CSV line, or the 1-based Parquet row.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.money import parse_asset_id
from ledger_audit.sources.bank.amounts import AmountError, implied_minor
from ledger_audit.sources.bank.builder import StatementBuilder
from ledger_audit.sources.bank.csvrows import CsvRow, normalise, read_csv
from ledger_audit.sources.bank.dates import DateError, iso_date
from ledger_audit.sources.bank.records import ParsedStatement

REQUIRED = ("record_id", "account_ref", "asset_id", "amount", "booking_date")
OPTIONAL_TEXT = (
    "statement_id",
    "bank_ref",
    "customer_ref",
    "end_to_end_id",
    "tx_id",
    "payout_id",
    "counterparty",
    "text",
    "type_code",
    "batch_key",
)
_TRUE = frozenset({"true", "1", "t", "yes"})
_FALSE = frozenset({"false", "0", "f", "no", ""})


class _BadRowError(Exception):
    """One row cannot be loaded; the message is the reason."""


def looks_canonical(header: list[str]) -> bool:
    """True when a normalised header has every required canonical column."""
    return set(REQUIRED) <= set(header)


def _flag(text: str, column: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _BadRowError(f"{column} {text!r} is not true or false")


def _row(out: StatementBuilder, row: CsvRow) -> None:
    if row.problem:
        raise _BadRowError(row.problem)
    cell = {name: value.strip() for name, value in row.cells.items()}
    missing = [name for name in REQUIRED if not cell.get(name) and name != "record_id"]
    if missing:
        raise _BadRowError(f"empty {', '.join(missing)}")
    try:
        asset = parse_asset_id(cell["asset_id"]).asset_id
    except InputError as exc:
        raise _BadRowError(exc.reason) from exc
    amount = implied_minor(cell["amount"])
    booking = iso_date(cell["booking_date"])
    value_text = cell.get("value_date", "")
    value_date: dt.date | None = iso_date(value_text) if value_text else None
    kind = cell.get("kind", "")
    if kind:
        out.add_balance(
            line=row.line,
            statement_id=cell.get("statement_id") or None,
            account_ref=cell["account_ref"],
            asset_id=asset,
            kind=kind,
            intermediate=_flag(cell.get("intermediate", ""), "intermediate"),
            date=booking,
            amount=amount,
        )
        return
    if not cell.get("record_id"):
        raise _BadRowError("empty record_id")
    out.add_record(
        line=row.line,
        record_id=cell["record_id"],
        statement_id=cell.get("statement_id") or None,
        account_ref=cell["account_ref"],
        asset_id=asset,
        amount=amount,
        booking_date=booking,
        value_date=value_date,
        status=cell.get("status") or "BOOK",
        reversal=_flag(cell.get("reversal", ""), "reversal"),
        **{name: cell.get(name) or None for name in OPTIONAL_TEXT if name != "statement_id"},
    )


def _parquet_rows(path: str) -> tuple[list[str], list[CsvRow]]:
    try:
        frame = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(path, f"not readable as Parquet: {exc}") from exc
    header = [normalise(name) for name in frame.columns]
    texts = frame.select(
        pl.col(name).cast(pl.String()).fill_null("").alias(normal)
        for name, normal in zip(frame.columns, header, strict=True)
    )
    rows = [CsvRow(index, cells) for index, cells in enumerate(texts.iter_rows(named=True), 1)]
    return header, rows


def parse_canonical(path: str | Path) -> ParsedStatement:
    """Parse one canonical CSV or Parquet statement; InputError if a required column is missing."""
    text_path = str(path)
    parquet = text_path.lower().endswith(".parquet")
    header, rows = _parquet_rows(text_path) if parquet else read_csv(text_path)
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise InputError(
            f"{text_path}:1",
            f"not a canonical statement: missing column(s) {', '.join(missing)}",
        )
    out = StatementBuilder("canonical", text_path)
    out.understood()  # the header
    for row in rows:
        try:
            _row(out, row)
        except (_BadRowError, AmountError, DateError) as exc:
            out.reject("balances" if row.cells.get("kind") else "records", row.line, str(exc))
    return out.build()
