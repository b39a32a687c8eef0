"""Idempotency classifier, pending lifecycle and reversal intelligence: one reproducer per
rule (it flags exactly the planted transaction), a clean ledger flags nothing, coverage."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.analytics.idempotency import BENIGN, CONFLICT, DOUBLE, classify_idempotency
from ledger_audit.analytics.pending import (
    CUTOFF,
    DAY_NS,
    PAST_TIMEOUT,
    PendingParams,
    pending_lifecycle,
)
from ledger_audit.analytics.reversals import (
    CROSSES,
    NOT_INVERSE,
    OF_REVERSAL,
    UNLINKED,
    reversal_intelligence,
)
from ledger_audit.sources.ledger_frames import LedgerFrames
from tests.text_ledger import at, ledger_from_text

HEAD = """
ledger l
account assets:bank debit USD/2
account liabilities:wallet:a credit USD/2
account liabilities:card:holds credit USD/2
account revenue:m credit USD/2
"""


def _tx(name: str, amount: int, when: int, extra: str = "", swap: bool = False) -> str:
    bank, wallet = ("credit", "debit") if swap else ("debit", "credit")
    return (
        f"tx {name} {extra or 'standard posted'} at={when}\n"
        f"  assets:bank {bank} {amount} USD/2\n"
        f"  liabilities:wallet:a {wallet} {amount} USD/2\n"
    )


def _ledger(*txs: str) -> LedgerFrames:
    return ledger_from_text(HEAD + "".join(txs))


CLEAN = _ledger(
    _tx("t1", 500, 10, "standard posted key=k1"),
    _tx("t2", 700, 20, "standard posted key=k2"),
    _tx("t3", 500, 100_000, "standard posted key=k3"),
)


def _flagged(findings: pl.DataFrame, rule: str) -> list[str]:
    return findings.filter(pl.col("rule") == rule)["transaction_id"].to_list()


def test_clean_ledger_has_no_idempotency_finding() -> None:
    result = classify_idempotency(CLEAN)
    assert result.findings.height == 0
    assert result.coverage.checked == 3
    assert set(result.classified["class"]) == {"unique"}


def test_benign_replay() -> None:
    frames = _ledger(
        _tx("t1", 500, 10, "standard posted key=k1"), _tx("t2", 500, 20, "standard posted key=k1")
    )
    result = classify_idempotency(frames)
    assert _flagged(result.findings, BENIGN) == ["t2"]
    assert result.findings.height == 1
    assert dict(result.classified.select("transaction_id", "class").iter_rows()) == {
        "t1": "original",
        "t2": "benign_replay",
    }


def test_conflicting_replay() -> None:
    frames = _ledger(
        _tx("t1", 500, 10, "standard posted key=k1"), _tx("t2", 501, 20, "standard posted key=k1")
    )
    assert _flagged(classify_idempotency(frames).findings, CONFLICT) == ["t1", "t2"]


def test_double_submit_inside_the_window_only() -> None:
    frames = _ledger(
        _tx("t1", 500, 10, "standard posted key=a"),
        _tx("t2", 500, 70, "standard posted key=b"),  # 60 s later, new key: double submit
        _tx("t3", 500, 10_000, "standard posted key=c"),  # hours later: a new payment
    )
    result = classify_idempotency(frames)
    assert _flagged(result.findings, DOUBLE) == ["t2"]
    assert result.findings.height == 1
    assert classify_idempotency(frames, window_ns=30 * 10**9).findings.height == 0


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(4)))
def test_classification_ignores_row_order(order: list[int]) -> None:
    frames = _ledger(
        _tx("t1", 500, 10, "standard posted key=k1"),
        _tx("t2", 500, 20, "standard posted key=k1"),
        _tx("t3", 900, 30, "standard posted key=k3"),
        _tx("t4", 900, 40, "standard posted key=k4"),
    )
    shuffled = LedgerFrames(
        ledgers=frames.ledgers,
        assets=frames.assets,
        accounts=frames.accounts,
        transactions=frames.transactions[order],
        entries=frames.entries.sample(fraction=1.0, shuffle=True, seed=sum(order)),
        balances=frames.balances,
    )
    assert classify_idempotency(shuffled).classified.equals(classify_idempotency(frames).classified)
    assert classify_idempotency(shuffled).findings.equals(classify_idempotency(frames).findings)


PENDING = (
    HEAD
    + """
tx p1 pending pending at=10
  liabilities:wallet:a debit 2500 USD/2
  liabilities:card:holds credit 2500 USD/2
tx s1 post_pending posted at=200 pending=p1
  liabilities:card:holds debit 2000 USD/2
  revenue:m credit 2000 USD/2
