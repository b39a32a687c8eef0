"""The payload keys only narrow which payload texts are compared; the texts decide.

The duplicate-payment check and the idempotency and reversal analytics build payload texts
only for versions whose key
another version shares. Two properties keep that exact: equal texts always have equal keys
(so no match is missed), and with keys that collide for nearly everything (``KEY_BITS`` 0:
every version with as many legs) the analytics return exactly what they return with full
keys (so a collision never decides a match).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.analytics.idempotency import classify_idempotency
from ledger_audit.analytics.reversals import reversal_intelligence
from ledger_audit.checks import payload
from ledger_audit.checks.duplicates import check_duplicate_payments
from ledger_audit.checks.payload import payload_keys, payloads
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import VerifySpec
from tests.text_ledger import at, ledger_from_text

ACCOUNTS = ("assets:bank", "liabilities:wallet:a", "revenue:m")
HEAD = "ledger l\n" + "".join(f"account {a} debit USD/2\n" for a in ACCOUNTS)

legs = st.lists(
    st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(("debit", "credit")), st.integers(1, 3)),
    min_size=1,
    max_size=3,
)
transactions = st.lists(
    st.tuples(
        legs,
        st.sampled_from(("", "k1", "k2", "k1 ext=e1", "ext=e1", "ext=e2")),
        st.integers(0, 400),
        st.sampled_from(("standard posted", "reversal posted", "pending pending")),
        st.integers(0, 9),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


Row = tuple[list[tuple[str, str, int]], str, int, str, int, bool]


def _ledger(rows: list[Row]) -> str:
    text = HEAD
    for i, (lines, key, when, kind, target, second) in enumerate(rows):
        extra = f" key={key}" if key and not key.startswith("ext") else ""
        extra += "".join(f" {word}" for word in key.split() if word.startswith("ext"))
        if kind.startswith("reversal"):
            extra += f" reverses=t{target}"
        body = "".join(f"  {a} {d} {n} USD/2\n" for a, d, n in lines)
        text += f"tx t{i} {kind} at={when}{extra}\n{body}"
        if second:  # a later version with the legs reversed in order: same payload
            later = "".join(reversed(body.splitlines(keepends=True)))
            text += f"tx t{i}/1 {kind} at={when + 1}{extra}\n{later}"
    return text


@contextmanager
def _key_bits(bits: int) -> Iterator[None]:
    kept = payload.KEY_BITS
    payload.KEY_BITS = bits
    try:
        yield
    finally:
        payload.KEY_BITS = kept


@settings(max_examples=60, deadline=None)
@given(transactions)
def test_equal_payload_texts_have_equal_keys(rows: list[Row]) -> None:
    entries = ledger_from_text(_ledger(rows)).entries.lazy()
    joined = payloads(entries).join(payload_keys(entries), on=list(payload.KEY)).collect()
    texts = (("payload", payload.PAYLOAD_KEY), ("inverse_payload", payload.INVERSE_KEY))
    for text, key in texts:
        per_text = joined.group_by(text).agg(pl.struct(*key).n_unique().alias("keys"))
        assert per_text["keys"].max() == 1
    # and an inverse text equal to a payload text has the inverse key equal to that key
    pairs = joined.join(joined, left_on="inverse_payload", right_on="payload", suffix="_b")
    for mine, theirs in zip(payload.INVERSE_KEY, payload.PAYLOAD_KEY, strict=True):
        assert pairs[mine].equals(pairs[f"{theirs}_b"], check_names=False)


def _results(frames: LedgerFrames) -> tuple[pl.DataFrame, ...]:
    idempotency = classify_idempotency(frames, window_ns=60 * 10**9)
    reversals = reversal_intelligence(frames, period_end_ns=at(200))
    duplicates = check_duplicate_payments(frames, VerifySpec(duplicate_window_ns=60 * 10**9))
    return (
        duplicates.findings,
        idempotency.classified,
        idempotency.findings,
        reversals.pairs,
        reversals.lags,
        reversals.findings,
    )


@settings(max_examples=60, deadline=None)
@given(transactions)
def test_colliding_keys_change_no_result(rows: list[Row]) -> None:
    frames = ledger_from_text(_ledger(rows))
    exact = _results(frames)
    with _key_bits(0):
        colliding = _results(frames)
    for mine, theirs in zip(exact, colliding, strict=True):
        assert mine.equals(theirs)


def test_a_collision_is_told_apart_by_the_text() -> None:
    """Single-leg payloads all share the 0-bit key; only equal texts match."""
    text = HEAD + (
        "tx t0 standard posted at=0 key=k1\n  assets:bank debit 1 USD/2\n"
        "tx t1 standard posted at=1 key=k1\n  assets:bank debit 2 USD/2\n"
        "tx t2 standard posted at=2\n  assets:bank credit 2 USD/2\n"
        "tx t3 standard posted at=3\n  assets:bank debit 1 USD/2\n"
    )
    frames = ledger_from_text(text)
    with _key_bits(0):
        classified = classify_idempotency(frames).classified
        pairs = reversal_intelligence(frames).pairs
    assert classified.select("transaction_id", "class", "related_transaction_id").rows() == [
        ("t0", "conflicting_replay", None),
        ("t1", "conflicting_replay", "t0"),
        ("t2", "no_key", None),
        ("t3", "double_submit", "t0"),
    ]
    # t2 is the exact inverse of t1 only, not of t0 or t3 (whose keys it shares)
    assert pairs.select("transaction_id", "original_id", "pairing").rows() == [
        ("t2", "t1", "unlinked_inverse")
    ]
