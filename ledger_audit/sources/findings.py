"""Read back a findings file an earlier run wrote (``findings.parquet``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.findings import FINDINGS_SCHEMA


def read_findings(path: Path) -> pl.DataFrame:
    """The findings of ``path``, checked against the findings schema.

    Raises:
        InputError: the file cannot be read or is not a findings file.
    """
    try:
        frame = pl.read_parquet(path)
    except (OSError, pl.exceptions.ComputeError) as exc:
        raise InputError(str(path), f"cannot read the findings: {exc}") from exc
    if dict(frame.schema) != FINDINGS_SCHEMA:
        raise InputError(str(path), f"is not a findings file (columns {frame.columns})")
    return frame
