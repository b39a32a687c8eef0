"""Stage 1 of the data flow (sources): the only place that reads bank and processor files.

Each parser turns one file into a ``ParsedStatement``: the canonical external-record frame
(DESIGN.md section 7), the balances the file states and the findings of the parse, with
read = loaded + rejected for every kind of item. ``load_statement`` picks the parser.
"""

from ledger_audit.sources.bank.load import detect_format, load_statement, load_statements
from ledger_audit.sources.bank.records import (
    BALANCE_SCHEMA,
    RECORD_SCHEMA,
    ParsedStatement,
    RecordCount,
)

__all__ = [
    "BALANCE_SCHEMA",
    "RECORD_SCHEMA",
    "ParsedStatement",
    "RecordCount",
    "detect_format",
    "load_statement",
    "load_statements",
]
