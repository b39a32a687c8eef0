"""Attribute sampling for tests of controls: plan the size, evaluate the upper deviation rate.

The criterion is the one-sided Clopper-Pearson bound, decided in exact integer arithmetic
(``binomial``): the smallest n whose bound with k = ceil(n * expected) deviations is below the
tolerable rate. This reproduces AICPA *Audit Sampling* Tables A-1/A-2 (sizes) and, rounded up
to 0.1 %, Tables A-3/A-4 (upper limits). Rates and confidences are ``Fraction``s so that a
rate typed as "0.035" is 7/200, never 0.035000000000000003.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
from scipy.stats import binom

from ledger_audit.analytics.sampling.binomial import cdf_at_or_below, cdf_below
from ledger_audit.errors import InputError

METHOD_PLAN = "attribute.binomial.clopper_pearson"
METHOD_EVALUATE = "attribute.binomial.clopper_pearson_upper"
FactorMode = Literal["exact", "table"]
MAX_N = 20_000
"""Beyond this a plan is reported as not plannable (the AICPA tables print "*" far earlier)."""
_BITS = 64
_TABLE_STEP = Fraction(1, 1000)


class SamplingInputError(InputError):
    """A sampling parameter outside its domain (confidence, rates, counts)."""

    def __init__(self, reason: str) -> None:
        super().__init__("sampling parameters", reason)


@dataclass(frozen=True, slots=True)
class AttributePlan:
    """A planned attribute sample.

    ``n`` is None when no size up to ``MAX_N`` meets the criterion (expected >= tolerable).
    ``expected_deviations`` is ceil(n * expected rate), computed exactly.
    """

    confidence: Fraction
    tolerable_rate: Fraction
    expected_rate: Fraction
    n: int | None
    expected_deviations: int | None
    method: str = METHOD_PLAN


@dataclass(frozen=True, slots=True)
class AttributeEvaluation:
    """The upper deviation rate for k deviations in n items.

    ``upper_rate`` is exact to 2**-64 and never below the true bound (exact mode), or the
    bound rounded up to 0.1 % as the AICPA tables print it (table mode).
    """

    confidence: Fraction
    n: int
    deviations: int
    upper_rate: Fraction
    factor_mode: FactorMode
    method: str = METHOD_EVALUATE


def _check_confidence(confidence: Fraction) -> Fraction:
    if not 0 < confidence < 1:
        raise SamplingInputError(f"confidence must be in (0, 1), got {confidence}")
    return 1 - confidence


def _ceil_mul(n: int, rate: Fraction) -> int:
    return -(-n * rate.numerator // rate.denominator)


def plan_attribute(
    confidence: Fraction, tolerable_rate: Fraction, expected_rate: Fraction
) -> AttributePlan:
    """Smallest n with P(X <= ceil(n * expected) | n, tolerable) < 1 - confidence."""
    risk = _check_confidence(confidence)
    if not 0 < tolerable_rate < 1:
        raise SamplingInputError(f"tolerable rate must be in (0, 1), got {tolerable_rate}")
    if not 0 <= expected_rate < 1:
        raise SamplingInputError(f"expected rate must be in [0, 1), got {expected_rate}")
    if expected_rate < tolerable_rate:
        for n in _candidates(risk, tolerable_rate, expected_rate):
            k = _ceil_mul(n, expected_rate)
            if k < n and cdf_below(n, k, tolerable_rate, risk):
                return AttributePlan(confidence, tolerable_rate, expected_rate, n, k)
    return AttributePlan(confidence, tolerable_rate, expected_rate, None, None)


def _candidates(risk: Fraction, tolerable: Fraction, expected: Fraction) -> list[int]:
    """Sizes whose double-precision tail is not clearly above the risk, ascending.

    A screen only: each candidate is then decided exactly, and a size is skipped only when
    its floating tail exceeds the risk by a relative 1e-6 (binom.cdf is accurate far
    beyond that), so the first exact pass is the smallest n.
    """
    ns = np.arange(1, MAX_N + 1, dtype=np.int64)
    ks = (ns * expected.numerator + expected.denominator - 1) // expected.denominator
    tails = binom.cdf(ks, ns, float(tolerable))
    keep = (ks < ns) & (tails <= float(risk) * (1 + 1e-6))
    return [int(n) for n in ns[keep][:64]]


def evaluate_attribute(
    confidence: Fraction, n: int, deviations: int, factor_mode: FactorMode = "exact"
) -> AttributeEvaluation:
    """Clopper-Pearson upper bound: the p with P(X <= k | n, p) = 1 - confidence."""
    risk = _check_confidence(confidence)
    if n < 1 or not 0 <= deviations <= n:
        raise SamplingInputError(f"need n >= 1 and 0 <= deviations <= n, got {n}, {deviations}")
    if deviations == n:
        bound = Fraction(1)
    elif factor_mode == "table":
        bound = _smallest_grid(n, deviations, risk, _TABLE_STEP)
    else:
        bound = _smallest_grid(n, deviations, risk, Fraction(1, 2**_BITS))
    return AttributeEvaluation(confidence, n, deviations, bound, factor_mode)


def _smallest_grid(n: int, k: int, risk: Fraction, step: Fraction) -> Fraction:
    """Smallest multiple m * step with P(X <= k | n, m * step) <= risk (bisection on m)."""
    lo, hi = 0, int(1 / step)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if cdf_at_or_below(n, k, mid * step, risk):
            hi = mid
        else:
            lo = mid
    return hi * step
