"""Dates as bank files write them: ``YYMMDD`` (BAI2, MT940) and ISO 8601 (camt, CSV)."""

from __future__ import annotations

import datetime as dt
import re

_YYMMDD = re.compile(r"^[0-9]{6}$")
_PIVOT = 69
"""Two-digit years below this are 20xx, the rest 19xx (as ``strptime('%y')`` does)."""


class DateError(ValueError):
    """Date text that is not a date in the expected layout."""


def yymmdd(text: str) -> dt.date:
    """``230906`` -> 2023-09-06; years 00-68 are 20xx, 69-99 are 19xx."""
    if not _YYMMDD.match(text):
        raise DateError(f"date {text!r} is not YYMMDD")
    year = int(text[:2])
    year += 2000 if year < _PIVOT else 1900
    try:
        return dt.date(year, int(text[2:4]), int(text[4:6]))
    except ValueError as exc:
        raise DateError(f"date {text!r} is not a calendar date") from exc


def near_year(month_day: str, anchor: dt.date) -> dt.date:
    """``MMDD`` in the year that puts it closest to ``anchor`` (MT940 entry dates)."""
    if not re.fullmatch(r"[0-9]{4}", month_day):
        raise DateError(f"entry date {month_day!r} is not MMDD")
    month, day = int(month_day[:2]), int(month_day[2:])
    candidates: list[dt.date] = []
    for year in (anchor.year - 1, anchor.year, anchor.year + 1):
        try:
            candidates.append(dt.date(year, month, day))
        except ValueError:
            continue
    if not candidates:
        raise DateError(f"entry date {month_day!r} is not a calendar date")
    return min(candidates, key=lambda date: abs((date - anchor).days))


def iso_date(text: str) -> dt.date:
    """``2014-12-31`` or the date part of ``2014-12-31T10:00:00+01:00`` (as written)."""
    stripped = text.strip()
    if not re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:$|[T ])", stripped):
        raise DateError(f"date {text!r} is not YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(stripped[:10])
    except ValueError as exc:
        raise DateError(f"date {text!r} is not a calendar date") from exc
