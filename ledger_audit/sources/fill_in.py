"""Refuse a settings file that still holds ``init``'s placeholder ``"FILL-IN"``.

``ledger-audit init`` writes ``"FILL-IN"`` where it could not decide (a bank account's number,
an unknown status value) and explains why in a comment on the same line. A reader calls
:func:`refuse_fill_in` after parsing, so the user gets the reason, not an odd match later:
``rules.toml:14: accounts[0].account_ref: to fill in: the number of the bank account ...``.
"""

from __future__ import annotations

import re
from typing import Any

from ledger_audit.errors import InputError

FILL_IN = "FILL-IN"
"""The placeholder (the same text in every file ``init`` writes)."""

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]")
_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]")
_KEY = re.compile(r'^\s*([A-Za-z0-9_-]+|"[^"]*")\s*=')
_INNER = re.compile(r'([A-Za-z0-9_-]+|"[^"]*")\s*=\s*"FILL-IN"')


def holds_fill_in(value: Any) -> bool:  # noqa: ANN401 - any parsed TOML value
    """Whether a parsed TOML value is, or contains, the placeholder."""
    if isinstance(value, dict):
        return any(holds_fill_in(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_fill_in(v) for v in value)
    return bool(value == FILL_IN)


def refuse_fill_in(document: dict[str, Any], text: str, source: str) -> None:
    """Raise InputError at the first line still holding the placeholder.

    The error names ``source:line``, the key (``accounts[0].account_ref``) and the
    comment on that line, which says what to fill in and why.
    """
    if not holds_fill_in(document):
        return
    table, counts = "", dict[str, int]()
    for number, line in enumerate(text.splitlines(), start=1):
        if array := _ARRAY_HEADER.match(line):
            name = array.group(1)
            counts[name] = counts.get(name, -1) + 1
            table = f"{name}[{counts[name]}]"
            continue
        if header := _HEADER.match(line):
            table = header.group(1)
            continue
        body, _, comment = line.partition("#")
        key = _KEY.match(body)
        if key is None or f'"{FILL_IN}"' not in body:
            continue
        path = ".".join(p for p in (table, key.group(1).strip('"')) if p)
        inner = _INNER.findall(body[key.end() :])
        if inner:
            path = f"{path}.{inner[0].strip(chr(34))}"
        why = comment.strip() or "replace the placeholder"
        raise InputError(f"{source}:{number}", f"{path}: to fill in: {why}")
    raise InputError(source, f'a value is still "{FILL_IN}": replace it')
