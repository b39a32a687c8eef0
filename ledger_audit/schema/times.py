"""Instants are UTC epoch nanoseconds (int); text form is ISO 8601 with nine fraction digits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import polars as pl

_NS = 1_000_000_000
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$")


def ns_to_iso(ns: int) -> str:
    """``0`` -> ``'1970-01-01T00:00:00.000000000Z'`` (always nine fraction digits, UTC)."""
    seconds, frac = divmod(ns, _NS)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac:09d}Z"


def iso_to_ns(text: str) -> int:
    """Inverse of :func:`ns_to_iso`; accepts 0 to 9 fraction digits; only ``Z`` (UTC)."""
    match = _ISO.match(text)
    if match is None:
        raise ValueError(f"not a UTC instant YYYY-MM-DDTHH:MM:SS[.fffffffff]Z: {text!r}")
    base = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    frac = (match.group(2) or "").ljust(9, "0")
    return int(base.timestamp()) * _NS + int(frac)


def iso_expr(ns: pl.Expr) -> pl.Expr:
    """Vectorised :func:`ns_to_iso` over an Int64 column of epoch nanoseconds."""
    return pl.from_epoch(ns, time_unit="ns").dt.to_string("%Y-%m-%dT%H:%M:%S%.9fZ")
