"""The period filter: records and items outside the close's period are not matched against
its ledger items, they are counted in the coverage, and an item in transit across the
period's end still classifies as in transit.

The period here is days 4..19 (January 5 to 20) with a lookback of 3 days (window from day 1).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ledger_audit.errors import InputError
from ledger_audit.reconcile.match import Reconciliation, reconcile
from ledger_audit.reconcile.normalise import Window
from tests.reconcile.helpers import RULES, classes, day, ledger_items, matched, records, tx

WINDOW = Window(day(4), day(19), lookback=3)


def in_period(items: pl.DataFrame, bank: pl.DataFrame) -> Reconciliation:
    return reconcile(items, bank, RULES, as_of=day(19), window=WINDOW)


def outside_note(result: Reconciliation) -> str:
    notes = [n for n in result.coverage.unproven if "outside the period" in n]
    assert len(notes) == 1, result.coverage.unproven
    return notes[0]


def test_a_record_after_the_period_is_not_matched_and_is_counted() -> None:
    items = ledger_items(tx("t1", 500, 6, ext="ach-1"), tx("t2", 700, 22, ext="ach-2"))
    bank = records(
        {"amount": 500, "on": 6, "customer_ref": "ach-1"},
        {"amount": 700, "on": 22, "customer_ref": "ach-2"},  # the next period's
    )
    result = in_period(items, bank)
    assert matched(result) == {("key", "key:external_id=customer_ref", "auto", ("t1",), ("r1",))}
    assert result.breaks.is_empty()  # neither t2 nor r2 is this period's business
    assert result.findings.is_empty()
    assert outside_note(result) == (
        "1 record(s) and 1 ledger item(s) outside the period 2025-01-05..2025-01-20 "
        "(lookback 3 day(s)), not reconciled"
    )
    # without a period the same inputs match across it
    everything = reconcile(items, bank, RULES, as_of=day(30))
    assert len(matched(everything)) == 2


def test_a_record_after_the_period_cannot_take_an_item_of_the_period() -> None:
    # the bank line of day 21 has the amount and reference of the day-19 item: without the
    # filter it matches; with it, the item is in transit across the period's end
    items = ledger_items(tx("t0", 100, 10, ext="ach-0"), tx("t1", 500, 19, ext="ach-1"))
    bank = records(
        {"amount": 100, "on": 10, "customer_ref": "ach-0"},
        {"amount": 500, "on": 21, "customer_ref": "ach-1"},
    )
    result = in_period(items, bank)
    assert classes(result) == {"t1": "in_transit"}
    assert result.findings["rule"].to_list() == ["recon.in_transit"]
    assert "1 record(s) and 0 ledger item(s)" in outside_note(result)


def test_the_lookback_reconciles_a_carry_over_and_leaves_older_records_out() -> None:
    items = ledger_items(
        tx("t1", 300, 2, ext="ach-1"),  # in transit at the previous close, books on day 5
        tx("t2", 400, 2, ext="ach-2"),  # matched by the previous close's statement
        tx("t3", 900, 0, ext="ach-3"),  # before the lookback
    )
    bank = records(
        {"amount": 300, "on": 5, "customer_ref": "ach-1"},
        {"amount": 800, "on": 0, "customer_ref": "old"},  # before the lookback
        {"amount": 250, "on": 3, "customer_ref": "nobody"},  # in the lookback, no item
    )
    result = in_period(items, bank)
    assert matched(result) == {("key", "key:external_id=customer_ref", "auto", ("t1",), ("r1",))}
    # an open record of the lookback is the statement's: classified; an open ledger item
    # before the period is the previous close's: not a break here
    assert classes(result) == {"r3": "missing_internal"}
    assert "1 record(s) and 2 ledger item(s)" in outside_note(result)


def test_a_window_must_be_a_period() -> None:
    for first, last, lookback in ((day(5), day(4), 0), (day(1), day(2), -1)):
        with pytest.raises(InputError, match="is not a period"):
            Window(first, last, lookback)
    assert Window(day(4), day(19), 3).start == dt.date(2025, 1, 2)
