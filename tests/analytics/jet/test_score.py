"""The composite score: exact sums, so the same findings give the same scores in any order."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.analytics.jet.catalogue import STRENGTH, JetRule
from ledger_audit.analytics.jet.params import JetParams
from ledger_audit.analytics.jet.score import score_transactions
from ledger_audit.findings import FINDINGS_SCHEMA, Severity

RULES = list(JetRule)[:6]
SEVERITIES = [Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO]
# weights whose float products and sums round differently in different orders
WEIGHTS = st.sampled_from([0.1, 0.2, 0.3, 0.7, 1.0, 1.1, 3.0, 1e-3, 2.675])

flag = st.tuples(st.integers(0, 7), st.sampled_from(RULES), st.sampled_from(SEVERITIES))


def findings(rows: list[tuple[int, JetRule, Severity]]) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "rule": [str(r) for _, r, _ in rows],
            "severity": [str(s) for _, _, s in rows],
            "ledger_id": ["main"] * len(rows),
            "transaction_id": [f"t{t}" for t, _, _ in rows],
            "chain_seq": [t + 1 for t, _, _ in rows],
        }
    )
    missing = [
        pl.lit(None, dtype).alias(name)
        for name, dtype in FINDINGS_SCHEMA.items()
        if name not in frame.columns
    ]
    return frame.with_columns(missing).select(
        pl.col(name).cast(dtype) for name, dtype in FINDINGS_SCHEMA.items()
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(flag, min_size=1, max_size=40),
    st.lists(WEIGHTS, min_size=len(RULES), max_size=len(RULES)),
    st.randoms(use_true_random=False),
    st.integers(1, 5),
)
def test_the_score_is_the_exact_weighted_mean_in_any_row_order(
    rows: list[tuple[int, JetRule, Severity]],
    weights: list[float],
    rng: object,
    pieces: int,
) -> None:
    params = replace(
        JetParams(),
        weights=tuple(
            (rule, weights[RULES.index(rule)] if rule in RULES else 1.0)
            for rule, _ in JetParams().weights
        ),
    )
    scores = score_transactions(findings(rows), params)
    shuffled = list(rows)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    size = -(-len(shuffled) // pieces)
    chunked = pl.concat(
        [findings(shuffled[i : i + size]) for i in range(0, len(shuffled), size)],
        rechunk=False,
    )
    assert score_transactions(chunked, params).equals(scores)

    strongest: dict[tuple[int, JetRule], Fraction] = {}
    for tx, rule, severity in rows:
        s = Fraction(STRENGTH[severity]).limit_denominator(1000)
        strongest[tx, rule] = max(s, strongest.get((tx, rule), Fraction(0)))
    for tx in {t for t, _, _ in rows}:
        parts = [
            (Fraction(weights[RULES.index(r)]).limit_denominator(10**9), s)
            for (t, r), s in strongest.items()
            if t == tx
        ]
        total = sum(w for w, _ in parts)
        exact = sum(w * s for w, s in parts) / total if total else Fraction(0)
        got = scores.filter(pl.col("transaction_id") == f"t{tx}")["score"].item()
        assert abs(Fraction(got) - exact) <= exact * Fraction(1, 2**50)
