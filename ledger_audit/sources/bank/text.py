r"""Reading a text bank file: bytes to lines, in the encoding the bank wrote it in.

Banks send MT940 and BAI2 in UTF-8, but also in the code page of their country (Windows-1250
or CP852 in central Europe, Windows-1252 or CP850 in the west). ``encoding=`` takes the
code page from the caller; the file must then decode in it, else an InputError names the
line. Without it: a byte-order mark or valid UTF-8 means UTF-8; otherwise each of
``DETECTED`` that decodes every byte is scored by how its non-ASCII characters read
(letters inside words score, symbols, box drawing and controls cost), the best wins and
ties go to the earlier one. Text in Windows-1250 and Windows-1252 can read equally well
(Czech ``ř`` is ``ø`` in 1252); give the encoding when the guess is wrong. The encoding
used is returned with the text so that a parse can say which it was. Lines split on
``\n`` only (``\r`` is dropped), so line numbers match what an editor shows. Parsers drop
other control characters (transmission framing such as SOH, ETX, EOT) from each line.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ledger_audit.errors import InputError

DETECTED = ("cp1252", "cp1250", "iso8859-2", "cp852", "cp850")
"""Code pages tried, in order of preference on a tie, when a file is not UTF-8."""

_LAST_RESORT = "latin-1"
"""Maps every byte, so a file none of DETECTED decodes still reads."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LETTER = frozenset({"Lu", "Ll", "Lt"})
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass(frozen=True, slots=True)
class Decoded:
    """A file's text and the encoding it was read in.

    Attributes:
        text: the decoded text (byte-order mark dropped).
        encoding: the codec's canonical name (``utf-8``, ``cp1250``, ...).
        detected: True when the encoding was guessed, False when the caller gave it.
    """

    text: str
    encoding: str
    detected: bool


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes; a missing or unreadable file is an InputError naming it."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read the file: {exc.strerror or exc}") from exc


def canonical_encoding(name: str) -> str:
    """The codec's canonical name (``Windows-1250`` -> ``cp1250``); unknown is ValueError."""
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise ValueError(f"unknown encoding {name!r}") from exc


def _score(text: str) -> int:
    """How plausibly ``text``'s non-ASCII characters are the letters of words."""
    score = 0
    for match in _NON_ASCII.finditer(text):
        index, char = match.start(), match.group()
        category = unicodedata.category(char)
        previous = text[index - 1] if index else " "
        following = text[index + 1] if index + 1 < len(text) else " "
        if category in _LETTER:
            score += 2 if previous.isalpha() or following.isalpha() else 0
            if category == "Lu" and previous.isalpha() and previous.islower():
                score -= 3  # an upper-case letter inside a lower-case word
        else:
            score -= 3
    return score


def _detect(data: bytes) -> tuple[str, str]:
    best: tuple[int, int, str, str] | None = None
    for rank, name in enumerate(DETECTED):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        candidate = (_score(text), -rank, name, text)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        return data.decode(_LAST_RESORT), _LAST_RESORT
    return best[3], canonical_encoding(best[2])


def decode_as(data: bytes, encoding: str | None = None, *, where: str = "") -> Decoded:
    """``data`` as text in ``encoding``, else in the detected one (see the module doc)."""
    if encoding is not None:
        try:
            name = canonical_encoding(encoding)
        except ValueError as exc:
            raise InputError(where or "encoding", str(exc)) from exc
        try:
            text = data.decode(name)
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise InputError(
                f"{where}:{line}" if where else f"line {line}",
                f"byte {data[exc.start : exc.start + 1]!r} is not {name} text: "
                "the file is in another encoding",
            ) from exc
        return Decoded(text.removeprefix("\ufeff"), name, detected=False)
    try:
        return Decoded(data.decode("utf-8").removeprefix("\ufeff"), "utf-8", detected=True)
    except UnicodeDecodeError:
        text, name = _detect(data)
        return Decoded(text, name, detected=True)


def decode(data: bytes) -> str:
    """The text of ``data`` in its detected encoding; a leading byte-order mark is dropped."""
    return decode_as(data).text


def read_decoded(path: str | Path, encoding: str | None = None) -> Decoded:
    """The file's text and encoding (``encoding`` given, else detected)."""
    return decode_as(read_bytes(path), encoding, where=str(path))


def drop_controls(line: str) -> str:
    """``line`` without control characters (SOH, ETX, EOT, NUL...): framing, not content."""
    return _CONTROL.sub("", line)


def split_lines(text: str) -> list[str]:
    """Lines without line ends (carriage returns dropped)."""
    return text.replace("\r", "").split("\n")


def read_text(path: str | Path) -> list[str]:
    """The file's lines in its detected encoding, without line ends."""
    return split_lines(read_decoded(path).text)
