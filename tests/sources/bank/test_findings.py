"""One minimal reproducer per finding the bank parsers raise, with its exact message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.sources.bank import ParsedStatement, load_statement

BAI2_GOOD = """\
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


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def only(parsed: ParsedStatement, rule: RuleId) -> list[dict[str, Any]]:
    return [row for row in parsed.findings.iter_rows(named=True) if row["rule"] == str(rule)]


def test_bai2_consistent_file_has_no_finding(tmp_path: Path) -> None:
    parsed = load_statement(write(tmp_path, "ok.bai2", BAI2_GOOD))
    assert parsed.findings.height == 0
    assert parsed.records["amount"].to_list() == [700, -200]
    assert parsed.records["text"].to_list() == ["Incoming second line", "Fee"]
    assert parsed.records["asset_id"].to_list() == ["EUR/2", "EUR/2"]
    assert [str(d) for d in parsed.records["value_date"].to_list()] == ["2024-01-01", "None"]
    assert parsed.balances["kind"].to_list() == ["OPBD", "CLBD"]


def test_bai2_several_records_on_one_line(tmp_path: Path) -> None:
    text = BAI2_GOOD.replace(
        "49,22300,5/\n98,22300,1,7/\n99,22300,1,9/\n", "49,22300,5/98,22300,1,7/99,22300,1,9/\n"
    )
    parsed = load_statement(write(tmp_path, "one-line.bai2", text))
    assert parsed.findings.height == 0


def test_bai2_control_total_mismatch(tmp_path: Path) -> None:
    parsed = load_statement(
        write(tmp_path, "t.bai2", BAI2_GOOD.replace("49,22300,5/", "49,22301,5/"))
    )
    [finding] = [
        f for f in only(parsed, RuleId.STATEMENT_CONTROL_TOTAL_MISMATCH) if "49" in f["message"]
    ]
    assert finding["locator"] == f"{tmp_path}/t.bai2:7"
    assert finding["message"] == (
        "49 control total of account 123 (line 3) is 22301, but its amounts add up to 22300"
    )
    assert (finding["expected"], finding["actual"], finding["difference"]) == (
        "22300",
        "22301",
        "1",
    )


def test_bai2_record_count_mismatch(tmp_path: Path) -> None:
    parsed = load_statement(
        write(tmp_path, "c.bai2", BAI2_GOOD.replace("99,22300,1,9/", "99,22300,1,10/"))
    )
    [finding] = only(parsed, RuleId.STATEMENT_RECORD_COUNT_MISMATCH)
    assert finding["message"] == "99 trailer of file states 10 records, but there are 9"
    assert finding["difference"] == "1"


def test_bai2_summary_total_and_balance_mismatch(tmp_path: Path) -> None:
    text = BAI2_GOOD.replace("015,10500", "015,10400").replace("100,700,1", "100,701,2")
    parsed = load_statement(write(tmp_path, "s.bai2", text))
    [balance] = only(parsed, RuleId.STATEMENT_BALANCE_MISMATCH)
    assert balance["message"] == (
        "statement s.bai2:3: opening 10000 + 2 booked movement(s) 500 = 10500 EUR/2, "
        "but the closing balance is 10400"
    )
    assert balance["difference"] == "-100 EUR/2"
    messages = {f["message"] for f in only(parsed, RuleId.STATEMENT_CONTROL_TOTAL_MISMATCH)}
    assert (
        "account 123 (line 3): total credits (100) is 701, but its 1 detail record(s) add up to 700"
        in messages
    )
    counts = {f["message"] for f in only(parsed, RuleId.STATEMENT_RECORD_COUNT_MISMATCH)}
    assert (
        "account 123 (line 3): total credits (100) counts 2 item(s), "
        "but there are 1 detail record(s)" in counts
    )


def test_bai2_bad_record_is_counted_and_reported(tmp_path: Path) -> None:
    parsed = load_statement(
        write(tmp_path, "b.bai2", BAI2_GOOD.replace("16,409,200,", "16,409,2x0,"))
    )
    [bad] = only(parsed, RuleId.STATEMENT_BAD_RECORD)
    assert bad["locator"] == f"{tmp_path}/b.bai2:6"
    assert bad["message"] == "bad record not loaded: 16 record: amount '2x0' is not unsigned digits"
    records = parsed.count("records")
    assert (records.read, records.loaded, records.rejected) == (2, 1, 1)


def test_bai2_truncated_file_is_a_finding(tmp_path: Path) -> None:
    text = "".join(BAI2_GOOD.splitlines(keepends=True)[:6])
    parsed = load_statement(write(tmp_path, "cut.bai2", text))
    messages = [f["message"] for f in only(parsed, RuleId.STATEMENT_RECORD_COUNT_MISMATCH)]
    assert any("file has no 99 trailer" in message for message in messages)
    assert parsed.records.height == 2


def test_bai2_truncated_header_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"h\.bai2:1: not a BAI2 file"):
        load_statement(write(tmp_path, "h.bai2", "0"))


