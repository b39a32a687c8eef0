"""The canonical external-record frame, the statement-balance frame and ``ParsedStatement``.

Every bank or processor file, whatever its format, becomes the same three frames
(DESIGN.md section 7): the records (one row per booked movement), the balances the file
states, and the findings the parse raised. References are flat columns rather than one
struct so that the matcher can join on any of them directly.

Records (``RECORD_SCHEMA``):

==============  ========  ===============================================================
column          dtype     meaning
==============  ========  ===============================================================
source          String    the format: ``bai2``, ``camt053``, ``mt940``, ``stripe``,
                          ``canonical``
file            String    the path as it was given to the loader
line            Int64     1-based line where the record starts (Parquet: the row number)
record_id       String    unique within the file: ``<file name>:<line>`` for text formats
                          (BAI2 records sharing a line: ``<line>#<n>`` from the second on),
                          ``<file name>:<XML path>`` for camt.053, the balance transaction id
                          for Stripe (``:fee`` appended for its fee line), the file's own
                          id for the canonical layout
statement_id    String    which statement (BAI2 group/account, camt ``Stmt/Id``, MT940
                          ``:20:``/``:28C:``) the record belongs to; balances use the same
account_ref     String    the bank account as the file names it (IBAN, account number)
asset_id        String    ``CODE/scale`` from the ISO 4217 exponent (``EUR/2``, ``JPY/0``)
amount          Int64     signed minor units: credits to the account positive, debits
                          negative
booking_date    Date      when the bank booked it (BAI2: the group's as-of date)
value_date      Date      when it is value-dated (null when the file gives none)
status          String    ``BOOK`` for booked entries; camt ``PDNG``/``INFO`` kept as given
reversal        Boolean   the file marks it as a reversal (camt ``RvslInd``, MT940 RC/RD)
bank_ref        String    the bank's reference (BAI2 bank ref, camt ``AcctSvcrRef``, MT940
                          ``//`` reference, Stripe balance transaction id)
customer_ref    String    the account owner's reference (BAI2 customer ref, MT940
                          customer reference, camt creditor reference ``CdtrRefInf/Ref``)
end_to_end_id   String    camt ``EndToEndId`` (several transaction details: joined by ``;``)
tx_id           String    camt ``TxId``; Stripe ``source_id`` (charge, refund, ...)
payout_id       String    Stripe payout (``po_...``) the movement was paid out in
counterparty    String    the other party's name where the file gives it
text            String    free text (BAI2 text and continuations, MT940 ``:86:``, camt
                          remittance information)
type_code       String    the file's transaction code (BAI2 type code, MT940 ``NTRF``,
                          camt ``Domn/Fmly/SubFmly`` or proprietary code, Stripe
                          reporting category or ``fee``)
batch_key       String    groups records settled together (camt batch ``PmtInfId``,
                          Stripe payout id)
==============  ========  ===============================================================

Balances (``BALANCE_SCHEMA``): source, file, line, statement_id, account_ref, asset_id,
``kind`` (ISO 20022 balance code: OPBD, CLBD, OPAV, CLAV, FWAV, ITBD, ITAV, PRCD, INFO,
XPCD; BAI2 codes without an ISO twin as ``BAI:<code>``), ``intermediate`` (MT940 60M/62M,
camt sub-type INTM), ``date`` and signed ``amount`` in minor units.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.findings import FINDINGS_SCHEMA, RuleId

SOURCES = ("bai2", "camt053", "mt940", "stripe", "canonical")
"""The formats a record's ``source`` can name."""

RECORD_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "file": pl.String(),
    "line": pl.Int64(),
    "record_id": pl.String(),
    "statement_id": pl.String(),
    "account_ref": pl.String(),
    "asset_id": pl.String(),
    "amount": pl.Int64(),
    "booking_date": pl.Date(),
    "value_date": pl.Date(),
    "status": pl.String(),
    "reversal": pl.Boolean(),
    "bank_ref": pl.String(),
    "customer_ref": pl.String(),
    "end_to_end_id": pl.String(),
    "tx_id": pl.String(),
    "payout_id": pl.String(),
    "counterparty": pl.String(),
    "text": pl.String(),
    "type_code": pl.String(),
    "batch_key": pl.String(),
}
"""Columns of the canonical external-record frame, in this order."""

