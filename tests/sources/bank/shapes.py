"""Random BAI2 and MT940 statements and the ways banks lay the same statement out.

A statement is generated as a model (accounts, movements, balances) and rendered as text
with a random layout: records sharing a line, fields continued on ``88`` records with or
without a ``,/`` before them, text wrapped onto lines of its own, transmission framing
(SOH, ETX, EOT, NUL, the ``-}`` envelope), a code page other than UTF-8, amounts broken
over a line. Every layout means the same statement, so the property tests can demand the
same parse from each: what a person reads in the file is what is loaded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import strategies as st

# --- shared pieces ------------------------------------------------------------------------

_ASCII_WORD = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1)
_POLISH = "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ"
"""Letters that Windows-1250, ISO 8859-2 and CP852 all encode (so any of them can carry them)."""


@st.composite
def words(draw: st.DrawFn, *, accents: bool, max_words: int = 4) -> str:
    """A few words (a letter first; maybe a '/' inside or a comma after), spaces between."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    letters = alphabet[:52] + (_POLISH if accents else "")
    out: list[str] = []
    for _ in range(draw(st.integers(0, max_words))):
        word = draw(st.sampled_from(letters)) + draw(
            st.text(alphabet=alphabet + (_POLISH if accents else ""), max_size=6)
        )
        if draw(st.booleans()) and len(word) > 1:
            word = word[:1] + "/" + draw(_ASCII_WORD)
        if draw(st.integers(0, 4)) == 0:
            word += ","
        out.append(word)
    return " ".join(out)


_REF = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", max_size=10)


# --- BAI2 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bai2Detail:
    """One ``16`` record: what the parse must give back."""

    code: str
    amount: int
    funds: tuple[str, ...]
    bank_ref: str
    customer_ref: str
    text: str

    @property
    def credit(self) -> bool:
        return int(self.code) < 400

    @property
    def signed(self) -> int:
        return self.amount if self.credit else -self.amount


@dataclass(frozen=True)
class Bai2Account:
    number: str
    currency: str
    opening: int
    details: tuple[Bai2Detail, ...]
    funds: tuple[tuple[str, ...], ...]
    """The funds type fields of the four summary items (010, 015, 100, 400)."""

    @property
    def closing(self) -> int:
        return self.opening + sum(detail.signed for detail in self.details)

    def items(self) -> list[list[str]]:
        paid_in = [d.amount for d in self.details if d.credit]
        paid_out = [d.amount for d in self.details if not d.credit]
        rows = [
            ["010", str(self.opening), ""],
            ["015", str(self.closing), ""],
            ["100", str(sum(paid_in)), str(len(paid_in))],
            ["400", str(sum(paid_out)), str(len(paid_out))],
        ]
        return [row + list(funds) for row, funds in zip(rows, self.funds, strict=True)]

    @property
    def total(self) -> int:
        return sum(int(item[1]) for item in self.items()) + sum(d.amount for d in self.details)


_FUNDS = st.one_of(
    st.just(("",)),
    st.sampled_from([("Z",), ("0",), ("1",), ("2",)]),
    st.just(("V", "240101", "")),
    st.tuples(st.just("S"), *[st.integers(0, 99999).map(str)] * 3),
    st.integers(0, 2).flatmap(
        lambda n: st.tuples(
            st.just("D"),
            st.just(str(n)),
            *[st.sampled_from(["0", "1", "2"]), st.integers(0, 9999).map(str)] * n,
        )
    ),
)


@st.composite
def bai2_details(draw: st.DrawFn, *, accents: bool) -> Bai2Detail:
    return Bai2Detail(
        code=draw(st.sampled_from(["108", "195", "257", "409", "475", "557"])),
        amount=draw(st.integers(0, 10**9)),
        funds=draw(_FUNDS),
        bank_ref=draw(_REF),
        customer_ref=draw(_REF),
        text=draw(words(accents=accents)),
    )


