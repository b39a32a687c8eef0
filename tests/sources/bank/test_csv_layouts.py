"""Stripe reports and our canonical CSV/Parquet layout, from small files written here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.sources.bank import load_statement, load_statements
from ledger_audit.sources.bank.load import detect_format

STRIPE = """\
balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,description,automatic_payout_id
txn_1,2024-03-01 10:00:00,2024-03-03 00:00:00,usd,10.00,0.59,9.41,charge,ch_1,Order 1,po_1
txn_2,2024-03-01 11:00:00,2024-03-03 00:00:00,jpy,1000,36,964,charge,ch_2,Order 2,po_2
txn_3,2024-03-02 09:00:00,2024-03-04 00:00:00,usd,-2.50,0.00,-2.50,refund,re_1,"Refund, x",po_1
txn_4,2024-03-05 00:00:00,2024-03-05 00:00:00,usd,-6.91,0.00,-6.91,payout,po_1,STRIPE PAYOUT,
txn_5,2024-03-01 12:00:00,,usd,1.005,0.00,1.005,charge,ch_5,bad,po_1
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_stripe_minor_units_fees_and_payouts(tmp_path: Path) -> None:
    path = write(tmp_path, "balance.csv", STRIPE)
    assert detect_format(path) == "stripe"
    parsed = load_statement(path)
    rows = parsed.records.select("record_id", "asset_id", "amount", "payout_id", "type_code").rows()
    assert rows == [
        ("txn_1", "USD/2", 1000, "po_1", "charge"),
        ("txn_1:fee", "USD/2", -59, "po_1", "fee"),
        ("txn_2", "JPY/0", 1000, "po_2", "charge"),
        ("txn_2:fee", "JPY/0", -36, "po_2", "fee"),
        ("txn_3", "USD/2", -250, "po_1", "refund"),
        ("txn_4", "USD/2", -691, "po_1", "payout"),
    ]
    assert parsed.records["batch_key"].to_list()[:2] == ["po_1", "po_1"]
    assert parsed.records["booking_date"][0] == dt.date(2024, 3, 1)
    assert parsed.records["value_date"][0] == dt.date(2024, 3, 3)
    [bad] = parsed.findings.filter(pl.col("rule") == str(RuleId.STATEMENT_BAD_RECORD)).rows(
        named=True
    )
    assert bad["locator"] == f"{path}:6"
    assert bad["message"] == (
        "bad record not loaded: amount '1.005' has 3 decimal places; the currency has 2"
    )
    assert parsed.count("records").read == 7  # six lines loaded + one rejected row
    assert parsed.findings.height == 1  # 9.41 - 2.50 = 6.91: the payout adds up


def test_stripe_net_and_payout_mismatches(tmp_path: Path) -> None:
    text = STRIPE.replace("9.41,charge", "9.42,charge").replace(
        "txn_5,2024-03-01 12:00:00,,usd,1.005,0.00,1.005,charge,ch_5,bad,po_1\n", ""
    )
    parsed = load_statement(write(tmp_path, "b.csv", text))
    messages = parsed.findings.filter(
        pl.col("rule") == str(RuleId.STATEMENT_CONTROL_TOTAL_MISMATCH)
    )["message"].to_list()
    assert sorted(messages) == [
        "balance transaction txn_1: net 942 is not gross 1000 - fee 59",
        "payout po_1 is 691, but the rows paid out in it net to 692",
    ]


def test_stripe_short_row_is_rejected(tmp_path: Path) -> None:
    text = STRIPE.splitlines()[0] + "\ntxn_9,2024-03-01,usd\n"
    parsed = load_statement(write(tmp_path, "s.csv", text))
    assert parsed.records.height == 0
    assert parsed.findings["message"].to_list() == [
        "bad record not loaded: 3 cells where the header has 11"
    ]


CANONICAL = """\
record_id,statement_id,account_ref,asset_id,amount,booking_date,value_date,kind,bank_ref,reversal
,S1,ACC,EUR/2,10000,2024-01-01,,OPBD,,
r1,S1,ACC,EUR/2,-1050,2024-01-02,2024-01-03,,B1,false
r2,S1,ACC,EUR/2,12.5,2024-01-02,,,,
r3,S1,ACC,EUR/2,50,2024-01-02,,,,true
,S1,ACC,EUR/2,9100,2024-01-02,,CLBD,,
"""


def test_canonical_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "mine.csv", CANONICAL)
    assert detect_format(path) == "canonical"
    parsed = load_statement(path)
    assert parsed.records.select("record_id", "amount", "reversal").rows() == [
        ("r1", -1050, False),
        ("r3", 50, True),
    ]
    assert parsed.balances["kind"].to_list() == ["OPBD", "CLBD"]
    rules = sorted(parsed.findings["rule"].to_list())
    assert rules == [str(RuleId.STATEMENT_BAD_RECORD), str(RuleId.STATEMENT_BALANCE_MISMATCH)]
    bad = parsed.findings.filter(pl.col("rule") == str(RuleId.STATEMENT_BAD_RECORD)).row(
        0, named=True
    )
    assert bad["locator"] == f"{path}:4"
    assert "'12.5' is not a signed whole number" in bad["message"]


def test_canonical_parquet_round_trip(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "record_id": ["r1", "r2"],
            "account_ref": ["ACC", "ACC"],
            "asset_id": ["USD/2", "USD/2"],
            "amount": [125, -5],
            "booking_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 2)],
            "tx_id": ["t1", None],
        }
    )
    path = tmp_path / "mine.parquet"
    frame.write_parquet(path)
    parsed = load_statement(path)
    assert parsed.records.select("record_id", "amount", "booking_date", "tx_id", "line").rows() == [
        ("r1", 125, dt.date(2024, 1, 1), "t1", 1),
        ("r2", -5, dt.date(2024, 1, 2), None, 2),
    ]


def test_canonical_float_amount_in_parquet_is_rejected(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "record_id": ["r1"],
            "account_ref": ["A"],
            "asset_id": ["USD/2"],
            "amount": [1.5],
            "booking_date": ["2024-01-01"],
        }
    )
    path = tmp_path / "f.parquet"
    frame.write_parquet(path)
    parsed = load_statement(path)
    assert parsed.count("records").rejected == 1


def test_unknown_csv_header_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"x\.csv:1: a CSV whose header is neither"):
        load_statement(write(tmp_path, "x.csv", "a,b\n1,2\n"))


def test_load_statements_concatenates(tmp_path: Path) -> None:
    first = write(tmp_path, "a.csv", CANONICAL)
    second = write(tmp_path, "b.csv", STRIPE)
    both = load_statements([first, second])
    assert both.source == "mixed"
    assert both.records.height == 2 + 6
    assert both.rejected == 2
