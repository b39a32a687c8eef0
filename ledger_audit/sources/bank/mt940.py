"""SWIFT MT940 customer statements, tokenised and verified here.

The ``mt940`` package parses these files too, but it reports no line numbers, stops at
the first tag it cannot read and keeps only the last balance of each kind, so this module
tokenises the tags itself: a tag starts a line (``:61:``); following lines that start no
tag continue it; a line ``-`` (or ``-}``) ends a message; lines before the first tag
(SWIFT headers such as ``ABNANL2A`` or ``940``) are skipped. Transmission framing is not
part of any tag: control characters (SOH, ETX, EOT, ...) are dropped wherever they stand,
a ``{1:...}{2:...}{4:`` block header before a tag is skipped, and a ``-}`` envelope end (with
any ``{5:...}`` trailer) at the end of a tag's line ends the message there.

Tags: ``:20:`` starts a statement, ``:25:`` names the account (one line of at most 35
characters, else a bad line), ``:28:``/``:28C:`` the statement number, ``:60F:``/``:60M:``
the opening balance (OPBD; ``M`` intermediate), ``:61:`` a movement, ``:86:`` its
information (after a ``:61:``; elsewhere, statement information), ``:62F:``/``:62M:``
the closing balance (CLBD), ``:64:`` closing available (CLAV), ``:65:`` forward
available (FWAV). ``:21:``, ``:13:``, ``:13D:`` and ``:NS:`` are read and not used.
Another tag is a bad line. A balance split over several lines (a line break inside the
amount) is read joined.

MT942 interim reports have no opening balance: their ``:34F:`` floor limit
(``EURD0,`` or ``EUR0,``) gives the currency of the movements that follow, and their
``:90D:``/``:90C:`` (number and sum of the debit/credit entries, ``3EUR120,50``) are
verified against the statement's movements read so far (D and RC are debits).

A ``:61:`` is (SWIFT subfields 1-9) ``YYMMDD`` value date, ``[MMDD]`` entry date, ``D``,
``C``, ``RD`` or ``RC`` mark, ``[funds code]`` (one letter), amount, transaction type
(one letter, ``S``/``N``/``F``, and three characters, spaces allowed: ``NTRF``,
``S   ``), customer reference (at most 16 characters, ``NONREF`` kept as given),
``[//bank reference]`` (at most 16), and supplementary details after them or on a second
line, put first in the text. When the first line stops before the transaction type (a
line break inside the amount or a date), the second line continues it directly. D and RC
are debits, C and RD credits; RC and RD are reversals. The currency is the opening
balance's (MT942: the floor limit's); the booking date is the entry date (``MMDD``, in
the year nearest the value date), else the value date. Text is the ``:86:`` lines joined
with newlines.

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
from ledger_audit.findings import RuleId, Severity
from ledger_audit.sources.bank.amounts import AmountError, asset_for, to_minor
from ledger_audit.sources.bank.builder import StatementBuilder
from ledger_audit.sources.bank.dates import DateError, near_year, yymmdd
from ledger_audit.sources.bank.records import ParsedStatement
from ledger_audit.sources.bank.text import drop_controls, read_decoded, split_lines

_TAG = re.compile(r"^:([0-9]{2}[A-Z]?|NS):(.*)$")
_BLOCK_HEADER = re.compile(r"^(?:\{[0-9A-Z]{1,3}:[^{}]*(?:\{[^{}]*\}[^{}]*)*\})*\{4:(?=:)")
_ENVELOPE_END = re.compile(r"-\}(?:\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\})*\s*$")
_BALANCE = re.compile(
    r"^(?P<mark>[DC])(?P<date>[0-9]{6})(?P<ccy>[A-Z]{3})(?P<amount>[0-9][0-9,]*)$"
)
_FLOOR = re.compile(r"^(?P<ccy>[A-Z]{3})(?P<mark>[DC])?(?P<amount>[0-9][0-9,]*)$")
_HEAD = (
    r"^(?P<value>[0-9]{6})(?P<entry>[0-9]{4})?(?P<mark>R?[DC])(?P<funds>[A-Z])?"
    r"(?P<amount>[0-9][0-9,]*)"
)
_TAIL = r"(?P<customer>(?:(?!//).){0,16})(?://(?P<bank>.{0,16}))?(?P<rest>.*)$"
_MOVEMENT = re.compile(_HEAD + r"(?P<type>[A-Z][A-Z0-9 ]{3})" + _TAIL)
"""The SWIFT layout, transaction type required."""
_LOOSE_MOVEMENT = re.compile(_HEAD + r"(?P<type>[A-Z][A-Z0-9]{3})?" + _TAIL)
"""The same without a transaction type, which some banks leave out."""
_BALANCE_KINDS = {
    "60F": "OPBD",
    "60M": "OPBD",
    "62F": "CLBD",
    "62M": "CLBD",
    "64": "CLAV",
    "65": "FWAV",
}
_IGNORED = frozenset({"21", "13", "13D", "NS"})
_ENTRIES = re.compile(r"^(?P<count>[0-9]{1,5})(?P<ccy>[A-Z]{3})(?P<amount>[0-9][0-9,]*)$")
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
        text = _BLOCK_HEADER.sub("", drop_controls(raw).rstrip())
        ends = text.strip() == "-" or text.lstrip().startswith("-}")
        envelope = None if ends else _ENVELOPE_END.search(text)
        if ends:
            text = ""
        elif envelope is not None:
            text, ends = text[: envelope.start()].rstrip(), True
        match = _TAG.match(text)
        if match:
            current = _Tag(number, match.group(1), [match.group(2)])
            tokens.append(current)
        elif current is not None and text:
            current.lines.append(text)
        if ends:
            tokens.append(number)
            current = None
    return tokens


def _amount(text: str, asset: str) -> int:
    return to_minor(text, int(asset.split("/")[1]))


class _Parser:
    def __init__(self, path: str, lines: list[str], encoding: str) -> None:
        self.out = StatementBuilder("mt940", path, encoding)
        self.name = Path(path).name
        self.tokens = _tokenise(lines)
        self.statement_id = f"{self.name}:1"
        self.account: str | None = None
        self.asset: str | None = None
        self.floor_asset: str | None = None
        self.tally = {"90D": [0, 0], "90C": [0, 0]}
        """Count and sum (minor units) of the debit and credit movements loaded."""
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
        elif name == "34F":
            self._floor(tag)
        elif name in {"90D", "90C"}:
            self._entries(tag)
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
        self.asset = self.floor_asset = None
        self.tally = {"90D": [0, 0], "90C": [0, 0]}

    def _floor(self, tag: _Tag) -> None:
        match = _FLOOR.match("".join(line.strip() for line in tag.lines))
        if match is None:
            raise _BadTagError("floor limit is not a currency, [D|C] and an amount")
        asset = asset_for(match["ccy"])
        _amount(match["amount"], asset)
        self.floor_asset = self.floor_asset or asset
        self.out.understood()

    def _entries(self, tag: _Tag) -> None:
        match = _ENTRIES.match("".join(line.strip() for line in tag.lines))
        if match is None:
            raise _BadTagError("number and sum of entries is not a count, currency and amount")
        asset = asset_for(match["ccy"])
        stated = (int(match["count"]), _amount(match["amount"], asset))
        self.out.understood()
        what = "debit" if tag.name == "90D" else "credit"
        count, total = self.tally[tag.name]
        if stated[0] != count:
            self.out.finding(
                RuleId.STATEMENT_RECORD_COUNT_MISMATCH,
                tag.line,
                f":{tag.name}: states {stated[0]} {what} entries, but the statement has {count}",
                severity=Severity.MEDIUM,
                expected=str(count),
                actual=str(stated[0]),
                difference=str(stated[0] - count),
            )
        if stated[1] != total:
            self.out.finding(
                RuleId.STATEMENT_CONTROL_TOTAL_MISMATCH,
                tag.line,
                f":{tag.name}: states {what} entries of {stated[1]} {asset}, "
                f"but the statement's add up to {total}",
                expected=f"{total} {asset}",
                actual=f"{stated[1]} {asset}",
                difference=f"{stated[1] - total} {asset}",
                asset_id=asset,
            )

    def _balance(self, tag: _Tag) -> None:
        match = _BALANCE.match("".join(line.strip() for line in tag.lines))
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
        match, details = _split_movement([line.strip() for line in tag.lines])
        if len(details) > 1:
            raise _BadTagError("a movement is at most two lines")
        if match is None:
            raise _BadTagError(
                "movement is not YYMMDD[MMDD](D|C|RD|RC)[funds]amount[type][reference]"
            )
        asset = self.asset or self.floor_asset
        if asset is None:
            raise _BadTagError(
                "no opening balance (:60F:/:60M:) or floor limit (:34F:) before it "
                "gives the currency"
            )
        value = yymmdd(match["value"])
        booking = near_year(match["entry"], value) if match["entry"] else value
        amount = _amount(match["amount"], asset)
        mark = match["mark"]
        sign = -1 if mark in {"D", "RC"} else 1
        extra = " ".join(part for part in (match["rest"].strip(), *details) if part)
        tally = self.tally["90D" if sign < 0 else "90C"]
        tally[0] += 1
        tally[1] += amount
        self.pending = _Pending(
            line=tag.line,
            statement_id=self.statement_id,
            account=self.account,
            asset=asset,
            amount=sign * amount,
            booking_date=booking,
            value_date=value,
            reversal=mark.startswith("R"),
            type_code=(match["type"] or "").rstrip() or None,
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


def _split_movement(lines: list[str]) -> tuple[re.Match[str] | None, list[str]]:
    """The ``:61:`` subfields and its supplementary detail lines.

    The first line holds the subfields up to the references; when it stops before the
    transaction type and the second line completes the layout, the two are one line
    broken inside a subfield.
    """
    first = _MOVEMENT.match(lines[0])
    if first is None and len(lines) > 1:
        joined = _MOVEMENT.match(lines[0] + lines[1])
        if joined is not None:
            return joined, lines[2:]
    return first or _LOOSE_MOVEMENT.match(lines[0]), lines[1:]


def parse_mt940(path: str | Path, encoding: str | None = None) -> ParsedStatement:
    """Parse one MT940 or MT942 file (``encoding``: its code page, else detected).

    Raise InputError when it holds no MT940 tag at all.
    """
    decoded = read_decoded(path, encoding)
    return _Parser(str(path), split_lines(decoded.text), decoded.encoding).run()
