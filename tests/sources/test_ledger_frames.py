"""The records a load returns: schema-checked frames and counts that add up."""

from __future__ import annotations

import polars as pl
import pytest

from ledger_audit.errors import InputError
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.sources import LedgerFrames, LoadReport, TableCount
from ledger_audit.sources.ledger_frames import empty_rejections
from tests.sources.sample_ledger import expected_frames


def test_wrong_dtype_is_refused() -> None:
    frames = dict(expected_frames().items())
    frames["entries"] = frames["entries"].with_columns(pl.col("amount").cast(pl.Float64))
    with pytest.raises(InputError, match=r"entries\.amount"):
        LedgerFrames.from_tables(frames)


def test_wide_amount_only_in_amount_columns() -> None:
    frames = dict(expected_frames().items())
    frames["entries"] = frames["entries"].with_columns(pl.col("amount").cast(WIDE_AMOUNT))
    LedgerFrames.from_tables(frames)
    frames["entries"] = frames["entries"].with_columns(pl.col("version").cast(WIDE_AMOUNT))
    with pytest.raises(InputError, match=r"entries\.version"):
        LedgerFrames.from_tables(frames)


def test_missing_or_reordered_columns_are_refused() -> None:
    frames = dict(expected_frames().items())
    with pytest.raises(InputError, match="assets"):
        LedgerFrames.from_tables(
            {
                **frames,
                "assets": frames["assets"].reverse().select("kind", "scale", "code", "asset_id"),
            }
        )
    del frames["balances"]
    with pytest.raises(InputError, match="balances"):
        LedgerFrames.from_tables(frames)


def test_equals_compares_values_and_dtypes() -> None:
    a = expected_frames()
    assert a.equals(expected_frames())
    changed = dict(a.items())
    changed["assets"] = changed["assets"].with_columns(pl.col("kind").str.to_uppercase())
    assert not a.equals(LedgerFrames.from_tables(changed))
    assert a.table("entries") is a.entries
    with pytest.raises(InputError):
        a.table("chain_heads")


def test_counts_must_add_up() -> None:
    TableCount("entries", read=3, loaded=2, rejected=1)
    with pytest.raises(InputError, match="read 3"):
        TableCount("entries", read=3, loaded=2, rejected=0)


def test_report_lookup() -> None:
    report = LoadReport(
        source="x", counts=(TableCount("assets", 1, 1, 0),), rejections=empty_rejections()
    )
    assert report.count("assets").loaded == 1
    assert report.rejected == 0
    with pytest.raises(InputError):
        report.count("entries")
    with pytest.raises(InputError):
        LoadReport(source="x", counts=(), rejections=pl.DataFrame({"a": [1]}))


def test_frames_handed_over_are_taken_out_of_the_mapping() -> None:
    frames = dict(expected_frames().items())
    kept = LedgerFrames.from_tables(dict(frames))
    given = dict(frames)
    handed = LedgerFrames.from_tables(given, hand_over=True)
    assert given == {}
    assert handed.equals(kept)
    assert handed.equals(expected_frames())
