"""ISO 20022 camt.053 (bank-to-customer statement), versions .001.02 to .001.08.

Read with defusedxml (no entities, no external references). One record per ``Ntry``;
its amount is signed by ``CdtDbtInd`` (CRDT positive, DBIT negative) whatever
``RvslInd`` says, since the indicator already gives the direction of the reversal.
References come from the entry (``AcctSvcrRef``, ``NtryRef``) and its transaction details
(``EndToEndId``, ``TxId``, creditor reference); an entry with several transaction details
is a batch: its ``batch_key`` is ``Btch/PmtInfId`` (else ``Btch/MsgId``, else
``NtryRef``) and the detail references are joined with ``;``. The counterparty is the
debtor of a credit and the creditor of a debit (``Nm`` or, from .001.07, ``Pty/Nm``).
``Sts`` is text up to .001.07 and ``Sts/Cd`` from .001.08.

Balances (``Bal``) keep their ISO code; sub-type ``INTM`` marks intermediate ones.
``TxsSummry/TtlNtries`` (count, and net amount in the ``Acct/Ccy`` currency, EUR when
none is given), when present, is verified against the loaded entries. Every
locator is ``file:line (XML path)``; a file that is not XML, not camt.053, or has no
statement raises InputError.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from defusedxml.common import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId, Severity
from ledger_audit.sources.bank.amounts import AmountError, asset_for, to_minor
from ledger_audit.sources.bank.builder import StatementBuilder
from ledger_audit.sources.bank.dates import DateError, iso_date
from ledger_audit.sources.bank.records import ParsedStatement
from ledger_audit.sources.bank.text import read_bytes

_NAMESPACE = re.compile(r"^\{urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.0([2-8])\}Document$")
SUPPORTED_VERSIONS = tuple(f"camt.053.001.0{v}" for v in range(2, 9))


class _BadEntryError(Exception):
    """One entry or balance cannot be loaded; the message is the reason."""


class _LineBuilder(ET.TreeBuilder):
    """A TreeBuilder that remembers the line each element starts on."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[ET.Element, int] = {}
        self.parser: DefusedXMLParser | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        element = super().start(tag, attrs)
        if self.parser is not None:
            self.lines[element] = int(self.parser.parser.CurrentLineNumber)
        return element


def _parse_xml(path: str) -> tuple[ET.Element, dict[ET.Element, int]]:
    builder = _LineBuilder()
    parser = DefusedXMLParser(target=builder)
    builder.parser = parser
    try:
        parser.feed(read_bytes(path))
        root: ET.Element = parser.close()
    except ET.ParseError as exc:
        line, column = exc.position
        raise InputError(f"{path}:{line}", f"not well-formed XML (column {column}): {exc}") from exc
    except DefusedXmlException as exc:
        raise InputError(path, f"forbidden XML construct: {exc}") from exc
    except LookupError as exc:
        raise InputError(f"{path}:1", f"the XML declaration names {exc}") from exc
    return root, builder.lines


@functools.cache
def _qualified(ns: str, path: str) -> str:
    """``path`` with every step in namespace ``ns`` (made once per path, not per lookup)."""
    return "/".join(f"{{{ns}}}{part}" for part in path.split("/"))


@dataclass(frozen=True, slots=True)
class _Xml:
    """Namespace-aware lookups with the XML path of every element."""

    ns: str
    lines: dict[ET.Element, int]

    def find(self, element: ET.Element, path: str) -> ET.Element | None:
        return element.find(_qualified(self.ns, path))

    def text(self, element: ET.Element, path: str) -> str | None:
        found = self.find(element, path)
        text = found.text.strip() if found is not None and found.text else ""
        return text or None

    def all(self, element: ET.Element, path: str) -> list[ET.Element]:
        return element.findall(_qualified(self.ns, path))

    def line(self, element: ET.Element) -> int:
        return self.lines.get(element, 0)


def _signed(xml: _Xml, element: ET.Element, where: str) -> tuple[int, str]:
    amount = xml.find(element, "Amt")
    if amount is None or not amount.text:
        raise _BadEntryError(f"{where}/Amt is missing")
    currency = amount.get("Ccy", "")
    try:
        asset = asset_for(currency)
        value = to_minor(amount.text, int(asset.split("/")[1]))
    except AmountError as exc:
        raise _BadEntryError(f"{where}/Amt: {exc}") from exc
    if value < 0:
        raise _BadEntryError(f"{where}/Amt {amount.text!r} is negative; CdtDbtInd gives the sign")
    indicator = xml.text(element, "CdtDbtInd")
    if indicator not in {"CRDT", "DBIT"}:
        raise _BadEntryError(f"{where}/CdtDbtInd is {indicator!r}, not CRDT or DBIT")
    return (value if indicator == "CRDT" else -value), asset


