"""BAI2 as banks lay it out: one reproducer per shape, each read as a person reads it.

Every layout of the same statement must give the same movements, balances and no bad
record: records sharing a line, a ``,/`` before an ``88``, text wrapped onto a line of its
own. Crafted counts and non-ASCII digits must be bad records, never a hang or a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger_audit.findings import RuleId
from ledger_audit.sources.bank import ParsedStatement, load_statement

GOOD = """\
01,BANK,ME,240102,0800,1,,,2/
02,ME,BANK,1,240101,,EUR,/
03,123,,010,10000,,,015,10500,,,100,700,1,,400,200,1,/
16,108,700,V,240101,,REF1,CUST1,Incoming
88,second line
16,409,200,,REF2,,Fee/
49,22300,5/
98,22300,1,7/
99,22300,1,9/
"""


def parse(tmp_path: Path, text: str, name: str = "s.bai2") -> ParsedStatement:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_statement(path)


def rules(parsed: ParsedStatement) -> list[str]:
    return sorted(parsed.findings["rule"].to_list())


def same_statement_as_good(parsed: ParsedStatement) -> None:
    """The movements, balances and counts of GOOD, with no finding at all."""
    assert parsed.findings["message"].to_list() == []
    assert parsed.records["amount"].to_list() == [700, -200]
    assert parsed.records["bank_ref"].to_list() == ["REF1", "REF2"]
    assert parsed.records["customer_ref"].to_list() == ["CUST1", None]
    assert parsed.records["text"].to_list() == ["Incoming second line", "Fee"]
    assert parsed.balances["amount"].to_list() == [10000, 10500]
    assert [(c.read, c.rejected) for c in parsed.counts] == [(2, 0), (2, 0), (8, 0)]


def test_the_reference_statement(tmp_path: Path) -> None:
    same_statement_as_good(parse(tmp_path, GOOD))


@pytest.mark.parametrize(
    "account",
    [
        # the shape: code,amount,count,funds then ",/" and an 88
        "03,123,,010,10000,,Z,/\n88,015,10500,,Z,/\n88,100,700,1,Z,/\n88,400,200,1,Z,/",
        # the same with empty funds types: the ",/" there is the funds field itself
        "03,123,,010,10000,,,/\n88,015,10500,,,/\n88,100,700,1,,/\n88,400,200,1,,/",
        # the BAI specification's own example: "040,2830000,,/" then "88,072,..."
        "03,123,,010,10000,,/\n88,015,10500,,/\n88,100,700,1,/\n88,400,200,1,/",
        # the currency closed by ",/" before the first item
        "03,123,EUR,/\n88,010,10000,,Z,/\n88,015,10500,,Z,/\n88,100,700,1,Z,400,200,1,Z,/",
        # a field group broken across the 88 without a trailing comma
        "03,123,,010/\n88,10000,,Z,015,10500/\n88,,Z,100,700,1,,400/\n88,200,1,/",
    ],
    ids=["funds-comma-slash", "empty-funds", "bai-spec", "after-currency", "mid-group"],
)
def test_continued_account_record_keeps_its_fields(tmp_path: Path, account: str) -> None:
    pieces = account.count("\n")
    text = (
        GOOD.replace("03,123,,010,10000,,,015,10500,,,100,700,1,,400,200,1,/", account)
        .replace("49,22300,5/", f"49,22300,{5 + pieces}/")
        .replace("98,22300,1,7/", f"98,22300,1,{7 + pieces}/")
        .replace("99,22300,1,9/", f"99,22300,1,{9 + pieces}/")
    )
    parsed = parse(tmp_path, text)
    same_statement_as_good(parsed)


def test_continued_group_header_keeps_its_date(tmp_path: Path) -> None:
    text = (
        GOOD.replace("02,ME,BANK,1,240101,,EUR,/", "02,ME,BANK,1,/\n88,240101,,EUR,/")
        .replace("98,22300,1,7/", "98,22300,1,8/")
        .replace("99,22300,1,9/", "99,22300,1,10/")
    )
    same_statement_as_good(parse(tmp_path, text))


@pytest.mark.parametrize(
    "detail",
    [
        "16,409,/\n88,200,,REF2,,Fee/",
        "16,409,200,Z,/\n88,REF2,,Fee/",
        "16,409,200,,/\n88,REF2,,Fee/",
        "16,409,200,/\n88,REF2,,Fee/",
        "16,409,200,,REF2,/\n88,,Fee/",
        "16,409,200,,REF2,,/\n88,Fee/",
    ],
)
def test_continued_detail_record_keeps_its_fields(tmp_path: Path, detail: str) -> None:
    text = (
        GOOD.replace("16,409,200,,REF2,,Fee/", detail)
        .replace("49,22300,5/", "49,22300,6/")
        .replace("98,22300,1,7/", "98,22300,1,8/")
        .replace("99,22300,1,9/", "99,22300,1,10/")
    )
    same_statement_as_good(parse(tmp_path, text))


def _one_line(text: str) -> str:
    """GOOD with its 16 text on one line and then every record on a single line."""
    joined = text.replace("Incoming\n88,second line", "Incoming/\n88,second line/")
    return "".join(joined.splitlines()) + "\n"


def test_records_sharing_one_line_are_all_read(tmp_path: Path) -> None:
    """A 16's text stops at a '/' after which another record plainly starts."""
    same_statement_as_good(parse(tmp_path, _one_line(GOOD)))


