"""BAI2 (Cash Management Balance Reporting, version 2): a tolerant parser of our own.

Structure: ``01`` file header, ``02`` group header (as-of date, default currency), ``03``
account identifier with status balances and activity summaries, ``16`` transaction
detail, ``88`` continuation of the record before it, ``49`` account trailer, ``98`` group
trailer, ``99`` file trailer. A record ends with ``/``; several records may share one
physical line. A ``16`` record's text may hold commas and slashes, so it runs to the end
of its line unless a ``/`` is followed by what is plainly the start of another record
(``16,`` and a three-digit type code, ``49,`` and two numbers and ``/``,
...). An ``88`` continues the fields of its record; for a ``16`` it continues the text,
joined with a space. A line that starts no record (no ``NN,``) right after a ``16`` whose
text is still open (its last line has no closing ``/``) is that text wrapped onto a new
line: it continues the text and is not a record of its own in the trailers' counts.
Control characters (transmission framing such as SOH, ETX, EOT) are dropped.

A ``/`` ends a physical record's fields, so when a record is continued, a comma right
before it (``...,funds,/`` then ``88,...``) may have closed the last field and started
none. It did where the next field cannot be empty (a summary item's type code, a detail's
amount, the group's as-of date) and before a detail's references (a ``16`` not ending in
its text ends with ``/``): the next field is then the first of the ``88``. Where the next
field may be empty (a funds type, a count, an amount of a summary), the empty field before
the ``/`` is that field, as in the BAI specification's own ``040,2830000,,/`` example.

Amounts are implied-decimal minor units of the account's currency (the ``03`` currency,
else the group's, else USD). Detail amounts are unsigned: type codes 100-399 and 920-959
are credits, 400-699 and 960-999 debits; another code in a ``16`` is a bad record.
Funds types ``Z``, ``0``, ``1``, ``2`` take no extra fields, ``V`` a value date and time
(the date becomes ``value_date``), ``S`` three amounts, ``D`` a count and that many
day/amount pairs (a count larger than the fields the record has left is a bad record).

Verified, each mismatch a finding: the ``49``/``98``/``99`` control totals (the algebraic
sum of every amount in the ``03`` and ``16`` records below them) and record counts
(physical records, continuations included; wrapped text lines may be counted or not),
the ``98`` account count and the ``99`` group count, the ``100``/``400`` total credits
and debits (amount and item count) against the details, and opening ledger (``010``) +
details = closing ledger (``015``). A blank control total states nothing and is not
verified. A missing trailer is a ``statement.record_count_mismatch`` finding.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId, Severity
from ledger_audit.sources.bank.amounts import AmountError, asset_for, implied_minor
from ledger_audit.sources.bank.builder import StatementBuilder
from ledger_audit.sources.bank.dates import DateError, yymmdd
from ledger_audit.sources.bank.records import ParsedStatement
from ledger_audit.sources.bank.text import drop_controls, read_decoded, split_lines

BALANCE_KINDS = {
    "010": "OPBD",
    "015": "CLBD",
    "030": "ITBD",
    "040": "OPAV",
    "045": "CLAV",
    "060": "ITAV",
}
"""BAI2 status codes with an ISO 20022 balance code; other status codes keep ``BAI:<code>``."""

_TOTAL_CREDITS = "100"
_TOTAL_DEBITS = "400"
_FIXED_FUNDS = {"": 0, "Z": 0, "0": 0, "1": 0, "2": 0, "V": 2, "S": 3}
_OPENERS = ("01", "02", "03")
"""Records that open a scope and count their own physical records into it."""
_NO_CODE = "a record starts with a two-digit record code and a comma"
_CODES = frozenset({"01", "02", "03", "16", "49", "88", "98", "99"})
_DIGITS = re.compile(r"[0-9]+")
_MAX_COUNT_DIGITS = 9
_RECORD_SHAPES = (
    r"01,[^,/]*,[^,/]*,[0-9]{6},",
    r"02,[^,/]*,[^,/]*,[0-9]*,[0-9]{6},",
    r"03,[^,/]+,[A-Za-z]{0,3}[,/]",
    r"16,[0-9]{3}[,/]",
    r"88,",
    r"49,[+-]?[0-9]*,[0-9]*/",
    r"9[89],[+-]?[0-9]*,[0-9]*,[0-9]*/",
)
_FIELD_END = re.compile(r"[,/]")
"""What ends a field: the next comma, or the slash that ends the piece."""
_NEXT_RECORD = re.compile(r"/\s*(?=" + "|".join(_RECORD_SHAPES) + ")")
"""A ``/`` that ends a 16's text because another record plainly starts after it."""


