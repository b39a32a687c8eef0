"""Write a run's findings and summary: Parquet for tools, CSV for people, same rows in both.

Files are written to a temporary name and renamed, so a crash never leaves half a file that
looks like a result.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from ledger_audit.findings import FINDINGS_SCHEMA


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    partial = path.with_name(f".{path.name}.partial")
    write(partial)
    partial.replace(path)
    return path


def write_frame(frame: pl.DataFrame, out_dir: Path, stem: str) -> tuple[Path, Path]:
    """``stem.parquet`` and ``stem.csv`` in ``out_dir`` (created if missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    parquet = _atomic(
        out_dir / f"{stem}.parquet", lambda p: frame.write_parquet(p, statistics=False)
    )
    csv = _atomic(out_dir / f"{stem}.csv", frame.write_csv)
    return parquet, csv


def write_findings(findings: pl.DataFrame, out_dir: Path) -> tuple[Path, Path]:
    """``findings.parquet`` and ``findings.csv`` with exactly the findings schema."""
    return write_frame(
        findings.select(list(FINDINGS_SCHEMA)).cast(pl.Schema(FINDINGS_SCHEMA)), out_dir, "findings"
    )
