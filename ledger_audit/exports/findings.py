"""Write a run's findings and summary: Parquet for tools, CSV for people, same rows in both.

Files are written to a temporary name and renamed, so a crash never leaves half a file that
looks like a result.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ledger_audit.exports.atomic import write_atomic, write_parquet_atomic
from ledger_audit.findings import FINDINGS_SCHEMA


def write_frame(frame: pl.DataFrame, out_dir: Path, stem: str) -> tuple[Path, Path]:
    """``stem.parquet`` and ``stem.csv`` in ``out_dir`` (created if missing)."""
    parquet = write_parquet_atomic(out_dir / f"{stem}.parquet", frame)
    csv = write_atomic(out_dir / f"{stem}.csv", frame.write_csv)
    return parquet, csv


def write_findings(findings: pl.DataFrame, out_dir: Path) -> tuple[Path, Path]:
    """``findings.parquet`` and ``findings.csv`` with exactly the findings schema."""
    return write_frame(
        findings.select(list(FINDINGS_SCHEMA)).cast(pl.Schema(FINDINGS_SCHEMA)), out_dir, "findings"
    )
