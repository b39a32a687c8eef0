"""Read the project's TOML settings files (rules, GL mapping) with errors that name a line.

``tomllib`` keeps no line numbers, so :class:`TomlLines` finds them again in the text for an
error's locator: a top-level key, a ``[table]``, the n-th ``[[array]]`` entry, or a key
inside one of those.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from ledger_audit.errors import InputError

_PATH = re.compile(r"^(?P<table>[a-z_]+)(\[(?P<index>\d+)\])?(\.(?P<key>[a-z_]+))?$")


def read_text(path: Path, what: str) -> str:
    """The text of settings file ``path`` (``what`` names the kind in the error)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read the {what} file: {exc}") from exc


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """The TOML document in ``text``; ``source`` names it in the error."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(source, f"not valid TOML: {exc}") from exc


class TomlLines:
    """Line numbers of table headers and keys in one TOML text."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.text_lines = text.splitlines()

    def _find(self, pattern: re.Pattern[str], start: int = 0, nth: int = 0) -> int | None:
        seen = 0
        for number in range(start, len(self.text_lines)):
            if pattern.match(self.text_lines[number]):
                if seen == nth:
                    return number
                seen += 1
        return None

    def locate(self, path: str) -> str:
        """``file:line`` of a path like ``rails[2].days_after``, ``thresholds`` or ``version``.

        The file alone when the path is not found.
        """
        match = _PATH.match(path)
        if match is None:
            return self.source
        table, index, key = match.group("table"), match.group("index"), match.group("key")
        if index is not None:
            header = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]")
            found = self._find(header, nth=int(index))
        else:
            header = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]")
            found = self._find(header)
            if found is None:  # a top-level key, or a key of an inline table
                found = self._find(re.compile(rf"^\s*{re.escape(table)}\s*="))
        if found is None:
            return self.source
        if key is not None:
            next_header = self._find(re.compile(r"^\s*\["), start=found + 1)
            end = len(self.text_lines) if next_header is None else next_header
            key_line = self._find(re.compile(rf"^\s*{re.escape(key)}\s*="), start=found + 1)
            if key_line is not None and key_line < end:
                found = key_line
        return f"{self.source}:{found + 1}"
