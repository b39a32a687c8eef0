"""Minimal reproducers for balance.drift, period.backdated_into_closed and
payment.duplicate_suspected, each with its exact message, and the clean case of each."""

from __future__ import annotations

import polars as pl

from ledger_audit.checks.drift import check_balance_drift
from ledger_audit.checks.duplicates import check_duplicate_payments
from ledger_audit.checks.period import check_backdated
from ledger_audit.spec import VerifySpec
from tests.text_ledger import ledger_from_text

SPEC = VerifySpec()

WALLET = """
ledger l closed_through=100
account assets:bank debit USD/2
account liabilities:wallet:a credit USD/2 no-negative
account liabilities:wallet:b credit USD/2 no-negative
tx t1 standard posted at=10 key=k1
  assets:bank debit 500 USD/2
  liabilities:wallet:a credit 500 USD/2
tx t2 pending pending at=20 key=k2
  liabilities:wallet:a debit 200 USD/2
  liabilities:wallet:b credit 200 USD/2
"""


def test_stored_balances_equal_to_the_replay_are_no_drift() -> None:
    frames = ledger_from_text(
        WALLET
        + """
balance assets:bank USD/2 500 0 0 0 as_of=20
balance liabilities:wallet:a USD/2 0 500 200 0 as_of=20
balance liabilities:wallet:b USD/2 0 0 0 200 as_of=20
"""
    )
    result = check_balance_drift(frames, SPEC)
    assert result.findings.is_empty()
    assert result.status == "passed"
    assert result.coverage.checked == 3


def test_a_stored_balance_is_compared_at_its_own_as_of() -> None:
    """At as_of=15 the hold of t2 (recorded at 20) does not count yet, for wallet a nor b;
    the bank's balance exists by then but has no stored row."""
    frames = ledger_from_text(WALLET + "balance liabilities:wallet:a USD/2 0 500 0 0 as_of=15\n")
    result = check_balance_drift(frames, SPEC)
    assert result.findings["account_id"].to_list() == ["assets:bank"]
    assert result.findings["actual"].to_list() == ["no stored row"]
    assert result.findings["message"].to_list() == [
        (
            "no stored balance of assets:bank in USD/2, but the replay as of "
            "2025-01-01T00:00:15.000000000Z has posted_debits 500 USD/2"
        )
    ]


def test_drift_names_the_cell_and_the_difference() -> None:
    frames = ledger_from_text(WALLET + "balance liabilities:wallet:a USD/2 0 480 200 0 as_of=20\n")
    drift = check_balance_drift(frames, SPEC).findings.filter(
        pl.col("account_id") == "liabilities:wallet:a"
    )
    (row,) = drift.to_dicts()
    assert row["rule"] == "balance.drift"
    assert row["severity"] == "high"
    assert row["locator"] == (
        "balances(ledger_id=l, account_id=liabilities:wallet:a, asset_id=USD/2)"
    )
    assert row["message"] == (
        "stored balance of liabilities:wallet:a in USD/2 differs from the replay as of "
        "2025-01-01T00:00:20.000000000Z: stored minus replayed is posted_credits -20 USD/2"
    )
    assert row["expected"] == (
        "posted_debits=0 USD/2, posted_credits=500 USD/2, pending_debits=200 USD/2, "
        "pending_credits=0 USD/2"
    )
    assert row["difference"] == "posted_credits -20 USD/2"


def test_a_ledger_without_stored_balances_is_unproven_not_passed() -> None:
    result = check_balance_drift(ledger_from_text(WALLET), SPEC)
    assert result.status == "no data"
    assert result.coverage.unproven == (
        "ledger l has no stored balances: its cache could not be compared",
    )


