"""Write summary journals for ERP import: NetSuite, QuickBooks Online and Xero CSV, and Parquet.

Each writer takes a ``SummaryJournals`` value and writes one file; it knows nothing about
ledgers. Amounts become text only here, from minor units and the asset's scale through
``Decimal`` (exact, never rounded: a scale above 2 is written at that scale, which NetSuite
and QuickBooks reject, so roll such assets up in a 2-decimal asset first). Rows are in journal
and line order, formats are fixed (UTF-8, comma separated, CRLF line ends, minimal quoting),
so the same journals always give the same bytes and the same digest. Files are written to a
temporary name and renamed, so a crash never leaves half a file.

The layouts, as each tool's import expects them:

- NetSuite (Import Assistant, journal entries, one file): ``External ID`` groups the lines
  of one journal and makes a re-import idempotent; ``Date`` is MM/DD/YYYY (NetSuite's default
  date preference; change the account preference or this writer together); one column per
  mapping dimension (``Department``, ``Class``, ``Location``...). NetSuite takes at most
  10,000 lines per journal, the default ``max_lines`` of the rollup.
- QuickBooks Online (Import data > Journal entries): ``JournalNo`` (the external id, 19 of
  the 21 characters allowed), ``JournalDate`` MM/DD/YYYY, ``AccountName`` (the mapping's GL
  display name, else the GL account: QuickBooks matches names, with account numbers turned
  off), ``Debits``/``Credits`` with the other blank, ``Location`` and ``Class`` from the
  dimensions of those names. ``Currency`` needs multicurrency turned on.
- Xero (Manual journals > Import): ``*Narration`` and ``*Date`` (DD/MM/YYYY) group the lines
  of one journal, so the narration starts with the external id; ``*Amount`` is positive for
  a debit and negative for a credit; ``*TaxRate`` is required (``tax_rate``, default
  ``Tax Exempt``); up to two tracking categories come from dimensions. Xero manual journals
  are in the organisation's base currency only, and its import takes at most 300 lines per
  file: split the journals (``max_lines``) and the files accordingly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.exports.atomic import write_bytes_atomic, write_parquet_atomic
from ledger_audit.money import to_decimal
from ledger_audit.reports.journals import SummaryJournals

NETSUITE_HEADER = (
    "External ID",
    "Date",
    "Currency",
    "Memo",
    "Account",
    "Debit",
    "Credit",
    "Line Memo",
)
"""NetSuite columns before the dimension columns (one per mapping dimension, title-cased)."""

QUICKBOOKS_HEADER = (
    "JournalNo",
    "JournalDate",
    "Currency",
    "Memo",
    "AccountName",
    "Debits",
    "Credits",
    "Description",
    "Name",
    "Location",
    "Class",
)
"""QuickBooks Online journal entry import columns."""

XERO_HEADER = (
    "*Narration",
    "*Date",
    "Description",
    "*AccountCode",
    "*TaxRate",
    "*Amount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
)
"""Xero manual journal import template columns (``*`` marks Xero's mandatory columns)."""

XERO_TRACKING_SLOTS = 2
"""Xero takes at most two tracking categories per line."""

_ORDER = ("journal_date", "ledger_id", "asset_id", "chunk", "line_no")

Row = Sequence[str]


def _write_csv(path: Path, header: Row, rows: list[Row]) -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    return write_bytes_atomic(path, data)


def _amount(value: int, asset_id: str) -> str:
    """Minor units as a plain decimal at the asset's full scale; blank for zero."""
    if value == 0:
        return ""
    return f"{to_decimal(value, asset_id):f}"


def _us_date(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def _lines(journals: SummaryJournals) -> list[dict[str, object]]:
    return journals.lines.sort(_ORDER).to_dicts()


def _text(value: object) -> str:
    return "" if value is None else str(value)


def netsuite_rows(journals: SummaryJournals) -> tuple[Row, list[Row]]:
    """Header and rows of the NetSuite journal entry CSV."""
    header = (*NETSUITE_HEADER, *(name.replace("_", " ").title() for name in journals.dimensions))
    rows: list[Row] = []
    for line in _lines(journals):
        asset = str(line["asset_id"])
        day = _day(line["journal_date"])
        rows.append(
            (
                str(line["journal_id"]),
                _us_date(day),
                str(line["currency"]),
                str(line["memo"]),
                str(line["gl_account"]),
                _amount(_int(line["debit"]), asset),
                _amount(_int(line["credit"]), asset),
                _text(line["description"]),
                *(_text(line[name]) for name in journals.dimensions),
            )
        )
    return header, rows


def quickbooks_rows(journals: SummaryJournals) -> tuple[Row, list[Row]]:
    """Header and rows of the QuickBooks Online journal entry CSV."""
    rows: list[Row] = []
    for line in _lines(journals):
        asset = str(line["asset_id"])
        day = _day(line["journal_date"])
        rows.append(
            (
                str(line["journal_id"]),
                _us_date(day),
                str(line["currency"]),
                str(line["memo"]),
                _text(line["gl_name"] if line["gl_name"] is not None else line["gl_account"]),
                _amount(_int(line["debit"]), asset),
                _amount(_int(line["credit"]), asset),
                _text(line["description"]),
                "",
                _text(line.get("location")),
                _text(line.get("class")),
            )
        )
    return QUICKBOOKS_HEADER, rows


def xero_rows(
    journals: SummaryJournals,
    *,
    tax_rate: str = "Tax Exempt",
    tracking: Sequence[tuple[str, str]] | None = None,
) -> tuple[Row, list[Row]]:
    """Header and rows of the Xero manual journal CSV.

    Args:
        journals: the summary journals.
        tax_rate: the Xero tax rate name written on every line (it must exist in Xero).
        tracking: (dimension, Xero tracking category name) pairs, at most two; by default
            the first two dimensions, named as the dimension title-cased.
    """
    if tracking is None:
        tracking = tuple(
            (name, name.replace("_", " ").title())
            for name in journals.dimensions[:XERO_TRACKING_SLOTS]
        )
    unknown = [name for name, _ in tracking if name not in journals.dimensions]
    if len(tracking) > XERO_TRACKING_SLOTS or unknown:
        raise InputError(
            "tracking",
            f"expected at most two of the dimensions {list(journals.dimensions)}, "
            f"got {list(tracking)}",
        )
    slots = list(tracking) + [("", "")] * (XERO_TRACKING_SLOTS - len(tracking))
    rows: list[Row] = []
    for line in _lines(journals):
        asset = str(line["asset_id"])
        day = _day(line["journal_date"])
        signed = _int(line["debit"]) - _int(line["credit"])
        cells: list[str] = []
        for name, category in slots:
            option = _text(line[name]) if name else ""
            cells += [category if option else "", option]
        rows.append(
            (
                f"{line['journal_id']} {line['memo']}",
                day.strftime("%d/%m/%Y"),
                _text(line["description"]),
                str(line["gl_account"]),
                tax_rate,
                f"{to_decimal(signed, asset):f}",
                *cells,
            )
        )
    return XERO_HEADER, rows


def _day(value: object) -> date:
    if not isinstance(value, date):
        raise InputError("journal lines", f"journal_date {value!r} is not a date")
    return value


def _int(value: object) -> int:
    """An amount cell as int: Int64, or an integral Decimal(38, 0) of a wide ledger."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError("journal lines", f"amount {value!r} is not an integer of minor units")
    return value


def write_netsuite_journals(journals: SummaryJournals, path: Path) -> Path:
    """NetSuite journal entry import CSV at ``path``."""
    header, rows = netsuite_rows(journals)
    return _write_csv(path, header, rows)


def write_quickbooks_journals(journals: SummaryJournals, path: Path) -> Path:
    """QuickBooks Online journal entry import CSV at ``path``."""
    header, rows = quickbooks_rows(journals)
    return _write_csv(path, header, rows)


def write_xero_journals(
    journals: SummaryJournals,
    path: Path,
    *,
    tax_rate: str = "Tax Exempt",
    tracking: Sequence[tuple[str, str]] | None = None,
) -> Path:
    """Xero manual journal import CSV at ``path`` (see ``xero_rows`` for the options)."""
    header, rows = xero_rows(journals, tax_rate=tax_rate, tracking=tracking)
    return _write_csv(path, header, rows)


def write_journals_parquet(journals: SummaryJournals, out_dir: Path) -> tuple[Path, Path]:
    """``journal_lines.parquet`` and ``journal_drilldown.parquet`` in ``out_dir``.

    Amounts stay integer minor units (with ``asset_id`` and ``scale`` beside them); no
    column statistics, so the bytes depend only on the rows.
    """

    def parquet(frame: pl.DataFrame, name: str) -> Path:
        return write_parquet_atomic(out_dir / name, frame)

    lines = parquet(journals.lines.sort(_ORDER), "journal_lines.parquet")
    drilldown = parquet(
        journals.drilldown.sort("line_id", "transaction_id", "version", "entry_index", "movement"),
        "journal_drilldown.parquet",
    )
    return lines, drilldown
