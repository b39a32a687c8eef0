"""Golden files of our own parse output, compared unless ``UPDATE_GOLDEN=1`` rewrites them."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from ledger_audit.sources.bank import ParsedStatement

GOLDEN_DIR = Path(__file__).parent / "golden"


def _plain(value: Any, prefix: str) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value.replace(prefix, "")
    return value


def snapshot(parsed: ParsedStatement, samples_dir: Path) -> dict[str, Any]:
    """Counts, records, balances and findings with the machine's sample path removed."""
    prefix = f"{samples_dir}/"

    def rows(frame: Any, drop: tuple[str, ...]) -> list[dict[str, Any]]:
        return [
            {k: _plain(v, prefix) for k, v in row.items() if k not in drop and v is not None}
            for row in frame.iter_rows(named=True)
        ]

    return {
        "counts": {c.kind: [c.read, c.loaded, c.rejected] for c in parsed.counts},
        "records": rows(parsed.records, ("file", "source")),
        "balances": rows(parsed.balances, ("file", "source")),
        "findings": rows(parsed.findings, ()),
    }


def check_golden(name: str, data: dict[str, Any]) -> None:
    """Compare ``data`` with ``golden/<name>.json``; rewrite it when UPDATE_GOLDEN=1."""
    path = GOLDEN_DIR / f"{name}.json"
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN_DIR.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}: run with UPDATE_GOLDEN=1 to create it"
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text), (
        f"parse of {name} differs from {path}; if the change is intended, "
        "rerun with UPDATE_GOLDEN=1 and review the diff"
    )
