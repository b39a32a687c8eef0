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
from collections.abc import Callable

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


_CANDIDATE = r"\d+ [A-Z][A-Z0-9_]{0,15}/\d"
"""What every ``MINOR_AMOUNT`` match contains: a text without it has no amount to find."""

_FIRST = r"(?:^|[^\w.])(-?\d+) ([A-Z][A-Z0-9_]{0,15}/(?:0|[1-9][0-9]?))(?:$|[^\w/])"
"""``MINOR_AMOUNT`` with its look-around spelled as the neighbouring characters (polars'
regular expressions have no look-around). For the *first* match of a text the two agree:
the neighbours are exactly what the look-around tests, and a match is only consumed past
its own end, so no earlier amount is hidden."""

_ASCII_DIGITS = r"^-?[0-9]+$"


def _first_amount(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(minor units as text, asset id) of the first amount in ``text``, or nulls."""
    return text.str.extract(_FIRST, 1), text.str.extract(_FIRST, 2)


def _amount_columns() -> tuple[pl.Expr, pl.Expr]:
    """``finding_amount``'s (units as text, asset id), column-wise (module docstring)."""
    difference = pl.col("difference").str.strip_chars()
    bare = difference.str.contains(r"^-?\d+$") & pl.col("asset_id").is_not_null()
    units: pl.Expr = pl.when(bare).then(difference)
    asset: pl.Expr = pl.when(bare).then(pl.col("asset_id"))
    for name in ("difference", "actual", "message"):
        found_units, found_asset = _first_amount(pl.col(name))
        units = pl.coalesce(units, found_units)
        asset = pl.when(units.is_not_null() & asset.is_null()).then(found_asset).otherwise(asset)
    return units, asset


def _magnitude_keys(frame: pl.DataFrame) -> pl.Series:
    """:func:`_magnitude_key` of every finding, column-wise.

    Units written in ASCII digits (all that checks write) are keyed column-wise; any other
    row goes through the Python definition.
    """
    units, asset = _amount_columns()
    found = frame.select(units.alias("units"), asset.alias("asset"))
    plain = found.get_column("units").str.contains(_ASCII_DIGITS).fill_null(value=True)
    digits = pl.col("units").str.strip_prefix("-").str.strip_chars_start("0")
    digits = pl.when(digits == "").then(pl.lit("0")).otherwise(digits)
    scale = pl.col("asset").str.split("/").list.last().cast(pl.Int64())
    padded = digits.str.zfill(scale + 1)
    cut = padded.str.len_chars() - scale
    keys = found.select(
        pl.when(pl.col("units").is_null())
        .then(pl.lit(""))
        .otherwise(
            pl.concat_str(
                padded.str.slice(0, cut).str.zfill(_WHOLE),
                padded.str.slice(cut).str.pad_end(_FRACTION, "0"),
            )
        )
        .alias("_amount")
    ).get_column("_amount")
    odd = (~plain).arg_true()
    if odd.len():
        rows = frame.select("difference", "actual", "message", "asset_id")[odd].rows()
        keys = keys.scatter(odd, [_magnitude_key(finding_amount(*row)) for row in rows])
    return keys


def by_severity(findings: pl.DataFrame) -> pl.DataFrame:
    """``findings`` most severe first, then by amount, largest first (module docstring)."""
    canonical = sort_findings(findings)
    rank = {str(k): v for k, v in SEVERITY_RANK.items()}
    return (
        canonical.with_columns(
            pl.col("severity")
            .replace_strict(rank, default=len(rank), return_dtype=pl.Int32())
            .alias("_rank"),
            _magnitude_keys(canonical),
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


def _rewritten(column: pl.Series, rewrite: Callable[[str], str]) -> pl.Series:
    """``rewrite`` applied to every text of ``column``.

    It is called once per distinct text that could hold an amount (the others cannot
    change), not once per row.
    """
    texts = column.filter(column.str.contains(_CANDIDATE).fill_null(value=False)).unique()
    changed = {text: new for text in texts if (new := rewrite(text)) != text}
    return column.replace(changed) if changed else column


def readable_findings(findings: pl.DataFrame) -> pl.DataFrame:
    """The same findings with their amounts written for a reader (``-104.88 EUR``)."""
    difference = findings.get_column("difference")
    bare = findings.select(
        pl.col("difference").str.strip_chars().str.contains(r"^-?\d+$")
        & pl.col("asset_id").is_not_null()
    ).to_series()
    rows = bare.fill_null(value=False).arg_true()
    if rows.len():
        picked = findings.select("difference", "asset_id")[rows]
        distinct = picked.unique()  # written once per (difference, asset), not once per row
        written = distinct.with_columns(
            pl.Series(
                "_written", [_bare_difference(*pair) for pair in distinct.iter_rows()], pl.String
            )
        )
        joined = picked.join(written, on=["difference", "asset_id"], maintain_order="left")
        difference = difference.scatter(rows, joined.get_column("_written"))
    return findings.with_columns(
        *(
            _rewritten(findings.get_column(name), humanise_amounts)
            for name in ("message", "expected", "actual")
        ),
        _rewritten(difference, humanise_amounts),
    )
