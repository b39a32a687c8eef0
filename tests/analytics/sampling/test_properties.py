"""Invariants of the sampling plans, evaluations and selections (hypothesis)."""

from __future__ import annotations

from fractions import Fraction

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.analytics.sampling.attribute import evaluate_attribute, plan_attribute
from ledger_audit.analytics.sampling.factors import upper_factor
from ledger_audit.analytics.sampling.mus import evaluate_mus, plan_mus
from ledger_audit.analytics.sampling.selection import select_mus, workpaper_frame

CONFIDENCE = st.sampled_from([Fraction(90, 100), Fraction(95, 100), Fraction(99, 100)])
PERMILLE = st.integers(min_value=10, max_value=300)


@settings(max_examples=40, deadline=None)
@given(CONFIDENCE, PERMILLE, PERMILLE, st.integers(min_value=0, max_value=9))
def test_attribute_size_monotone_in_tolerable_rate(
    confidence: Fraction, low: int, high: int, expected_permille: int
) -> None:
    low, high = sorted((low, high))
    expected = Fraction(expected_permille, 1000)
    small = plan_attribute(confidence, Fraction(low, 1000), expected)
    large = plan_attribute(confidence, Fraction(high, 1000), expected)
    if small.n is not None:
        assert large.n is not None
        assert large.n <= small.n


@settings(max_examples=40, deadline=None)
@given(CONFIDENCE, PERMILLE, st.integers(min_value=0, max_value=9))
def test_planned_sample_meets_its_tolerable_rate(
    confidence: Fraction, tolerable_permille: int, expected_permille: int
) -> None:
    tolerable = Fraction(tolerable_permille, 1000)
    expected = tolerable * expected_permille / 20  # below half the tolerable rate
    plan = plan_attribute(confidence, tolerable, expected)
    assert plan.n is not None
    assert plan.expected_deviations is not None
    bound = evaluate_attribute(confidence, plan.n, plan.expected_deviations).upper_rate
    assert bound < tolerable or bound - tolerable < Fraction(1, 2**60)
    if plan.n > 1:  # one item fewer would not do
        k = -(-(plan.n - 1) * plan.expected_rate.numerator // plan.expected_rate.denominator)
        if k < plan.n - 1:
            assert evaluate_attribute(confidence, plan.n - 1, k).upper_rate >= tolerable


@settings(max_examples=40, deadline=None)
@given(CONFIDENCE, st.integers(min_value=5, max_value=300), st.integers(min_value=0, max_value=4))
def test_upper_rate_rises_with_deviations_and_falls_with_n(
    confidence: Fraction, n: int, k: int
) -> None:
    k = min(k, n - 1)
    here = evaluate_attribute(confidence, n, k).upper_rate
    assert evaluate_attribute(confidence, n, k + 1).upper_rate > here
    assert evaluate_attribute(confidence, n + 1, k).upper_rate < here
    assert 0 < here < 1


def _population(values: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"item_id": [f"it-{i:04d}" for i in range(len(values))], "book_value": values},
        schema={"item_id": pl.String, "book_value": pl.Int64},
    )


VALUES = st.lists(st.integers(min_value=-500, max_value=50_000), min_size=5, max_size=80)


@settings(max_examples=40, deadline=None)
@given(
    VALUES,
    st.integers(min_value=1, max_value=30),
    st.integers(min_value=0, max_value=2**32),
    st.sampled_from(["fixed_interval", "cell", "random"]),
)
def test_mus_selection_reproducible_and_complete(
    values: list[int], n: int, seed: int, method: str
) -> None:
    population = _population(values)
    total = sum(v for v in values if v > 0)
    if total < n:
        return
    first = select_mus(population, n, seed, method)  # type: ignore[arg-type]
    again = select_mus(population.reverse(), n, seed, method)  # type: ignore[arg-type]
    assert first.items.equals(again.items)
    assert first.record() == again.record()
    assert first.excluded == sum(1 for v in values if v <= 0)
    hits = int(first.items["hits"].sum())
    assert hits >= n if method == "fixed_interval" else hits == n
    assert (first.items["book_value"] > 0).all()
    if method == "fixed_interval":  # every item at least one interval large is hit
        big = {f"it-{i:04d}" for i, v in enumerate(values) if v >= first.interval}
        assert big <= set(first.items["item_id"].to_list())
    assert workpaper_frame(first).columns[-3:] == ["audited_value", "tester_result", "tester_note"]


@settings(max_examples=30, deadline=None)
@given(CONFIDENCE, st.integers(min_value=0, max_value=6))
def test_stringer_with_full_taints_is_the_poisson_factor(confidence: Fraction, errors: int) -> None:
    """k items wholly misstated: UML = UF(k) * J exactly (the incremental terms telescope)."""
    interval = Fraction(10_000)
    sampled = [(500, 0)] * errors + [(700, 700)] * 3
    result = evaluate_mus(confidence, 60, interval, sampled)
    total = upper_factor(confidence, errors) * interval
    assert result.upper_limit == -(-total.numerator // total.denominator)
    assert result.method == "mus.stringer.poisson"


def test_stringer_example() -> None:
    """95 %, J = 1,000.00: a 40 % and a 10 % taint (the larger first)."""
    result = evaluate_mus(
        Fraction("0.95"), 100, Fraction(100_000), [(1_000, 900), (5_000, 3_000)], tolerable=600_000
    )
    assert result.taints == (Fraction(2, 5), Fraction(1, 10))
    uf = [upper_factor(Fraction("0.95"), i) for i in range(3)]
    expected = 100_000 * (
        uf[0]
        + Fraction(1, 2)
        + (uf[1] - uf[0] - 1) * Fraction(2, 5)
        + (uf[2] - uf[1] - 1) * Fraction(1, 10)
    )
    assert result.upper_limit == -(-expected.numerator // expected.denominator)
    assert result.accepted is True
    table = evaluate_mus(Fraction("0.95"), 100, Fraction(100_000), [], factor_mode="table")
    assert table.upper_limit == 300_000  # table factor 3.00


def test_mus_plan_records_interval_and_method() -> None:
    plan = plan_mus(Fraction("0.95"), 1_000_000_00, 5_000_000)
    assert plan.n == 60
    assert plan.interval == Fraction(1_000_000_00, 60)
    assert plan.method == "mus.poisson.gamma"
    assert plan.factor_mode == "exact"
    assert plan_mus(Fraction("0.95"), 1_000_000_00, 5_000_000, factor_mode="table").n == 60
