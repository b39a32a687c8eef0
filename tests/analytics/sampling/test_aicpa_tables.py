"""AICPA Audit Sampling Tables A-1..A-4 and C-1, derived and compared cell for cell.

Every cell is derived (exact integer binomial arithmetic for Appendix A; gamma with a
checked margin for C-1) and compared with the printed value. The cells where the printed
table and the exact criterion differ are listed in ``DISAGREE`` with the reason, and the test
fails if any other cell differs or if a listed cell stops differing.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from ledger_audit.analytics.sampling.attribute import evaluate_attribute, plan_attribute
from ledger_audit.analytics.sampling.binomial import cdf_at_most
from ledger_audit.analytics.sampling.mus import plan_mus_ratio
from tests.analytics.sampling.aicpa_tables import (
    C1_KEYS,
    TABLE_A1,
    TABLE_A2,
    TABLE_A3,
    TABLE_A4,
    TABLE_C1,
    TABLE_C1_TAINTINGS,
)

DISAGREE: dict[tuple[str, str, str], tuple[int, str]] = {
    ("A-2", "0.0350", "0.05"): (
        400,
        (
            "printed 200 is a typo: at n=200, k=7, P(X<=7 | 200, 5%) = 0.213 > 0.10; exact "
            "k = 14 at n=400 gives an upper limit of 4.993 %. jfa prints 423 (it takes "
            "ceil(14.000000000000002))."
        ),
    ),
    ("A-2", "0.0325", "0.07"): (
        113,
        (
            "at n=112, k=4: P(X<=4 | 112, 7%) = 0.1007 > 0.10 (upper limit 7.010 %, which "
            "prints as 7.0 % at one decimal); n=113 gives 6.950 %. jfa agrees with 113."
        ),
    ),
    ("A-2", "0.0350", "0.07"): (113, "same cell criterion as 3.25 % (k = 4 at n = 112 and 113)."),
}
"""(table, expected rate, tolerable rate) -> (exact n, why the printed cell differs)."""


def _plan(confidence: str, expected: str, tolerable: str) -> int | None:
    return plan_attribute(Fraction(confidence), Fraction(tolerable), Fraction(expected)).n


@pytest.mark.parametrize(
    ("name", "confidence", "table"), [("A-1", "0.95", TABLE_A1), ("A-2", "0.90", TABLE_A2)]
)
def test_attribute_sample_sizes_cell_for_cell(
    name: str, confidence: str, table: dict[tuple[str, str], int]
) -> None:
    differ = {}
    for (expected, tolerable), printed in table.items():
        exact = _plan(confidence, expected, tolerable)
        if exact != printed:
            differ[(name, expected, tolerable)] = exact
    listed = {key: value[0] for key, value in DISAGREE.items() if key[0] == name}
    assert differ == listed


def test_jfa_float_cell_is_exact_here() -> None:
    """TDR 8 %, EDR 7 %, 90 %: 1300 * 7/100 is exactly 91 (jfa's float gives 92 and 1313)."""
    assert _plan("0.90", "0.07", "0.08") == TABLE_A2[("0.0700", "0.08")] == 1300


def test_disagreement_reasons_hold() -> None:
    assert cdf_at_most(200, 7, Fraction("0.05")) > Fraction("0.10")
    assert cdf_at_most(112, 4, Fraction("0.07")) > Fraction("0.10")
    assert cdf_at_most(113, 4, Fraction("0.07")) < Fraction("0.10")


@pytest.mark.parametrize(("confidence", "table"), [("0.95", TABLE_A3), ("0.90", TABLE_A4)])
def test_upper_limits_cell_for_cell(confidence: str, table: dict[tuple[int, int], int]) -> None:
    derived = {
        key: evaluate_attribute(Fraction(confidence), key[0], key[1], "table").upper_rate * 1000
        for key in table
    }
    assert derived == table


def test_exact_upper_limit_brackets_the_table_value() -> None:
    """Exact mode is the bound to 2**-64; the table rounds it up to the next 0.1 %."""
    for (n, k), tenths in TABLE_A3.items():
        exact = evaluate_attribute(Fraction("0.95"), n, k).upper_rate
        assert Fraction(tenths - 1, 1000) < exact <= Fraction(tenths, 1000)


def test_mus_sample_sizes_c1_cell_for_cell() -> None:
    derived = {}
    smallest_margin = 1.0
    for risk, ratio, tolerable in TABLE_C1:
        theta = Fraction(tolerable)
        n, margin = plan_mus_ratio(1 - Fraction(risk), theta, theta * Fraction(ratio))
        assert margin is not None
        smallest_margin = min(smallest_margin, margin)
        derived[(risk, ratio, tolerable)] = n
    assert derived == TABLE_C1
    # The incomplete gamma is accurate to ~1e-15: no decision is within reach of rounding.
    assert smallest_margin > 1e-9


def test_c1_expected_taintings() -> None:
    """Taintings = n * e at the 0.5 % column, rounded up to 0.01 (exact rationals)."""
    derived = {}
    for risk, ratio in C1_KEYS:
        n = TABLE_C1[(risk, ratio, "0.005")]
        hundredths = n * Fraction("0.005") * Fraction(ratio) * 100
        derived[(risk, ratio)] = -(-hundredths.numerator // hundredths.denominator)
    expected = dict(TABLE_C1_TAINTINGS)
    # Printed 2.28 at 20 % / 0.5 is a typo: 949 * 0.0025 = 2.3725 (every other row rounds up).
    assert expected[("0.20", "0.5")] == 228
    expected[("0.20", "0.5")] = 238
    assert derived == expected


def test_zero_expected_closed_form() -> None:
    """With no expected misstatement n = floor(-ln(risk) / theta) + 1, e.g. 95 %, 5 % -> 60."""
    assert plan_mus_ratio(Fraction("0.95"), Fraction("0.05"), Fraction(0))[0] == 60
    assert plan_mus_ratio(Fraction("0.96"), Fraction("0.05"), Fraction(0))[0] == 65
