"""Monetary-unit sampling: plan (Poisson/gamma, AICPA Table C-1), select, evaluate (Stringer).

Money is integer minor units of one asset. Planning finds the smallest n with
Gamma^-1(confidence; 1 + n*e, rate n) < theta (e = expected/book, theta = tolerable/book),
i.e. P(1 + n*e, n*theta) > confidence for the regularised lower incomplete gamma P. That is a
double-precision computation (scipy): every plan records its ``margin``, the distance of
P from the confidence at n and at n - 1, so a reader can see that the decision could not
flip under rounding (the Table C-1 test asserts every cell's margin exceeds 1e-9).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.special import gammainc

from ledger_audit.analytics.sampling.attribute import SamplingInputError
from ledger_audit.analytics.sampling.factors import FactorMode, upper_factor

METHOD_PLAN = "mus.poisson.gamma"
METHOD_EVALUATE = "mus.stringer.poisson"
MAX_N = 100_000


@dataclass(frozen=True, slots=True)
class MusPlan:
    """A planned MUS sample: size, interval and the expected taintings n*e (exact)."""

    confidence: Fraction
    book_value: int
    tolerable: int
    expected: int
    n: int | None
    interval: Fraction | None
    expected_taintings: Fraction | None
    margin: float | None
    factor_mode: FactorMode
    method: str = METHOD_PLAN


def _risk(confidence: Fraction) -> Fraction:
    if not 0 < confidence < 1:
        raise SamplingInputError(f"confidence must be in (0, 1), got {confidence}")
    return 1 - confidence


def plan_mus_ratio(
    confidence: Fraction, theta: Fraction, e: Fraction, factor_mode: FactorMode = "exact"
) -> tuple[int | None, float | None]:
    """Smallest n for tolerable and expected misstatement given as fractions of book value."""
    _risk(confidence)
    if not 0 < theta <= 1 or not 0 <= e < theta:
        raise SamplingInputError(f"need 0 <= expected < tolerable <= book, got {e}, {theta}")
    if factor_mode == "table":
        if e != 0:
            raise SamplingInputError("table factor mode is defined for zero expected misstatement")
        factor = upper_factor(confidence, 0, "table")
        n = -(-factor.numerator * theta.denominator // (factor.denominator * theta.numerator))
        return max(n, 1), None
    conf = float(confidence)
    # No n below the zero-error size can meet the criterion (a larger shape only lowers P).
    start = max(1, int(-math.log(float(1 - confidence)) / float(theta)) - 1)
    while start <= MAX_N:
        stop = min(MAX_N, start * 4 + 64)
        ns = np.arange(start, stop + 1, dtype=np.float64)
        shape = 1.0 + ns * float(e)
        values = gammainc(shape, ns * float(theta))
        hits = np.flatnonzero(values > conf)
        if hits.size:
            i = int(hits[0])
            n = start + i
            before = (
                float(gammainc(1.0 + (n - 1) * float(e), (n - 1) * float(theta))) if n > 1 else 0.0
            )
            margin = min(float(values[i]) - conf, conf - before)
            return n, margin
        start = stop + 1
    return None, None


def plan_mus(
    confidence: Fraction,
    book_value: int,
    tolerable: int,
    expected: int = 0,
    factor_mode: FactorMode = "exact",
) -> MusPlan:
    """Plan a MUS sample over ``book_value`` minor units (one asset)."""
    if book_value <= 0 or tolerable <= 0 or expected < 0:
        raise SamplingInputError("book value and tolerable must be > 0, expected >= 0")
    theta = Fraction(tolerable, book_value)
    e = Fraction(expected, book_value)
    n, margin = plan_mus_ratio(confidence, min(theta, Fraction(1)), e, factor_mode)
    interval = Fraction(book_value, n) if n else None
    taint = n * e if n else None
    return MusPlan(
        confidence, book_value, tolerable, expected, n, interval, taint, margin, factor_mode
    )


@dataclass(frozen=True, slots=True)
class MusEvaluation:
    """Stringer upper misstatement limit in minor units (rounded up), and its parts."""

    confidence: Fraction
    n: int
    interval: Fraction
    taints: tuple[Fraction, ...]
    top_stratum_misstatement: int
    basic_precision: Fraction
    projected: Fraction
    incremental_allowance: Fraction
    upper_limit: int
    tolerable: int | None
    accepted: bool | None
    factor_mode: FactorMode
    method: str = METHOD_EVALUATE


def evaluate_mus(
    confidence: Fraction,
    n: int,
    interval: Fraction,
    sampled: Sequence[tuple[int, int]],
    *,
    top_stratum_misstatement: int = 0,
    tolerable: int | None = None,
    factor_mode: FactorMode = "exact",
) -> MusEvaluation:
    """Stringer bound over (book, audited) pairs of the sampled items below the interval.

    Overstatement taints (book - audited)/book are clipped to [0, 1] and sorted descending;
    UML = UF(0)*J + sum(t_i*J) + sum((UF(i) - UF(i-1) - 1)*t_i*J) + top-stratum misstatement.
    Understatements are evaluated separately (pass the pairs with the signs swapped).
    """
    _risk(confidence)
    if n < 1 or interval <= 0:
        raise SamplingInputError("need n >= 1 and a positive interval")
    taints = sorted(
        (min(Fraction(1), max(Fraction(0), Fraction(b - a, b))) for b, a in sampled if b > 0),
        reverse=True,
    )
    taints = [t for t in taints if t > 0]
    factors = [upper_factor(confidence, i, factor_mode) for i in range(len(taints) + 1)]
    basic = factors[0] * interval
    projected = sum((t * interval for t in taints), Fraction(0)) + top_stratum_misstatement
    allowance = sum(
        ((factors[i + 1] - factors[i] - 1) * t * interval for i, t in enumerate(taints)),
        Fraction(0),
    )
    total = basic + projected + allowance
    upper = -(-total.numerator // total.denominator)
    accepted = None if tolerable is None else upper < tolerable
    return MusEvaluation(
        confidence,
        n,
        interval,
        tuple(taints),
        top_stratum_misstatement,
        basic,
        projected,
        allowance,
        upper,
        tolerable,
        accepted,
        factor_mode,
    )
