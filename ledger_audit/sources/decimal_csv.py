"""Read one column of a CSV file as exact decimal amounts, in integer minor units.

The column is read as text and converted without floats: "12.5" and "0.29" at scale 2 are
1250 and 29. The scale is the largest number of decimals in the column (a value with more
would be rounded, so that never happens). A cell that is not a plain decimal number
(optional sign, digits, optional fraction; a thousands separator is not accepted) is an
``InputError`` naming the file, its line and the cell; an empty cell is counted as blank.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ledger_audit.errors import InputError

_NUMBER = r"^[+-]?(\d+)(\.(\d*))?$"
MAX_SCALE = 18


@dataclass(frozen=True, slots=True)
class DecimalColumn:
    """``amounts`` (Int128 minor units, one per non-blank cell, in file order) at ``scale``."""

    amounts: pl.Series
    scale: int
    rows: int
    blank: int


def read_decimal_column(path: Path, column: str) -> DecimalColumn:
    """Read ``column`` of the CSV at ``path`` exactly; line numbers count the header as 1."""
    try:  # every column is read so that a ragged line is an error, not a shifted cell
        frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise InputError(
            str(path), f"not a readable CSV file: {str(exc).splitlines()[0]}"
        ) from None
    if column not in frame.columns:
        raise InputError(str(path), f"no column named {column!r}")
    text = frame.get_column(column).str.strip_chars()
    cells = pl.DataFrame({"cell": text}).with_row_index("line", offset=2)
    filled = cells.filter(pl.col("cell").is_not_null() & (pl.col("cell") != ""))
    parts = filled.with_columns(
        pl.col("cell").str.extract(_NUMBER, 1).alias("whole"),
        pl.col("cell").str.extract(_NUMBER, 3).fill_null("").alias("fraction"),
    )
    bad = parts.filter(pl.col("whole").is_null())
    if bad.height:
        line, cell = bad.row(0)[:2]
        more = f" ({bad.height - 1} more such cells)" if bad.height > 1 else ""
        raise InputError(f"{path}:{line}", f"{column} {cell!r} is not a decimal number{more}")
    scale = int(parts.select(pl.col("fraction").str.len_chars().max()).item() or 0)
    if scale > MAX_SCALE:
        raise InputError(str(path), f"{column} has {scale} decimals; at most {MAX_SCALE} are read")
    digits = pl.concat_str(pl.col("whole"), pl.col("fraction").str.pad_end(scale, "0"))
    sign = pl.when(pl.col("cell").str.starts_with("-")).then(-1).otherwise(1)
    amounts = parts.select((digits.cast(pl.Int128) * sign).alias(column)).to_series()
    return DecimalColumn(amounts, scale, cells.height, cells.height - filled.height)
