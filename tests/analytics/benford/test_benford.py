"""Benford suite: closed forms, exact digits, published figures, statistics and bands."""

from __future__ import annotations

import gzip
import math
from collections import Counter
from decimal import Decimal, getcontext
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.analytics.benford.conformity import conformity
from ledger_audit.analytics.benford.digits import binned, histogram, with_digits
from ledger_audit.analytics.benford.expected import digit_at_position, expected
from ledger_audit.analytics.benford.suite import (
    SUITE_TESTS,
    BenfordParams,
    benford_suite,
    benford_test,
)
from ledger_audit.sources.decimal_csv import read_decimal_column

DATA = Path(__file__).parent / "data"
ALL_VALUES = BenfordParams(convention="benford_analysis", min_n=0)


def _log10(x: Decimal) -> Decimal:
    return x.ln() / Decimal(10).ln()


def test_probabilities_match_the_closed_forms_to_1e_9() -> None:
    """Each expected share against log10(1 + 1/d) and the position sums at 40 digits."""
    getcontext().prec = 40
    for d, p in expected("first").items():
        assert abs(Decimal(p) - _log10(1 + Decimal(1) / d)) < Decimal("1e-9")
    for d, p in expected("first_two").items():
        assert abs(Decimal(p) - _log10(1 + Decimal(1) / d)) < Decimal("1e-9")
    for d, p in expected("second").items():
        exact = sum(_log10(1 + Decimal(1) / (10 * j + d)) for j in range(1, 10))
        assert abs(Decimal(p) - exact) < Decimal("1e-9")
    for name in ("first", "second", "first_two", "first_three", "last_two"):
        assert math.isclose(math.fsum(expected(name).values()), 1.0, abs_tol=1e-12)
    # Spot values published with benford.analysis (p.these.digits, p.this.digit.at.n).
    assert round(expected("first_two")[11], 8) == 0.03778856
    assert round(digit_at_position(1, 2), 7) == 0.1138901
    assert round(digit_at_position(9, 3), 8) == 0.09826716


def test_float_digit_extraction_mis_bins_what_the_integer_path_bins_right(tmp_path: Path) -> None:
    """0.29 and 4.35 as floats times 100 are 28.999... and 434.999...: wrong first two digits."""
    cells = ["0.29", "4.35", "1.15", "10.01"]
    floats = [int(float(c) * 100) for c in cells]
    assert floats[:3] == [28, 434, 114]  # the float path mis-bins three of four
    csv = tmp_path / "amounts.csv"
    csv.write_text("amount\n" + "\n".join(cells) + "\n", encoding="utf-8")
    column = read_decimal_column(csv, "amount")
    assert column.amounts.to_list() == [29, 435, 115, 1001]
    frame = pl.DataFrame({"asset_id": "USD/2", "amount": column.amounts})
    bins = benford_test(frame, "first_two", ALL_VALUES).bins
    counted = dict(bins.filter(pl.col("count") > 0).select("digit", "count").iter_rows())
    assert counted == {29: 1, 43: 1, 11: 1, 10: 1}


def _census(name: str) -> pl.DataFrame:
    values = [int(v) for v in gzip.decompress((DATA / name).read_bytes()).split()]
    return pl.DataFrame(
        {"asset_id": "POP/0", "amount": values}, schema_overrides={"amount": pl.Int64}
    )


def test_published_mad_us_counties_2010() -> None:
    """benford.analysis MAD(benford(census.2000_2010$pop.2010)) = 0.001428017."""
    result = benford_test(_census("us_county_population_2010.txt.gz"), "first_two", ALL_VALUES)
    row = result.summary.row(0, named=True)
    assert row["n"] == 3143
    assert round(row["mad"], 9) == 0.001428017


def test_published_chi_square_us_places_2009() -> None:
    """chisq(benford(census.2009$pop.2009)) = 107.16 (df 89); on values >= 10 it rounds to 108."""
    frame = _census("us_place_population_2009.txt.gz")
    row = benford_test(frame, "first_two", ALL_VALUES).summary.row(0, named=True)
    assert (row["n"], row["df"], round(row["chi2"], 2)) == (19_509, 89, 107.16)
    nigrini = benford_test(frame, "first_two", BenfordParams(min_n=0)).summary.row(0, named=True)
    assert (nigrini["n"], round(nigrini["chi2"])) == (19_482, 108)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10**30), min_size=1, max_size=200))
