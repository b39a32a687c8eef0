"""Flux thresholds as a reviewer types them: percents as text, overrides as a TOML file.

A percent is exact: ``12.5`` is 1,250 basis points, and a percent finer than a basis point is
refused rather than rounded (the test is an integer comparison, ``analytics.flux``). The
overrides file holds one table per GL account; each key it leaves out keeps the report
level's value::

    ["4010"]
    mode = "percent_only"
    percent = 20

    ["2010"]
    amount = 50000          # whole major units of the row's asset

An unknown key, a bad mode or a value of the wrong kind is an ``InputError`` naming the file,
the line and the key, so a typo never silently falls back to the report level.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from ledger_audit.analytics.flux import MODES, Threshold
from ledger_audit.errors import InputError

_BP_PER_PERCENT = 100
_KEYS = ("mode", "amount", "percent")
_MONTHS = 12


def month_before(label: str, months: int = 1) -> str:
    """``'2025-01', 1`` -> ``'2024-12'`` (a ``YYYY-MM`` label ``months`` months earlier)."""
    year, month = (int(part) for part in label.split("-"))
    index = year * _MONTHS + month - 1 - months
    return f"{index // _MONTHS:04d}-{index % _MONTHS + 1:02d}"


def percent_bp(text: str, where: str) -> int:
    """``"10"`` or ``"12.5"`` (percent) -> basis points, exactly; else an ``InputError``."""
    try:
        value = Decimal(text.strip().removesuffix("%"))
    except InvalidOperation:
        raise InputError(where, f"expected a percent such as 10 or 12.5, got {text!r}") from None
    bp = value * _BP_PER_PERCENT
    if not value.is_finite() or value < 0 or bp != bp.to_integral_value():
        raise InputError(where, f"expected a percent >= 0 with at most two decimals, got {text!r}")
    return int(bp)


def _header_line(lines: list[str], account: str) -> int | None:
    header = re.compile(
        rf"^\s*\[\s*(\"{re.escape(account)}\"|'{re.escape(account)}'|"
        rf"{re.escape(account)})\s*\]"
    )
    return next((n for n, line in enumerate(lines) if header.match(line)), None)


def _where(source: str, lines: list[str], account: str, key: str | None) -> str:
    """``file:line [account] key``: the key's line when found, else the table's."""
    start = _header_line(lines, account)
    if start is None:  # a top-level key, not a table
        bare = re.compile(rf"^\s*[\"']?{re.escape(account)}[\"']?\s*=")
        start = next((n for n, line in enumerate(lines) if bare.match(line)), None)
    found = start
    if start is not None and key is not None:
        key_re = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for number in range(start + 1, len(lines)):
            if lines[number].lstrip().startswith("["):
                break
            if key_re.match(lines[number]):
                found = number
                break
    place = source if found is None else f"{source}:{found + 1}"
    return f"{place} [{account}]" + (f" {key}" if key is not None else "")


def overrides_from_toml(
    document: dict[str, Any], text: str, source: str, base: Threshold
) -> tuple[tuple[str, Threshold], ...]:
    """(GL account, threshold) pairs from a parsed overrides file, sorted by account.

    ``text`` is the file's text (for line numbers in errors); ``base`` gives the values a
    table leaves out.
    """
    lines = text.splitlines()
    overrides: list[tuple[str, Threshold]] = []
    for account, body in document.items():
        if not isinstance(body, dict):
            raise InputError(
                _where(source, lines, account, None),
                'expected a table per GL account, such as ["4010"] with mode, amount, percent',
            )
        threshold = base
        for key, raw in body.items():
            where = _where(source, lines, account, key)
            if key not in _KEYS:
                raise InputError(where, f"not a key of an override (one of {', '.join(_KEYS)})")
            threshold = _set(threshold, key, raw, where)
        overrides.append((str(account), threshold))
    return tuple(sorted(overrides))


def _set(threshold: Threshold, key: str, raw: object, where: str) -> Threshold:
    if key == "mode":
        if raw not in MODES:
            raise InputError(where, f"{raw!r} is not one of {', '.join(MODES)}")
        return replace(threshold, mode=raw)
    if key == "amount":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise InputError(where, f"expected whole major units >= 0, got {raw!r}")
        return replace(threshold, amount=raw)
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise InputError(where, f"expected a percent such as 10 or 12.5, got {raw!r}")
    return replace(threshold, percent_bp=percent_bp(str(raw), where))


def read_overrides(path: str, base: Threshold) -> tuple[tuple[str, Threshold], ...]:
    """The overrides file at ``path`` (read by ``sources.toml_file``); errors name the key."""
    from pathlib import Path  # noqa: PLC0415 - one use

    from ledger_audit.sources.toml_file import parse_toml, read_text  # noqa: PLC0415

    text = read_text(Path(path), "flux overrides")
    return overrides_from_toml(parse_toml(text, path), text, path, base)