def _date(xml: _Xml, element: ET.Element, path: str, where: str) -> dt.date | None:
    holder = xml.find(element, path)
    if holder is None:
        return None
    text = xml.text(holder, "Dt") or xml.text(holder, "DtTm")
    if text is None:
        raise _BadEntryError(f"{where}/{path} has neither Dt nor DtTm")
    try:
        return iso_date(text)
    except DateError as exc:
        raise _BadEntryError(f"{where}/{path}: {exc}") from exc


def _reversal(xml: _Xml, entry: ET.Element, where: str) -> bool:
    text = xml.text(entry, "RvslInd") or "false"
    if text not in {"true", "false", "1", "0"}:
        raise _BadEntryError(f"{where}/RvslInd is {text!r}, not a boolean")
    return text in {"true", "1"}


def _joined(values: list[str | None]) -> str | None:
    seen = [v for v in dict.fromkeys(values) if v]
    return ";".join(seen) or None


def _party(xml: _Xml, details: ET.Element, role: str) -> str | None:
    return xml.text(details, f"RltdPties/{role}/Nm") or xml.text(
        details, f"RltdPties/{role}/Pty/Nm"
    )


def _type_code(xml: _Xml, entry: ET.Element) -> str | None:
    domain = xml.text(entry, "BkTxCd/Domn/Cd")
    if domain is not None:
        family = xml.text(entry, "BkTxCd/Domn/Fmly/Cd") or ""
        sub = xml.text(entry, "BkTxCd/Domn/Fmly/SubFmlyCd") or ""
        return "/".join(part for part in (domain, family, sub) if part)
    return xml.text(entry, "BkTxCd/Prtry/Cd")


