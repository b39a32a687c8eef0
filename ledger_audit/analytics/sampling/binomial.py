"""Binomial tails in exact integer arithmetic, for the AICPA attribute tables.

A rate p = a/d is a ``Fraction``; P(X <= k | n, p) is compared with a risk as a ratio of
integers, so no cell of a table depends on floating-point rounding (jfa's
``ceiling(14.000000000000002)`` is the failure this avoids).
"""

from __future__ import annotations

from fractions import Fraction
from math import comb


def tail_weight(n: int, k: int, p: Fraction) -> tuple[int, int]:
    """P(X <= k | n, p) as (numerator, denominator) with denominator d**n, exactly."""
    if k >= n:
        return 1, 1
    if k < 0:
        return 0, 1
    a, d = p.numerator, p.denominator
    b = d - a
    total = 0
    term_a = 1
    for i in range(k + 1):
        total += comb(n, i) * term_a * b ** (k - i)
        term_a *= a
    return total * b ** (n - k), d**n


def cdf_at_most(n: int, k: int, p: Fraction) -> Fraction:
    """P(X <= k) for X ~ Binomial(n, p), exactly."""
    num, den = tail_weight(n, k, p)
    return Fraction(num, den)


def cdf_below(n: int, k: int, p: Fraction, risk: Fraction) -> bool:
    """True when P(X <= k | n, p) < risk (strict), decided in integers."""
    num, den = tail_weight(n, k, p)
    return num * risk.denominator < risk.numerator * den


def cdf_at_or_below(n: int, k: int, p: Fraction, risk: Fraction) -> bool:
    """True when P(X <= k | n, p) <= risk, decided in integers."""
    num, den = tail_weight(n, k, p)
    return num * risk.denominator <= risk.numerator * den
