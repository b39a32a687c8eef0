"""Write chain checkpoints as deterministic JSON, for the next audit to read back.

The file is an object ``{"checkpoints": [...]}`` (each checkpoint an object with
``ledger_id``, ``seq``, ``head_hash``, ``row_count``), sorted by ledger and seq, keys sorted,
two-space indent, trailing newline: the same checkpoints always give the same bytes.
``ledger_audit.sources.checkpoints.read_checkpoints`` reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ledger_audit.exports.atomic import write_text_atomic
from ledger_audit.schema.lach1 import Checkpoint


def checkpoints_json(checkpoints: Iterable[Checkpoint]) -> str:
    """The file's text for ``checkpoints``."""
    ordered = sorted(checkpoints, key=lambda c: (c.ledger_id, c.seq, c.head_hash))
    body = {
        "checkpoints": [
            {
                "ledger_id": c.ledger_id,
                "seq": c.seq,
                "head_hash": c.head_hash,
                "row_count": c.row_count,
            }
            for c in ordered
        ]
    }
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_checkpoints(path: Path, checkpoints: Iterable[Checkpoint]) -> Path:
    """Write ``checkpoints`` to ``path`` (parents created) and return the path."""
    return write_text_atomic(path, checkpoints_json(checkpoints))
