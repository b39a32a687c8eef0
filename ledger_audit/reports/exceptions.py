"""Findings as exceptions for a reader: most severe first, then largest amount first.

A controller reads exceptions critical, high, medium, low, info and, within a severity, the
largest amount first: the canonical findings order (``findings.sort_findings``: by ledger,
rule and place) is for tools and diffs. ``by_severity`` keeps that order as the last key,
so the result is still total (same findings, same order).

A finding's amount is the first that names one of: ``difference`` (a bare integer is in the
finding's ``asset_id``), ``actual``, ``message``; amounts are compared by their value in
major units (``1.00 USD`` and ``100 JPY`` compare as 1 and 100: a ranking, not a sum, so no
two assets are ever added). A finding with no amount ranks after those with one.

``readable_findings`` writes the amounts of a findings frame's text for a reader
(``money.humanise_amounts``): the report and the workpaper show it; ``tables/findings.*``
keep the exact minor-unit text tools parse.
"""

from __future__ import annotations

import re

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.findings import SEVERITY_RANK, sort_findings
from ledger_audit.money import MINOR_AMOUNT, format_money, humanise_amounts

_BARE = re.compile(r"^-?\d+$")
_WHOLE, _FRACTION = 40, 38
"""Digits of the fixed-width magnitude key (a u128 has 39; a scale is at most 38)."""

TEXT_COLUMNS = ("message", "expected", "actual", "difference")
"""The findings columns whose amounts ``readable_findings`` rewrites."""


def finding_amount(
    difference: str | None, actual: str | None, message: str | None, asset_id: str | None
) -> tuple[int, str] | None:
    """The finding's amount as (minor units, asset id), or None (see the module docstring)."""
    if difference is not None and asset_id is not None and _BARE.match(difference.strip()):
        return int(difference.strip()), asset_id
    for text in (difference, actual, message):
        if text is None:
            continue
        found = MINOR_AMOUNT.search(text)
        if found is not None:
            return int(found.group(1)), found.group(2)
    return None


def _magnitude_key(amount: tuple[int, str] | None) -> str:
    """A fixed-width text that sorts like the amount's absolute value in major units."""
    if amount is None:
        return ""
    units, asset_id = amount
    scale = int(asset_id.rsplit("/", 1)[1])
    digits = str(abs(units)).zfill(scale + 1)
    whole, fraction = digits[: len(digits) - scale], digits[len(digits) - scale :]
    return whole.zfill(_WHOLE) + fraction.ljust(_FRACTION, "0")


def by_severity(findings: pl.DataFrame) -> pl.DataFrame:
    """``findings`` most severe first, then by amount, largest first (module docstring)."""
    canonical = sort_findings(findings)
    keys = [
        _magnitude_key(finding_amount(d, a, m, s))
        for d, a, m, s in canonical.select("difference", "actual", "message", "asset_id").rows()
    ]
    rank = {str(k): v for k, v in SEVERITY_RANK.items()}
    return (
        canonical.with_columns(
            pl.col("severity")
            .replace_strict(rank, default=len(rank), return_dtype=pl.Int32())
            .alias("_rank"),
            pl.Series("_amount", keys, dtype=pl.String()),
        )
        .sort(["_rank", "_amount"], descending=[False, True], maintain_order=True)
        .drop("_rank", "_amount")
    )


def _bare_difference(difference: str | None, asset_id: str | None) -> str | None:
    """A bare integer difference in the finding's asset, written for a reader."""
    if difference is None or asset_id is None or not _BARE.match(difference.strip()):
        return difference
    try:
        return format_money(int(difference.strip()), asset_id)
    except InputError:
        return difference


def readable_findings(findings: pl.DataFrame) -> pl.DataFrame:
    """The same findings with their amounts written for a reader (``-104.88 EUR``)."""
    differences = [
        _bare_difference(d, s) for d, s in findings.select("difference", "asset_id").rows()
    ]
    return findings.with_columns(
        *(
            pl.col(name).map_elements(humanise_amounts, return_dtype=pl.String())
            for name in ("message", "expected", "actual")
        ),
        pl.Series("difference", differences, dtype=pl.String()).map_elements(
            humanise_amounts, return_dtype=pl.String()
        ),
    )