@st.composite
def bai2_accounts(draw: st.DrawFn, *, accents: bool) -> tuple[Bai2Account, ...]:
    count = draw(st.integers(1, 3))
    numbers = draw(st.lists(st.integers(100, 10**9), min_size=count, max_size=count, unique=True))
    return tuple(
        Bai2Account(
            number=str(number),
            currency=draw(st.sampled_from(["", "EUR", "USD"])),
            opening=draw(st.integers(-(10**9), 10**9)),
            details=tuple(draw(st.lists(bai2_details(accents=accents), max_size=4))),
            funds=tuple(draw(_FUNDS) for _ in range(4)),
        )
        for number in numbers
    )


@dataclass(frozen=True)
class Bai2Layout:
    """How to lay the records out: each yes/no choice of the renderer comes from ``seed``."""

    seed: int
    count_wrapped: bool
    framing: bool


bai2_layouts = st.builds(
    Bai2Layout, seed=st.integers(0, 2**32 - 1), count_wrapped=st.booleans(), framing=st.booleans()
)


class _Flags:
    """A coin to toss for each choice, the same tosses for the same seed."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def __call__(self) -> bool:
        return self._rng.random() < 0.5


@dataclass
class _Line:
    """One physical record, or a wrapped text line (not a record)."""

    text: str
    record: bool = True
    open_text: bool = False


def _pieces(fields: list[str], cuts: list[int], comma: _Flags, owed: set[int]) -> list[str]:
    """``fields`` split before each index of ``cuts``; ``,/`` where no field is owed."""
    out: list[str] = []
    start = 0
    for cut in [*cuts, len(fields)]:
        piece = ",".join(fields[start:cut])
        last = cut == len(fields)
        # a ",/" is only unambiguous after a non-empty field and where no field is owed
        trailing = not last and comma() and cut not in owed and fields[cut - 1] != ""
        out.append(piece + (",/" if trailing else "/"))
        start = cut
    return out


def _account_lines(account: Bai2Account, flags: dict[str, _Flags]) -> list[_Line]:
    fields = [account.number, account.currency]
    boundaries: list[int] = []
    owed: set[int] = set()
    for item in account.items():
        boundaries.append(len(fields))
        owed.update(range(len(fields) + 1, len(fields) + len(item)))
        fields.extend(item)
    cuts = [b for b in boundaries if b > 0 and flags["continue_03"]()]
    # a cut inside an item (after its amount) is also a continuation banks write
    lines = [
        _Line(("03," if i == 0 else "88,") + piece)
        for i, piece in enumerate(_pieces(fields, cuts, flags["comma"], owed))
    ]
    for detail in account.details:
        lines.extend(_detail_lines(detail, flags))
    return lines


def _detail_lines(detail: Bai2Detail, flags: dict[str, _Flags]) -> list[_Line]:
    head = [str(detail.amount), *detail.funds]
    refs = [detail.bank_ref, detail.customer_ref]
    lines: list[_Line] = []
    current = detail.code
    # the amount may start the 88 (it cannot be empty, so a ",/" before it is no field)
    if flags["continue_16"]():
        lines.append(_Line(current + (",/" if flags["comma"]() else "/")))
        current = ",".join(head)
    else:
        current += "," + ",".join(head)
    # continue after the funds fields or after a reference (never after an empty one)
    for ref in refs:
        if flags["continue_16"]() and current.rsplit(",", 1)[-1] != "":
            ending = ",/" if flags["comma"]() else "/"
            lines.append(_Line(current + ending))
            current = ref
        else:
            current += "," + ref
    text_words = detail.text.split(" ") if detail.text else []
    current += ","
    if text_words:
        split = len(text_words) // 2 if len(text_words) > 1 and flags["continue_16"]() else 0
        first, second = text_words[:split], text_words[split:]
        if first:
            lines.append(_Line(current + " ".join(first), open_text=True))
            current = ""
        current += " ".join(second)
    closed = flags["close_16"]()
    lines.append(_Line(current + ("/" if closed else ""), open_text=not closed))
    result: list[_Line] = []
    for index, line in enumerate(lines):
        prefix = "16," if index == 0 else "88,"
        result.append(_Line(prefix + line.text, open_text=line.open_text))
    # a wrapped text line: the last text line's words after the first move to a line of
    # their own, without an 88 (only where the text is open and the line is plain words)
    last = result[-1]
    words_part = detail.text.split(" ")
    if (
        last.open_text
        and len(words_part) > 1
        and flags["wrap"]()
        and last.text.endswith(" " + words_part[-1])
    ):
        last.text = last.text.removesuffix(" " + words_part[-1])
        result.append(_Line(words_part[-1], record=False, open_text=True))
    return result


def render_bai2(accounts: tuple[Bai2Account, ...], layout: Bai2Layout) -> str:
    """The file's text; trailers count what was rendered."""
    rng = random.Random(layout.seed)
    flags = {
        name: _Flags(rng)
        for name in ("continue_03", "comma", "continue_16", "close_16", "wrap", "share")
    }
    header = ["02,ME,BANK,1,240101,,EUR,/"]
    if flags["continue_03"]():  # the as-of date cannot be empty: a ",/" before it is no field
        header = ["02,ME,BANK,1" + (",/" if flags["comma"]() else "/"), "88,240101,,EUR,/"]
    body = [_Line(line) for line in header]
    group_records = len(header)
    group_total = 0
    for account in accounts:
        lines = _account_lines(account, flags)
        records = sum(1 for line in lines if line.record) + 1
        if layout.count_wrapped:
            records += sum(1 for line in lines if not line.record)
        body.extend(lines)
        body.append(_Line(f"49,{account.total},{records}/"))
        group_records += records
        group_total += account.total
    group_records += 1
    body.append(_Line(f"98,{group_total},{len(accounts)},{group_records}/"))
    all_lines = [_Line("01,BANK,ME,240102,0800,1,,,2/"), *body]
    all_lines.append(_Line(f"99,{group_total},1,{group_records + 2}/"))
    return _join(all_lines, flags["share"], framing=layout.framing)


