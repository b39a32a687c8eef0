"""One minimal reconciliation per stage and per break class, with exact expectations."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from ledger_audit.reconcile.aging import BUCKETS, bucket
from ledger_audit.reconcile.breaks import BREAK_SCHEMA
from ledger_audit.reconcile.internal import INTERNAL_SCHEMA, internal_items
from ledger_audit.reconcile.match import MATCH_SCHEMA, reconcile
from ledger_audit.reconcile.subset_sum import solve
from ledger_audit.sources.match_rules import SubsetSumCaps, Tolerance
from tests.reconcile.helpers import (
    HEADER,
    RULES,
    classes,
    day,
    ledger_items,
    matched,
    records,
    run,
    tx,
)
from tests.text_ledger import ledger_from_text, replace_rows

# --- the ledger side ---------------------------------------------------------------------


def test_items_are_posted_latest_versions_signed_in_the_bank_view() -> None:
    text = HEADER + (
        "tx p standard pending at=100 ext=x\n  assets:bank credit 300 USD/2\n"
        "  income debit 300 USD/2\n"
        "tx p/1 standard posted at=90000 ext=x\n  assets:bank credit 300 USD/2\n"
        "  income debit 300 USD/2\n"
        "tx a standard posted at=100\n  assets:bank debit 40 USD/2\n  income credit 40 USD/2\n"
        "tx a/1 standard archived at=200\n  assets:bank debit 40 USD/2\n  income credit 40 USD/2\n"
        "tx q standard pending at=100\n  assets:bank debit 70 USD/2\n  income credit 70 USD/2\n"
    )
    items = internal_items(ledger_from_text(text), RULES)
    assert dict(items.schema) == INTERNAL_SCHEMA
    assert items.select("item_id", "amount", "date").rows() == [("l:p:1:0", -300, day(1))]


def test_batch_key_comes_from_metadata() -> None:
    frames = ledger_from_text(HEADER + tx("t1", 100, 1) + tx("t2", 200, 1))
    transactions = frames.transactions.with_columns(
        pl.lit(json.dumps({"event": "deposit", "payout_id": "po_9"})).alias("metadata")
    )
    items = internal_items(replace_rows(frames, "transactions", transactions), RULES)
    assert items["batch_key"].to_list() == ["po_9", "po_9"]


# --- stages --------------------------------------------------------------------------------


def test_stage_1_strong_key_normalised_case_and_split_list() -> None:
    result = run(
        ledger_items(tx("t1", 500, 1, ext="e-1"), tx("t2", 80, 1, key="k-2")),
        records(
            {"amount": 500, "on": 9, "end_to_end_id": " E-1 "},
            {"amount": 80, "on": 2, "end_to_end_id": "zz;K-2"},
        ),
    )
    assert matched(result) == {
        ("key", "key:external_id=end_to_end_id", "auto", ("t1",), ("r1",)),
        ("key", "key:idempotency_key=end_to_end_id", "auto", ("t2",), ("r2",)),
    }
    assert dict(result.matches.schema) == MATCH_SCHEMA
    assert result.breaks.is_empty()


def test_stage_2_exact_amount_unique_in_the_rail_window() -> None:
    result = run(
        ledger_items(tx("t1", 700, 2, ext="ach-1"), tx("t2", 800, 2)),
        records({"amount": 700, "on": 7}, {"amount": 800, "on": 1}),
    )
    assert matched(result) == {
        ("exact", "exact:ach", "auto", ("t1",), ("r1",)),
        ("exact", "exact:default", "auto", ("t2",), ("r2",)),
    }


def test_decoy_same_amount_outside_the_window_is_no_match() -> None:
    result = run(ledger_items(tx("t1", 700, 2)), records({"amount": 700, "on": 6}))
    assert result.matches.is_empty()
    assert classes(result) == {"t1": "missing_external", "r1": "missing_internal"}


def test_decoy_two_equal_candidates_is_not_stage_2_and_never_auto() -> None:
    result = run(
        ledger_items(tx("t1", 700, 2), tx("t2", 700, 2)),
        records({"amount": 700, "on": 2}),
    )
    assert matched(result) == {("scored", "scored:default", "suggested", ("t1",), ("r1",))}
    assert result.matches["score"].to_list() == [0.8]
    assert classes(result) == {"t2": "in_transit"}  # the statement ends on day 2
    assert result.findings.filter(pl.col("rule") == "recon.suggested_match").height == 1


def test_stage_3_reference_tokens_separate_equal_amounts() -> None:
    result = run(
        ledger_items(tx("t1", 700, 2, ext="inv-00012345"), tx("t2", 700, 2, ext="inv-00099999")),
        records(
            {"amount": 700, "on": 3, "text": "PAYMENT INV 00012345 ACME"},
            {"amount": 700, "on": 3, "text": "PAYMENT INV 00099999 ACME"},
        ),
    )
    # amount 1, date 1 - 1/4, reference 1 of 1 token: (0.5 + 0.3 * 0.75 + 0.2) = 0.925
    assert matched(result) == {
        ("scored", "scored:default", "auto", ("t1",), ("r1",)),
        ("scored", "scored:default", "auto", ("t2",), ("r2",)),
    }
    assert result.matches["score"].to_list() == [0.925, 0.925]


def test_stage_3_tolerance_records_the_difference() -> None:
    rules = replace(RULES, tolerance=Tolerance(absolute=10))
    result = run(
        ledger_items(tx("t1", 1000, 1, ext="ach-00001234"), rules=rules),
        records({"amount": 999, "on": 1, "text": "ACH 00001234"}),
        rules=rules,
    )
    # amount 1 - 1/11, date 1, reference 1: 0.5 * 10/11 + 0.3 + 0.2
    row = result.matches.row(0, named=True)
    assert (row["rule"], row["status"], row["difference"]) == ("scored:ach", "auto", -1)
    assert row["score"] == pytest.approx(0.954545, abs=1e-6)


def test_stage_4_keyed_groups_both_ways() -> None:
    result = run(
        ledger_items(
            tx("t1", 100, 1, ext="PO1"),
            tx("t2", 250, 2, ext="PO1"),
            tx("t3", 900, 3, ext="B7"),
        ),
        records(
            {"amount": 350, "on": 4, "payout_id": "po1"},
            {"amount": 400, "on": 3, "batch_key": "B7"},
            {"amount": 500, "on": 3, "batch_key": "B7"},
        ),
    )
    assert matched(result) == {
        ("group", "group:external_id=payout_id", "auto", ("t1", "t2"), ("r1",)),
        ("group", "group:external_id=batch_key", "auto", ("t3",), ("r2", "r3")),
    }


def test_stage_4_group_beats_an_exact_amount_coincidence() -> None:
    result = run(
        ledger_items(tx("t1", 100, 1, ext="PO1"), tx("t2", 250, 1, ext="PO1"), tx("t9", 350, 1)),
        records({"amount": 350, "on": 2, "payout_id": "PO1"}),
    )
    assert ("group", "group:external_id=payout_id", "auto", ("t1", "t2"), ("r1",)) in matched(
        result
    )
    assert classes(result) == {"t9": "in_transit"}  # the statement ends on day 2


def test_stage_5_unique_subset_is_suggested_unless_rules_allow_auto() -> None:
    items = ledger_items(tx("t1", 120, 1), tx("t2", 340, 2), tx("t3", 1000, 2))
    bank = records({"amount": 460, "on": 3})
    assert matched(run(items, bank)) == {
        ("subset", "subset:unique", "suggested", ("t1", "t2"), ("r1",))
    }
    rules = replace(RULES, subset_sum=SubsetSumCaps(auto_unique=True))
    assert matched(run(items, bank, rules=rules)) == {
        ("subset", "subset:unique", "auto", ("t1", "t2"), ("r1",))
    }


def test_stage_5_capped_pool_never_auto() -> None:
    rules = replace(RULES, subset_sum=SubsetSumCaps(pool=2, max_group=2, auto_unique=True))
    items = ledger_items(tx("t1", 120, 2), tx("t2", 340, 2), tx("t3", 7, 1))
    assert matched(run(items, records({"amount": 460, "on": 2}), rules=rules)) == {
        ("subset", "subset:unique_capped", "suggested", ("t1", "t2"), ("r1",))
    }


def test_stage_5_one_item_many_records() -> None:
    result = run(
        ledger_items(tx("t1", -900, 2)),
        records({"amount": -400, "on": 2}, {"amount": -500, "on": 3}, {"amount": -50, "on": 3}),
    )
    assert ("subset", "subset:unique", "suggested", ("t1",), ("r1", "r2")) in matched(result)
    assert classes(result) == {"r3": "missing_internal"}


def test_ambiguous_subset_stays_suggested_with_a_finding() -> None:
    rules = replace(RULES, subset_sum=SubsetSumCaps(auto_unique=True))
    result = run(
        ledger_items(tx("t1", 100, 1), tx("t2", 200, 1), tx("t3", 100, 2)),
        records({"amount": 300, "on": 2}),
        rules=rules,
    )
    assert matched(result) == {("subset", "subset:ambiguous", "suggested", ("t1", "t2"), ("r1",))}
    assert result.matches["score"].to_list() == [0.5]
    finding = result.findings.filter(pl.col("rule") == "recon.ambiguous_batch")
    assert finding["locator"].to_list() == ["matches(match_id=subset/l:t1:0:0)"]


def test_meet_in_the_middle_counts_and_picks_the_smallest_ids() -> None:
    amounts = np.array([5, 3, 2, 7, 1, 4], dtype=np.int64)
    ids = np.array([10, 11, 12, 13, 14, 15], dtype=np.int64)
    found = solve(amounts, ids, 8, max_group=3)
    # size 2: 5+3, 7+1; size 3: 5+2+1, 3+4+1
    assert found.count == 4
    assert sorted(int(ids[p]) for p in found.first) == [10, 11]
    assert solve(amounts, ids, 100, max_group=6).count == 0


# --- breaks --------------------------------------------------------------------------------


def test_every_break_class() -> None:
    reversal = (
        "tx t8 standard posted at=90000\n  assets:bank debit 60 USD/2\n  income credit 60 USD/2\n"
        "tx t9 reversal posted at=180000 reverses=t8\n  assets:bank credit 60 USD/2\n"
        "  income debit 60 USD/2\n"
    )
    items = ledger_items(
        tx("t1", 500, 1, ext="M5"),  # amount mismatch with r1
        tx("t2", 700, 3, ext="D1"),  # matched by r2, r3 is its duplicate
        tx("t3", 40, 5),  # missing external
        tx("t4", 55, 20),  # in transit: day 20 + 3 > last bank day 19
        reversal,
    )
    bank = records(
        {"amount": 450, "on": 2, "end_to_end_id": "M5"},
        {"amount": 700, "on": 3, "customer_ref": "D1", "text": "dup"},
        {"amount": 700, "on": 3, "customer_ref": "D1", "text": "dup"},
        {"amount": -90, "on": 4, "reversal": True},
        {"amount": 33, "on": 5, "bank_ref": "RR1"},
        {"amount": -33, "on": 6, "bank_ref": "RR1"},
        {"amount": 12, "on": 8},
        {"amount": 10, "on": 9, "account_ref": "OTHER"},
        {"amount": 11, "on": 19, "status": "PDNG"},
    )
    result = run(items, bank, as_of=20)
    assert classes(result) == {
        "t1": "amount_mismatch",
        "r1": "amount_mismatch",
        "r3": "duplicate",
        "t3": "missing_external",
        "t4": "in_transit",
        "t8": "reversal",
        "t9": "reversal",
        "r4": "reversal",
        "r5": "reversal",
        "r6": "reversal",
        "r7": "missing_internal",
        "r8": "unmapped_account",
        "r9": "not_booked",
    }
    assert dict(result.breaks.schema) == BREAK_SCHEMA
    mismatch = result.breaks.filter(pl.col("item_id") == "r1").row(0, named=True)
    assert (mismatch["counterpart"], mismatch["difference"]) == ("l:t1:0:0", 50)
    dup = result.breaks.filter(pl.col("item_id") == "r3").row(0, named=True)
    assert dup["counterpart"] == "r2"
    assert (dup["age_days"], dup["bucket"]) == (17, "8-30")
    rules = dict(zip(result.findings["locator"], result.findings["rule"], strict=True))
    assert rules["bank.csv:3"] == "recon.duplicate_external"
    assert rules["entries(item_id=l:t3:0:0)"] == "recon.missing_external"
    assert result.findings.height == result.breaks.height
    assert result.aging.filter(pl.col("class") == "reversal")["count"].sum() == 5
    assert result.coverage.checked == 6 + 9


@pytest.mark.parametrize(
    ("age", "label"),
    [
        (-3, "0-2"),
        (0, "0-2"),
        (2, "0-2"),
        (3, "3-7"),
        (7, "3-7"),
        (8, "8-30"),
        (30, "8-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "over 90"),
    ],
)
def test_aging_buckets(age: int, label: str) -> None:
    assert pl.select(bucket(pl.lit(age))).item() == label
    assert label in BUCKETS


def test_rates_count_members_per_stage() -> None:
    result = run(
        ledger_items(tx("t1", 500, 1, ext="E1"), tx("t2", 9, 1)),
        records({"amount": 500, "on": 1, "end_to_end_id": "E1"}),
    )
    key = result.rates.filter(pl.col("stage_name") == "key", pl.col("status") == "auto")
    assert key.select("matches", "internal_items", "external_records").row(0) == (1, 1, 1)
    assert key["internal_share"].item() == 0.5
    assert key["external_share"].item() == 1.0


def test_bad_inputs() -> None:
    from ledger_audit.errors import InputError

    bank = records({"amount": 1, "on": 1}, {"amount": 2, "on": 1, "record_id": "r1"})
    with pytest.raises(InputError, match="appears 2 times"):
        reconcile(ledger_items(), bank, RULES, as_of=day(3))


def test_stage_4_sums_are_exact_beyond_int64() -> None:
    """Three items of 2^62 sum to 3 * 2^62, which an Int64 sum wraps to -2^62: no match."""
    big = 2**62
    result = run(
        ledger_items(
            tx("t1", big, 1, ext="PO1"), tx("t2", big, 1, ext="PO1"), tx("t3", big, 1, ext="PO1")
        ),
        records({"amount": -big, "on": 2, "payout_id": "PO1"}),
    )
    assert not any(stage == "group" for stage, *_ in matched(result))