def _digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts ``²`` and other scripts' digits)."""
    return _DIGITS.fullmatch(text) is not None


class _BadRecordError(Exception):
    """One record (or one item of it) cannot be loaded; the message is the reason."""


class _FundsError(_BadRecordError):
    """A funds type whose extra fields cannot be delimited: the rest of the record is lost."""


def _is_status(code: str) -> bool:
    if not (len(code) == 3 and _digits(code)):  # noqa: PLR2004
        return False
    return 1 <= int(code) <= 99 or 900 <= int(code) <= 919  # noqa: PLR2004


def _direction(code: str) -> int:
    if not (len(code) == 3 and _digits(code)):  # noqa: PLR2004
        raise _BadRecordError(f"type code {code!r} is not three digits")
    value = int(code)
    if 100 <= value <= 399 or 920 <= value <= 959:  # noqa: PLR2004
        return 1
    if 400 <= value <= 699 or 960 <= value <= 999:  # noqa: PLR2004
        return -1
    raise _BadRecordError(f"type code {code} is neither a credit nor a debit detail code")


@dataclass(slots=True)
class _Logical:
    """One logical record: its code, first line, and the text of each physical piece."""

    line: int
    code: str
    pieces: list[str]
    bad: str | None = None
    wrapped: int = 0
    """Pieces that are text wrapped onto a line of their own, not records."""
    ordinal: int = 1
    """Which record of its line it is (records may share a line)."""

    @property
    def key(self) -> str:
        """Unique in the file: the line, and ``#n`` for the n-th record sharing it."""
        return str(self.line) if self.ordinal == 1 else f"{self.line}#{self.ordinal}"

    @property
    def physical(self) -> int:
        return len(self.pieces) - self.wrapped

    @property
    def text_open(self) -> bool:
        """A ``16`` whose last line has no closing ``/``: a wrapped line continues it."""
        return self.code == "16" and self.bad is None and not self.pieces[-1].endswith("/")


class _Cursor:
    """Reads ``,``-separated fields across pieces; ``/`` ends the field and the piece."""

    def __init__(self, pieces: list[str]) -> None:
        self._pieces = pieces
        self._index = 0
        self._pos = 0

    def _advance(self) -> bool:
        while self._index < len(self._pieces):
            if self._pos < len(self._pieces[self._index]):
                return True
            self._index += 1
            self._pos = 0
        return False

    def field(self) -> str:
        """The next field, or ``""`` once the record has no more."""
        if not self._advance():
            return ""
        piece = self._pieces[self._index]
        found = _FIELD_END.search(piece, self._pos)  # one C scan, not a Python loop per char
        end = len(piece) if found is None else found.start()
        value = piece[self._pos : end]
        stop = piece[end] if end < len(piece) else ""
        self._pos = end + 1 if stop == "," else len(piece)
        return value.strip()

    def skip_terminator(self) -> None:
        """Step over a ``,/`` piece end: the comma closed the last field, the slash the piece."""
        if self._index < len(self._pieces) and self._pos > 0:
            piece = self._pieces[self._index]
            if piece[self._pos :].strip() == "/" and piece[self._pos - 1] == ",":
                self._index += 1
                self._pos = 0

    def fields_left(self) -> int:
        """An upper bound of the fields not read yet."""
        left = 0
        for index in range(self._index, len(self._pieces)):
            piece = self._pieces[index][self._pos if index == self._index else 0 :]
            if piece:
                left += piece.count(",") + 1
        return left

    def rest(self) -> str:
        """Everything not read yet, pieces joined by a space: a ``16`` record's text."""
        parts: list[str] = []
        if self._index < len(self._pieces):
            parts.append(self._pieces[self._index][self._pos :])
            parts.extend(self._pieces[self._index + 1 :])
        cleaned = (part.strip().removesuffix("/").rstrip() for part in parts)
        return " ".join(part for part in cleaned if part)


