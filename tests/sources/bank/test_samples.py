"""Every shared sample parses (or fails clearly), agrees with its expected parse and golden file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.sources.bank import ParsedStatement, load_statement
from ledger_audit.sources.bank.amounts import asset_for
from tests.conftest import SHARED_SAMPLES
from tests.sources.bank.expected import (
    GENKGO_BALANCE_TYPES,
    MT940_BALANCES,
    load_camt_expected,
    load_mt940_expected,
)
from tests.sources.bank.golden import check_golden, snapshot

FORMATS = ("bai2", "camt053", "mt940")


def _sample_names() -> list[str]:
    names: list[str] = []
    for folder in FORMATS:
        directory = SHARED_SAMPLES / folder
        if not directory.is_dir():
            continue
        names.extend(
            f"{folder}/{path.name}"
            for path in sorted(directory.iterdir())
            if not path.name.startswith("LICENSE") and ".expected." not in path.name
        )
    # one placeholder keeps the parametrised test alive so that the fixture skips or fails
    return names or ["missing/samples"]


def _meant_to_fail(name: str) -> bool:
    return Path(name).name.startswith("moov-error-") or name.endswith(".wrong.xml")


def _minor(amount: Decimal, currency: str) -> int:
    scale = int(asset_for(currency).split("/")[1])
    return int(amount.scaleb(scale))


@pytest.mark.parametrize("name", _sample_names())
def test_sample_parses_or_fails_clearly(shared_samples: Path, name: str) -> None:
    path = shared_samples / name
    if _meant_to_fail(name):
        with pytest.raises(InputError) as caught:
            load_statement(path)
        message = str(caught.value)
        assert str(path) in message
        assert caught.value.reason
        return
    parsed = load_statement(path)
    assert parsed.source == name.split("/", maxsplit=1)[0]
    assert parsed.read == parsed.loaded + parsed.rejected
    check_golden(Path(name).name, snapshot(parsed, shared_samples / name.split("/", maxsplit=1)[0]))


def test_failing_samples_say_why(shared_samples: Path) -> None:
    with pytest.raises(InputError, match=r"moov-error-sample-parseError\.txt:1: not a BAI2 file"):
        load_statement(shared_samples / "bai2" / "moov-error-sample-parseError.txt")
    with pytest.raises(InputError, match=r"wrong\.xml:3 \(/Document/BkToCstmrStmt\): no Stmt"):
        load_statement(shared_samples / "camt053" / "camt053.v2.wrong.xml")


def _camt_names() -> list[str]:
    directory = SHARED_SAMPLES / "camt053"
    if not directory.is_dir():
        return ["missing"]
    return [p.name for p in sorted(directory.glob("*.expected.json"))]


@pytest.mark.parametrize("expected_name", _camt_names())
def test_camt_agrees_with_genkgo(shared_samples: Path, expected_name: str) -> None:
    expected = load_camt_expected(shared_samples / "camt053" / expected_name)
    parsed = load_statement(
        shared_samples / "camt053" / expected_name.replace(".expected.json", ".xml")
    )
    entries: list[dict[str, Any]] = expected["getEntries"]
    assert parsed.records.height == len(entries)
    for row, entry in zip(parsed.records.iter_rows(named=True), entries, strict=True):
        money = entry["getAmount"]
        assert row["amount"] == int(money["getAmount"])
        assert row["asset_id"] == asset_for(money["getCurrency"]["getCode"])
        assert row["booking_date"].isoformat() == entry["getBookingDate"]["0"][:10]
        assert row["value_date"].isoformat() == entry["getValueDate"]["0"][:10]
        assert row["reversal"] is bool(entry["getReversalIndicator"])
        assert row["bank_ref"] == entry["getAccountServicerReference"]
        reference = entry["getTransactionDetail"]["getReference"] or {}
        assert row["end_to_end_id"] == reference.get("getEndToEndId")
        statement = entry["getRecord"]
        assert row["statement_id"] == statement["getId"]
        assert row["account_ref"] == statement["getAccount"]["getIdentification"]
    statement = entries[0]["getRecord"]
    balances = list(parsed.balances.iter_rows(named=True))
    assert len(balances) == len(statement["getBalances"])
    for ours, theirs in zip(balances, statement["getBalances"], strict=True):
        assert ours["kind"] in GENKGO_BALANCE_TYPES[theirs["getType"]]
        assert ours["amount"] == int(theirs["getAmount"]["getAmount"])
        assert ours["asset_id"] == asset_for(theirs["getAmount"]["getCurrency"]["getCode"])
        assert ours["date"].isoformat() == theirs["getDate"]["0"][:10]


def _mt940_names() -> list[str]:
    directory = SHARED_SAMPLES / "mt940"
    if not directory.is_dir():
        return ["missing"]
    return [p.name for p in sorted(directory.glob("*.expected.yml"))]


def _last_balance(parsed: ParsedStatement, kind: str, intermediate: bool) -> dict[str, Any]:
    rows = [
        row
        for row in parsed.balances.iter_rows(named=True)
        if row["kind"] == kind and row["intermediate"] is intermediate
    ]
    assert rows, f"no {kind} balance (intermediate={intermediate})"
    return rows[-1]


@pytest.mark.parametrize("expected_name", _mt940_names())
def test_mt940_agrees_with_the_mt940_package(shared_samples: Path, expected_name: str) -> None:
    expected = load_mt940_expected(shared_samples / "mt940" / expected_name)
    parsed = load_statement(
        shared_samples / "mt940" / expected_name.replace(".expected.yml", ".sta")
    )
    transactions = [t["data"] for t in expected["transactions"]]
    assert parsed.records.height == len(transactions)
    for row, theirs in zip(parsed.records.iter_rows(named=True), transactions, strict=True):
        currency = theirs["amount"]["currency"]
        assert row["asset_id"] == asset_for(currency)
        assert row["amount"] == _minor(theirs["amount"]["amount"], currency)
        assert row["value_date"] == theirs["date"]
        assert row["booking_date"] == (theirs.get("entry_date") or theirs["date"])
        assert row["reversal"] is theirs["status"].startswith("R")
        assert row["bank_ref"] == theirs["bank_reference"]
    for key, (kind, intermediate) in MT940_BALANCES.items():
        if key not in expected["data"]:
            continue
        theirs = expected["data"][key]
        ours = _last_balance(parsed, kind, intermediate)
        currency = theirs["amount"]["currency"]
        sign = -1 if theirs["status"] == "D" else 1
        assert ours["amount"] == sign * _minor(theirs["amount"]["amount"], currency)
        assert ours["asset_id"] == asset_for(currency)
        assert ours["date"] == theirs["date"]


def test_bai2_samples_check_their_own_totals(shared_samples: Path) -> None:
    """moov-sample1 is internally consistent: its trailers and summaries all agree."""
    parsed = load_statement(shared_samples / "bai2" / "moov-sample1.txt")
    assert parsed.findings.height == 0
    assert parsed.records.height == 17
    assert parsed.records["amount"].sum() == 0  # 100 and 400 summaries are equal per account
    citi = load_statement(shared_samples / "bai2" / "moj-citi_example.bai2")
    assert citi.records.row(0, named=True)["text"].startswith("FR:FP SIP INCOMING ENDT:20150715")
    rules = set(citi.findings["rule"])
    assert rules == {str(RuleId.STATEMENT_BALANCE_MISMATCH)}  # 100.00 + 0.01 != 100.00


def test_bai2_malformed_continuation_is_one_bad_line(shared_samples: Path) -> None:
    parsed = load_statement(shared_samples / "bai2" / "moov-sample5-issue113.txt")
    bad = parsed.findings.filter(parsed.findings["rule"] == str(RuleId.STATEMENT_BAD_RECORD))
    assert bad["locator"].to_list() == [f"{shared_samples}/bai2/moov-sample5-issue113.txt:63"]
    assert parsed.count("records").rejected == 0
