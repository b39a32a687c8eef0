"""Reconciliation's reporting sums at the int64 boundary: exact figures, and no false tie.

``G`` fits int64 but ``2 * G`` (3 * 2^62) does not: an Int64 sum of two ``G`` wraps to -2^62.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from ledger_audit.cli import render_breaks
from ledger_audit.reconcile.aging import AGING_SCHEMA
from ledger_audit.reconcile.match import MATCH_SCHEMA
from ledger_audit.reconcile.payouts import PAYOUT_SCHEMA
from ledger_audit.reconcile.subset_sum import solve
from tests.reconcile.helpers import ledger_items, records, run, tx
from tests.reconcile.test_payouts import run as run_payout

G = 2**62 + 2**61
WRAPPED = 2 * G - 2**64  # what an Int64 sum of two G gives: -2^62


def test_an_aging_bucket_past_int64_is_exact() -> None:
    result = run(ledger_items(tx("t1", G, 1), tx("t2", G, 1)), records(), as_of=2)
    assert dict(result.aging.schema) == AGING_SCHEMA
    (row,) = result.aging.select("bucket", "count", "amount").rows()
    assert row == ("0-2", 2, Decimal(2 * G))
    assert f"{Decimal(2 * G).scaleb(-2):.2f} USD" in render_breaks(result.breaks)


def _processor(record_id: str, amount: int, tx_id: str, part: str) -> dict[str, Any]:
    return {
        "account_ref": "stripe",
        "file": "stripe.csv",
        "payout_id": "po_1",
        "batch_key": "po_1",
        "record_id": record_id,
        "amount": amount,
        "on": 1,
        "tx_id": tx_id,
        "type_code": part,
    }


def test_a_payout_whose_parts_wrap_does_not_tie() -> None:
    """Two charges of G, paid out in two payout records of -G; the bank line moves 2^62.

    Summed in Int64 the payout is -2^62 and that bank line is minus it: a false tie.
    """
    ledger = "".join(
        f"tx c{n} standard posted at=86400 ext=ch_{n}\n"
        f"  assets:psp debit {G} USD/2\n  income credit {G} USD/2\n"
        for n in (1, 2)
    )
    rows = [
        _processor("txn_1", G, "ch_1", "charge"),
        _processor("txn_2", G, "ch_2", "charge"),
        _processor("txn_8", -G, "po_1a", "payout"),
        _processor("txn_9", -G, "po_1b", "payout"),
        {"amount": -WRAPPED, "on": 3, "text": "STRIPE PAYOUT po_1", "record_id": "b1"},
    ]
    result = run_payout(ledger, rows)
    assert dict(result.payouts.schema) == PAYOUT_SCHEMA
    assert dict(result.matches.schema) == MATCH_SCHEMA
    row = result.payouts.row(0, named=True)
    assert (row["gross"], row["ledger_gross"]) == (Decimal(2 * G), Decimal(2 * G))
    assert row["payout"] == Decimal(-2 * G)
    assert row["bank_amount"] == -WRAPPED
    assert row["status"] == "untied"
    assert "bank" in row["untied"].split(",")
    assert "gross" not in row["untied"].split(",")
    untied = result.findings.filter(pl.col("rule") == "recon.payout_untied")
    (locator, message) = untied.select("locator", "message").row(0)  # one, at the first record
    assert (untied.height, locator) == (1, "stripe.csv:3")
    assert f"net {-2 * G} USD/2 against bank line {-WRAPPED} USD/2" in message


def test_a_subset_sum_that_wraps_is_no_solution() -> None:
    """Four 2^62 and a 5 add up to 2^64 + 5, which int64 holds as 5: not the target 5."""
    amounts = np.array([2**62] * 4 + [5], dtype=np.int64)
    ids = np.arange(5, dtype=np.int64)
    assert solve(amounts, ids, 5, 5).count == 0
    assert solve(amounts, ids, 2**62 + 5, 5).first == (0, 4)  # an exact one is still found