def _record_end(text: str, code: str, owner: str | None) -> int:
    """Index of the ``/`` that ends the record at the start of ``text``, else -1."""
    if code == "16" or (code == "88" and owner == "16"):
        match = _NEXT_RECORD.search(text, 3)
        return -1 if match is None else match.start()
    return text.find("/", 3)


def _split_physical(lines: list[str]) -> list[_Logical]:
    """Physical lines to logical records (continuations attached, shared lines split)."""
    logicals: list[_Logical] = []
    last_good: _Logical | None = None
    owner: str | None = None
    for number, raw in enumerate(lines, start=1):
        text = drop_controls(raw).strip()
        wraps = last_good is not None and last_good.text_open and logicals[-1] is last_good
        if text and text[:2] not in _CODES and wraps and last_good is not None:
            last_good.pieces.append(text)
            last_good.wrapped += 1
            continue
        ordinal = 0
        while text:
            ordinal += 1
            code, separator = text[:2], text[2:3]
            if not _digits(code) or separator != ",":
                logicals.append(_Logical(number, code, [text], bad=_NO_CODE, ordinal=ordinal))
                break
            end = _record_end(text, code, owner)
            body = text[3:] if end < 0 else text[3 : end + 1]
            rest = "" if end < 0 else text[end + 1 :].strip()
            if code == "88" and last_good is not None:
                last_good.pieces.append(body)
            elif code == "88":
                bad = "nothing to continue"
                logicals.append(_Logical(number, code, [body], bad=bad, ordinal=ordinal))
            else:
                last_good = _Logical(number, code, [body], ordinal=ordinal)
                logicals.append(last_good)
                owner = code
            text = rest
    return logicals


@dataclass(slots=True)
class _Scope:
    """An open file, group or account: what its trailer must agree with."""

    line: int
    label: str
    key: str = ""
    records: int = 0
    wrapped: int = 0
    """Wrapped text lines below it: a trailer may count them as records or not."""
    total: int = 0
    children: int = 0
    date: dt.date | None = None
    currency: str | None = None
    account: str | None = None
    credits: list[int] = field(default_factory=list)
    debits: list[int] = field(default_factory=list)
    summaries: dict[str, tuple[int, int | None, int]] = field(default_factory=dict)


