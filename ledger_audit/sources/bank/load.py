"""Load bank and processor files: pick the parser by suffix, else by sniffing the content.

Suffixes: ``.bai``/``.bai2`` BAI2, ``.xml`` camt.053, ``.sta``/``.mt940``/``.940`` MT940,
``.parquet`` canonical; ``.csv`` is Stripe or canonical by its header. Anything else is
sniffed: a first record ``NN,`` is BAI2, ``<`` is XML (camt.053), a ``:NN:`` tag is MT940,
a CSV header is Stripe or canonical. A file none of these recognise is an InputError.

``encoding`` names the code page of a BAI2 or MT940 file (``cp1250``, ``cp852``, ...);
without it the encoding is detected (``text.py``). Either way the parse records which one
it used in ``ParsedStatement.encoding``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.findings import FINDINGS_SCHEMA, sort_findings
from ledger_audit.sources.bank.bai2 import parse_bai2
from ledger_audit.sources.bank.camt053 import parse_camt053
from ledger_audit.sources.bank.canonical import looks_canonical, parse_canonical
from ledger_audit.sources.bank.csvrows import normalise
from ledger_audit.sources.bank.mt940 import parse_mt940
from ledger_audit.sources.bank.records import (
    BALANCE_SCHEMA,
    COUNT_KINDS,
    RECORD_SCHEMA,
    ParsedStatement,
    RecordCount,
)
from ledger_audit.sources.bank.stripe import looks_like_stripe, parse_stripe
from ledger_audit.sources.bank.text import decode, drop_controls, read_bytes

Parser = Callable[[str | Path], ParsedStatement]

PARSERS: dict[str, Parser] = {
    "bai2": parse_bai2,
    "camt053": parse_camt053,
    "mt940": parse_mt940,
    "stripe": parse_stripe,
    "canonical": parse_canonical,
}
SUFFIXES = {
    ".bai": "bai2",
    ".bai2": "bai2",
    ".xml": "camt053",
    ".sta": "mt940",
    ".mt940": "mt940",
    ".940": "mt940",
    ".parquet": "canonical",
}
TEXT_PARSERS: dict[str, Callable[[str | Path, str | None], ParsedStatement]] = {
    "bai2": parse_bai2,
    "mt940": parse_mt940,
}
"""The parsers of text formats, which take an ``encoding``."""
_SNIFF_BYTES = 4096


def _csv_kind(first_line: str, path: str) -> str:
    header = [normalise(name) for name in first_line.split(",")]
    if looks_like_stripe(header):
        return "stripe"
    if looks_canonical(header):
        return "canonical"
    raise InputError(
        f"{path}:1", "a CSV whose header is neither a Stripe report nor the canonical layout"
    )


def detect_format(path: str | Path) -> str:
    """The parser name for ``path``: by suffix, else by its first bytes."""
    text_path = str(path)
    suffix = Path(text_path).suffix.lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    head = drop_controls(decode(read_bytes(text_path)[:_SNIFF_BYTES])).lstrip()
    first_line = head.split("\n", 1)[0].strip()
    if suffix == ".csv":
        return _csv_kind(first_line, text_path)
    if re.match(r"^[0-9]{2},", first_line):
        return "bai2"
    if head.startswith("<"):
        return "camt053"
    if re.search(r"^:[0-9]{2}[A-Z]?:", head, flags=re.MULTILINE):
        return "mt940"
    if "," in first_line:
        return _csv_kind(first_line, text_path)
    raise InputError(
        f"{text_path}:1",
        "not a recognised bank file: expected BAI2, camt.053 XML, MT940, a Stripe report "
        "or the canonical CSV/Parquet layout",
    )


def load_statement(
    path: str | Path, *, source: str | None = None, encoding: str | None = None
) -> ParsedStatement:
    """Parse one file (``source`` forces a format, one of PARSERS; ``encoding`` its code page)."""
    name = source or detect_format(path)
    if name not in PARSERS:
        raise InputError(str(path), f"unknown format {name!r}; known: {', '.join(PARSERS)}")
    if name in TEXT_PARSERS:
        return TEXT_PARSERS[name](path, encoding)
    return PARSERS[name](path)


def load_statements(paths: Iterable[str | Path], *, encoding: str | None = None) -> ParsedStatement:
    """Parse several files and concatenate them (``source`` ``mixed`` if formats differ)."""
    parsed = [load_statement(path, encoding=encoding) for path in paths]
    sources = {p.source for p in parsed}
    encodings = sorted({p.encoding for p in parsed if p.encoding is not None})
    counts = tuple(
        RecordCount(
            kind=kind,
            read=sum(p.count(kind).read for p in parsed),
            loaded=sum(p.count(kind).loaded for p in parsed),
            rejected=sum(p.count(kind).rejected for p in parsed),
        )
        for kind in COUNT_KINDS
    )
    return ParsedStatement(
        path=";".join(p.path for p in parsed),
        source=sources.pop() if len(sources) == 1 else "mixed",
        records=pl.concat(
            [pl.DataFrame(schema=RECORD_SCHEMA), *(p.records for p in parsed)], how="vertical"
        ),
        balances=pl.concat(
            [pl.DataFrame(schema=BALANCE_SCHEMA), *(p.balances for p in parsed)], how="vertical"
        ),
        findings=sort_findings(
            pl.concat(
                [pl.DataFrame(schema=FINDINGS_SCHEMA), *(p.findings for p in parsed)],
                how="vertical",
            )
        ),
        counts=counts,
        encoding=";".join(encodings) or None,
    )
