"""Parquet and CSV snapshot folders: whatever we write, the readers give back identically."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.cli import main
from ledger_audit.exports.snapshot import write_ledger_snapshot
from ledger_audit.schema.frames import FRAME_SCHEMAS, KEYS, WIDE_AMOUNT
from ledger_audit.schema.tables import CANONICAL_TABLES, metadata
from ledger_audit.sources import LedgerFrames, load_ledger
from ledger_audit.sources.files import FolderReader
from ledger_audit.sources.ledger_frames import AMOUNT_COLUMNS
from tests.sources.sample_ledger import expected_frames

INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)
WIDE = (-(10**38) + 1, 10**38 - 1)

Row = dict[str, Any]


def _value(dtype: pl.DataType) -> st.SearchStrategy[Any]:
    if dtype == pl.String():
        return st.text(max_size=12)
    if dtype == pl.Boolean():
        return st.booleans()
    low, high = INT32 if dtype == pl.Int32() else INT64
    return st.integers(low, high)


@st.composite
def _table(draw: st.DrawFn, table: str) -> pl.DataFrame:
    """A random canonical frame: unique keys, NULLs only where the DDL allows them.

    Amount columns are either Int64, or Decimal(38, 0) with at least one value beyond
    int64 (otherwise the reader rightly narrows them back to Int64).
    """
    schema = dict(FRAME_SCHEMAS[table])
    keys = KEYS[table]
    amounts = AMOUNT_COLUMNS.get(table, ())
    wide = bool(amounts) and draw(st.booleans())
    columns: dict[str, st.SearchStrategy[Any]] = {}
    for column, dtype in schema.items():
        value = _value(dtype)
        if column in keys:
            value = st.text(max_size=3) if dtype == pl.String() else st.integers(0, 3)
        elif wide and column in amounts:
            value = st.integers(*WIDE).map(Decimal)
        if metadata.tables[table].c[column].nullable:
            value = st.none() | value
        columns[column] = value
    rows: list[Row] = draw(
        st.lists(
            st.fixed_dictionaries(columns),
            max_size=5,
            min_size=1 if wide else 0,
            unique_by=lambda row: tuple(row[k] for k in keys),
        )
    )
    if wide:
        rows[0][amounts[0]] = Decimal(draw(st.integers(2**63, WIDE[1])))
        schema.update(dict.fromkeys(amounts, WIDE_AMOUNT))
    return pl.DataFrame(rows, schema=schema).sort(list(keys))


@st.composite
def ledger_frames(draw: st.DrawFn) -> LedgerFrames:
    return LedgerFrames.from_tables({table: draw(_table(table)) for table in CANONICAL_TABLES})


@settings(max_examples=60, deadline=None)
@given(frames=ledger_frames())
def test_random_frames_round_trip_through_parquet_and_csv(frames: LedgerFrames) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("parquet", "csv"):
            folder = Path(tmp) / fmt
            write_ledger_snapshot(frames, folder, fmt)
            again, report = load_ledger(folder)
            assert report.rejected == 0, report.rejections
            for table, frame in again.items():
                assert frame.schema == frames.table(table).schema, (fmt, table)
                assert frame.equals(frames.table(table)), (fmt, table)


def test_csv_rejection_source_is_the_file(tmp_path: Path) -> None:
    write_ledger_snapshot(expected_frames(), tmp_path, "csv")
    reader = FolderReader(tmp_path, "csv")
    assert reader.table_label("assets") == str(tmp_path / "assets.csv")
    assert reader.locate_by == "row"
    raw = reader.read_raw("assets")
    assert all(dtype == pl.String for dtype in raw.schema.values())


def test_parquet_with_other_dtypes_is_conformed(tmp_path: Path) -> None:
    """A Parquet file written by another tool (int32 times, text amounts) still loads exactly."""
    expected = expected_frames()
    write_ledger_snapshot(expected, tmp_path, "parquet")
    expected.entries.with_columns(pl.col("amount").cast(pl.String)).write_parquet(
        tmp_path / "entries.parquet"
    )
    expected.assets.with_columns(pl.col("scale").cast(pl.Int8)).write_parquet(
        tmp_path / "assets.parquet"
    )
    frames, report = load_ledger(tmp_path)
    assert report.rejected == 0
    assert frames.equals(expected)


def test_an_unclosed_quote_in_a_big_csv_is_one_short_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_ledger_snapshot(expected_frames(), tmp_path / "snapshot", "csv")
    entries = tmp_path / "snapshot" / "entries.csv"
    header, *_ = entries.read_text().splitlines()
    filler = "".join(f"L1,tx-{i},0,0,assets:bank,USD/2,debit,{i}\n" for i in range(100_000))
    entries.write_text(f'{header}\nL1,"tx-open,0,0,assets:bank,USD/2,debit,1\n{filler}')
    assert entries.stat().st_size > 4_000_000
    assert main(["verify", str(tmp_path / "snapshot"), "--out", str(tmp_path / "out")]) == 2
    printed = capsys.readouterr()
    (line,) = printed.err.splitlines()
    assert len(line) < 500
    assert f"{entries}:2: cannot read: " in line  # the quote opens on line 2
    assert "not properly escaped" in line  # the parser's point survives the cut
    assert "chars]" in line  # and the cut says how much it left out