def test_backdated_into_the_closed_period() -> None:
    frames = ledger_from_text(
        WALLET
        + """
tx t3 adjustment posted at=150 eff=90 key=k3
  assets:bank debit 7 USD/2
  liabilities:wallet:a credit 7 USD/2
"""
    )
    result = check_backdated(frames, SPEC)
    (row,) = result.findings.to_dicts()
    assert (row["rule"], row["transaction_id"], row["chain_seq"]) == (
        "period.backdated_into_closed",
        "t3",
        3,
    )
    assert row["message"] == (
        "t3 version 0 (adjustment) takes effect 2025-01-01T00:01:30.000000000Z, inside the "
        "period closed through 2025-01-01T00:01:40.000000000Z, but was recorded "
        "2025-01-01T00:02:30.000000000Z"
    )
    assert result.coverage.checked == 3


def test_a_late_entry_recorded_before_the_close_is_not_backdated() -> None:
    """closed_at says when the books were closed: t3 was recorded before that."""
    text = WALLET.replace("closed_through=100", "closed_through=100 closed_at=200")
    frames = ledger_from_text(
        text
        + """
tx t3 adjustment posted at=150 eff=90
  assets:bank debit 7 USD/2
  liabilities:wallet:a credit 7 USD/2
"""
    )
    result = check_backdated(frames, SPEC)
    assert result.findings.is_empty()
    assert result.coverage.unproven == ()


def test_a_ledger_without_a_close_has_nothing_to_check() -> None:
    frames = ledger_from_text(WALLET.replace(" closed_through=100", ""))
    result = check_backdated(frames, SPEC)
    assert result.status == "no data"
    assert result.coverage.unproven == ("ledger l records no closed period",)


def test_the_same_payment_twice_within_the_window() -> None:
    frames = ledger_from_text(
        WALLET
        + """
tx t3 standard posted at=30 key=k3
  liabilities:wallet:a debit 50 USD/2
  liabilities:wallet:b credit 50 USD/2
tx t4 standard posted at=90 key=k4
  liabilities:wallet:a debit 50 USD/2
  liabilities:wallet:b credit 50 USD/2
"""
    )
    (row,) = check_duplicate_payments(frames, SPEC).findings.to_dicts()
    assert (row["rule"], row["transaction_id"], row["chain_seq"]) == (
        "payment.duplicate_suspected",
        "t4",
        4,
    )
    assert row["message"] == (
        "t4 repeats the legs of t3 (seq 3) 60 s later under another idempotency key"
    )


def test_payments_with_different_external_ids_are_not_duplicates() -> None:
    """The same fee charged twice at once, each with its own reference: two payments."""
    frames = ledger_from_text(
        WALLET
        + """
tx t3 standard posted at=30 ext=fee-1
  liabilities:wallet:a debit 50 USD/2
  liabilities:wallet:b credit 50 USD/2
tx t4 standard posted at=30 ext=fee-2
  liabilities:wallet:a debit 50 USD/2
  liabilities:wallet:b credit 50 USD/2
tx t5 standard posted at=31
  liabilities:wallet:a debit 50 USD/2
  liabilities:wallet:b credit 50 USD/2
tx t6 standard posted at=32 ext=fee-1
  liabilities:wallet:a debit 50 USD/2
  liabilities:wallet:b credit 50 USD/2
"""
    )
    (row,) = check_duplicate_payments(frames, SPEC).findings.to_dicts()
    assert (row["transaction_id"], row["message"]) == (
        "t6",
        "t6 repeats the legs of t3 (seq 3) 2 s later under another idempotency key",
    )


def test_payments_further_apart_than_the_window_are_not_duplicates() -> None:
    frames = ledger_from_text(
        WALLET
        + """
tx t3 standard posted at=30
  liabilities:wallet:a debit 50 USD/2
  liabilities:wallet:b credit 50 USD/2
tx t4 standard posted at=90
  liabilities:wallet:a debit 50 USD/2
  liabilities:wallet:b credit 50 USD/2
tx t5 standard posted at=91
  liabilities:wallet:a debit 51 USD/2
  liabilities:wallet:b credit 51 USD/2
"""
    )
    result = check_duplicate_payments(frames, VerifySpec(duplicate_window_ns=60 * 10**9))
    assert result.findings.is_empty()
    assert result.status == "passed"
    assert result.coverage.checked == 5