class _Parser:
    def __init__(self, path: str, lines: list[str], encoding: str) -> None:
        self.out = StatementBuilder("bai2", path, encoding)
        self.name = Path(path).name
        self.logicals = _split_physical(lines)
        self.file: _Scope | None = None
        self.group: _Scope | None = None
        self.account: _Scope | None = None
        self.closed = False
        self.groups = 0

    # -- driving ------------------------------------------------------------------------

    def run(self) -> ParsedStatement:
        if not self.logicals:
            raise InputError(self.out.path, "empty file: a BAI2 file starts with a 01 record")
        first = self.logicals[0]
        if first.bad is not None or first.code != "01":
            raise InputError(
                self.out.locator(first.line),
                "not a BAI2 file: the first record must be a 01 file header, "
                f"found {first.pieces[0][:20]!r}",
            )
        handlers = {
            "01": self._file_header,
            "02": self._group_header,
            "03": self._account,
            "16": self._detail,
            "49": self._account_trailer,
            "98": self._group_trailer,
            "99": self._file_trailer,
        }
        for record in self.logicals:
            handler = handlers.get(record.code)
            opener = record.code in _OPENERS and record.bad is None and not self.closed
            if not opener:
                self._count(record.physical, record.wrapped)
            if self.closed and record.code != "99":
                self._reject(record, "after the 99 file trailer")
            elif record.bad is not None or handler is None:
                reason = record.bad or f"unknown record type {record.code!r}"
                self._reject(record, reason)
            else:
                handler(record)
        self._end_of_file()
        return self.out.build()

    def _count(self, physical: int, wrapped: int = 0) -> None:
        innermost = self.account or self.group or self.file
        if innermost is not None:
            innermost.records += physical
            innermost.wrapped += wrapped

    def _reject(self, record: _Logical, reason: str) -> None:
        kind = "records" if record.code == "16" else "structure"
        excerpt = ",".join(record.pieces)[:80]
        self.out.reject(kind, record.line, f"{record.code} record: {reason}", excerpt=excerpt)

    def _missing(self, scope: _Scope, trailer: str, line: int) -> None:
        self.out.finding(
            RuleId.STATEMENT_RECORD_COUNT_MISMATCH,
            scope.line,
            f"{scope.label} has no {trailer} trailer (next record at line {line}): "
            "records may be missing and its totals are not verified",
            severity=Severity.HIGH,
            expected=f"{trailer} trailer",
            actual="none",
        )

    # -- headers ------------------------------------------------------------------------

    def _file_header(self, record: _Logical) -> None:
        if self.file is not None:
            self._count(record.physical)
            self._reject(record, "a second file header")
            return
        self.file = _Scope(record.line, "file", records=record.physical)
        self.out.understood()

    def _group_header(self, record: _Logical) -> None:
        self._close_group(record.line)
        cursor = _Cursor(record.pieces)
        for _ in range(3):  # receiver, originator, group status
            cursor.field()
        cursor.skip_terminator()
        date_text = cursor.field()
        cursor.field()  # as-of time
        currency = cursor.field() or None
        self.groups += 1
        if self.file is not None:
            self.file.children += 1
        group = _Scope(record.line, f"group {self.groups} (line {record.line})")
        group.records = record.physical
        self.group = group
        try:
            group.date = yymmdd(date_text)
            group.currency = asset_for(currency) if currency else None
        except (DateError, AmountError) as exc:
            self._reject(record, str(exc))
            return
        self.out.understood()

    def _account(self, record: _Logical) -> None:
        self._close_account(record.line)
        if self.group is None:
            self._count(record.physical)
            self._reject(record, "account identifier outside a group (no 02 before it)")
            return
        cursor = _Cursor(record.pieces)
        number = cursor.field()
        currency = cursor.field()
        account = _Scope(record.line, f"account {number} (line {record.line})", record.key)
        account.records = record.physical
        account.account = number
        self.group.children += 1
        self.account = account
        try:
            account.currency = asset_for(currency) if currency else self.group.currency
        except AmountError as exc:
            account.currency = None
            self._reject(record, str(exc))
            return
        account.currency = account.currency or "USD/2"
        self.out.understood()
        self._items(record, cursor, account)

    def _items(self, record: _Logical, cursor: _Cursor, account: _Scope) -> None:
        while True:
            cursor.skip_terminator()
            code = cursor.field()
            amount_text = cursor.field()
            count_text = cursor.field()
            funds = cursor.field()
            if not (code or amount_text or count_text or funds):
                if cursor.rest() == "":
                    return
                continue
            kind = "balances" if _is_status(code) else "structure"
            try:
                _skip_funds(cursor, funds)
                self._item(record, account, code, amount_text, count_text)
            except (_BadRecordError, AmountError) as exc:
                self.out.reject(kind, record.line, f"03 item {code}: {exc}")
                if isinstance(exc, _FundsError):
                    return

    def _item(
        self, record: _Logical, account: _Scope, code: str, amount_text: str, count_text: str
    ) -> None:
        if not (len(code) == 3 and _digits(code)):  # noqa: PLR2004
            raise _BadRecordError(f"type code {code!r} is not three digits")
        amount = implied_minor(amount_text) if amount_text else None
        countable = _digits(count_text) and len(count_text) <= _MAX_COUNT_DIGITS
        count = int(count_text) if countable else None
        if amount is not None:
            account.total += amount
        if not _is_status(code):
            if amount is not None:
                account.summaries[code] = (amount, count, record.line)
            self.out.understood()
            return
        if amount is None:
            self.out.understood()
            return
        if self.group is None or self.group.date is None or account.currency is None:
            raise _BadRecordError("its group header has no valid as-of date")
        self.out.add_balance(
            line=record.line,
            statement_id=self._statement_id(account),
            account_ref=account.account,
            asset_id=account.currency,
            kind=BALANCE_KINDS.get(code, f"BAI:{code}"),
            date=self.group.date,
            amount=amount,
        )

    def _statement_id(self, account: _Scope) -> str:
        return f"{self.name}:{account.key}"

    # -- details ------------------------------------------------------------------------

    def _detail(self, record: _Logical) -> None:
        account, group = self.account, self.group
        if account is None or group is None:
            self._reject(record, "transaction detail outside an account (no 03 before it)")
            return
        if group.date is None or account.currency is None:
            self._reject(record, "its group or account header is invalid")
            return
        cursor = _Cursor(record.pieces)
        code = cursor.field()
        try:
            direction = _direction(code)
            cursor.skip_terminator()
            amount = _unsigned(cursor.field())
            value_date = _detail_funds(cursor)
        except (_BadRecordError, AmountError, DateError) as exc:
            self._reject(record, str(exc))
            return
        cursor.skip_terminator()
        bank_ref = cursor.field()
        cursor.skip_terminator()
        customer_ref = cursor.field()
        text = cursor.rest()
        account.total += amount
        (account.credits if direction > 0 else account.debits).append(amount)
        self.out.add_record(
            line=record.line,
            record_id=f"{self.name}:{record.key}",
            statement_id=self._statement_id(account),
            account_ref=account.account,
            asset_id=account.currency,
            amount=direction * amount,
            booking_date=group.date,
            value_date=value_date,
            bank_ref=bank_ref,
            customer_ref=customer_ref,
            text=text,
            type_code=code,
        )

    # -- trailers -----------------------------------------------------------------------

    def _account_trailer(self, record: _Logical) -> None:
        account = self.account
        if account is None:
            self._reject(record, "account trailer without an open account")
            return
        cursor = _Cursor(record.pieces)
        self._verify(
            record,
            scope=account,
            trailer="49",
            total_text=cursor.field(),
            records_text=cursor.field(),
            children=None,
        )
        self._summaries(account)
        self._fold(account, self.group)
        self.account = None

    def _group_trailer(self, record: _Logical) -> None:
        self._close_account(record.line)
        group = self.group
        if group is None:
            self._reject(record, "group trailer without an open group")
            return
        cursor = _Cursor(record.pieces)
        total, accounts, records = cursor.field(), cursor.field(), cursor.field()
        self._verify(
            record,
            scope=group,
            trailer="98",
            total_text=total,
            records_text=records,
            children=("accounts", accounts),
        )
        self._fold(group, self.file)
        self.group = None

    def _file_trailer(self, record: _Logical) -> None:
        if self.closed:
            self._reject(record, "a second file trailer")
            return
        self._close_group(record.line)
        file = self.file
        if file is None:
            self._reject(record, "file trailer without a file header")
            return
        cursor = _Cursor(record.pieces)
        total, groups, records = cursor.field(), cursor.field(), cursor.field()
        self._verify(
            record,
            scope=file,
            trailer="99",
            total_text=total,
            records_text=records,
            children=("groups", groups),
        )
        self.closed = True

    def _verify(
        self,
        record: _Logical,
        *,
        scope: _Scope,
        trailer: str,
        total_text: str,
        records_text: str,
        children: tuple[str, str] | None,
    ) -> None:
        try:
            total = implied_minor(total_text) if total_text else None
            stated = [("records", int(records_text) if records_text else None)]
            if children is not None:
                stated.append((children[0], int(children[1]) if children[1] else None))
        except (AmountError, ValueError):
            self._reject(record, f"control total or count is not a number: {record.pieces[0]!r}")
            return
        self.out.understood()
        if total is not None and total != scope.total:
            self.out.finding(
                RuleId.STATEMENT_CONTROL_TOTAL_MISMATCH,
                record.line,
                f"{trailer} control total of {scope.label} is {total}, "
                f"but its amounts add up to {scope.total}",
                expected=str(scope.total),
                actual=str(total),
                difference=str(total - scope.total),
            )
        for what, value in stated:
            actual = scope.records if what == "records" else scope.children
            also = actual + scope.wrapped if what == "records" else actual
            if value is not None and value not in {actual, also}:
                self.out.finding(
                    RuleId.STATEMENT_RECORD_COUNT_MISMATCH,
                    record.line,
                    f"{trailer} trailer of {scope.label} states {value} {what}, "
                    f"but there are {actual}",
                    severity=Severity.MEDIUM,
                    expected=str(actual),
                    actual=str(value),
                    difference=str(value - actual),
                )

    def _summaries(self, account: _Scope) -> None:
        checks = (
            (_TOTAL_CREDITS, account.credits, "credits"),
            (_TOTAL_DEBITS, account.debits, "debits"),
        )
        asset = account.currency or ""
        for code, details, what in checks:
            if code not in account.summaries:
                continue
            amount, count, line = account.summaries[code]
            if amount != sum(details):
                self.out.finding(
                    RuleId.STATEMENT_CONTROL_TOTAL_MISMATCH,
                    line,
                    f"{account.label}: total {what} ({code}) is {amount}, "
                    f"but its {len(details)} detail record(s) add up to {sum(details)}",
                    expected=f"{sum(details)} {asset}",
                    actual=f"{amount} {asset}",
                    difference=f"{amount - sum(details)} {asset}",
                    asset_id=asset or None,
                )
            if count is not None and count != len(details):
                self.out.finding(
                    RuleId.STATEMENT_RECORD_COUNT_MISMATCH,
                    line,
                    f"{account.label}: total {what} ({code}) counts {count} item(s), "
                    f"but there are {len(details)} detail record(s)",
                    severity=Severity.MEDIUM,
                    expected=str(len(details)),
                    actual=str(count),
                    difference=str(count - len(details)),
                )

    @staticmethod
    def _fold(child: _Scope, parent: _Scope | None) -> None:
        if parent is not None:
            parent.records += child.records
            parent.wrapped += child.wrapped
            parent.total += child.total

    def _close_account(self, line: int) -> None:
        if self.account is not None:
            self._missing(self.account, "49", line)
            self._summaries(self.account)
            self._fold(self.account, self.group)
            self.account = None

    def _close_group(self, line: int) -> None:
        self._close_account(line)
        if self.group is not None:
            self._missing(self.group, "98", line)
            self._fold(self.group, self.file)
            self.group = None

    def _end_of_file(self) -> None:
        if self.closed:
            return
        end = len(self.logicals) and self.logicals[-1].line
        self._close_group(end)
        if self.file is not None:
            self._missing(self.file, "99", end)