def test_columnar_digits_equal_the_decimal_string(values: list[int]) -> None:
    """The polars path counts exactly what str(n)[:k] says, even beyond 2**63 (Int128).

    Nigrini convention at scale 0: digit tests use the amounts >= 10.
    """
    frame = pl.DataFrame(
        {"asset_id": ["X/0"] * len(values), "amount": values},
        schema={"asset_id": pl.String, "amount": pl.Int128},
    )
    params = BenfordParams(min_n=0)
    first = benford_test(frame, "first", params).bins
    assert dict(first.filter(pl.col("count") > 0).select("digit", "count").iter_rows()) == dict(
        Counter(int(str(v)[0]) for v in values if v >= 10)
    )
    two = benford_test(frame, "first_two", params).bins
    assert dict(two.filter(pl.col("count") > 0).select("digit", "count").iter_rows()) == dict(
        Counter(int(str(v)[:2]) for v in values if v >= 10)
    )
    last = benford_test(frame, "last_two", params).bins
    assert dict(last.filter(pl.col("count") > 0).select("digit", "count").iter_rows()) == dict(
        Counter(v % 100 for v in values if v >= 100)
    )


def test_statistics_by_hand() -> None:
    """Ten amounts starting with 1: MAD, chi-square, Z (continuity floored at 0), KS."""
    frame = pl.DataFrame(
        {"asset_id": "X/0", "amount": [1, 10, 100, 1000, 19, 1234, 15, 11, 17, 1_000_000]}
    )
    result = benford_test(frame, "first", ALL_VALUES)
    p = expected("first")
    n = 10
    mad = (abs(1 - p[1]) + sum(p[d] for d in range(2, 10))) / 9
    chi2 = (n - n * p[1]) ** 2 / (n * p[1]) + sum(n * p[d] for d in range(2, 10))
    row = result.summary.row(0, named=True)
    assert math.isclose(row["mad"], mad, rel_tol=1e-12)
    assert math.isclose(row["chi2"], chi2, rel_tol=1e-12)
    assert math.isclose(row["ks"], 1 - p[1], rel_tol=1e-12)
    z = dict(result.bins.select("digit", "z").iter_rows())
    assert math.isclose(z[1], (1 - p[1] - 1 / 20) / math.sqrt(p[1] * (1 - p[1]) / n))
    assert z[9] == max(0.0, (p[9] - 1 / 20)) / math.sqrt(p[9] * (1 - p[9]) / n)
    assert result.suspects()["digit"].to_list() == [1]


def test_assets_are_never_mixed_and_signs_are_separate() -> None:
    frame = pl.DataFrame(
        {"asset_id": ["A/0", "A/0", "B/2", "B/2"], "amount": [11, -22, 3300, 4400]}
    )
    result = benford_test(frame, "first", BenfordParams(min_n=0))
    counts = {
        (a, d): c
        for a, d, c in result.bins.filter(pl.col("count") > 0)
        .select("asset_id", "digit", "count")
        .iter_rows()
    }
    assert counts == {("A/0", 1): 1, ("B/2", 3): 1, ("B/2", 4): 1}
    negative = benford_test(frame, "first", BenfordParams(min_n=0, sign="negative"))
    assert negative.summary.select("asset_id", "n").rows() == [("A/0", 1), ("B/2", 0)]


def test_nigrini_convention_uses_amounts_of_ten_major_units() -> None:
    """USD/2: 9.99 (999) is left out, 10.00 (1000) is used; benford.analysis pads 5 to 50."""
    frame = pl.DataFrame({"asset_id": "USD/2", "amount": [999, 1000, 5]})
    nigrini = benford_test(frame, "first_two", BenfordParams(min_n=0)).summary.row(0, named=True)
    assert (nigrini["n"], nigrini["excluded"]) == (1, 2)
    padded = benford_test(frame, "first_two", ALL_VALUES).bins.filter(pl.col("count") > 0)
    assert padded.select("digit", "count").rows() == [(10, 1), (50, 1), (99, 1)]


def test_small_population_is_not_applicable() -> None:
    frame = pl.DataFrame({"asset_id": "X/0", "amount": list(range(100, 400))[:299]})
    row = benford_test(frame, "first").summary.row(0, named=True)
    assert row["applicable"] is False
    assert row["conformity"] is None
    assert row["reason"] == "not applicable: 299 amounts used, fewer than 300"


