"""The bank reconciliation statement: it foots, ties out to zero on clean demos, and states
the planted breaks' amounts exactly (from the demo's answer key, the bank's own lines and
the ledger's entries, not from the reconciliation's output)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.close.run import CloseParameters, MonthEndClose, run_close
from ledger_audit.reports.bank_reconciliation import EXPLAINING, LINES, BankReconciliation
from ledger_audit.sources import load_ledger
from tests.conftest import DemoFactory

ADJUSTMENTS = ("deposits_in_transit", "outstanding_payments", "timing", "bank_not_booked")
BREAK_LINES = (
    "deposits_in_transit",
    "outstanding_payments",
    "bank_not_booked",
    "missing_external",
    "amount_mismatch",
    "reversal",
)


def _close(demo_factory: DemoFactory, **demo: object) -> tuple[MonthEndClose, Path]:
    built = demo_factory(**demo)
    assert built.statements is not None
    close = run_close(
        CloseParameters(
            source=str(built.ledger_path),
            period="2025-01",
            statements=tuple(str(p) for p in built.statements.statements),
        )
    )
    return close, built.out_dir


def _statement(close: MonthEndClose) -> BankReconciliation:
    assert close.bank_reconciliation is not None
    return close.bank_reconciliation


def _foots(bank: BankReconciliation, close: MonthEndClose) -> None:
    """bank + adjustments = adjusted; adjusted - ledger = difference = explained + rest."""
    assert close.drift is not None
    end = close.drift.daily.filter(pl.col("day") == close.drift.last_day)
    assert bank.accounts()
    for _, _, ref, asset in bank.accounts():
        line = {key: bank.line(ref, asset, key) for key, _ in LINES}
        assert all(value is not None for value in line.values()), line
        values = {k: int(v) for k, v in line.items() if v is not None}
        adjusted = values["bank"] + sum(values[k] for k in ADJUSTMENTS)
        assert values["adjusted_bank"] == adjusted
        assert values["difference"] == adjusted - values["ledger"]
        explained = sum(values[k] for k in EXPLAINING)
        assert values["difference"] == explained + values["unexplained"]
        row = end.filter((pl.col("account_ref") == ref) & (pl.col("asset_id") == asset))
        assert values["bank"] == int(row["external"].item())
        assert values["ledger"] == int(row["ledger"].item())
        assert values["unexplained"] == int(row["unexplained"].item())
        # each line made of breaks is the sum of its items' effects
        items = bank.items.filter((pl.col("account_ref") == ref) & (pl.col("asset_id") == asset))
        for key in BREAK_LINES:
            mine = items.filter(pl.col("line") == key)
            assert values[key] == sum(mine["effect"].to_list()), key


@pytest.mark.parametrize("seed", [7, 11, 23])
def test_a_clean_demo_reconciles_to_a_difference_of_zero(
    demo_factory: DemoFactory, seed: int
) -> None:
    close, _ = _close(demo_factory, clean=True, seed=seed)
    bank = _statement(close)
    _foots(bank, close)
    assert bank.reconciled
    for _, _, ref, asset in bank.accounts():
        assert bank.line(ref, asset, "difference") == 0
        assert bank.line(ref, asset, "unexplained") == 0
        assert bank.line(ref, asset, "bank") != 0  # a real balance, not a vacuous zero


def _bank_amount(entries: pl.DataFrame, item_id: str) -> int:
    """A ledger item's amount in the bank's sign (a debit to the bank account is money in)."""
    ledger_id, transaction_id, version, index = item_id.split(":")
    row = entries.filter(
        (pl.col("ledger_id") == ledger_id)
        & (pl.col("transaction_id") == transaction_id)
        & (pl.col("version") == int(version))
        & (pl.col("entry_index") == int(index))
    )
    assert row.height == 1, item_id
    amount = int(row["amount"].item())
    return amount if row["direction"].item() == "debit" else -amount


def test_the_planted_breaks_are_stated_to_the_minor_unit(demo_factory: DemoFactory) -> None:
    close, out = _close(demo_factory)
    bank = _statement(close)
    _foots(bank, close)
    key = json.loads((out / "recon_answer_key.json").read_text(encoding="utf-8"))
    truth = json.loads((out / "statements" / "truth.json").read_text(encoding="utf-8"))
    bank_line = {t["bank_ref"]: int(t["amount"]) for t in truth}
    entries, _ = load_ledger(out / "ledger.sqlite")
    ledger_entries = entries.entries
    accounts = {account_id: (ref, asset) for _, account_id, ref, asset in bank.accounts()}

    expected: dict[tuple[str, str, str], int] = defaultdict(int)
    planted = 0
    for anomaly in key:
        if anomaly["account_id"] not in accounts:
            continue  # a processor payout: not a bank account's statement
        ref, asset = accounts[anomaly["account_id"]]
        rule = anomaly["rule"]
        if rule in ("recon.missing_internal", "recon.duplicate_external"):
            line, effect = "bank_not_booked", -bank_line[anomaly["bank_ref"]]
        elif rule == "recon.missing_external":
            line, effect = "missing_external", -_bank_amount(ledger_entries, anomaly["item_id"])
        elif rule == "recon.in_transit":
            amount = _bank_amount(ledger_entries, anomaly["item_id"])
            line = "deposits_in_transit" if amount >= 0 else "outstanding_payments"
            effect = amount
        elif rule == "recon.amount_mismatch":
            line = "amount_mismatch"
            effect = bank_line[anomaly["bank_ref"]] - _bank_amount(
                ledger_entries, anomaly["item_id"]
            )
        else:
            continue  # a suggested match: both sides booked, it explains nothing at the end
        expected[(ref, asset, line)] += effect
        planted += 1
    assert planted == 6  # fee, duplicate, missing deposit, in transit, two amount mismatches
    assert expected[("US00DEMO0000000001", "USD/2", "bank_not_booked")] == 3105 + 11616
    for ref, asset in accounts.values():
        for line in BREAK_LINES:
            assert bank.line(ref, asset, line) == expected.get((ref, asset, line), 0), line
        assert bank.line(ref, asset, "unexplained") == 0
    assert not bank.reconciled  # the planted ledger-side breaks leave a difference
    assert bank.line("US00DEMO0000000001", "USD/2", "difference") == -626533 - 399
    assert bank.line("DE00DEMO0000000002", "EUR/2", "difference") == -293