tx p2 pending pending at=20
  liabilities:wallet:a debit 700 USD/2
  liabilities:card:holds credit 700 USD/2
tx p2/1 pending archived at=30
  liabilities:wallet:a debit 700 USD/2
  liabilities:card:holds credit 700 USD/2
tx p3 pending pending at=40
  liabilities:wallet:a debit 100 USD/2
  liabilities:card:holds credit 100 USD/2
"""
)


def test_pending_aging_and_voids_at_an_instant() -> None:
    frames = ledger_from_text(PENDING)
    result = pending_lifecycle(frames, PendingParams(as_of_ns=at(100)))
    assert result.aging.rows() == [("USD/2", "0-30 d", 2, 2600)]  # p1 and p3 open at 100 s
    assert result.voided.rows() == [("USD/2", 1, 700)]
    assert result.findings.height == 0  # nothing past the timeout, no period end
    assert result.coverage.checked == 3
    assert result.coverage.unproven == ("no period end given: cut-off not examined",)
    later = pending_lifecycle(frames, PendingParams(as_of_ns=at(300)))
    assert later.aging.rows() == [("USD/2", "0-30 d", 1, 100)]  # p1 posted at 200 s


def test_pending_past_timeout() -> None:
    frames = ledger_from_text(PENDING)
    params = PendingParams(as_of_ns=at(40) + 8 * DAY_NS)
    result = pending_lifecycle(frames, params)
    assert _flagged(result.findings, PAST_TIMEOUT) == ["p3"]
    assert result.findings.height == 1


def test_pending_cutoff_exposure() -> None:
    frames = ledger_from_text(PENDING)
    result = pending_lifecycle(frames, PendingParams(as_of_ns=at(300), period_end_ns=at(100)))
    assert _flagged(result.findings, CUTOFF) == ["p1"]  # open at 100 s, posted at 200 s
    assert result.findings.filter(pl.col("rule") == CUTOFF)["actual"].to_list() == [
        "2500 USD/2 posted after the period end"
    ]


def test_clean_reversal_pairs_and_lag() -> None:
    frames = _ledger(
        _tx("t1", 500, 10), _tx("r1", 500, 70, "reversal posted reverses=t1", swap=True)
    )
    result = reversal_intelligence(frames, period_end_ns=at(1000))
    assert result.findings.height == 0
    assert result.pairs.select("transaction_id", "original_id", "pairing").rows() == [
        ("r1", "t1", "exact_inverse")
    ]
    assert result.lags.rows() == [(1, 60 * 10**9, 60 * 10**9, 60 * 10**9, 60 * 10**9)]


def test_reversal_across_period_end() -> None:
    frames = _ledger(
        _tx("t1", 500, 10), _tx("r1", 500, 70, "reversal posted reverses=t1", swap=True)
    )
    result = reversal_intelligence(frames, period_end_ns=at(50))
    assert _flagged(result.findings, CROSSES) == ["r1"]
    assert result.findings.height == 1


def test_reversal_of_a_reversal() -> None:
    frames = _ledger(
        _tx("t1", 500, 10),
        _tx("r1", 500, 20, "reversal posted reverses=t1", swap=True),
        _tx("r2", 500, 30, "reversal posted reverses=r1"),
    )
    result = reversal_intelligence(frames, period_end_ns=at(1000))
    assert _flagged(result.findings, OF_REVERSAL) == ["r2"]
    assert result.findings.height == 1


def test_reversal_not_the_exact_inverse() -> None:
    frames = _ledger(
        _tx("t1", 500, 10), _tx("r1", 499, 20, "reversal posted reverses=t1", swap=True)
    )
    result = reversal_intelligence(frames, period_end_ns=at(1000))
    assert _flagged(result.findings, NOT_INVERSE) == ["r1"]
    assert result.findings.height == 1


def test_unlinked_exact_inverse() -> None:
    frames = _ledger(_tx("t1", 500, 10), _tx("u1", 500, 20, swap=True))
    result = reversal_intelligence(frames, period_end_ns=at(1000))
    assert _flagged(result.findings, UNLINKED) == ["u1"]
    assert result.findings.height == 1


def test_pending_age_buckets_edges() -> None:
    """An age equal to a bound falls in the lower bucket; past the last bound, the open one."""
    frames = ledger_from_text(PENDING)
    created = at(40)  # p3, the only pending still open later on
    buckets = {
        days: pending_lifecycle(frames, PendingParams(as_of_ns=created + days * DAY_NS))
        .aging.filter(pl.col("count") > 0)["age_bucket"]
        .to_list()
        for days in (30, 31, 180, 181)
    }
    assert buckets == {30: ["0-30 d"], 31: ["30-60 d"], 180: ["90-180 d"], 181: ["> 180 d"]}