def test_whole_account_groups_on_one_line_are_read(tmp_path: Path) -> None:
    account = GOOD.split("\n")[2:7]  # 03 .. 49
    second = [line.replace("03,123,", "03,456,") for line in account]
    text = "\n".join(
        [
            *GOOD.split("\n")[:2],
            "".join(account).replace("Incoming88,", "Incoming/88,").replace("line16", "line/16"),
            "".join(second).replace("Incoming88,", "Incoming/88,").replace("line16", "line/16"),
            "98,44600,2,12/99,44600,1,14/",
        ]
    )
    parsed = parse(tmp_path, text)
    assert parsed.findings["message"].to_list() == []
    assert parsed.records["account_ref"].to_list() == ["123", "123", "456", "456"]
    assert parsed.records["text"].to_list() == ["Incoming second line", "Fee"] * 2
    assert parsed.count("records").read == 4
    # records and accounts sharing a line still have ids of their own
    assert parsed.records["record_id"].n_unique() == 4
    assert parsed.records["statement_id"].unique(maintain_order=True).to_list() == [
        "s.bai2:3",
        "s.bai2:4",
    ]
    assert parsed.records["record_id"].to_list()[2:] == ["s.bai2:4#2", "s.bai2:4#4"]


def test_text_with_slashes_and_commas_is_not_split(tmp_path: Path) -> None:
    text = GOOD.replace("Incoming", "INV 2024/16, A/B 12/03,5 and 1/49,x")
    parsed = parse(tmp_path, text)
    assert parsed.records["text"].to_list() == [
        "INV 2024/16, A/B 12/03,5 and 1/49,x second line",
        "Fee",
    ]
    assert parsed.findings.height == 0


def test_wrapped_text_line_continues_the_text(tmp_path: Path) -> None:
    wrapped = GOOD.replace("88,second line", "second line")
    parsed = parse(tmp_path, wrapped)
    assert parsed.records["text"].to_list() == ["Incoming second line", "Fee"]
    # the bank may have counted the wrapped line as a record or not: both agree
    assert parsed.findings.height == 0
    uncounted = wrapped.replace("49,22300,5/", "49,22300,4/").replace(",1,7/", ",1,6/")
    assert parse(tmp_path, uncounted.replace(",1,9/", ",1,8/")).findings.height == 0


def test_malformed_record_after_text_is_not_taken_as_wrapped(tmp_path: Path) -> None:
    parsed = parse(tmp_path, GOOD.replace("88,second line", "88:second line"))
    assert parsed.findings.filter(parsed.findings["rule"] == str(RuleId.STATEMENT_BAD_RECORD))[
        "locator"
    ].to_list() == [f"{tmp_path}/s.bai2:5"]


def test_text_closed_by_a_slash_is_not_continued_by_a_stray_line(tmp_path: Path) -> None:
    parsed = parse(tmp_path, GOOD.replace("88,second line", "second line").replace("g\n", "g/\n"))
    assert str(RuleId.STATEMENT_BAD_RECORD) in rules(parsed)
    assert parsed.records["text"].to_list() == ["Incoming", "Fee"]


@pytest.mark.parametrize("count", ["50000000", "9" * 5000, "3"])
def test_distributed_availability_count_is_bounded_by_the_fields(
    tmp_path: Path, count: str
) -> None:
    parsed = parse(tmp_path, GOOD.replace("16,409,200,,REF2", f"16,409,200,D,{count},1,5,REF2"))
    [bad] = parsed.findings.filter(parsed.findings["rule"] == str(RuleId.STATEMENT_BAD_RECORD))[
        "message"
    ].to_list()
    assert "distributed availability count" in bad
    assert "field(s) left" in bad
    assert len(bad) < 200
    assert parsed.count("records").rejected == 1


def test_distributed_availability_within_the_fields_is_read(tmp_path: Path) -> None:
    parsed = parse(tmp_path, GOOD.replace("16,409,200,,REF2", "16,409,200,D,2,0,100,1,100,REF2"))
    same_statement_as_good(parsed)


@pytest.mark.parametrize("digit", ["\u00b2", "\u0663", "\uff11"])
def test_digits_of_other_scripts_are_bad_records_not_crashes(tmp_path: Path, digit: str) -> None:
    text = GOOD.replace("16,409,200,", f"16,40{digit},200,").replace(
        ",100,700,1,", f",1{digit}0,700,1,"
    )
    parsed = parse(tmp_path, text.replace("400,200,1,", f"400,200,{digit},"))
    assert parsed.count("records").rejected == 1
    assert parsed.count("structure").rejected == 1


def test_a_type_code_of_thousands_of_digits_is_a_bad_item(tmp_path: Path) -> None:
    parsed = parse(tmp_path, GOOD.replace(",100,700,1,", f",{'1' * 5000},700,1,"))
    [bad] = parsed.findings.filter(parsed.findings["rule"] == str(RuleId.STATEMENT_BAD_RECORD))[
        "message"
    ].to_list()
    assert bad.startswith("bad line not loaded: 03 item 1111")
    assert "is not three digits" in bad


def test_a_stray_line_after_a_bad_record_is_not_wrapped_into_text(tmp_path: Path) -> None:
    parsed = parse(tmp_path, GOOD.replace("88,second line", "88:broken\nsecond line"))
    assert parsed.records["text"].to_list() == ["Incoming", "Fee"]
    assert parsed.count("structure").rejected == 2


def test_control_characters_are_framing(tmp_path: Path) -> None:
    framed = "\x01" + GOOD.replace("\n88,", "\x00\n88,").rstrip("\n") + "\x03\x04\n"
    same_statement_as_good(parse(tmp_path, framed))
