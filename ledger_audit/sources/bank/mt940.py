"""SWIFT MT940 customer statements, tokenised and verified here.

The ``mt940`` package parses these files too, but it reports no line numbers, stops at
the first tag it cannot read and keeps only the last balance of each kind, so this module
tokenises the tags itself: a tag starts a line (``:61:``); following lines that start no
tag continue it; a line ``-`` (or ``-}``) ends a message; lines before the first tag
(SWIFT headers such as ``ABNANL2A`` or ``940``) are skipped.

Tags: ``:20:`` starts a statement, ``:25:`` names the account (one line of at most 35
characters, else a bad line), ``:28:``/``:28C:`` the statement number, ``:60F:``/``:60M:``
the opening balance (OPBD; ``M`` intermediate), ``:61:`` a movement, ``:86:`` its
information (after a ``:61:``; elsewhere, statement information), ``:62F:``/``:62M:``
the closing balance (CLBD), ``:64:`` closing available (CLAV), ``:65:`` forward
available (FWAV). ``:21:``, ``:13:``, ``:13D:``, ``:34F:``, ``:90C:``, ``:90D:`` and
``:NS:`` are read and not used. Another tag is a bad line.

A ``:61:`` is ``YYMMDD[MMDD](D|C|RD|RC)[funds code]amount[type code][customer ref][//bank
ref]`` (customer reference at most 16 characters, bank reference 23) with
supplementary details after them or on a second line, put first in the text. D and RC
are debits, C and RD credits; RC and RD are reversals. The currency is the opening
balance's; the booking date is the entry date (``MMDD``, in the year nearest the value
date), else the value date. Text is the ``:86:`` lines joined with newlines.
``NONREF`` is kept as given.

Statements are split at each ``:20:`` and at an opening balance that follows an opening
or a closing, so that each part holds at most one opening and one closing, verified as
opening + movements = closing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from ledger_audit.errors import InputError
from ledger_audit.sources.bank.amounts import AmountError, asset_for, to_minor
from ledger_audit.sources.bank.builder import StatementBuilder
from ledger_audit.sources.bank.dates import DateError, near_year, yymmdd
from ledger_audit.sources.bank.records import ParsedStatement
from ledger_audit.sources.bank.text import read_text

_TAG = re.compile(r"^:([0-9]{2}[A-Z]?|NS):(.*)$")
_BALANCE = re.compile(
    r"^(?P<mark>[DC])(?P<date>[0-9]{6})(?P<ccy>[A-Z]{3})(?P<amount>[0-9][0-9,]*)$"
)
_MOVEMENT = re.compile(
    r"^(?P<value>[0-9]{6})(?P<entry>[0-9]{4})?(?P<mark>R?[DC])(?P<funds>[A-Z])?"
    r"(?P<amount>[0-9][0-9,]*)(?P<type>[A-Z][A-Z0-9]{3})?"
    r"(?P<customer>(?:(?!//).){0,16})(?://(?P<bank>.{0,23}))?(?P<rest>.*)$"
)
_BALANCE_KINDS = {
    "60F": "OPBD",
    "60M": "OPBD",
    "62F": "CLBD",
    "62M": "CLBD",
    "64": "CLAV",
    "65": "FWAV",
}
_IGNORED = frozenset({"21", "13", "13D", "34F", "90C", "90D", "NS"})
_ACCOUNT_MAX = 35


class _BadTagError(Exception):
    """One tag cannot be loaded; the message is the reason."""


@dataclass(slots=True)
class _Tag:
    line: int
    name: str
    lines: list[str]


@dataclass(slots=True)
class _Pending:
    """A ``:61:`` waiting for its ``:86:``."""

    line: int
    statement_id: str
    account: str | None
    asset: str
    amount: int
    booking_date: dt.date
    value_date: dt.date
    reversal: bool
    type_code: str | None
    customer_ref: str | None
    bank_ref: str | None
    extra: str
    text: list[str] = field(default_factory=list)


def _tokenise(lines: list[str]) -> list[_Tag | int]:
    """Tags in file order; an int is the line of a message end (``-``)."""
    tokens: list[_Tag | int] = []
    current: _Tag | None = None
    for number, raw in enumerate(lines, start=1):
        text = raw.rstrip()
        match = _TAG.match(text)
        if match:
            current = _Tag(number, match.group(1), [match.group(2)])
            tokens.append(current)
        elif text.strip() in {"-", "-}"} or text.startswith("-}"):
            tokens.append(number)
            current = None
        elif current is not None and text:
            current.lines.append(text)
    return tokens


def _amount(text: str, asset: str) -> int:
    return to_minor(text, int(asset.split("/")[1]))


class _Parser:
    def __init__(self, path: str, lines: list[str]) -> None:
        self.out = StatementBuilder("mt940", path)
        self.name = Path(path).name
        self.tokens = _tokenise(lines)
        self.statement_id = f"{self.name}:1"
        self.account: str | None = None
        self.asset: str | None = None
        self.has_opening = False
        self.has_closing = False
        self.pending: _Pending | None = None

    def run(self) -> ParsedStatement:
        if not any(isinstance(token, _Tag) for token in self.tokens):
            raise InputError(self.out.path, "not an MT940 file: no :NN: tag found")
        for token in self.tokens:
            if isinstance(token, int):
                self._flush()
                continue
            if token.name != "86":
                self._flush()
            try:
                self._tag(token)
            except (_BadTagError, AmountError, DateError) as exc:
                kind = "records" if token.name == "61" else "structure"
                kind = "balances" if token.name in _BALANCE_KINDS else kind
                excerpt = "\n".join(token.lines)[:80]
                self.out.reject(kind, token.line, f":{token.name}: {exc}", excerpt=excerpt)
        self._flush()
        return self.out.build()

    def _tag(self, tag: _Tag) -> None:
        name = tag.name
        if name == "20":
            self._new_statement(tag.line)
            self.account = None
            self.out.understood()
        elif name == "25":
            if len(tag.lines) > 1 or len(tag.lines[0]) > _ACCOUNT_MAX:
                raise _BadTagError("account identification is more than one line of 35 characters")
            self.account = tag.lines[0].strip()
            self.out.understood()
        elif name in _BALANCE_KINDS:
            self._balance(tag)
        elif name == "61":
            self._movement(tag)
        elif name == "86":
            if self.pending is not None:
                self.pending.text.extend(tag.lines)
            self.out.understood()
        elif name in _IGNORED or name in {"28", "28C"}:
            self.out.understood()
        else:
            raise _BadTagError("unknown tag")

    def _new_statement(self, line: int) -> None:
        self.statement_id = f"{self.name}:{line}"
        self.has_opening = self.has_closing = False
        self.asset = None

    def _balance(self, tag: _Tag) -> None:
        if len(tag.lines) > 1:
            raise _BadTagError("a balance is one line")
        match = _BALANCE.match(tag.lines[0].strip())
        if match is None:
            raise _BadTagError("balance is not (D|C)YYMMDD, currency and amount")
        kind = _BALANCE_KINDS[tag.name]
        asset = asset_for(match["ccy"])
        amount = _amount(match["amount"], asset)
        date = yymmdd(match["date"])
        if kind == "OPBD":
            if self.has_opening or self.has_closing:
                self._new_statement(tag.line)
            self.has_opening = True
            self.asset = asset
        elif kind == "CLBD":
            self.has_closing = True
        self.out.add_balance(
            line=tag.line,
            statement_id=self.statement_id,
            account_ref=self.account,
            asset_id=asset,
            kind=kind,
            intermediate=tag.name.endswith("M"),
            date=date,
            amount=amount if match["mark"] == "C" else -amount,
        )

    def _movement(self, tag: _Tag) -> None:
        if len(tag.lines) > 2:  # noqa: PLR2004
            raise _BadTagError("a movement is at most two lines")
        match = _MOVEMENT.match(tag.lines[0].strip())
        if match is None:
            raise _BadTagError(
                "movement is not YYMMDD[MMDD](D|C|RD|RC)[funds]amount[type][reference]"
            )
        if self.asset is None:
            raise _BadTagError("no opening balance (:60F:/:60M:) before it gives the currency")
        value = yymmdd(match["value"])
        booking = near_year(match["entry"], value) if match["entry"] else value
        amount = _amount(match["amount"], self.asset)
        mark = match["mark"]
        sign = -1 if mark in {"D", "RC"} else 1
        second = tag.lines[1].strip() if len(tag.lines) > 1 else ""
        extra = " ".join(part for part in (match["rest"].strip(), second) if part)
        self.pending = _Pending(
            line=tag.line,
            statement_id=self.statement_id,
            account=self.account,
            asset=self.asset,
            amount=sign * amount,
            booking_date=booking,
            value_date=value,
            reversal=mark.startswith("R"),
            type_code=match["type"],
            customer_ref=match["customer"].strip() or None,
            bank_ref=(match["bank"] or "").strip() or None,
            extra=extra,
        )

    def _flush(self) -> None:
        pending, self.pending = self.pending, None
        if pending is None:
            return
        text = "\n".join(line.strip() for line in pending.text if line.strip())
        self.out.add_record(
            line=pending.line,
            record_id=f"{self.name}:{pending.line}",
            statement_id=pending.statement_id,
            account_ref=pending.account,
            asset_id=pending.asset,
            amount=pending.amount,
            booking_date=pending.booking_date,
            value_date=pending.value_date,
            reversal=pending.reversal,
            bank_ref=pending.bank_ref,
            customer_ref=pending.customer_ref,
            text="\n".join(part for part in (pending.extra, text) if part) or None,
            type_code=pending.type_code,
        )


def parse_mt940(path: str | Path) -> ParsedStatement:
    """Parse one MT940 file; raise InputError when it holds no MT940 tag at all."""
    return _Parser(str(path), read_text(path)).run()
