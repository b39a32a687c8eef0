"""One minimal reproducer per invariant rule, each with its exact message (frame path), and
the clean case that must give nothing."""

from __future__ import annotations

import polars as pl
import pytest

from ledger_audit.checks.invariants import check_invariant_suites, check_invariants
from ledger_audit.findings import CheckResult, RuleId
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import VerifySpec
from tests.text_ledger import ledger_from_text, replace_rows

SPEC = VerifySpec()

ACCOUNTS = """
ledger l
account assets:bank debit USD/2
account liabilities:wallet:a credit USD/2 no-negative
account liabilities:wallet:b credit USD/2 no-negative
account equity:fx credit *
"""

DEPOSIT = """
tx t1 standard posted at=10 key=k1 ext=e1
  assets:bank debit 500 USD/2
  liabilities:wallet:a credit 500 USD/2
"""


def run(text: str) -> CheckResult:
    return check_invariants(ledger_from_text(ACCOUNTS + text), SPEC)


def only(result: CheckResult, rule: str) -> list[dict[str, object]]:
    return result.findings.filter(pl.col("rule") == rule).to_dicts()


def test_a_clean_ledger_passes_every_invariant() -> None:
    result = run(
        DEPOSIT
        + """
tx t2 pending pending at=20 key=k2
  liabilities:wallet:a debit 200 USD/2
  liabilities:wallet:b credit 200 USD/2
tx t2/1 post_pending posted at=30 key=k3
  liabilities:wallet:a debit 150 USD/2
  liabilities:wallet:b credit 150 USD/2
tx r1 reversal posted at=40 key=k4 reverses=t2
  liabilities:wallet:a credit 150 USD/2
  liabilities:wallet:b debit 150 USD/2
tx t3 standard posted at=50 key=k1
  assets:bank debit 500 USD/2
  liabilities:wallet:a credit 500 USD/2
"""
    )
    assert result.findings.is_empty(), result.findings.to_dicts()
    assert result.status == "passed"
    assert result.coverage.checked == 5


def test_an_empty_ledger_is_no_data() -> None:
    result = check_invariants(LedgerFrames.empty(), SPEC)
    assert result.status == "no data"


def test_suites_off_is_no_data() -> None:
    result = check_invariant_suites(LedgerFrames.empty(), VerifySpec(suites="off"))
    assert result.status == "no data"
    assert result.findings.is_empty()


def test_unbalanced_version_and_ledger() -> None:
    result = run(
        """
tx t1 standard posted at=10
  assets:bank debit 500 USD/2
  liabilities:wallet:a credit 400 USD/2
"""
    )
    (row,) = only(result, "entry.unbalanced")
    assert row["message"] == "t1 v0 does not balance in USD/2: debits 500 USD/2, credits 400 USD/2"
    assert row["locator"] == (
        "transactions(ledger_id=l, transaction_id=t1, version=0, chain_seq=1, asset_id=USD/2)"
    )
    assert (row["expected"], row["actual"], row["difference"]) == (
        "debits = credits in USD/2",
        "debits 500 USD/2, credits 400 USD/2",
        "100 USD/2",
    )
    assert row["severity"] == "critical"
    (ledger,) = only(result, "ledger.unbalanced")
    assert ledger["message"] == (
        "ledger l does not balance in USD/2 over its posted versions: "
        "posted debits 500 USD/2, posted credits 400 USD/2"
    )


def test_zero_amount() -> None:
    result = run(
        """
tx t1 standard posted at=10
  assets:bank debit 0 USD/2
  liabilities:wallet:a credit 0 USD/2
"""
    )
    rows = only(result, "entry.invalid_amount")
    assert [r["message"] for r in rows] == [
        "entry 0 of t1 v0 has amount 0 USD/2: amounts are positive integers in minor units",
        "entry 1 of t1 v0 has amount 0 USD/2: amounts are positive integers in minor units",
    ]


def test_unknown_account_and_asset_mismatch() -> None:
    result = run(
        """
tx t1 standard posted at=10
  assets:safe debit 500 USD/2
  liabilities:wallet:a credit 500 USD/2
tx t2 standard posted at=20
  equity:fx debit 300 EUR/2
  liabilities:wallet:a credit 300 EUR/2
"""
    )
    (unknown,) = only(result, "entry.unknown_account")
    assert unknown["message"] == (
        "entry 0 of t1 v0 posts to assets:safe, which is not an account of ledger l"
    )
    (mismatch,) = only(result, "entry.asset_mismatch")
    assert mismatch["message"] == (
        "entry 1 of t2 v0 posts EUR/2 to liabilities:wallet:a, a single-asset account in USD/2"
    )
    assert mismatch["locator"] == (
        "entries(ledger_id=l, transaction_id=t2, version=0, chain_seq=2, "
        "account_id=liabilities:wallet:a, asset_id=EUR/2)"
    )


