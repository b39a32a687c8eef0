"""Processor payouts tied out three ways: one minimal reproducer per way a payout fails to tie.

An acquirer's balance (``stripe``, processor = true) is the ledger's ``assets:psp``: a charge
debits it, the processor's fee and the payout to the bank credit it. Payout ``po_1`` pays out
one charge of 10.00 net of a 0.30 fee: 9.70 to the bank.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.errors import InputError
from ledger_audit.reconcile.internal import internal_items
from ledger_audit.reconcile.match import Reconciliation, reconcile
from ledger_audit.reconcile.payouts import PAYOUT_SCHEMA
from ledger_audit.sources.match_rules import (
    BankAccount,
    MatchRules,
    Rail,
    parse_match_rules,
    read_match_rules,
)
from tests.conftest import PROJECT_ROOT
from tests.reconcile.helpers import DAY, day, records
from tests.text_ledger import ledger_from_text

RULES = MatchRules(
    version="test",
    accounts=(
        BankAccount("ACC", "USD/2", "assets:bank"),
        BankAccount("stripe", "USD/2", "assets:psp", processor=True),
    ),
    default_rail=Rail("default", 1, 3),
)

HEADER = """
account assets:bank debit USD/2
account assets:psp debit USD/2
account income credit USD/2
account expenses:fees debit USD/2
"""

CHARGE = (
    f"tx c1 standard posted at={DAY} ext=ch_1\n"
    "  assets:psp debit 1000 USD/2\n  income credit 1000 USD/2\n"
)
FEE = (
    f"tx f1 standard posted at={DAY} ext=po_1\n"
    "  expenses:fees debit 30 USD/2\n  assets:psp credit 30 USD/2\n"
)


def payout(amount: int = 970) -> str:
    return (
        f"tx p1 standard posted at={3 * DAY} ext=po_1\n  assets:bank debit {amount} USD/2\n"
        f"  assets:psp credit {amount} USD/2\n"
    )


def processor(*, fee: bool = True, refund: int = 0) -> list[dict[str, Any]]:
    base = {"account_ref": "stripe", "file": "stripe.csv", "payout_id": "po_1", "batch_key": "po_1"}
    rows = [
        base
        | {"record_id": "txn_1", "amount": 1000, "on": 1, "tx_id": "ch_1", "type_code": "charge"}
    ]
    if fee:
        rows.append(base | {"record_id": "txn_1:fee", "amount": -30, "on": 1, "type_code": "fee"})
    if refund:
        rows.append(
            base
            | {
                "record_id": "txn_2",
                "amount": -refund,
                "on": 2,
                "tx_id": "re_1",
                "type_code": "refund",
            }
        )
    net = 1000 - (30 if fee else 0) - refund
    rows.append(
        base
        | {"record_id": "txn_9", "amount": -net, "on": 3, "tx_id": "po_1", "type_code": "payout"}
    )
    return rows


def bank_line(amount: int = 970, text: str = "STRIPE PAYOUT po_1") -> dict[str, Any]:
    return {"amount": amount, "on": 3, "text": text, "record_id": "b1"}


def run(ledger: str, rows: list[dict[str, Any]]) -> Reconciliation:
    items = internal_items(ledger_from_text(HEADER + ledger), RULES)
    numbered = [{"line": n} | r for n, r in enumerate(rows, start=1)]
    return reconcile(items, records(*numbered), RULES, as_of=day(5))


def only_payout(result: Reconciliation) -> dict[str, Any]:
    assert dict(result.payouts.schema) == PAYOUT_SCHEMA
    assert result.payouts.height == 1
    return result.payouts.row(0, named=True)


def test_a_payout_that_ties_three_ways() -> None:
    result = run(CHARGE + FEE + payout(), [*processor(), bank_line()])
    row = only_payout(result)
    assert (row["gross"], row["fees"], row["payout"]) == (1000, -30, -970)
    assert (row["ledger_gross"], row["ledger_fees"], row["ledger_payout"]) == (1000, -30, -970)
    assert (row["bank_amount"], row["bank_ref"], row["status"], row["untied"]) == (
        970,
        None,
        "tied",
        "",
    )
    assert result.breaks.is_empty()
    assert result.findings.is_empty()


def test_a_fee_not_booked() -> None:
    result = run(CHARGE + payout(), [*processor(), bank_line()])
    assert only_payout(result)["untied"] == "fees"
    finding = result.findings.row(0, named=True)
    assert result.findings.height == 1  # the fee record's own break raises no finding
    assert (finding["rule"], finding["severity"], finding["locator"]) == (
        "recon.payout_untied",
        "high",
        "stripe.csv:3",  # the payout record
    )
    assert finding["message"] == (
        "payout po_1 does not tie: fees -30 USD/2 on the processor, 0 USD/2 booked in the ledger"
    )
    assert (finding["expected"], finding["actual"], finding["difference"]) == (
        "-30 USD/2",
        "0 USD/2",
        "30",
    )
    fee = result.breaks.filter(pl.col("item_id") == "txn_1:fee")
    assert fee["class"].to_list() == ["missing_internal"]  # still listed, classified


def test_a_net_that_differs_from_the_bank_line() -> None:
    result = run(CHARGE + FEE + payout(), [*processor(), bank_line(960)])
    row = only_payout(result)
    assert (row["untied"], row["bank_amount"]) == ("bank", 960)
    payout_findings = result.findings.filter(pl.col("rule") == "recon.payout_untied")
    assert payout_findings["message"].to_list() == [
        "payout po_1 does not tie: net -970 USD/2 against bank line 960 USD/2"
    ]
    # the bank side is a two-way break of its own (the ledger's line may still come)
    assert set(result.breaks.filter(pl.col("account_ref") == "ACC")["class"]) == {
        "missing_internal",
        "in_transit",
    }


def test_a_payout_no_bank_line_names() -> None:
    result = run(CHARGE + FEE + payout(), [*processor(), bank_line(text="TRANSFER")])
    row = only_payout(result)
    assert (row["untied"], row["bank_amount"]) == ("bank", None)
    assert result.findings.filter(pl.col("rule") == "recon.payout_untied")["message"].to_list() == [
        "payout po_1 does not tie: net -970 USD/2 against no bank line naming it"
    ]


def test_a_refund_not_booked() -> None:
    result = run(CHARGE + FEE + payout(950), [*processor(refund=20), bank_line(950)])
    row = only_payout(result)
    assert (row["refunds"], row["ledger_refunds"]) == (-20, 0)
    assert (row["payout"], row["ledger_payout"]) == (-950, -950)
    assert row["untied"] == "refunds"


def test_a_ledger_payout_of_another_amount() -> None:
    result = run(CHARGE + FEE + payout(960), [*processor(), bank_line()])
    row = only_payout(result)
    assert (row["untied"], row["ledger_payout"], row["ledger_payout_item"]) == (
        "payout",
        -960,
        "l:p1:0:1",
    )
    messages = result.findings.filter(pl.col("rule") == "recon.payout_untied")["message"]
    assert messages.to_list() == [
        (
            "payout po_1 does not tie: payout -970 USD/2 on the processor, -960 USD/2 booked "
            "in the ledger"
        )
    ]
    # the ledger's payout item on the processor account is absorbed by the payout's finding
    assert result.findings.filter(pl.col("locator").str.contains("l:p1:0:1")).is_empty()


def test_records_paid_out_later_are_checked_without_a_payout() -> None:
    rows = [r for r in processor() if r["type_code"] != "payout"]
    result = run(CHARGE + FEE, rows)
    row = only_payout(result)
    assert (row["payout"], row["bank_amount"], row["status"]) == (None, None, "tied")


@settings(max_examples=20, deadline=None)
@given(
    fee_booked=st.booleans(),
    ledger_short=st.sampled_from([0, 10]),
    bank_short=st.sampled_from([0, 10]),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_payout_ties_exactly_when_every_part_agrees_whatever_the_order(
    fee_booked: bool, ledger_short: int, bank_short: int, seed: int
) -> None:
    ledger = CHARGE + (FEE if fee_booked else "") + payout(970 - ledger_short)
    rows = [*processor(), bank_line(970 - bank_short)]
    numbered = [{"line": n} | r for n, r in enumerate(rows, start=1)]
    items = internal_items(ledger_from_text(HEADER + ledger), RULES)
    bank = records(*numbered)
    first = reconcile(items, bank, RULES, as_of=day(5))
    again = reconcile(
        items.sample(fraction=1.0, shuffle=True, seed=seed),
        bank.sample(fraction=1.0, shuffle=True, seed=seed + 1),
        RULES,
        as_of=day(5),
    )
    assert first.payouts.equals(again.payouts, null_equal=True)
    assert first.findings.equals(again.findings, null_equal=True)
    expected = [
        part
        for part, fails in (
            ("fees", not fee_booked),
            ("payout", ledger_short != 0),
            ("bank", bank_short != 0),
        )
        if fails
    ]
    row = only_payout(first)
    assert row["untied"] == ",".join(expected)
    assert row["status"] == ("untied" if expected else "tied")
    assert first.findings.filter(pl.col("rule") == "recon.payout_untied").height == (
        1 if expected else 0
    )


def test_the_default_rules_map_the_processor_balance_and_a_bad_flag_is_named() -> None:
    rules = read_match_rules(PROJECT_ROOT / "rules" / "default.toml")
    assert rules.processor_refs() == {("stripe", "USD/2"), ("stripe", "EUR/2")}
    assert rules.lookback_days == 5  # the ACH rail's five days after
    assert {a.account_ref for a in rules.bank_accounts().accounts} == {
        "US00DEMO0000000001",
        "DE00DEMO0000000002",
    }
    text = (
        'version = "v"\n[[accounts]]\naccount_ref = "stripe"\nasset_id = "USD/2"\n'
        'account_id = "assets:psp"\nprocessor = "yes"\n'
    )
    with pytest.raises(InputError) as caught:
        parse_match_rules(text, "rules.toml")
    assert str(caught.value) == ("rules.toml:6: accounts[0].processor: must be a bool, got 'yes'")
