from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger_audit.errors import InputError
from ledger_audit.schema.lach1 import Checkpoint
from ledger_audit.sources.checkpoints import read_checkpoints

HEAD = "ab" * 32
GOOD = {"ledger_id": "main", "seq": 3, "head_hash": HEAD, "row_count": 3}


def _file(tmp_path: Path, body: object) -> Path:
    path = tmp_path / "checkpoints.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def test_reads_checkpoints_and_ignores_other_manifest_keys(tmp_path: Path) -> None:
    path = _file(tmp_path, {"run": "x", "checkpoints": [GOOD]})
    assert read_checkpoints(path) == (Checkpoint("main", 3, HEAD, 3),)


@pytest.mark.parametrize(
    ("body", "locator", "reason"),
    [
        ([GOOD], "", 'expected a JSON object with a "checkpoints" array'),
        ({"checkpoints": [1]}, ": checkpoints[0]", "expected an object"),
        (
            {"checkpoints": [{**GOOD, "extra": 1}]},
            ": checkpoints[0]",
            "missing fields [], unknown fields ['extra']",
        ),
        (
            {"checkpoints": [{k: v for k, v in GOOD.items() if k != "seq"}]},
            ": checkpoints[0]",
            "missing fields ['seq'], unknown fields []",
        ),
        ({"checkpoints": [{**GOOD, "ledger_id": ""}]}, ": checkpoints[0].ledger_id", "non-empty"),
        ({"checkpoints": [{**GOOD, "seq": 0}]}, ": checkpoints[0].seq", "integer >= 1"),
        ({"checkpoints": [{**GOOD, "seq": True}]}, ": checkpoints[0].seq", "integer >= 1"),
        ({"checkpoints": [{**GOOD, "seq": "3"}]}, ": checkpoints[0].seq", "integer >= 1"),
        (
            {"checkpoints": [{**GOOD, "head_hash": HEAD.upper()}]},
            ": checkpoints[0].head_hash",
            "hex",
        ),
        ({"checkpoints": [{**GOOD, "row_count": -1}]}, ": checkpoints[0].row_count", ">= 0"),
        (
            {"checkpoints": [GOOD, {**GOOD, "head_hash": "cd" * 32}]},
            ": checkpoints[1]",
            "ledger main seq 3 has two different head hashes",
        ),
    ],
)
def test_bad_checkpoints_name_file_and_field(
    tmp_path: Path, body: object, locator: str, reason: str
) -> None:
    path = _file(tmp_path, body)
    with pytest.raises(InputError) as info:
        read_checkpoints(path)
    assert info.value.locator == f"{path}{locator}"
    assert reason in info.value.reason


def test_not_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{\n  "checkpoints": [\n  oops\n]}', encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_checkpoints(path)
    assert info.value.locator == f"{path}:3"
    assert info.value.reason.startswith("not JSON: ")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the checkpoints file"):
        read_checkpoints(tmp_path / "absent.json")