MT940 = """\
:20:REF
:25:NL00BANK0123456789
:28C:1/1
:60F:C240101EUR100,00
:61:2401020102D10,50NTRFNONREF//B1
:86:groceries
:61:2401020102RD1,NTRFNONREF
:62F:C240102EUR90,00
-
"""


def test_mt940_balances_add_up(tmp_path: Path) -> None:
    parsed = load_statement(write(tmp_path, "ok.sta", MT940.replace("90,00", "90,50")))
    assert parsed.findings.height == 0
    assert parsed.records["amount"].to_list() == [-1050, 100]
    assert parsed.records["reversal"].to_list() == [False, True]
    assert parsed.records["text"].to_list() == ["groceries", None]


def test_mt940_balance_mismatch(tmp_path: Path) -> None:
    parsed = load_statement(write(tmp_path, "m.sta", MT940))
    [finding] = only(parsed, RuleId.STATEMENT_BALANCE_MISMATCH)
    assert finding["locator"] == f"{tmp_path}/m.sta:8"
    assert finding["message"] == (
        "statement m.sta:1: opening 10000 + 2 booked movement(s) -950 = 9050 EUR/2, "
        "but the closing balance is 9000"
    )
    assert (finding["expected"], finding["actual"], finding["difference"]) == (
        "9050 EUR/2",
        "9000 EUR/2",
        "-50 EUR/2",
    )


def test_mt940_too_many_decimals_is_a_bad_record(tmp_path: Path) -> None:
    parsed = load_statement(write(tmp_path, "d.sta", MT940.replace("D10,50", "D10,505")))
    [bad] = only(parsed, RuleId.STATEMENT_BAD_RECORD)
    assert bad["message"] == (
        "bad record not loaded: :61: amount '10,505' has 3 decimal places; the currency has 2"
    )
    assert parsed.count("records").rejected == 1


CAMT = """\
<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt>
  <Stmt>
   <Id>S1</Id>
   <Acct><Id><IBAN>DE00</IBAN></Id></Acct>
   <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="JPY">1000</Amt>
    <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-01-01</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="JPY">700</Amt>
    <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-01-02</Dt></Dt></Bal>
   <Ntry><Amt Ccy="JPY">300</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd>
    <Sts><Cd>BOOK</Cd></Sts><BookgDt><DtTm>2024-01-02T10:00:00+01:00</DtTm></BookgDt>
    <AcctSvcrRef>BANK1</AcctSvcrRef>
    <NtryDtls><Btch><PmtInfId>BATCH9</PmtInfId></Btch>
     <TxDtls><Refs><EndToEndId>E1</EndToEndId><TxId>T1</TxId></Refs>
      <RltdPties><Cdtr><Pty><Nm>Shop</Nm></Pty></Cdtr></RltdPties></TxDtls>
     <TxDtls><Refs><EndToEndId>E2</EndToEndId></Refs></TxDtls>
    </NtryDtls></Ntry>
   <Ntry><Amt Ccy="JPY">1.5</Amt><CdtDbtInd>DBIT</CdtDbtInd>
    <BookgDt><Dt>2024-01-02</Dt></BookgDt></Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
"""


def test_camt_entry_details_and_batch(tmp_path: Path) -> None:
    parsed = load_statement(write(tmp_path, "s.xml", CAMT))
    row = parsed.records.row(0, named=True)
    assert (row["amount"], row["asset_id"], row["reversal"]) == (-300, "JPY/0", True)
    assert (row["bank_ref"], row["end_to_end_id"], row["tx_id"]) == ("BANK1", "E1;E2", "T1")
    assert (row["batch_key"], row["counterparty"], row["status"]) == ("BATCH9", "Shop", "BOOK")
    assert only(parsed, RuleId.STATEMENT_BALANCE_MISMATCH) == []


def test_camt_bad_entry_names_its_xml_path(tmp_path: Path) -> None:
    parsed = load_statement(write(tmp_path, "s.xml", CAMT))
    [bad] = only(parsed, RuleId.STATEMENT_BAD_RECORD)
    assert bad["locator"] == f"{tmp_path}/s.xml:19 (/Document/BkToCstmrStmt/Stmt[1]/Ntry[2])"
    assert bad["message"] == (
        "bad record not loaded: /Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt: "
        "amount '1.5' has 1 decimal places; the currency has 0"
    )
    counts = parsed.count("records")
    assert (counts.read, counts.loaded, counts.rejected) == (2, 1, 1)


def test_camt_not_xml_names_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"x\.xml:5: not well-formed XML"):
        load_statement(write(tmp_path, "x.xml", CAMT.replace("<Id>S1</Id>", "<Id>S1</Idx>")))


def test_camt_other_namespace_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"not a camt\.053 document"):
        load_statement(write(tmp_path, "n.xml", CAMT.replace("camt.053.001.08", "camt.052.001.08")))


def test_camt_entity_declarations_are_refused(tmp_path: Path) -> None:
    text = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]><Document>&e;</Document>'
    with pytest.raises(InputError, match="forbidden XML construct"):
        load_statement(write(tmp_path, "e.xml", text))
