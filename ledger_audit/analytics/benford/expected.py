"""Benford's expected digit proportions in closed form (ANALYTICS.md 3.1)."""

from __future__ import annotations

import math
from typing import Literal

TestName = Literal["first", "second", "first_two", "first_three", "last_two"]
DIGIT_TESTS: tuple[TestName, ...] = ("first", "second", "first_two", "first_three", "last_two")


def digit_at_position(digit: int, position: int) -> float:
    """P(digit d in position n), n >= 1: log10(1 + 1/d) for n = 1, else the sum over prefixes."""
    if position == 1:
        return math.log10(1 + 1 / digit)
    low, high = 10 ** (position - 2), 10 ** (position - 1)
    return math.fsum(math.log10(1 + 1 / (10 * i + digit)) for i in range(low, high))


def bins(test: TestName) -> range:
    """The digit values a test counts (``last_two`` 0..99 stands for "00".."99")."""
    return {
        "first": range(1, 10),
        "second": range(10),
        "first_two": range(10, 100),
        "first_three": range(100, 1000),
        "last_two": range(100),
    }[test]


def expected(test: TestName) -> dict[int, float]:
    """Expected proportion per bin; they sum to 1 (to rounding)."""
    if test == "second":
        return {d: digit_at_position(d, 2) for d in bins(test)}
    if test == "last_two":
        return dict.fromkeys(bins(test), 0.01)
    return {d: math.log10(1 + 1 / d) for d in bins(test)}


def prefix_width(test: TestName) -> int:
    """How many leading digits the test reads."""
    return {"first": 1, "second": 2, "first_two": 2, "first_three": 3, "last_two": 2}[test]
