"""Property tests: every layout a bank may use for a statement reads as that statement.

The statements are generated (``shapes.py``) and laid out at random: records sharing a
line, ``,/`` before continuations, wrapped text, control characters, other code pages,
amounts broken over lines, MT942 interim reports. The parse must give back exactly the
generated movements and balances, with no finding; and damaged files must still parse or
fail with an InputError, never a traceback. Example counts are bounded so this runs in
seconds; ``derandomize`` keeps runs reproducible.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.errors import InputError
from ledger_audit.sources.bank import ParsedStatement, load_statement
from ledger_audit.sources.bank.amounts import asset_for
from ledger_audit.sources.bank.text import DETECTED, canonical_encoding
from tests.sources.bank.shapes import (
    Bai2Account,
    Bai2Layout,
    Mt940Layout,
    Mt940Statement,
    bai2_accounts,
    bai2_layouts,
    mt940_layouts,
    mt940_statements,
    render_bai2,
    render_mt940,
)

ENCODINGS = ("utf-8", "cp1250", "cp852", "iso8859-2")
PROPERTY = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shapes")


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _messages(parsed: ParsedStatement) -> list[str]:
    return [f"{row['locator']}: {row['message']}" for row in parsed.findings.iter_rows(named=True)]


@PROPERTY
@given(
    accounts=bai2_accounts(accents=True), layout=bai2_layouts, encoding=st.sampled_from(ENCODINGS)
)
def test_every_bai2_layout_reads_the_same_statement(
    scratch: Path, accounts: tuple[Bai2Account, ...], layout: Bai2Layout, encoding: str
) -> None:
    text = render_bai2(accounts, layout)
    parsed = load_statement(_write(scratch, "s.bai2", text.encode(encoding)), encoding=encoding)
    assert _messages(parsed) == [], text
    assert parsed.encoding == encoding
    expected = [
        (account.number, d.signed, d.bank_ref or None, d.customer_ref or None, d.text or None)
        for account in accounts
        for d in account.details
    ]
    columns = ("account_ref", "amount", "bank_ref", "customer_ref", "text")
    assert list(parsed.records.select(columns).iter_rows()) == expected, text
    balances = [
        (account.number, kind, amount)
        for account in accounts
        for kind, amount in (("OPBD", account.opening), ("CLBD", account.closing))
    ]
    assert list(parsed.balances.select("account_ref", "kind", "amount").iter_rows()) == balances


def _expected_mt940(statement: Mt940Statement) -> list[tuple[object, ...]]:
    asset = asset_for(statement.currency)
    return [
        (
            asset,
            m.signed,
            m.mark.startswith("R"),
            m.type_code.rstrip(),
            m.customer_ref,
            m.bank_ref or None,
            m.text,
        )
        for m in statement.movements
    ]


_MT940_COLUMNS = ("asset_id", "amount", "reversal", "type_code", "customer_ref", "bank_ref", "text")


@PROPERTY
@given(
    statement=mt940_statements(accents=True),
    layout=mt940_layouts(),
    encoding=st.sampled_from(ENCODINGS),
)
def test_every_mt940_layout_reads_the_same_statement(
    scratch: Path, statement: Mt940Statement, layout: Mt940Layout, encoding: str
) -> None:
    text = render_mt940(statement, layout)
    parsed = load_statement(_write(scratch, "s.sta", text.encode(encoding)), encoding=encoding)
    assert _messages(parsed) == [], text
    assert parsed.encoding == encoding
    assert list(parsed.records.select(_MT940_COLUMNS).iter_rows()) == _expected_mt940(statement)
    balances = [] if layout.interim else [("OPBD", statement.opening), ("CLBD", statement.closing)]
    assert list(parsed.balances.select("kind", "amount").iter_rows()) == balances, text


@PROPERTY
@given(
    statement=mt940_statements(accents=True),
    layout=mt940_layouts(),
    encoding=st.sampled_from(ENCODINGS),
)
def test_mt940_in_an_unnamed_code_page_is_read_in_the_encoding_it_reports(
    scratch: Path, statement: Mt940Statement, layout: Mt940Layout, encoding: str
) -> None:
    """Without ``encoding=``, detection picks a code page and the parse says which.

    A few accented letters cannot tell Windows-1250 from Windows-1252 (``Ć`` and ``Æ`` are
    the same byte), so the text is checked against the reported encoding, and everything
    else against the statement; realistic sentences are detected exactly in
    ``test_mt940_layouts.py``.
    """
    text = render_mt940(statement, layout)
    data = text.encode(encoding)
    parsed = load_statement(_write(scratch, "d.sta", data))
    assert _messages(parsed) == [], text
    assert parsed.encoding in {"utf-8", *(canonical_encoding(name) for name in DETECTED)}
    if encoding == "utf-8" or data.isascii():
        assert parsed.encoding == "utf-8"
    expected = _expected_mt940(statement)
    seen = data.decode(parsed.encoding)
    assert list(parsed.records.select(_MT940_COLUMNS[:-1]).iter_rows()) == [
        row[:-1] for row in expected
    ]
    for ours, theirs in zip(parsed.records["text"], expected, strict=True):
        assert (ours is None) == (theirs[-1] is None)
        assert ours is None or all(line in seen for line in ours.split("\n"))


_DAMAGE = (
    b"\x00",
    b"\x01",
    b"\x03",
    b"\x04",
    b"\x1a",
    b"-}",
    b"/",
    b",",
    b",/",
    b"\n",
    b"\n88,",
    b"\n16,",
    b":61:",
    b":86:",
    b"\xff",
    b"\xb3",
    b"\xc2\xb2",
    b"9999999999",
    b"1" * 5000,
    b"\n03,1,,/",
    b"\n:34F:EUR0,",
    b"D,",
)


_DAMAGED_FILES = st.one_of(
    st.builds(render_bai2, bai2_accounts(accents=True), bai2_layouts).map(lambda t: ("bai2", t)),
    st.builds(render_mt940, mt940_statements(accents=True), mt940_layouts()).map(
        lambda t: ("mt940", t)
    ),
)


@PROPERTY
@given(file=_DAMAGED_FILES, encoding=st.sampled_from(ENCODINGS), seed=st.integers(0, 2**32 - 1))
def test_damaged_layouts_parse_or_fail_clearly(
    scratch: Path, file: tuple[str, str], encoding: str, seed: int
) -> None:
    which, text = file
    data = bytearray(text.encode(encoding))
    rng = random.Random(seed)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(data) + 1)
        choice = rng.randrange(3)
        if choice == 0:
            data[at:at] = rng.choice(_DAMAGE)
        elif choice == 1:
            del data[at : at + rng.randint(1, 8)]
        else:
            data = data[:at]
    path = _write(scratch, f"x.{'bai2' if which == 'bai2' else 'sta'}", bytes(data))
    try:
        parsed = load_statement(path, source=which)
    except InputError as exc:
        refused: InputError | None = exc
    else:
        refused = None
    if refused is not None:
        assert str(path) in str(refused)
        return
    assert parsed.read == parsed.loaded + parsed.rejected
    lines = bytes(data).decode("latin-1").split("\n")
    visible = sum(
        1 for line in lines if re.match(r"^\s*16," if which == "bai2" else r"^:61:", line)
    )
    assert parsed.count("records").read >= visible
