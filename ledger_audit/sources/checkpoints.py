"""Read chain checkpoints an earlier audit wrote (``ledger_audit.exports.checkpoints``).

The file is a JSON object with a ``checkpoints`` array (other top-level keys are ignored, so
an evidence manifest that carries the array can be read too). Every checkpoint must have
exactly ``ledger_id`` (non-empty text), ``seq`` (integer >= 1), ``head_hash`` (64 lower-case
hex digits) and ``row_count`` (integer >= 0); anything else is an InputError naming the file,
the checkpoint and the field.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ledger_audit.errors import InputError
from ledger_audit.schema.lach1 import Checkpoint

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_FIELDS = ("head_hash", "ledger_id", "row_count", "seq")


def read_checkpoints(path: Path) -> tuple[Checkpoint, ...]:
    """The checkpoints in ``path``, in file order.

    Raises:
        InputError: the file cannot be read, is not JSON, or a checkpoint is malformed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read the checkpoints file: {exc}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}", f"not JSON: {exc.msg}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("checkpoints"), list):
        raise InputError(str(path), 'expected a JSON object with a "checkpoints" array')
    out = tuple(
        _checkpoint(item, f"{path}: checkpoints[{i}]")
        for i, item in enumerate(document["checkpoints"])
    )
    seen: dict[tuple[str, int], str] = {}
    for i, c in enumerate(out):
        other = seen.setdefault((c.ledger_id, c.seq), c.head_hash)
        if other != c.head_hash:
            raise InputError(
                f"{path}: checkpoints[{i}]",
                f"ledger {c.ledger_id} seq {c.seq} has two different head hashes",
            )
    return out


def _checkpoint(item: object, where: str) -> Checkpoint:
    if not isinstance(item, dict):
        raise InputError(where, "expected an object")
    keys = sorted(item)
    if keys != sorted(_FIELDS):
        missing = sorted(set(_FIELDS) - set(keys))
        extra = sorted(set(keys) - set(_FIELDS))
        raise InputError(where, f"missing fields {missing}, unknown fields {extra}")
    ledger_id, seq, head, rows = (item[k] for k in ("ledger_id", "seq", "head_hash", "row_count"))
    if not isinstance(ledger_id, str) or not ledger_id:
        raise InputError(f"{where}.ledger_id", f"expected non-empty text, got {ledger_id!r}")
    if not _is_int(seq) or seq < 1:
        raise InputError(f"{where}.seq", f"expected an integer >= 1, got {seq!r}")
    if not isinstance(head, str) or not _HEX64.match(head):
        raise InputError(f"{where}.head_hash", f"expected 64 lower-case hex digits, got {head!r}")
    if not _is_int(rows) or rows < 0:
        raise InputError(f"{where}.row_count", f"expected an integer >= 0, got {rows!r}")
    return Checkpoint(ledger_id, seq, head, rows)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