def test_unknown_asset_and_orphan_entry() -> None:
    frames = ledger_from_text(ACCOUNTS + DEPOSIT)
    frames = replace_rows(frames, "assets", frames.assets.filter(pl.col("asset_id") != "USD/2"))
    orphan = frames.entries.head(1).with_columns(pl.lit(7, dtype=pl.Int32()).alias("version"))
    frames = replace_rows(frames, "entries", pl.concat([frames.entries, orphan]))
    result = check_invariants(frames, SPEC)
    assert "entry 0 of t1 v0 uses asset USD/2, which is not registered with a known scale" in [
        r["message"] for r in only(result, "entry.unknown_asset")
    ]
    (row,) = only(result, "entry.orphan")
    assert row["message"] == "entry 0 of t1 v7 belongs to no transaction version"


def test_a_posted_version_without_entries() -> None:
    """Its legs deleted, it balances and moves nothing: only this rule reports it. A pending
    version without entries holds nothing and is not reported."""
    result = run(
        DEPOSIT
        + """
tx t2 standard posted at=20 key=k2
tx t3 pending pending at=30 key=k3
"""
    )
    assert [(r["rule"], r["transaction_id"]) for r in result.findings.to_dicts()] == [
        ("entry.empty_version", "t2")
    ]
    (row,) = only(result, "entry.empty_version")
    assert row["message"] == "t2 v0 is posted but has no entries: it moves nothing"
    assert (row["expected"], row["actual"]) == ("the entries of a posted version", "no entries")
    assert row["severity"] == "critical"
    assert row["chain_seq"] == 2


def test_a_posted_transaction_is_final() -> None:
    result = run(
        DEPOSIT
        + """
tx t1/1 void_pending archived at=20
  assets:bank debit 500 USD/2
  liabilities:wallet:a credit 500 USD/2
"""
    )
    (row,) = only(result, "status.invalid_move")
    assert row["message"] == "t1 v1 follows v0, which is posted: posted and archived are final"
    assert row["actual"] == "posted -> a new version"


def test_a_pending_transaction_is_resolved_once() -> None:
    result = run(
        """
tx t2 pending pending at=10
  liabilities:wallet:a debit 200 USD/2
  liabilities:wallet:b credit 200 USD/2
tx t3 post_pending posted at=20 pending=t2
  liabilities:wallet:a debit 200 USD/2
  liabilities:wallet:b credit 200 USD/2
tx t4 post_pending posted at=30 pending=t2
  liabilities:wallet:a debit 100 USD/2
  liabilities:wallet:b credit 100 USD/2
"""
    )
    (row,) = only(result, "status.invalid_move")
    assert row["message"] == "t4 v0 resolves pending t2 again: t3 v0 (seq 2) resolved it first"
    assert row["chain_seq"] == 3


def test_posting_more_than_the_pending_amount() -> None:
    result = run(
        DEPOSIT
        + """
tx t2 pending pending at=20
  liabilities:wallet:a debit 200 USD/2
  liabilities:wallet:b credit 200 USD/2
tx t2/1 post_pending posted at=30
  liabilities:wallet:a debit 300 USD/2
  liabilities:wallet:b credit 300 USD/2
"""
    )
    (row,) = only(result, "pending.overposted")
    assert (
        row["message"] == "t2 v1 posts 300 USD/2, more than the 200 USD/2 pending in t2 v0 (seq 2)"
    )
    assert row["difference"] == "100 USD/2"


def test_an_idempotency_key_reused_for_another_payload() -> None:
    result = run(
        DEPOSIT
        + """
tx t2 standard posted at=20 key=k1
  assets:bank debit 600 USD/2
  liabilities:wallet:a credit 600 USD/2
tx t3 standard posted at=30 key=k1
  assets:bank debit 500 USD/2
  liabilities:wallet:a credit 500 USD/2
"""
    )
    (row,) = only(result, "idempotency.conflict")  # t3 repeats t1's payload: a replay
    assert row["message"] == (
        "t2 v0 reuses idempotency key k1 of t1 v0 (seq 1) with a different payload"
    )
    assert row["chain_seq"] == 2


