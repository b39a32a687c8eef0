"""Write canonical external records and balances as a camt.053.001.08 statement message.

One ``Stmt`` per ``statement_id`` (its ``Id``), in order of first appearance (balances first,
then records): the account (``Acct/Id/IBAN`` and ``Acct/Ccy``), the stated balances (``Bal``
with the ISO kind, ``SubTp`` ``INTM`` when intermediate), a ``TxsSummry/TtlNtries`` with the
entry count and net amount, then one ``Ntry`` per record in the order given.

An entry carries ``Amt`` and ``CdtDbtInd`` (the sign), ``RvslInd`` when it is a reversal,
``Sts/Cd``, ``BookgDt``/``ValDt``, ``AcctSvcrRef`` (bank_ref), the bank transaction code
(``Domn/Fmly/SubFmly`` when the type code has three ``/`` parts, else ``Prtry``), a batch
(``NtryDtls/Btch/PmtInfId``) when the record has a batch key, and transaction details: one
``TxDtls`` per ``;``-separated part of the end-to-end ids, transaction ids, creditor
references and counterparties (part k in detail k), each with ``Refs/EndToEndId``,
``Refs/TxId``, the debtor (of a credit) or creditor (of a debit) ``Pty/Nm`` and
``RmtInf/Strd/CdtrRefInf/Ref``; the text goes in the first detail's ``RmtInf/Ustrd``.
camt.053 has no field for a payout id: a record that carries one is refused (ValueError).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ledger_audit.exports.atomic import write_text_atomic
from ledger_audit.money import to_decimal
from ledger_audit.sources.bank.amounts import asset_for
from ledger_audit.sources.bank.records import BALANCE_SCHEMA, RECORD_SCHEMA

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
MAX_TEXT = 140
"""``RmtInf/Ustrd`` holds at most 140 characters."""

Row = dict[str, object]


@dataclass(frozen=True, slots=True)
class CamtHeader:
    """What the group header names.

    Attributes:
        message_id: ``GrpHdr/MsgId``, unique per sender.
        created: ``GrpHdr/CreDtTm`` and each statement's ``CreDtTm`` (UTC).
    """

    message_id: str
    created: dt.datetime


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _path(parent: ET.Element, path: str, text: str) -> ET.Element:
    element = parent
    for tag in path.split("/"):
        element = _sub(element, tag)
    element.text = text
    return element


def _amount(parent: ET.Element, amount: int, asset_id: str, *, currency: bool = True) -> None:
    code = asset_id.split("/", maxsplit=1)[0]
    if asset_for(code) != asset_id:
        raise ValueError(f"asset {asset_id} is not {code} at its ISO scale")
    value = f"{to_decimal(abs(amount), asset_id)}"
    if currency:
        _sub(parent, "Amt", value, Ccy=code)
    else:
        _sub(parent, "Amt", value)
    _sub(parent, "CdtDbtInd", "CRDT" if amount >= 0 else "DBIT")


def _parts(value: object) -> list[str]:
    return [part for part in str(value).split(";") if part] if value else []


def _date(parent: ET.Element, tag: str, value: object) -> None:
    if isinstance(value, dt.date):
        _path(parent, f"{tag}/Dt", value.isoformat())


def _balance(statement: ET.Element, balance: Row) -> None:
    element = _sub(statement, "Bal")
    kind = _sub(element, "Tp")
    _path(kind, "CdOrPrtry/Cd", str(balance["kind"]))
    if balance["intermediate"]:
        _path(kind, "SubTp/Cd", "INTM")
    _amount(element, int(str(balance["amount"])), str(balance["asset_id"]))
    _date(element, "Dt", balance["date"])


def _type_code(entry: ET.Element, code: object) -> None:
    if not code:
        return
    parts = str(code).split("/")
    holder = _sub(entry, "BkTxCd")
    if len(parts) == 3 and all(parts):  # noqa: PLR2004 (domain, family, sub-family)
        domain = _sub(holder, "Domn")
        _sub(domain, "Cd", parts[0])
        family = _sub(domain, "Fmly")
        _sub(family, "Cd", parts[1])
        _sub(family, "SubFmlyCd", parts[2])
    else:
        _path(holder, "Prtry/Cd", str(code))


def _details(entry: ET.Element, record: Row) -> None:
    ends, txs = _parts(record["end_to_end_id"]), _parts(record["tx_id"])
    refs, parties = _parts(record["customer_ref"]), _parts(record["counterparty"])
    text = str(record["text"]) if record["text"] else None
    count = max(len(ends), len(txs), len(refs), len(parties), 1 if text else 0)
    if not count and not record["batch_key"]:
        return
    holder = _sub(entry, "NtryDtls")
    if record["batch_key"]:
        batch = _sub(holder, "Btch")
        _sub(batch, "PmtInfId", str(record["batch_key"]))
        _sub(batch, "NbOfTxs", str(max(count, 1)))
    role = "Dbtr" if int(str(record["amount"])) >= 0 else "Cdtr"
    for index in range(count):
        details = _sub(holder, "TxDtls")
        if index < len(ends) or index < len(txs):
            ids = _sub(details, "Refs")
            if index < len(ends):
                _sub(ids, "EndToEndId", ends[index])
            if index < len(txs):
                _sub(ids, "TxId", txs[index])
        if index < len(parties):
            _path(details, f"RltdPties/{role}/Pty/Nm", parties[index])
        first_text = text if index == 0 else None
        if first_text or index < len(refs):
            remittance = _sub(details, "RmtInf")
            if first_text:
                if len(first_text) > MAX_TEXT:
                    raise ValueError(f"record {record['record_id']}: text over {MAX_TEXT} chars")
                _sub(remittance, "Ustrd", first_text)
            if index < len(refs):
                _path(remittance, "Strd/CdtrRefInf/Ref", refs[index])


def _entry(statement: ET.Element, record: Row) -> None:
    if record["payout_id"] is not None:
        raise ValueError(f"record {record['record_id']}: camt.053 has no field for a payout id")
    entry = _sub(statement, "Ntry")
    _amount(entry, int(str(record["amount"])), str(record["asset_id"]))
    if record["reversal"]:
        _sub(entry, "RvslInd", "true")
    _path(entry, "Sts/Cd", str(record["status"] or "BOOK"))
    _date(entry, "BookgDt", record["booking_date"])
    _date(entry, "ValDt", record["value_date"])
    if record["bank_ref"]:
        _sub(entry, "AcctSvcrRef", str(record["bank_ref"]))
    _type_code(entry, record["type_code"])
    _details(entry, record)


def write_camt053(
    path: Path, records: pl.DataFrame, balances: pl.DataFrame, header: CamtHeader
) -> tuple[str, ...]:
    """Write ``records`` (RECORD_SCHEMA) and ``balances`` (BALANCE_SCHEMA) to ``path``.

    Returns the ``record_id`` the parser will give each record, in the input order
    (``<file name>:/Document/BkToCstmrStmt/Stmt[i]/Ntry[j]``). Raises ValueError for a
    record camt.053 cannot hold, or a statement whose rows name several accounts.
    """
    if dict(records.schema) != RECORD_SCHEMA or dict(balances.schema) != BALANCE_SCHEMA:
        raise ValueError("write_camt053 takes RECORD_SCHEMA records and BALANCE_SCHEMA balances")
    rows = records.with_row_index("_order").to_dicts()
    stated = balances.to_dicts()
    order = list(
        dict.fromkeys([*(b["statement_id"] for b in stated), *(r["statement_id"] for r in rows)])
    )
    root = ET.Element("Document", {"xmlns": NAMESPACE})
    message = _sub(root, "BkToCstmrStmt")
    group = _sub(message, "GrpHdr")
    _sub(group, "MsgId", header.message_id)
    created = header.created.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _sub(group, "CreDtTm", created)
    ids: dict[int, str] = {}
    for number, statement_id in enumerate(order, start=1):
        if statement_id is None:
            raise ValueError("every record and balance needs a statement_id (the Stmt/Id)")
        mine = [r for r in rows if r["statement_id"] == statement_id]
        bals = [b for b in stated if b["statement_id"] == statement_id]
        accounts = {(str(x["account_ref"]), str(x["asset_id"])) for x in (*mine, *bals)}
        if len(accounts) != 1:
            raise ValueError(f"statement {statement_id} names {len(accounts)} accounts, not one")
        account_ref, asset_id = accounts.pop()
        statement = _sub(message, "Stmt")
        _sub(statement, "Id", str(statement_id))
        _sub(statement, "CreDtTm", created)
        dates = [
            d
            for d in (*(r["booking_date"] for r in mine), *(b["date"] for b in bals))
            if isinstance(d, dt.date)
        ]
        if dates:
            period = _sub(statement, "FrToDt")
            first, last = min(dates), max(dates)
            _sub(period, "FrDtTm", f"{first}T00:00:00Z")
            _sub(period, "ToDtTm", f"{last}T23:59:59Z")
        account = _sub(statement, "Acct")
        _path(account, "Id/IBAN", account_ref)
        _sub(account, "Ccy", asset_id.split("/")[0])
        for balance in bals:
            _balance(statement, balance)
        summary = _sub(_sub(statement, "TxsSummry"), "TtlNtries")
        _sub(summary, "NbOfNtries", str(len(mine)))
        _sub(
            summary, "Sum", f"{to_decimal(sum(abs(int(str(r['amount']))) for r in mine), asset_id)}"
        )
        _amount(
            _sub(summary, "TtlNetNtry"),
            sum(int(str(r["amount"])) for r in mine),
            asset_id,
            currency=False,
        )
        for index, record in enumerate(mine, start=1):
            _entry(statement, record)
            where = f"/Document/BkToCstmrStmt/Stmt[{number}]/Ntry[{index}]"
            ids[int(str(record["_order"]))] = f"{path.name}:{where}"
    ET.indent(root, space="  ")
    text = ET.tostring(root, encoding="unicode")
    write_text_atomic(path, '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
    return tuple(ids[index] for index in range(len(rows)))
