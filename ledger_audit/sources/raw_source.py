"""The one protocol every ledger source kind implements (SQLite, PostgreSQL, Parquet, CSV).

A source is opened as a context manager (a database keeps one read-only transaction open
for its lifetime) and hands out each canonical table as a *raw* frame: the columns of
FRAME_SCHEMAS in whatever dtypes the source has. ``conform`` turns raw into canonical.
"""

from __future__ import annotations

from typing import Protocol

import polars as pl

from ledger_audit.sources.conform import LocateBy


class LedgerSource(Protocol):
    """An opened ledger: six canonical tables readable as raw frames."""

    @property
    def label(self) -> str:
        """How reports and rejections name this source (never with a password)."""
        ...

    @property
    def locate_by(self) -> LocateBy:
        """How a rejected row of this source is named: ``row N`` or its key."""
        ...

    def table_label(self, table: str) -> str:
        """How rejections of ``table`` name their source: a file path, or the URL."""
        ...

    def read_raw(self, table: str) -> pl.DataFrame:
        """Table ``table`` with at least the FRAME_SCHEMAS columns, dtypes as stored.

        Raises InputError when the table or one of its columns does not exist.
        """
        ...