def _join(lines: list[_Line], share: _Flags, *, framing: bool) -> str:
    out: list[str] = []
    for line in lines:
        previous = out[-1] if out else None
        if previous is not None and line.record and previous.endswith("/") and share():
            out[-1] = previous + line.text
        else:
            out.append(line.text)
    text = "\n".join(out) + "\n"
    if framing:
        text = "\x01" + text.replace("\n", "\x00\n", 1) + "\x03\x04"
    return text


# --- MT940 --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mt940Movement:
    mark: str
    funds: str
    amount: int
    type_code: str
    customer_ref: str
    bank_ref: str
    details: str
    information: tuple[str, ...]

    @property
    def signed(self) -> int:
        return -self.amount if self.mark in {"D", "RC"} else self.amount

    def first_line(self) -> str:
        bank = f"//{self.bank_ref}" if self.bank_ref else ""
        return (
            f"2401020102{self.mark}{self.funds}{_decimal(self.amount)}"
            f"{self.type_code}{self.customer_ref}{bank}"
        )

    @property
    def text(self) -> str | None:
        parts = [self.details, *(line for line in self.information if line)]
        return "\n".join(part for part in parts if part) or None


def _decimal(minor: int) -> str:
    units, cents = divmod(minor, 100)
    return f"{units}," + (f"{cents:02d}" if cents else "")


@st.composite
def mt940_movements(draw: st.DrawFn, *, accents: bool) -> Mt940Movement:
    letters = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=3, max_size=3)
    type_code = draw(
        st.one_of(
            st.builds(lambda c: "N" + c, letters),
            st.just("S   "),
            st.builds(lambda c: "F" + c, letters),
        )
    )
    customer = draw(
        st.one_of(
            st.just("NONREF"),
            st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=16),
        )
    )
    info = draw(st.lists(words(accents=accents), max_size=3))
    return Mt940Movement(
        mark=draw(st.sampled_from(["D", "C", "RD", "RC"])),
        funds=draw(st.sampled_from(["", "N", "R"])),
        amount=draw(st.integers(1, 10**10)),
        type_code=type_code,
        customer_ref=customer,
        bank_ref=draw(_REF),
        details=draw(words(accents=False, max_words=2)),
        information=tuple(info) if any(info) else (),
    )


