"""Canonical records and balances written in the tests, for the statement writers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from ledger_audit.sources.bank.records import BALANCE_SCHEMA, RECORD_SCHEMA


def records(source: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """RECORD_SCHEMA rows: ``rows`` give the columns that matter, the rest default."""
    filled = [
        {
            "source": source,
            "file": None,
            "line": None,
            "statement_id": None,
            "status": "BOOK",
            "reversal": False,
        }
        | row
        for row in rows
    ]
    return pl.DataFrame(
        [{name: row.get(name) for name in RECORD_SCHEMA} for row in filled],
        schema=RECORD_SCHEMA,
        orient="row",
    )


def balances(source: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """BALANCE_SCHEMA rows (``intermediate`` false unless given)."""
    filled = [
        {"source": source, "file": None, "line": None, "intermediate": False} | r for r in rows
    ]
    return pl.DataFrame(
        [{name: row.get(name) for name in BALANCE_SCHEMA} for row in filled],
        schema=BALANCE_SCHEMA,
        orient="row",
    )


def day(n: int) -> dt.date:
    """January 2025, day n."""
    return dt.date(2025, 1, n)


def comparable(frame: pl.DataFrame, drop: tuple[str, ...]) -> pl.DataFrame:
    """The frame without the columns only a parse can know (file, line...)."""
    return frame.drop(list(drop))
