"""Collect one file's records, balances and findings while a parser walks it.

Parsers call ``add_record``, ``add_balance``, ``understood`` (a structural item that was
fine) and ``reject`` (one ``statement.bad_record`` finding, counted as rejected); ``build``
verifies the stated balances and returns the frozen ``ParsedStatement``.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from ledger_audit.findings import Finding, RuleId, Severity, findings_frame
from ledger_audit.sources.bank.records import (
    BALANCE_SCHEMA,
    COUNT_KINDS,
    RECORD_SCHEMA,
    ParsedStatement,
    RecordCount,
)
from ledger_audit.sources.bank.totals import balance_findings

_NOUN = {"records": "record", "balances": "balance", "structure": "line"}

Row = dict[str, object]


class StatementBuilder:
    """Mutable collector for one file; ``build`` freezes it (call it once)."""

    def __init__(self, source: str, path: str, encoding: str | None = None) -> None:
        self.source = source
        self.path = path
        self.encoding = encoding
        self.check = f"parse.{source}"
        self._records: list[Row] = []
        self._record_parts: list[pl.DataFrame] = []
        self._balances: list[Row] = []
        self._findings: list[Finding] = []
        self._read = dict.fromkeys(COUNT_KINDS, 0)
        self._rejected = dict.fromkeys(COUNT_KINDS, 0)

    def locator(self, line: int, where: str | None = None) -> str:
        """``file:line``, with an XML path or field in parentheses when given."""
        text = f"{self.path}:{line}"
        return f"{text} ({where})" if where else text

    def add_record(
        self,
        *,
        line: int,
        record_id: str,
        statement_id: str | None,
        account_ref: str | None,
        asset_id: str,
        amount: int,
        booking_date: dt.date | None,
        value_date: dt.date | None = None,
        status: str = "BOOK",
        reversal: bool = False,
        **details: str | None,
    ) -> None:
        """One movement that loaded; ``details`` are reference and text columns."""
        unknown = set(details) - set(RECORD_SCHEMA)
        if unknown:
            raise TypeError(f"not record columns: {sorted(unknown)}")
        self._read["records"] += 1
        self._records.append(
            {
                "source": self.source,
                "file": self.path,
                "line": line,
                "record_id": record_id,
                "statement_id": statement_id,
                "account_ref": account_ref,
                "asset_id": asset_id,
                "amount": amount,
                "booking_date": booking_date,
                "value_date": value_date,
                "status": status,
                "reversal": reversal,
                **{key: (value or None) for key, value in details.items()},
            }
        )

    def add_records(self, records: pl.DataFrame) -> None:
        """Many movements that loaded, as a frame of ``RECORD_SCHEMA`` (a parser by column).

        They follow every record added so far, as ``add_record`` one by one would place them.
        """
        if records.schema != pl.Schema(RECORD_SCHEMA):
            raise TypeError(f"records need RECORD_SCHEMA, not {records.schema}")
        self._flush_records()
        self._read["records"] += records.height
        self._record_parts.append(records)

    def _flush_records(self) -> None:
        if self._records:
            frame = pl.DataFrame(self._records, schema=RECORD_SCHEMA, orient="row")
            self._record_parts.append(frame)
            self._records = []

    def add_balance(
        self,
        *,
        line: int,
        statement_id: str | None,
        account_ref: str | None,
        asset_id: str,
        kind: str,
        date: dt.date | None,
        amount: int,
        intermediate: bool = False,
    ) -> None:
        """One stated balance that loaded."""
        self._read["balances"] += 1
        self._balances.append(
            {
                "source": self.source,
                "file": self.path,
                "line": line,
                "statement_id": statement_id,
                "account_ref": account_ref,
                "asset_id": asset_id,
                "kind": kind,
                "intermediate": intermediate,
                "date": date,
                "amount": amount,
            }
        )

    def understood(self, count: int = 1) -> None:
        """Structural items (headers, trailers, statement fields) read without a problem."""
        self._read["structure"] += count

    def reject(
        self,
        kind: str,
        line: int,
        reason: str,
        *,
        where: str | None = None,
        excerpt: str | None = None,
    ) -> None:
        """An item that could not be loaded: counted as read and rejected, and reported."""
        self._read[kind] += 1
        self._rejected[kind] += 1
        self._findings.append(
            Finding(
                rule=RuleId.STATEMENT_BAD_RECORD,
                severity=Severity.HIGH,
                ledger_id=None,
                locator=self.locator(line, where),
                message=f"bad {_NOUN[kind]} not loaded: {reason}",
                actual=excerpt,
                check=self.check,
            )
        )

    def finding(
        self,
        rule: RuleId,
        line: int,
        message: str,
        *,
        severity: Severity = Severity.HIGH,
        expected: str | None = None,
        actual: str | None = None,
        difference: str | None = None,
        asset_id: str | None = None,
        where: str | None = None,
    ) -> None:
        """A finding that rejects nothing: totals, counts or structure that do not agree."""
        self._findings.append(
            Finding(
                rule=rule,
                severity=severity,
                ledger_id=None,
                locator=self.locator(line, where),
                message=message,
                expected=expected,
                actual=actual,
                difference=difference,
                check=self.check,
                asset_id=asset_id,
            )
        )

    def build(self) -> ParsedStatement:
        """Verify opening + movements = closing per statement and freeze the result."""
        self._flush_records()
        parts = self._record_parts
        records = pl.concat(parts) if parts else pl.DataFrame(schema=RECORD_SCHEMA)
        balances = pl.DataFrame(self._balances, schema=BALANCE_SCHEMA, orient="row")
        findings = [*self._findings, *balance_findings(records, balances, self)]
        counts = tuple(
            RecordCount(
                kind=kind,
                read=self._read[kind],
                loaded=self._read[kind] - self._rejected[kind],
                rejected=self._rejected[kind],
            )
            for kind in COUNT_KINDS
        )
        return ParsedStatement(
            path=self.path,
            source=self.source,
            records=records,
            balances=balances,
            findings=findings_frame(findings),
            counts=counts,
            encoding=self.encoding,
        )
