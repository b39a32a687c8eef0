"""MT940/MT942 as banks send them: framing, code pages, interim reports, broken lines, ``:61:``.

Each shape of the same statement must give the same movements and balances as the plain
file, and say which encoding it was read in.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.sources.bank import ParsedStatement, load_statement, load_statements
from ledger_audit.sources.bank.text import decode_as

PLAIN = """\
:20:REF
:25:PL61109010140000071219812874
:28C:1/1
:60F:C240101PLN100,00
:61:2401020102D10,50NTRFNONREF//B1
:86:Zapłata za fakturę, Łódź, ul. Żółkiewskiego
:61:2401020102C3,00NTRFNONREF
:86:Przelew przychodzący
:62F:C240102PLN92,50
:64:C240102PLN92,50
-
"""


def parse(tmp_path: Path, data: str | bytes, encoding: str | None = None) -> ParsedStatement:
    path = tmp_path / "s.sta"
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return load_statement(path, encoding=encoding)


def same_statement_as_plain(parsed: ParsedStatement) -> None:
    assert parsed.findings["message"].to_list() == []
    assert parsed.records["amount"].to_list() == [-1050, 300]
    assert parsed.records["text"].to_list() == [
        "Zapłata za fakturę, Łódź, ul. Żółkiewskiego",
        "Przelew przychodzący",
    ]
    assert parsed.records["bank_ref"].to_list() == ["B1", None]
    assert list(zip(parsed.balances["kind"], parsed.balances["amount"], strict=True)) == [
        ("OPBD", 10000),
        ("CLBD", 9250),
        ("CLAV", 9250),
    ]
    assert parsed.rejected == 0


def test_the_reference_statement(tmp_path: Path) -> None:
    parsed = parse(tmp_path, PLAIN)
    same_statement_as_plain(parsed)
    assert parsed.encoding == "utf-8"


@pytest.mark.parametrize(
    "framed",
    [
        PLAIN.removesuffix("-\n") + "\x03",
        PLAIN.removesuffix("\n-\n") + "\x03",
        PLAIN.removesuffix("\n-\n") + "-}",
        PLAIN.removesuffix("\n-\n") + "-}{5:{CHK:0123456789AB}}\x03",
        "\x01{1:F01BANKPLPWAXXX0000000000}{2:I940BANKPLPWXXXXN}{4:\n"
        + PLAIN.removesuffix("-\n")
        + "-}\x03",
        "{1:F01BANKPLPWAXXX0000000000}{2:I940BANKPLPWXXXXN}{4::20:REF\n"
        + PLAIN.split("\n", 1)[1].removesuffix("-\n")
        + "-}",
        "\x01" + PLAIN.replace("\n-\n", "\n-\x04\n"),
        PLAIN.replace(":64:", "\x00:64:").replace("\n-\n", "\n-\x03\x04\n"),
    ],
    ids=[
        "etx-line",
        "etx-same-line",
        "envelope-same-line",
        "envelope-trailer",
        "soh-header",
        "header-same-line",
        "soh-eot",
        "nul-etx-eot",
    ],
)
def test_transmission_framing_is_not_part_of_a_tag(tmp_path: Path, framed: str) -> None:
    same_statement_as_plain(parse(tmp_path, framed))


@pytest.mark.parametrize("encoding", ["cp1250", "cp852", "iso8859-2", "utf-8"])
def test_central_european_code_pages_are_detected(tmp_path: Path, encoding: str) -> None:
    parsed = parse(tmp_path, PLAIN.encode(encoding))
    same_statement_as_plain(parsed)
    assert parsed.encoding == encoding


@pytest.mark.parametrize("encoding", ["cp1250", "cp852", "iso8859-2", "cp1252", "cp850"])
def test_a_given_encoding_is_used_and_recorded(tmp_path: Path, encoding: str) -> None:
    czech = PLAIN.replace("Przelew przychodzący", "Příjem, spořitelna")
    if encoding in {"cp1252", "cp850"}:
        czech = PLAIN.replace("Przelew przychodzący", "Überweisung Müller")
    text = czech.replace("Zapłata za fakturę, Łódź, ul. Żółkiewskiego", "x")
    parsed = parse(tmp_path, text.encode(encoding), encoding=encoding.upper())
    assert parsed.encoding == encoding
    assert parsed.records["text"].to_list()[1] == text.split(":86:")[2].split("\n")[0]


def test_several_files_say_each_encoding(tmp_path: Path) -> None:
    (tmp_path / "a.sta").write_bytes(PLAIN.encode("cp852"))
    (tmp_path / "b.sta").write_bytes(PLAIN.encode("utf-8"))
    both = load_statements([tmp_path / "a.sta", tmp_path / "b.sta"])
    assert both.encoding == "cp852;utf-8"
    polish = "Zapłata za fakturę, Łódź, ul. Żółkiewskiego"
    assert both.records["text"].to_list()[::2] == [polish, polish]


def test_a_wrong_given_encoding_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"s\.sta:6: byte b'\\xb3' is not utf-8 text"):
        parse(tmp_path, PLAIN.encode("cp1250"), encoding="utf-8")
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        parse(tmp_path, PLAIN, encoding="klingon")


def test_detection_prefers_the_reading_with_letters() -> None:
    polish = "Zapłata za fakturę, Łódź, Śródmieście".encode("cp1250")
    assert decode_as(polish).encoding == "cp1250"
    assert decode_as("Überweisung Müller".encode("cp1252")).encoding == "cp1252"
    assert decode_as(b"\x81\x8d\x8f\x90\x9d").encoding in {"cp1250", "cp852", "cp850"}


MT942 = """\
:20:INTRA1
:21:NONREF
:25:PL61109010140000071219812874
:28C:7/1
:34F:PLND0,
:34F:PLNC100,00
:13D:2401021230+0100
:61:2401020102D10,50NTRFNONREF//B1
:86:Zapłata
:61:2401020102C3,00NTRFNONREF
:90D:1PLN10,50
:90C:1PLN3,00
-
"""


def test_mt942_interim_report_takes_its_currency_from_the_floor_limit(tmp_path: Path) -> None:
    parsed = parse(tmp_path, MT942)
    assert parsed.findings.height == 0
    assert parsed.records["amount"].to_list() == [-1050, 300]
    assert parsed.records["asset_id"].to_list() == ["PLN/2", "PLN/2"]
    assert parsed.balances.height == 0


def test_mt942_entry_counts_and_sums_are_verified(tmp_path: Path) -> None:
    parsed = parse(tmp_path, MT942.replace(":90D:1PLN10,50", ":90D:2PLN10,60"))
    assert sorted(
        (f["rule"], f["locator"], f["message"]) for f in parsed.findings.iter_rows(named=True)
    ) == [
        (
            str(RuleId.STATEMENT_CONTROL_TOTAL_MISMATCH),
            f"{tmp_path}/s.sta:11",
            ":90D: states debit entries of 1060 PLN/2, but the statement's add up to 1050",
        ),
        (
            str(RuleId.STATEMENT_RECORD_COUNT_MISMATCH),
            f"{tmp_path}/s.sta:11",
            ":90D: states 2 debit entries, but the statement has 1",
        ),
    ]


def test_mt942_without_floor_limit_still_says_why(tmp_path: Path) -> None:
    parsed = parse(tmp_path, MT942.replace(":34F:PLND0,\n:34F:PLNC100,00\n", ""))
    messages = parsed.findings["message"].to_list()
    assert messages[0] == (
        "bad record not loaded: :61: no opening balance (:60F:/:60M:) or floor limit (:34F:) "
        "before it gives the currency"
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("D10,50NTRF", "D10\n,50NTRF"),
        ("D10,50NTRF", "D1\n0,50NTRF"),
        ("D10,50NTRF", "D10,5\n0NTRF"),
        ("C3,00NTRF", "C3,\n00NTRF"),
        ("2401020102D10", "24010201\n02D10"),
        ("PLN92,50\n:64:", "PLN92\n,50\n:64:"),
        ("PLN100,00", "PLN1\n00,00"),
    ],
    ids=["61-at-comma", "61-in-units", "61-in-cents", "61-after-comma", "61-in-date", "62F", "60F"],
)
def test_amount_split_over_a_line_break_is_read_whole(tmp_path: Path, old: str, new: str) -> None:
    assert old in PLAIN
    same_statement_as_plain(parse(tmp_path, PLAIN.replace(old, new, 1)))


_LINE_CASES = {
    # field: (mark, type code, customer reference, bank reference, text before the :86:)
    "2401020102D10,50NTRFNONREF//B1": ("D", "NTRF", "NONREF", "B1", None),
    "2401020102D10,50S   X": ("D", "S", "X", None, None),
    "240102D10,50S202MYREF//BANK-REF-1": ("D", "S202", "MYREF", "BANK-REF-1", None),
    "2401020102RCR10,50NMSC1234567890123456//0123456789ABCDEF": (
        "RC",
        "NMSC",
        "1234567890123456",
        "0123456789ABCDEF",
        None,
    ),
    "2401020102RD10,50FCHK0012//B9\nsupplementary details": (
        "RD",
        "FCHK",
        "0012",
        "B9",
        "supplementary details",
    ),
    "2401020102CN10,50NTRF12345678901234567": ("C", "NTRF", "1234567890123456", None, "7"),
    "240102D10,50NTRFMY REF WITH SPACE//B 2": ("D", "NTRF", "MY REF WITH SPAC", None, "E//B 2"),
}


@pytest.mark.parametrize("field", list(_LINE_CASES))
def test_statement_line_subfields_follow_the_swift_layout(tmp_path: Path, field: str) -> None:
    """Value date, [entry date], mark, [funds code], amount, type (1 letter + 3), references."""
    mark, type_code, customer, bank, extra = _LINE_CASES[field]
    parsed = parse(tmp_path, PLAIN.replace("2401020102D10,50NTRFNONREF//B1", field))
    row = parsed.records.row(0, named=True)
    assert row["amount"] == (1050 if mark in {"C", "RD"} else -1050)
    assert row["reversal"] is mark.startswith("R")
    assert (row["type_code"], row["customer_ref"], row["bank_ref"]) == (type_code, customer, bank)
    information = "Zapłata za fakturę, Łódź, ul. Żółkiewskiego"
    assert row["text"] == "\n".join(part for part in (extra, information) if part)


def test_broken_balance_is_still_a_bad_balance(tmp_path: Path) -> None:
    parsed = parse(tmp_path, PLAIN.replace("C240102PLN92,50\n:64:", "C240102PLN92,50\nX\n:64:"))
    bad = parsed.findings.filter(parsed.findings["rule"] == str(RuleId.STATEMENT_BAD_RECORD))
    assert bad["message"].to_list() == [
        "bad balance not loaded: :62F: balance is not (D|C)YYMMDD, currency and amount"
    ]