@pytest.mark.parametrize(
    ("test", "mad", "band"),
    [
        ("first", 0.0059999, "close"),
        ("first", 0.006, "acceptable"),
        ("first", 0.015, "nonconformity"),
        ("second", 0.012, "nonconformity"),
        ("second", 0.0119, "marginal"),
        ("first_two", 0.0012, "acceptable"),
        ("first_three", 0.00049, "marginal"),
        ("last_two", 0.5, None),
        ("summation", 0.5, None),
    ],
)
def test_conformity_bands_are_closed_below(test: str, mad: float, band: str | None) -> None:
    assert conformity(test, mad) == band


def test_summation_and_second_order_are_exact_integers() -> None:
    frame = pl.DataFrame(
        {"asset_id": "X/0", "amount": [10**20, 10**20 + 7, 12, 13]},
        schema={"asset_id": pl.String, "amount": pl.Int128},
    )
    summation = benford_test(frame, "summation", BenfordParams(min_n=0)).bins
    sums = dict(
        summation.filter(pl.col("amount_sum") > 0).select("digit", "amount_sum").iter_rows()
    )
    assert sums == {10: 2 * 10**20 + 7, 12: 12, 13: 13}
    second = benford_test(frame, "second_order", ALL_VALUES)
    # sorted: 12, 13, 1e20, 1e20 + 7 -> differences 1, 1e20 - 13, 7
    used = dict(second.bins.filter(pl.col("count") > 0).select("digit", "count").iter_rows())
    assert used == {10: 1, 99: 1, 70: 1}


def test_chart_shows_observed_and_expected() -> None:
    from ledger_audit.viz.benford import benford_figure

    frame = pl.DataFrame({"asset_id": "X/0", "amount": [11, 12, 13, 25, 99]})
    figure = benford_figure(benford_test(frame, "first_two", ALL_VALUES), "X/0")
    assert [trace.name for trace in figure.data] == ["observed", "expected"]
    assert len(figure.data[0].x) == 90
    assert "not applicable" in figure.layout.title.text


_EDGES = st.sampled_from([1, 9, 10, 99, 100, 999, 1000, 10**18 - 1, 10**18, 2**63 - 1])
_AMOUNTS = st.one_of(st.integers(1, 10**6), st.integers(1, 2**63 - 1), _EDGES)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["A/0", "B/2", "C/5"]), _AMOUNTS), min_size=1, max_size=120),
    st.booleans(),
)
def test_the_shared_histogram_bins_as_the_per_row_definition(
    rows: list[tuple[str, int]], beyond_int64: bool
) -> None:
    """Every leading-digit test read from the one-pass histogram equals ``with_digits`` (the
    per-row definition), under both conventions, on the Int64 path and the text path."""
    if beyond_int64:  # one amount past Int64 sends the whole histogram down the text path
        rows = [*rows, ("A/0", 10**25 + 7)]
    amounts = pl.DataFrame(
        {"asset_id": [a for a, _ in rows], "abs_amount": [v for _, v in rows]},
        schema={"asset_id": pl.String, "abs_amount": pl.Int128},
    )
    hist = histogram(amounts)
    for convention in ("nigrini", "benford_analysis"):
        for test in ("first", "second", "first_two", "first_three"):
            reference = (
                with_digits(amounts.lazy(), test, convention)
                .group_by("asset_id", "digit")
                .agg(pl.len().cast(pl.Int64).alias("count"), pl.col("abs_amount").sum())
                .sort("asset_id", "digit")
                .collect()
            )
            shared = (
                binned(hist, test, convention)
                .select("asset_id", "digit", "count", pl.col("amount_sum").alias("abs_amount"))
                .sort("asset_id", "digit")
                .collect()
            )
            assert shared.equals(reference), (convention, test)


def test_the_suite_gives_each_test_what_it_gives_alone() -> None:
    frame = pl.DataFrame(
        {"asset_id": ["X/2"] * 500, "amount": [(i * 7919) % 100_003 + 1 for i in range(500)]}
    )
    together = benford_suite(frame, SUITE_TESTS, ALL_VALUES)
    for test in SUITE_TESTS:
        alone = benford_test(frame, test, ALL_VALUES)
        assert together[test].bins.equals(alone.bins), test
        assert together[test].summary.equals(alone.summary), test
