"""The snapshot writer: one file per table, a CSV layout that reads back exactly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.exports.snapshot import write_ledger_snapshot
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources import load_ledger
from tests.sources.sample_ledger import expected_frames


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_one_file_per_table(tmp_path: Path, fmt: str) -> None:
    folder = tmp_path / "nested" / "snapshot"
    written = write_ledger_snapshot(expected_frames(), folder, "csv" if fmt == "csv" else "parquet")
    assert written == [folder / f"{table}.{fmt}" for table in CANONICAL_TABLES]
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in written)


def test_csv_layout(tmp_path: Path) -> None:
    frames = expected_frames()
    write_ledger_snapshot(frames, tmp_path, "csv")
    accounts = (tmp_path / "accounts.csv").read_text(encoding="utf-8").splitlines()
    assert accounts[0] == (
        "ledger_id,account_id,name,normal_balance,asset_id,allow_negative,opened_ns,"
        "closed_ns,external_id,metadata"
    )
    # NULL asset_id and closed_ns are empty fields; booleans are true/false
    assert "L1,equity:fx,fx,credit,,true,1735689600000000000,,," in accounts
    # the empty-string external_id is a quoted "" (NULL would be an empty field)
    assert (
        'L1,liabilities:wallet:alice,alice,credit,USD/2,false,1735689600000000000,,"",' in accounts
    )
    entries = (tmp_path / "entries.csv").read_text(encoding="utf-8")
    assert ",9223372036854775807\n" in entries  # exact int64, no exponent


def test_wide_amounts_are_written_in_full(tmp_path: Path) -> None:
    frames = expected_frames()
    wide = frames.entries.with_columns(pl.col("amount").cast(WIDE_AMOUNT))
    huge = Decimal(10**37 + 3)
    wide = wide.with_columns(
        pl.when(pl.col("amount") == 10_000)
        .then(pl.lit(huge, WIDE_AMOUNT))
        .otherwise("amount")
        .alias("amount")
    )
    frames = type(frames).from_tables({**dict(frames.items()), "entries": wide})
    write_ledger_snapshot(frames, tmp_path, "csv")
    assert f",{10**37 + 3}\n" in (tmp_path / "entries.csv").read_text(encoding="utf-8")
    again, _ = load_ledger(tmp_path)
    assert again.equals(frames)


def test_rewrite_replaces_files_and_leaves_no_partials(tmp_path: Path) -> None:
    frames = expected_frames()
    write_ledger_snapshot(frames, tmp_path, "parquet")
    write_ledger_snapshot(type(frames).empty(), tmp_path, "parquet")
    assert not list(tmp_path.glob(".*partial"))
    again, _ = load_ledger(tmp_path)
    assert again.equals(type(frames).empty())
