"""Poisson (gamma) confidence factors for monetary-unit sampling.

UF(k) = Gamma^-1(confidence; k + 1, 1): the upper bound on the expected number of errors after
k errors. Exact mode uses scipy's regularised incomplete gamma (about 1e-15 relative error,
and the plans check their margin against it); table mode rounds each factor up to 0.01, as
the AICPA guide's evaluation table prints them (3.00, 4.75, 6.30, ... at 95 %).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from scipy.special import gammaincinv

FactorMode = Literal["exact", "table"]


def upper_factor(confidence: Fraction, errors: int, mode: FactorMode = "exact") -> Fraction:
    """UF(errors) at ``confidence``: exact (as the nearest double) or rounded up to 0.01."""
    value = Fraction(float(gammaincinv(errors + 1, float(confidence))))
    if mode == "table":
        return Fraction(-(-value.numerator * 100 // value.denominator), 100)
    return value