@dataclass(frozen=True)
class Mt940Statement:
    currency: str
    opening: int
    movements: tuple[Mt940Movement, ...]

    @property
    def closing(self) -> int:
        return self.opening + sum(m.signed for m in self.movements)


@st.composite
def mt940_statements(draw: st.DrawFn, *, accents: bool) -> Mt940Statement:
    return Mt940Statement(
        currency=draw(st.sampled_from(["EUR", "PLN", "CZK"])),
        opening=draw(st.integers(-(10**10), 10**10)),
        movements=tuple(draw(st.lists(mt940_movements(accents=accents), max_size=4))),
    )


@dataclass(frozen=True)
class Mt940Layout:
    split_at: tuple[int, ...]
    """Per movement and balance, where to break the line (0: nowhere)."""
    ending: str
    interim: bool


@st.composite
def mt940_layouts(draw: st.DrawFn) -> Mt940Layout:
    return Mt940Layout(
        split_at=tuple(draw(st.lists(st.integers(0, 40), min_size=16, max_size=16))),
        ending=draw(st.sampled_from(["plain", "etx", "envelope", "envelope5", "soh-eot"])),
        interim=draw(st.booleans()),
    )


def _balance(tag: str, amount: int, currency: str) -> str:
    mark = "C" if amount >= 0 else "D"
    return f":{tag}:{mark}240102{currency}{_decimal(abs(amount))}"


def _broken(line: str, at: int, limit: int) -> str:
    """``line`` with a line break inside its first ``limit`` characters (0: unbroken)."""
    if at == 0 or limit <= 1:
        return line
    position = 1 + at % (limit - 1)
    return line[:position] + "\n" + line[position:]


def render_mt940(statement: Mt940Statement, layout: Mt940Layout) -> str:
    """The message's text (MT942 when ``interim``: a floor limit instead of balances)."""
    split = iter(layout.split_at)
    lines = [":20:STMT", ":25:PL61109010140000071219812874", ":28C:1/1"]
    if layout.interim:
        lines += [f":34F:{statement.currency}0,", ":13D:2401021200+0100"]
    else:
        opening = _balance("60F", statement.opening, statement.currency)
        lines.append(":60F:" + _broken(opening[5:], next(split), len(opening) - 5))
    for movement in statement.movements:
        first = movement.first_line()
        # a break may fall anywhere before the transaction type is complete (but not
        # among its spaces, which a line end would hide)
        head = len(first) - len(movement.customer_ref) - len(movement.bank_ref) - 1
        head -= 2 if movement.bank_ref else 0
        head -= 2 if " " in movement.type_code else 0
        lines.append(":61:" + _broken(first, next(split), head))
        if movement.details:
            lines.append(movement.details)
        if movement.information:
            lines.append(":86:" + movement.information[0])
            lines.extend(movement.information[1:])
    if layout.interim:
        debits = [m.amount for m in statement.movements if m.signed < 0]
        credits_ = [m.amount for m in statement.movements if m.signed > 0]
        lines.append(f":90D:{len(debits)}{statement.currency}{_decimal(sum(debits))}")
        lines.append(f":90C:{len(credits_)}{statement.currency}{_decimal(sum(credits_))}")
    else:
        closing = _balance("62F", statement.closing, statement.currency)
        lines.append(":62F:" + _broken(closing[5:], next(split), len(closing) - 5))
    text = "\n".join(lines)
    endings = {
        "plain": text + "\n-\n",
        "etx": text + "\x03",
        "envelope": text + "-}",
        "envelope5": text + "\n-}{5:{CHK:0123456789AB}}\x03",
        "soh-eot": "\x01{1:F01BANKXXXX0000000000}{2:I940BANKXXXXN}{4:\n" + text + "\n-\x04",
    }
    return endings[layout.ending]