REFERENCE_COLUMNS = ("bank_ref", "customer_ref", "end_to_end_id", "tx_id", "payout_id")
"""The record columns that hold references a matcher may join on."""

BALANCE_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "file": pl.String(),
    "line": pl.Int64(),
    "statement_id": pl.String(),
    "account_ref": pl.String(),
    "asset_id": pl.String(),
    "kind": pl.String(),
    "intermediate": pl.Boolean(),
    "date": pl.Date(),
    "amount": pl.Int64(),
}
"""Columns of the statement-balance frame, in this order."""

COUNT_KINDS = ("records", "balances", "structure")
"""What a parse counts: movements, stated balances, and the structure around them
(headers, trailers, statement fields, lines of no known kind)."""


@dataclass(frozen=True, slots=True)
class RecordCount:
    """How many items of one kind a parse read, loaded and rejected.

    Attributes:
        kind: one of COUNT_KINDS.
        read: items seen in the file.
        loaded: items that reached a frame (or, for structure, were understood).
        rejected: items reported as ``statement.bad_record`` findings.
    """

    kind: str
    read: int
    loaded: int
    rejected: int

    def __post_init__(self) -> None:
        if self.read != self.loaded + self.rejected:
            raise ValueError(
                f"{self.kind}: read {self.read} != loaded {self.loaded} + rejected {self.rejected}"
            )


def _check_schema(name: str, frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> None:
    if dict(frame.schema) != schema:
        raise InputError(f"{name} frame", f"schema {dict(frame.schema)} is not {schema}")


@dataclass(frozen=True, slots=True, eq=False)
class ParsedStatement:
    """One bank or processor file after parsing: nothing read is lost silently.

    Attributes:
        path: the file as given.
        source: the format it was read as (one of SOURCES).
        records: RECORD_SCHEMA frame, in file order.
        balances: BALANCE_SCHEMA frame, in file order.
        findings: FINDINGS_SCHEMA frame: bad records and totals that do not add up.
        counts: one RecordCount per COUNT_KINDS entry, in that order.
        encoding: the text encoding the file was read in (``utf-8``, ``cp1250``, ...;
            several files: their encodings joined by ``;``); None where the parser
            does not record one (camt.053 XML decodes itself; CSV; Parquet).
    """

    path: str
    source: str
    records: pl.DataFrame
    balances: pl.DataFrame
    findings: pl.DataFrame
    counts: tuple[RecordCount, ...]
    encoding: str | None = None

    def __post_init__(self) -> None:
        _check_schema("records", self.records, RECORD_SCHEMA)
        _check_schema("balances", self.balances, BALANCE_SCHEMA)
        _check_schema("findings", self.findings, FINDINGS_SCHEMA)
        if tuple(count.kind for count in self.counts) != COUNT_KINDS:
            raise ValueError(f"counts must be {COUNT_KINDS}, got {self.counts}")
        if self.count("records").loaded != self.records.height:
            raise ValueError("records loaded differs from the rows of the records frame")
        if self.count("balances").loaded != self.balances.height:
            raise ValueError("balances loaded differs from the rows of the balances frame")
        bad = self.findings.filter(pl.col("rule") == str(RuleId.STATEMENT_BAD_RECORD)).height
        if bad != self.rejected:
            raise ValueError(f"{self.rejected} rejected but {bad} bad-record findings")

    def count(self, kind: str) -> RecordCount:
        """The counts of one kind (``records``, ``balances`` or ``structure``)."""
        for count in self.counts:
            if count.kind == kind:
                return count
        raise KeyError(kind)

    @property
    def read(self) -> int:
        """Items read over all kinds."""
        return sum(count.read for count in self.counts)

    @property
    def loaded(self) -> int:
        """Items loaded over all kinds."""
        return sum(count.loaded for count in self.counts)

    @property
    def rejected(self) -> int:
        """Items rejected over all kinds: one ``statement.bad_record`` finding each."""
        return sum(count.rejected for count in self.counts)


def empty_records() -> pl.DataFrame:
    """A records frame with no rows."""
    return pl.DataFrame(schema=RECORD_SCHEMA)


def empty_balances() -> pl.DataFrame:
    """A balances frame with no rows."""
    return pl.DataFrame(schema=BALANCE_SCHEMA)
