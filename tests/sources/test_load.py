"""One ledger, four sources, identical frames; dispatch by URL scheme and path."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from ledger_audit.errors import InputError
from ledger_audit.exports.snapshot import write_ledger_snapshot
from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources import LedgerFrames, LoadReport, load_ledger
from ledger_audit.sources.ledger_frames import REJECTION_SCHEMA
from ledger_audit.sources.spill import spill_area
from tests.sources.conftest import make_engine
from tests.sources.sample_ledger import expected_frames, sample_rows, write_sample_ledger


def assert_clean(report: LoadReport) -> None:
    assert report.rejections.height == 0
    rows = sample_rows()
    for count in report.counts:
        assert count.read == count.loaded == len(rows[count.table])
        assert count.rejected == 0


def assert_same(frames: LedgerFrames, expected: LedgerFrames) -> None:
    for table, frame in frames.items():
        assert frame.schema == expected.table(table).schema, table
        assert frame.equals(expected.table(table)), table
    assert frames.equals(expected)


def test_sqlite_gives_the_expected_frames(sqlite_ledger: str) -> None:
    frames, report = load_ledger(sqlite_ledger)
    assert_same(frames, expected_frames())
    assert_clean(report)
    assert frames.accounts["allow_negative"].dtype == pl.Boolean
    assert frames.is_sorted()


def test_sqlite_file_path_and_url_agree(sqlite_ledger: str, sqlite_path: Path) -> None:
    from_url, _ = load_ledger(sqlite_ledger)
    from_path, _ = load_ledger(sqlite_path)
    from_str, _ = load_ledger(str(sqlite_path))
    assert from_url.equals(from_path)
    assert from_url.equals(from_str)


@pytest.mark.postgres
def test_postgres_gives_the_expected_frames(pg_ledger: str) -> None:
    frames, report = load_ledger(pg_ledger)
    assert_same(frames, expected_frames())
    assert_clean(report)
    assert "postgresql+psycopg://" in report.source


@pytest.mark.postgres
def test_postgres_plain_scheme(pg_ledger: str) -> None:
    plain = (
        sa.make_url(pg_ledger).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    frames, _ = load_ledger(plain)
    assert frames.equals(expected_frames())


@pytest.mark.parametrize("batch_size", [1, 2, 3, 1000])
def test_batch_size_does_not_change_the_frames(sqlite_ledger: str, batch_size: int) -> None:
    frames, _ = load_ledger(sqlite_ledger, batch_size=batch_size)
    assert frames.equals(expected_frames())


@pytest.mark.postgres
@pytest.mark.parametrize("batch_size", [1, 7])
def test_batch_size_postgres(pg_ledger: str, batch_size: int) -> None:
    frames, _ = load_ledger(pg_ledger, batch_size=batch_size)
    assert frames.equals(expected_frames())


@pytest.mark.postgres
def test_every_source_gives_identical_frames(
    sqlite_ledger: str, pg_ledger: str, tmp_path: Path
) -> None:
    from_sqlite, _ = load_ledger(sqlite_ledger)
    from_pg, _ = load_ledger(pg_ledger)
    write_ledger_snapshot(from_pg, tmp_path / "pq", "parquet")
    write_ledger_snapshot(from_sqlite, tmp_path / "csv", "csv")
    from_parquet, pq_report = load_ledger(tmp_path / "pq")
    from_csv, csv_report = load_ledger(tmp_path / "csv")
    assert_clean(pq_report)
    assert_clean(csv_report)
    expected = expected_frames()
    for frames in (from_sqlite, from_pg, from_parquet, from_csv):
        assert_same(frames, expected)


def test_snapshot_round_trip_without_postgres(sqlite_ledger: str, tmp_path: Path) -> None:
    frames, _ = load_ledger(sqlite_ledger)
    for fmt in ("parquet", "csv"):
        write_ledger_snapshot(frames, tmp_path / fmt, fmt)
        again, report = load_ledger(tmp_path / fmt)
        assert_same(again, frames)
        assert_clean(report)


def test_representable_audit_problems_are_loaded(sqlite_ledger: str) -> None:
    frames, report = load_ledger(sqlite_ledger)
    assert report.rejected == 0
    amounts = frames.entries["amount"].to_list()
    assert 0 in amounts
    assert -7 in amounts
    assert "weird-status" in frames.transactions["status"].to_list()


def test_empty_tables_give_empty_frames(sqlite_url: str, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url)
    write_sample_ledger(engine, {table: [] for table in CANONICAL_TABLES})
    engine.dispose()
    frames, report = load_ledger(sqlite_url)
    assert frames.equals(LedgerFrames.empty())
    assert all(count.read == 0 for count in report.counts)
    assert dict(report.rejections.schema) == REJECTION_SCHEMA
    write_ledger_snapshot(frames, tmp_path / "csv", "csv")
    again, _ = load_ledger(tmp_path / "csv")
    assert again.equals(LedgerFrames.empty())
    for table, frame in again.items():
        assert dict(frame.schema) == FRAME_SCHEMAS[table]


def test_missing_table_sqlite(sqlite_ledger: str) -> None:
    engine = make_engine(sqlite_ledger)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE balances")
    engine.dispose()
    with pytest.raises(InputError, match="balances") as caught:
        load_ledger(sqlite_ledger)
    assert "missing table" in caught.value.reason


@pytest.mark.postgres
def test_missing_table_postgres(pg_ledger: str) -> None:
    engine = make_engine(pg_ledger)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE entries")
    engine.dispose()
    with pytest.raises(InputError, match="entries"):
        load_ledger(pg_ledger)


@pytest.mark.postgres
def test_missing_column_postgres(pg_ledger: str) -> None:
    engine = make_engine(pg_ledger)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE accounts DROP COLUMN external_id")
    engine.dispose()
    with pytest.raises(InputError, match=r"accounts\.external_id"):
        load_ledger(pg_ledger)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_missing_file(sqlite_ledger: str, tmp_path: Path, fmt: str) -> None:
    frames, _ = load_ledger(sqlite_ledger)
    write_ledger_snapshot(frames, tmp_path, "csv" if fmt == "csv" else "parquet")
    (tmp_path / f"entries.{fmt}").unlink()
    with pytest.raises(InputError, match=rf"entries\.{fmt}"):
        load_ledger(tmp_path)


def test_missing_column_in_csv(sqlite_ledger: str, tmp_path: Path) -> None:
    frames, _ = load_ledger(sqlite_ledger)
    write_ledger_snapshot(frames, tmp_path, "csv")
    frames.assets.drop("kind").write_csv(tmp_path / "assets.csv")
    with pytest.raises(InputError, match="kind") as caught:
        load_ledger(tmp_path)
    assert "assets.csv" in caught.value.locator


def test_folder_with_both_formats_is_ambiguous(sqlite_ledger: str, tmp_path: Path) -> None:
    frames, _ = load_ledger(sqlite_ledger)
    write_ledger_snapshot(frames, tmp_path, "csv")
    write_ledger_snapshot(frames, tmp_path, "parquet")
    with pytest.raises(InputError, match="one format"):
        load_ledger(tmp_path)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("mysql://u@h/db", "unsupported source scheme"),
        ("sqlite://", "in-memory"),
        ("/nonexistent/ledger.db", "no such"),
        ("sqlite:////nonexistent/ledger.db", "no such SQLite file"),
    ],
)
def test_unusable_sources(source: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_ledger(source)


def test_empty_folder_and_other_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no ledger files"):
        load_ledger(tmp_path)
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(InputError, match="not a ledger source"):
        load_ledger(other)


def test_batch_size_must_be_positive(sqlite_ledger: str) -> None:
    with pytest.raises(InputError, match="batch_size"):
        load_ledger(sqlite_ledger, batch_size=0)


@pytest.mark.postgres
def test_postgres_password_never_in_report(pg_ledger: str) -> None:
    url = sa.make_url(pg_ledger)
    if url.password is None:
        url = url.set(password="not-needed-with-trust")  # noqa: S106 - a dummy, trust auth
    _, report = load_ledger(url.render_as_string(hide_password=False))
    assert "not-needed-with-trust" not in report.source
    assert url.password is not None
    assert str(url.password) not in report.source


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/self/maps")
def test_inside_a_spill_area_each_table_is_spilled_as_it_is_loaded(
    sqlite_ledger: str, tmp_path: Path
) -> None:
    """A close's load moves each conformed table out of the heap before it reads the next."""
    folder = tmp_path / "spill"
    with spill_area(folder, min_bytes=0) as spill:
        assert spill is not None
        frames, report = load_ledger(sqlite_ledger)
        assert spill.frames >= len(CANONICAL_TABLES)  # every table, before any result
        with Path("/proc/self/maps").open(encoding="utf-8") as maps:
            assert any(str(folder) in line for line in maps)  # the unshared columns stay mapped
    assert_clean(report)
    assert_same(frames, expected_frames())