def _skip_funds(cursor: _Cursor, funds: str) -> None:
    if funds in _FIXED_FUNDS:
        for _ in range(_FIXED_FUNDS[funds]):
            cursor.field()
        return
    if funds == "D":
        count = cursor.field()
        if not _digits(count):
            raise _FundsError(f"distributed availability count {count!r} is not a number")
        left = cursor.fields_left()
        if len(count) > len(str(left)) or 2 * int(count) > left:
            shown = count if len(count) <= _MAX_COUNT_DIGITS else f"of {len(count)} digits"
            raise _FundsError(
                f"distributed availability count {shown} is more day/amount pairs than "
                f"the record's {left} field(s) left"
            )
        for _ in range(2 * int(count)):
            cursor.field()
        return
    raise _FundsError(f"unknown funds type {funds!r}")


def _unsigned(text: str) -> int:
    if not _digits(text):
        raise _BadRecordError(f"amount {text!r} is not unsigned digits")
    return implied_minor(text)


def _detail_funds(cursor: _Cursor) -> dt.date | None:
    funds = cursor.field()
    if funds == "V":
        date_text = cursor.field()
        cursor.field()  # value time
        return yymmdd(date_text)
    _skip_funds(cursor, funds)
    return None


def parse_bai2(path: str | Path, encoding: str | None = None) -> ParsedStatement:
    """Parse one BAI2 file (``encoding``: its code page, else detected).

    Raise InputError when it is not BAI2 at all.
    """
    decoded = read_decoded(path, encoding)
    return _Parser(str(path), split_lines(decoded.text), decoded.encoding).run()
