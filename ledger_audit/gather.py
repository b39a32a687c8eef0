"""Rows taken by position from columns that may come in many chunks.

A column read batch by batch (a database's Arrow batches) or mapped from a spill file
(``sources.spill``: one chunk per record batch) has many chunks, and polars 2.1 gathers
text from such a column several times slower than from one chunk (3M random rows of a
spilled text column in 24 chunks: 0.48 s, against 0.085 s for a rechunk and then the
gather). For text, rechunking copies only the 16-byte views, not the strings (0.05 s for
10M rows); the gathered column shares the same string buffers either way. Numbers gather
about as fast from chunks, and rechunking them would copy a mapped column into the heap, so
they are gathered as they are.
"""

from __future__ import annotations

import polars as pl

_VIEWS = (pl.String, pl.Binary)


def one_chunk(column: pl.Series) -> pl.Series:
    """``column`` in one chunk when it is text in several; otherwise ``column`` itself."""
    if column.n_chunks() > 1 and isinstance(column.dtype, _VIEWS):
        return column.rechunk()
    return column


def gather(column: pl.Series, rows: pl.Series) -> pl.Series:
    """``column.gather(rows)``, text rechunked first (see the module docstring)."""
    return one_chunk(column).gather(rows)


def gather_frame(frame: pl.DataFrame, rows: pl.Series) -> pl.DataFrame:
    """Every column of ``frame`` gathered at ``rows`` (:func:`gather`), in order."""
    return pl.DataFrame([gather(frame.get_column(name), rows) for name in frame.columns])
