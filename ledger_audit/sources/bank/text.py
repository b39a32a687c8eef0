r"""Reading a text bank file: bytes to lines without ever failing on the encoding.

UTF-8 (with or without a byte-order mark) is tried first; anything else is read as
Latin-1, which maps every byte, so a stray byte becomes an odd character in a record
rather than an unreadable file. Lines split on ``\n`` only (``\r`` is dropped), so line
numbers match what an editor shows.
"""

from __future__ import annotations

from pathlib import Path

from ledger_audit.errors import InputError


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes; a missing or unreadable file is an InputError naming it."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read the file: {exc.strerror or exc}") from exc


def decode(data: bytes) -> str:
    """UTF-8 if it decodes, else Latin-1; a leading byte-order mark is dropped."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.removeprefix("\ufeff")


def read_text(path: str | Path) -> list[str]:
    """The file's lines, without line ends."""
    return decode(read_bytes(path)).replace("\r", "").split("\n")
