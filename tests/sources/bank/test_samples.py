"""Every shared sample parses (or fails clearly), agrees with its expected parse and golden file.

The samples live outside the repository (``../shared/samples``), so the list of them comes
from what the repository holds (a golden file per sample, the two meant to fail), never from
the samples folder at collection time; ``test_every_sample_is_covered`` checks at run time
that the folder holds exactly those. Without the folder the tests skip and say why (CI
fails instead).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.sources.bank import ParsedStatement, load_statement
from ledger_audit.sources.bank.amounts import asset_for
from tests.sources.bank.expected import (
    GENKGO_BALANCE_TYPES,
    MT940_BALANCES,
    load_camt_expected,
    load_mt940_expected,
)
from tests.sources.bank.golden import GOLDEN_DIR, check_golden, snapshot

FORMATS = ("bai2", "camt053", "mt940")
_FOLDER_BY_SUFFIX = {".bai2": "bai2", ".txt": "bai2", ".xml": "camt053", ".sta": "mt940"}
MEANT_TO_FAIL = ("bai2/moov-error-sample-parseError.txt", "camt053/camt053.v2.wrong.xml")


def _golden_samples() -> list[str]:
    """``folder/name`` of every sample with a golden file in the repository."""
    names = (path.name.removesuffix(".json") for path in sorted(GOLDEN_DIR.glob("*.json")))
    return [f"{_FOLDER_BY_SUFFIX[Path(name).suffix]}/{name}" for name in names]


def _sample_names() -> list[str]:
    return sorted([*_golden_samples(), *MEANT_TO_FAIL])


def test_every_sample_is_covered(shared_samples: Path) -> None:
    """The samples folder holds exactly the samples (and expected parses) listed here."""
    present = {
        f"{folder}/{path.name}"
        for folder in FORMATS
        for path in (shared_samples / folder).iterdir()
        if not path.name.startswith("LICENSE")
    }
    expected = {
        *_sample_names(),
        *(f"camt053/{name.replace('.xml', '.expected.json')}" for name in _camt_names()),
        *(f"mt940/{name.replace('.sta', '.expected.yml')}" for name in _mt940_names()),
    }
    assert sorted(present - expected) == [], "samples without a golden file or test"
    assert sorted(expected - present) == [], "samples the tests expect but the folder lacks"


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
    """Every camt.053 sample with a golden file has genkgo's parse beside it."""
    return [name.split("/")[1] for name in _golden_samples() if name.startswith("camt053/")]


@pytest.mark.parametrize("name", _camt_names())
def test_camt_agrees_with_genkgo(shared_samples: Path, name: str) -> None:
    expected_name = name.replace(".xml", ".expected.json")
    expected = load_camt_expected(shared_samples / "camt053" / expected_name)
    parsed = load_statement(shared_samples / "camt053" / name)
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
    """Every MT940 sample with a golden file has the ``mt940`` package's parse beside it."""
    return [name.split("/")[1] for name in _golden_samples() if name.startswith("mt940/")]


def _last_balance(parsed: ParsedStatement, kind: str, intermediate: bool) -> dict[str, Any]:
    rows = [
        row
        for row in parsed.balances.iter_rows(named=True)
        if row["kind"] == kind and row["intermediate"] is intermediate
    ]
    assert rows, f"no {kind} balance (intermediate={intermediate})"
    return rows[-1]


@pytest.mark.parametrize("name", _mt940_names())
def test_mt940_agrees_with_the_mt940_package(shared_samples: Path, name: str) -> None:
    expected = load_mt940_expected(shared_samples / "mt940" / name.replace(".sta", ".expected.yml"))
    parsed = load_statement(shared_samples / "mt940" / name)
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