class _Parser:
    def __init__(self, path: str) -> None:
        self.out = StatementBuilder("camt053", path)
        self.name = Path(path).name
        root, lines = _parse_xml(path)
        match = _NAMESPACE.match(root.tag)
        if match is None:
            raise InputError(
                f"{path}:{lines.get(root, 1)} (/{root.tag})",
                "not a camt.053 document: the root must be Document in namespace "
                "urn:iso:std:iso:20022:tech:xsd:camt.053.001.0x, x from 2 to 8",
            )
        self.root = root
        self.xml = _Xml(root.tag[1:].split("}")[0], lines)
        self.handled: set[ET.Element] = set()

    def run(self) -> ParsedStatement:
        report = self.xml.find(self.root, "BkToCstmrStmt")
        if report is None:
            raise InputError(
                self.out.locator(1, "/Document"), "no BkToCstmrStmt element under Document"
            )
        statements = self.xml.all(report, "Stmt")
        if not statements:
            raise InputError(
                self.out.locator(self.xml.line(report), "/Document/BkToCstmrStmt"),
                "no Stmt element: a camt.053 message holds at least one statement",
            )
        self.out.understood()
        for index, statement in enumerate(statements, start=1):
            self._statement(statement, f"/Document/BkToCstmrStmt/Stmt[{index}]")
        self._strays()
        return self.out.build()

    def _statement(self, statement: ET.Element, where: str) -> None:
        xml = self.xml
        statement_id = xml.text(statement, "Id") or f"{self.name}:{where}"
        account = xml.text(statement, "Acct/Id/IBAN") or xml.text(statement, "Acct/Id/Othr/Id")
        self.out.understood()
        for index, balance in enumerate(xml.all(statement, "Bal"), start=1):
            self._balance(balance, f"{where}/Bal[{index}]", statement_id, account)
        loaded: list[int] = []
        for index, entry in enumerate(xml.all(statement, "Ntry"), start=1):
            amount = self._entry(entry, f"{where}/Ntry[{index}]", statement_id, account)
            if amount is not None:
                loaded.append(amount)
        self._summary(statement, where, loaded)

    def _balance(
        self, balance: ET.Element, where: str, statement_id: str, account: str | None
    ) -> None:
        self.handled.add(balance)
        xml = self.xml
        kind = xml.text(balance, "Tp/CdOrPrtry/Cd") or xml.text(balance, "Tp/CdOrPrtry/Prtry")
        if kind is None:
            self.out.reject(
                "balances", xml.line(balance), "Tp/CdOrPrtry has no Cd or Prtry", where=where
            )
            return
        try:
            amount, asset = _signed(xml, balance, where)
            date = _date(xml, balance, "Dt", where)
        except _BadEntryError as exc:
            self.out.reject("balances", xml.line(balance), str(exc), where=where)
            return
        self.out.add_balance(
            line=xml.line(balance),
            statement_id=statement_id,
            account_ref=account,
            asset_id=asset,
            kind=kind,
            intermediate=xml.text(balance, "Tp/SubTp/Cd") == "INTM",
            date=date,
            amount=amount,
        )

    def _entry(
        self, entry: ET.Element, where: str, statement_id: str, account: str | None
    ) -> int | None:
        self.handled.add(entry)
        xml = self.xml
        line = xml.line(entry)
        try:
            amount, asset = _signed(xml, entry, where)
            booking = _date(xml, entry, "BookgDt", where)
            value = _date(xml, entry, "ValDt", where)
            reversal = _reversal(xml, entry, where)
        except _BadEntryError as exc:
            self.out.reject("records", line, str(exc), where=where)
            return None
        details = xml.all(entry, "NtryDtls/TxDtls")
        status = xml.text(entry, "Sts") or xml.text(entry, "Sts/Cd") or "BOOK"
        counterparty_role = "Dbtr" if amount > 0 else "Cdtr"
        batch_key = None
        if len(details) > 1 or xml.find(entry, "NtryDtls/Btch") is not None:
            batch_key = (
                xml.text(entry, "NtryDtls/Btch/PmtInfId")
                or xml.text(entry, "NtryDtls/Btch/MsgId")
                or xml.text(entry, "NtryRef")
            )
        texts = [
            " ".join(t.text.strip() for t in xml.all(d, "RmtInf/Ustrd") if t.text) for d in details
        ]
        self.out.add_record(
            line=line,
            record_id=f"{self.name}:{where}",
            statement_id=statement_id,
            account_ref=account,
            asset_id=asset,
            amount=amount,
            booking_date=booking,
            value_date=value,
            status=status,
            reversal=reversal,
            bank_ref=xml.text(entry, "AcctSvcrRef")
            or _joined([xml.text(d, "Refs/AcctSvcrRef") for d in details]),
            customer_ref=_joined([xml.text(d, "RmtInf/Strd/CdtrRefInf/Ref") for d in details])
            or xml.text(entry, "NtryRef"),
            end_to_end_id=_joined([xml.text(d, "Refs/EndToEndId") for d in details]),
            tx_id=_joined([xml.text(d, "Refs/TxId") for d in details]),
            counterparty=_joined([_party(xml, d, counterparty_role) for d in details]),
            text=_joined([*texts, xml.text(entry, "AddtlNtryInf")]),
            type_code=_type_code(xml, entry),
            batch_key=batch_key,
        )
        return amount

    def _summary(self, statement: ET.Element, where: str, loaded: list[int]) -> None:
        xml = self.xml
        summary = xml.find(statement, "TxsSummry/TtlNtries")
        if summary is None:
            return
        line = xml.line(summary)
        path = f"{where}/TxsSummry/TtlNtries"
        count = xml.text(summary, "NbOfNtries")
        if count is not None and count.isdigit() and int(count) != len(loaded):
            self.out.finding(
                RuleId.STATEMENT_RECORD_COUNT_MISMATCH,
                line,
                f"the statement summary counts {count} entries, but {len(loaded)} loaded",
                severity=Severity.MEDIUM,
                expected=str(len(loaded)),
                actual=count,
                difference=str(int(count) - len(loaded)),
                where=path,
            )
        stated = xml.text(summary, "TtlNetNtry/Amt")
        indicator = xml.text(summary, "TtlNetNtry/CdtDbtInd")
        if stated is None or indicator not in {"CRDT", "DBIT"}:
            return
        try:
            currency = xml.text(statement, "Acct/Ccy") or "EUR"
            net = to_minor(stated, int(asset_for(currency).split("/")[1]))
        except AmountError:
            return
        net = net if indicator == "CRDT" else -net
        if net != sum(loaded):
            self.out.finding(
                RuleId.STATEMENT_CONTROL_TOTAL_MISMATCH,
                line,
                f"the statement summary nets the entries to {net}, "
                f"but they add up to {sum(loaded)}",
                expected=str(sum(loaded)),
                actual=str(net),
                difference=str(net - sum(loaded)),
                where=path,
            )

    def _strays(self) -> None:
        for tag in ("Ntry", "Bal"):
            for element in self.root.iter(f"{{{self.xml.ns}}}{tag}"):
                if element not in self.handled:
                    kind = "records" if tag == "Ntry" else "balances"
                    self.out.reject(
                        kind,
                        self.xml.line(element),
                        f"{tag} element outside BkToCstmrStmt/Stmt",
                        where=tag,
                    )


def parse_camt053(path: str | Path) -> ParsedStatement:
    """Parse one camt.053 file; raise InputError when it is not a camt.053 statement."""
    return _Parser(str(path)).run()
