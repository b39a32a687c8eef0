"""Nigrini's MAD conformity bands (2012, Table 7.1); each band is closed on its lower side."""

from __future__ import annotations

from ledger_audit.analytics.benford.expected import TestName

BANDS: dict[str, tuple[float, float, float]] = {
    "first": (0.006, 0.012, 0.015),
    "second": (0.008, 0.010, 0.012),
    "first_two": (0.0012, 0.0018, 0.0022),
    "first_three": (0.00036, 0.00044, 0.00050),
}
"""Upper limits of close, acceptable and marginally acceptable conformity."""
LABELS = ("close", "acceptable", "marginal", "nonconformity")


def conformity(test: TestName | str, mad: float) -> str | None:
    """The band of ``mad``, or None where no band is defined (last-two, summation)."""
    limits = BANDS.get(test)
    if limits is None:
        return None
    for label, limit in zip(LABELS, limits, strict=False):
        if mad < limit:
            return label
    return LABELS[-1]
