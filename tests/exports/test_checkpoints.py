from __future__ import annotations

from pathlib import Path

from ledger_audit.exports.checkpoints import write_checkpoints
from ledger_audit.schema.lach1 import Checkpoint
from ledger_audit.sources.checkpoints import read_checkpoints

A = Checkpoint("main", 612, "a" * 64, 612)
B = Checkpoint("card", 7, "0123456789abcdef" * 4, 6)


def test_checkpoints_file_is_deterministic_json(tmp_path: Path) -> None:
    path = write_checkpoints(tmp_path / "out" / "checkpoints.json", [A, B])
    assert path.read_text(encoding="utf-8") == (
        "{\n"
        '  "checkpoints": [\n'
        "    {\n"
        '      "head_hash": "' + "0123456789abcdef" * 4 + '",\n'
        '      "ledger_id": "card",\n'
        '      "row_count": 6,\n'
        '      "seq": 7\n'
        "    },\n"
        "    {\n"
        '      "head_hash": "' + "a" * 64 + '",\n'
        '      "ledger_id": "main",\n'
        '      "row_count": 612,\n'
        '      "seq": 612\n'
        "    }\n"
        "  ]\n"
        "}\n"
    )
    again = write_checkpoints(tmp_path / "again.json", [B, A])
    assert again.read_bytes() == path.read_bytes()


def test_checkpoints_round_trip(tmp_path: Path) -> None:
    path = write_checkpoints(tmp_path / "c.json", [A, B])
    assert read_checkpoints(path) == (B, A)
    assert read_checkpoints(write_checkpoints(tmp_path / "none.json", [])) == ()
