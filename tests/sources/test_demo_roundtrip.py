"""A ledger written by the reference writer (the demo) reads back identically from every format."""

from __future__ import annotations

from pathlib import Path

from ledger_audit.demo.build import build_demo
from ledger_audit.exports.snapshot import write_ledger_snapshot
from ledger_audit.sources import load_ledger


def test_demo_ledger_survives_parquet_and_csv_snapshots(tmp_path: Path) -> None:
    build_demo(tmp_path / "demo", transactions=400, seed=11)
    frames, report = load_ledger(tmp_path / "demo" / "ledger.sqlite")
    assert report.rejected == 0
    assert frames.transactions.height > 400
    for fmt in ("parquet", "csv"):
        folder = tmp_path / fmt
        write_ledger_snapshot(frames, folder, fmt)
        again, again_report = load_ledger(folder)
        assert again_report.rejected == 0
        assert again.equals(frames), fmt
