"""Write canonical external records and balances as a BAI2 file (the parser's inverse).

One ``02`` group per day (its as-of date is the booking date of the records in it and the
date of the balances), one ``03`` account per bank account and currency that day: its
stated balances (ISO kind back to the BAI2 status code: ``OPBD`` is ``010``, ``CLBD``
``015``, ``BAI:<code>`` its own code), the ``100``/``400`` total credits and debits with
their item counts, then one ``16`` detail per record, in the order given. Every trailer
states its control total (the algebraic sum of the amounts of the ``03`` and ``16`` records
below it, details unsigned) and its physical record count, as
``ledger_audit.sources.bank.bai2`` verifies them.

A ``16`` carries the type code (``399`` miscellaneous credit or ``699`` miscellaneous debit
when a record has none), the unsigned amount, the funds type (``V`` with the value date when
there is one, else ``Z``), the bank and customer references and the text. BAI2 has no field
for an end-to-end id, a transaction id, a payout, a counterparty or a batch, no status and no
reversal flag: a record that carries one is refused (ValueError), never written without it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ledger_audit.exports.atomic import write_text_atomic
from ledger_audit.sources.bank.amounts import asset_for
from ledger_audit.sources.bank.bai2 import BALANCE_KINDS
from ledger_audit.sources.bank.records import BALANCE_SCHEMA, RECORD_SCHEMA

STATUS_CODES = {kind: code for code, kind in BALANCE_KINDS.items()}
"""ISO balance kind -> BAI2 status code."""

UNSUPPORTED = ("end_to_end_id", "tx_id", "payout_id", "counterparty", "batch_key")
"""Record columns BAI2 has no field for."""

DEFAULT_CREDIT = "399"
DEFAULT_DEBIT = "699"
_TOTAL_CREDITS = "100"
_TOTAL_DEBITS = "400"

Row = dict[str, object]


@dataclass(frozen=True, slots=True)
class Bai2Header:
    """What the ``01`` file header names.

    Attributes:
        sender: the bank (sender identification).
        receiver: the customer (receiver identification).
        file_id: the file identification number, unique per sender and day.
        created: when the file was created (written as ``YYMMDD`` and ``HHMM``).
    """

    sender: str
    receiver: str
    file_id: str
    created: dt.datetime


def _credit(code: str) -> bool | None:
    """True for a credit detail code, False for a debit, None for neither."""
    if not (len(code) == 3 and code.isdigit()):  # noqa: PLR2004
        return None
    value = int(code)
    if 100 <= value <= 399 or 920 <= value <= 959:  # noqa: PLR2004
        return True
    if 400 <= value <= 699 or 960 <= value <= 999:  # noqa: PLR2004
        return False
    return None


def _field(value: object, what: str, where: str) -> str:
    text = "" if value is None else str(value)
    if any(char in text for char in ",/\n\r"):
        raise ValueError(f"{where}: {what} {text!r} holds a comma, slash or newline")
    return text


def _yymmdd(day: dt.date) -> str:
    return day.strftime("%y%m%d")


def _text(value: object, where: str) -> str:
    text = "" if value is None else str(value)
    if "\n" in text or "\r" in text or text.rstrip().endswith("/") or text != text.strip():
        raise ValueError(
            f"{where}: text {text!r} has a newline, a final slash or surrounding spaces"
        )
    return text


def _check(record: Row, where: str) -> None:
    carried = [column for column in UNSUPPORTED if record[column] is not None]
    if carried:
        raise ValueError(f"{where}: BAI2 has no field for {', '.join(carried)}")
    if record["status"] not in {None, "BOOK"} or record["reversal"]:
        raise ValueError(f"{where}: BAI2 writes booked, non-reversal records only")
    if record["booking_date"] is None:
        raise ValueError(f"{where}: a BAI2 detail needs a booking date (its group's date)")


@dataclass(slots=True)
class _Account:
    """One 03 account of one day: its balances and details, and its totals."""

    ref: str
    asset_id: str
    balances: list[Row]
    details: list[Row]


class _Writer:
    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.ids: dict[int, str] = {}

    def add(self, line: str) -> int:
        self.lines.append(line)
        return len(self.lines)

    def account(self, account: _Account) -> tuple[int, int]:
        """Write 03, 16s and 49; return (control total, physical records)."""
        code = account.asset_id.split("/")[0]
        if asset_for(code) != account.asset_id:
            raise ValueError(
                f"account {account.ref}: asset {account.asset_id} is not {code}'s ISO scale"
            )
        items: list[str] = []
        total = 0
        for balance in account.balances:
            kind = str(balance["kind"])
            status = (
                kind.removeprefix("BAI:") if kind.startswith("BAI:") else STATUS_CODES.get(kind)
            )
            if status is None or balance["intermediate"]:
                raise ValueError(f"account {account.ref}: balance {kind} has no BAI2 status code")
            amount = int(str(balance["amount"]))
            total += amount
            items.append(f"{status},{amount},,")
        credit_amounts = [
            int(str(r["amount"])) for r in account.details if int(str(r["amount"])) >= 0
        ]
        debit_amounts = [
            -int(str(r["amount"])) for r in account.details if int(str(r["amount"])) < 0
        ]
        for summary, amounts in ((_TOTAL_CREDITS, credit_amounts), (_TOTAL_DEBITS, debit_amounts)):
            total += sum(amounts)
            items.append(f"{summary},{sum(amounts)},{len(amounts)},")
        ref = _field(account.ref, "account", f"account {account.ref}")
        self.add(f"03,{ref},{code},{','.join(items)}/")
        records = 1
        for detail in account.details:
            total += abs(int(str(detail["amount"])))
            line = self.add(self.detail(detail))
            self.ids[int(str(detail["_order"]))] = f"{self.name}:{line}"
            records += 1
        records += 1
        self.add(f"49,{total},{records}/")
        return total, records

    @staticmethod
    def detail(record: Row) -> str:
        where = f"record {record['record_id']}"
        amount = int(str(record["amount"]))
        code = str(record["type_code"] or (DEFAULT_CREDIT if amount >= 0 else DEFAULT_DEBIT))
        credit = _credit(code)
        if credit is None or credit != (amount >= 0):
            raise ValueError(f"{where}: type code {code} does not fit amount {amount}")
        value = record["value_date"]
        funds = f"V,{_yymmdd(value)}," if isinstance(value, dt.date) else "Z"
        bank_ref = _field(record["bank_ref"], "bank reference", where)
        customer_ref = _field(record["customer_ref"], "customer reference", where)
        text = _text(record["text"], where) or "/"
        return f"16,{code},{abs(amount)},{funds},{bank_ref},{customer_ref},{text}"


def write_bai2(
    path: Path, records: pl.DataFrame, balances: pl.DataFrame, header: Bai2Header
) -> tuple[str, ...]:
    """Write ``records`` (RECORD_SCHEMA) and ``balances`` (BALANCE_SCHEMA) to ``path``.

    Returns the ``record_id`` the parser will give each record, in the input order
    (``<file name>:<line>``). Raises ValueError for a record or balance BAI2 cannot hold.
    """
    if dict(records.schema) != RECORD_SCHEMA or dict(balances.schema) != BALANCE_SCHEMA:
        raise ValueError("write_bai2 takes RECORD_SCHEMA records and BALANCE_SCHEMA balances")
    rows = records.with_row_index("_order").to_dicts()
    for row in rows:
        _check(row, f"record {row['record_id']}")
    stated = [b for b in balances.to_dicts() if b["date"] is not None]
    days = sorted(
        {r["booking_date"] for r in rows if isinstance(r["booking_date"], dt.date)}
        | {b["date"] for b in stated if isinstance(b["date"], dt.date)}
    )
    out = _Writer(path.name)
    sender = _field(header.sender, "sender", "01")
    receiver = _field(header.receiver, "receiver", "01")
    file_id = _field(header.file_id, "file id", "01")
    created = header.created
    out.add(f"01,{sender},{receiver},{_yymmdd(created)},{created:%H%M},{file_id},,,2/")
    file_total, file_records = 0, 1
    for day in days:
        keys = sorted(
            {(str(r["account_ref"]), str(r["asset_id"])) for r in rows if r["booking_date"] == day}
            | {(str(b["account_ref"]), str(b["asset_id"])) for b in stated if b["date"] == day}
        )
        out.add(f"02,{receiver},{sender},1,{_yymmdd(day)},,,2/")
        group_total, group_records = 0, 1
        for ref, asset in keys:
            account = _Account(
                ref,
                asset,
                [
                    b
                    for b in stated
                    if b["date"] == day and (b["account_ref"], b["asset_id"]) == (ref, asset)
                ],
                [
                    r
                    for r in rows
                    if r["booking_date"] == day
                    and (r["account_ref"], r["asset_id"]) == (ref, asset)
                ],
            )
            total, count = out.account(account)
            group_total += total
            group_records += count
        group_records += 1
        out.add(f"98,{group_total},{len(keys)},{group_records}/")
        file_total += group_total
        file_records += group_records
    file_records += 1
    out.add(f"99,{file_total},{len(days)},{file_records}/")
    write_text_atomic(path, "\n".join(out.lines) + "\n")
    return tuple(out.ids[index] for index in range(len(rows)))