def test_an_external_id_reused_by_an_unlinked_transaction() -> None:
    result = run(
        DEPOSIT
        + """
tx t2 standard posted at=20 ext=e1
  assets:bank debit 600 USD/2
  liabilities:wallet:a credit 600 USD/2
tx t3 post_pending posted at=30 ext=e1 pending=t1
  assets:bank debit 1 USD/2
  liabilities:wallet:a credit 1 USD/2
"""
    )
    (row,) = only(result, "payment.duplicate_suspected")
    assert row["message"] == (
        "t2 v0 reuses external id e1 of t1 v0 (seq 1), an earlier transaction it is not linked to"
    )
    assert row["severity"] == "medium"


def test_reversals_not_inverse_and_twice() -> None:
    result = run(
        DEPOSIT
        + """
tx r1 reversal posted at=20 reverses=t1
  assets:bank credit 400 USD/2
  liabilities:wallet:a debit 400 USD/2
tx r2 reversal posted at=30 reverses=t1
  assets:bank credit 500 USD/2
  liabilities:wallet:a debit 500 USD/2
tx r3 reversal posted at=40 reverses=t9
  assets:bank credit 5 USD/2
  liabilities:wallet:a debit 5 USD/2
"""
    )
    assert [r["message"] for r in only(result, "reversal.not_inverse")] == [
        (
            "r1 v0 is not the exact inverse of t1 v0 (seq 1): in USD/2 it debits 400 USD/2 "
            "where the original credits 500 USD/2"
        ),
        "r3 v0 reverses t9, which has no posted version",
    ]
    (twice,) = only(result, "reversal.duplicate")
    assert twice["message"] == "r2 v0 reverses t1 again: r1 v0 (seq 2) reversed it first"


def test_a_no_negative_wallet_overdrawn_by_a_hold() -> None:
    result = run(
        DEPOSIT
        + """
tx t2 pending pending at=20
  liabilities:wallet:a debit 600 USD/2
  liabilities:wallet:b credit 600 USD/2
tx t2/1 void_pending archived at=30
  liabilities:wallet:a debit 600 USD/2
  liabilities:wallet:b credit 600 USD/2
tx t3 standard posted at=40
  liabilities:wallet:a debit 700 USD/2
  assets:bank credit 700 USD/2
"""
    )
    rows = only(result, "balance.negative_not_allowed")
    assert [r["message"] for r in rows] == [
        (
            "t2 v0 takes liabilities:wallet:a (no negative balance allowed) from 500 USD/2 to "
            "-100 USD/2 available"
        ),
        (
            "t3 v0 takes liabilities:wallet:a (no negative balance allowed) from 500 USD/2 to "
            "-200 USD/2 available"
        ),
    ]
    assert rows[0]["locator"] == (
        "transactions(ledger_id=l, transaction_id=t2, version=0, chain_seq=2, "
        "account_id=liabilities:wallet:a, asset_id=USD/2)"
    )


@pytest.mark.parametrize("missing", [[2], [2, 3]])
def test_each_missing_seq_is_one_finding(missing: list[int]) -> None:
    frames = ledger_from_text(
        ACCOUNTS
        + "".join(
            f"tx t{i} standard posted at={i}\n  assets:bank debit 5 USD/2\n"
            "  liabilities:wallet:a credit 5 USD/2\n"
            for i in range(1, 5)
        )
    )
    gone = frames.transactions.filter(pl.col("chain_seq").is_in(missing))
    frames = replace_rows(
        frames, "transactions", frames.transactions.filter(~pl.col("chain_seq").is_in(missing))
    )
    frames = replace_rows(
        frames,
        "entries",
        frames.entries.join(
            gone.select("ledger_id", "transaction_id"),
            on=["ledger_id", "transaction_id"],
            how="anti",
        ),
    )
    rows = only(check_invariants(frames, SPEC), "chain.deleted")
    assert [(r["chain_seq"], r["transaction_id"], r["locator"]) for r in rows] == [
        (seq, None, f"transactions(ledger_id=l, chain_seq={seq})") for seq in missing
    ]
    after = max(missing) + 1
    assert rows[0]["message"] == (
        f"seq {missing[0]} is missing: the next row is seq {after} (t{after} v0)"
    )


def test_without_a_chain_sequence_deletions_are_not_proven_by_contiguity() -> None:
    chained = ledger_from_text(ACCOUNTS + DEPOSIT)
    chainless = LedgerFrames.from_tables(
        {
            **dict(chained.items()),
            "transactions": chained.transactions.with_columns(
                pl.lit(None, pl.Int64()).alias("chain_seq")
            ),
        }
    )
    assert RuleId.CHAIN_DELETED in check_invariant_suites(chainless, SPEC).coverage.unproven_rules
    assert RuleId.CHAIN_DELETED not in (
        check_invariant_suites(chained, SPEC).coverage.unproven_rules
    )
