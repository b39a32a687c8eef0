"""Large frames moved into memory-mapped files come back equal, and really are mapped.

A frame is mapped, not copied, when ``/proc/self/maps`` lists its unlinked file while the
frame lives and no longer once it is gone; the spill folder then holds nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import os
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.sources.spill import (
    SPILL_ENV,
    Spill,
    default_folder,
    spill_area,
    spilled,
    spilled_columns,
    spilled_record,
)

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/maps")


def _every_dtype(copies: int = 1) -> pl.DataFrame:
    """Each dtype a close's results hold, with nulls, in ``copies`` chunks."""
    one = pl.DataFrame(
        {
            "amount": [1, None, -3],
            "wide": pl.Series([2**100, None, -5], dtype=pl.Int128()),
            "decimal": pl.Series([Decimal(1), None, Decimal(-3)], dtype=pl.Decimal(38, 0)),
            "text": ["a", None, "a text longer than twelve bytes"],
            "flag": [True, None, False],
            "at": pl.Series(
                [
                    dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                    None,
                    dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
                ],
                dtype=pl.Datetime("ns", "UTC"),
            ),
            "day": [dt.date(2025, 1, 1), None, dt.date(2025, 1, 3)],
            "kind": pl.Series(["x", None, "y"], dtype=pl.Categorical()),
            "side": pl.Series(["x", None, "y"], dtype=pl.Enum(["x", "y"])),
            "legs": [[1, 2], None, []],
            "pair": [{"a": 1, "b": "x"}, None, {"a": 2, "b": None}],
            "count": pl.Series([1, 2, 3], dtype=pl.UInt32()),
            "nothing": [None, None, None],
            "bytes": [b"x", None, b"yy"],
        }
    )
    return pl.concat([one] * copies, rechunk=False)


def _mapped_files(folder: Path) -> list[str]:
    with Path("/proc/self/maps").open(encoding="utf-8") as maps:
        return [line for line in maps if str(folder) in line]


@linux_only
def test_a_frame_comes_back_equal_over_a_mapping_of_an_unlinked_file(tmp_path: Path) -> None:
    frame = _every_dtype(copies=4)
    assert frame.n_chunks() == 4  # a copy into one chunk would drop the mapping
    spill = Spill(tmp_path, min_bytes=0)
    mapped = spill.frame(frame)

    assert mapped is not frame
    assert mapped.columns == frame.columns
    assert mapped.schema == frame.schema
    assert mapped.equals(frame)
    assert (spill.frames, spill.failed) == (1, 0)
    assert spill.bytes == frame.estimated_size()
    assert spill.written > 0
    files = _mapped_files(tmp_path)
    assert files
    assert all(line.rstrip().endswith("(deleted)") for line in files)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # nothing left on disk

    del mapped
    gc.collect()
    assert _mapped_files(tmp_path) == []  # the pages go with the frame
    spill.close()
    assert list(tmp_path.iterdir()) == []  # the private folder too


def _rss_mib() -> dict[str, int]:
    with Path("/proc/self/status").open(encoding="utf-8") as status:
        fields = dict(line.split(":", 1) for line in status if line.startswith("Rss"))
    return {name: int(value.split()[0]) // 1024 for name, value in fields.items()}


@linux_only
def test_every_column_is_mapped_not_copied(tmp_path: Path) -> None:
    """A copy of any column (a rechunk, a string cast) would show as the heap's growth."""
    rows = 4_000_000  # 4 chunks of integers (32 MB) and texts (64 MB of views, 92 MB of bytes)
    part = pl.select(
        n=pl.int_range(rows // 4, dtype=pl.Int64()),
        text=pl.format("{}-a text longer than twelve bytes", pl.int_range(rows // 4)),
    )
    frame = pl.concat([part] * 4, rechunk=False)
    size_mib = frame.estimated_size() // 2**20
    before = _rss_mib()
    mapped = Spill(tmp_path, min_bytes=0).frame(frame)
    after = _rss_mib()
    assert after["RssAnon"] - before["RssAnon"] < size_mib // 4
    assert mapped["text"].str.len_bytes().sum() == frame["text"].str.len_bytes().sum()
    assert mapped["n"].sum() == frame["n"].sum()
    touched = _rss_mib()  # every page read: they are the file's
    assert touched["RssFile"] - after["RssFile"] > size_mib // 2


def test_a_small_frame_is_kept_as_it_is_and_no_folder_is_made(tmp_path: Path) -> None:
    frame = _every_dtype()
    spill = Spill(tmp_path / "spill", min_bytes=int(frame.estimated_size()) + 1)
    assert spill.frame(frame) is frame
    assert (spill.frames, spill.written) == (0, 0)
    assert not (tmp_path / "spill").exists()


def test_a_frame_of_128_bit_integers_only_stays_in_memory(tmp_path: Path) -> None:
    frame = _every_dtype().select("wide")
    spill = Spill(tmp_path, min_bytes=0)
    assert spill.frame(frame) is frame
    assert spill.frames == 0


def test_a_folder_that_cannot_be_written_keeps_the_frame(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    frame = _every_dtype()
    spill = Spill(blocker / "spill", min_bytes=0)
    assert spill.frame(frame) is frame
    assert (spill.frames, spill.failed) == (0, 1)


@dataclasses.dataclass(frozen=True)
class _Inner:
    rows: pl.DataFrame


@dataclasses.dataclass(frozen=True)
class _Outer:
    big: pl.DataFrame
    small: pl.DataFrame
    inner: _Inner
    parts: tuple[pl.DataFrame, ...]
    label: str
    derived: int = dataclasses.field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.big.height == 0:
            raise ValueError("big must have rows")


@linux_only
def test_a_record_has_its_large_frames_moved_nested_ones_included(tmp_path: Path) -> None:
    big = _every_dtype(copies=50)
    small = pl.DataFrame({"a": [1]})
    part = _every_dtype(copies=50)
    record = _Outer(big, small, _Inner(big), (part,), "x")
    spill = Spill(tmp_path, min_bytes=int(small.estimated_size()) + 1)

    moved = spill.record(record)

    assert moved is not record
    assert moved.big is not big
    assert moved.big.equals(big)
    assert moved.inner.rows is not big
    assert moved.inner.rows.equals(big)
    assert moved.small is small  # below the threshold
    assert moved.parts[0] is part  # only fields that are frames or records are moved
    assert moved.label == "x"
    assert spill.frames == 2
    assert _mapped_files(tmp_path)


def test_a_record_with_nothing_to_move_is_returned_as_it_is(tmp_path: Path) -> None:
    small = pl.DataFrame({"a": [1]})
    record = _Outer(small, small, _Inner(small), (), "x")
    spill = Spill(tmp_path, min_bytes=2**30)
    assert spill.record(record) is record
    assert spill.record(None) is None
    assert spill.record("text") == "text"


def test_the_area_is_off_without_a_folder_and_removes_its_own(tmp_path: Path) -> None:
    with spill_area(None) as off:
        assert off is None
    with spill_area(tmp_path, min_bytes=0) as spill:
        assert spill is not None
        kept = spill.frame(_every_dtype())
        assert len(list(tmp_path.iterdir())) == 1  # the run's private folder
    assert list(tmp_path.iterdir()) == []
    assert kept.equals(_every_dtype())  # the frame outlives its folder


def test_spilled_uses_the_area_of_the_run_in_progress_and_nothing_outside(tmp_path: Path) -> None:
    frame = _every_dtype()
    assert spilled(frame) is frame
    with spill_area(tmp_path, min_bytes=0) as spill:
        assert spill is not None
        moved = spilled(frame)
        assert moved is not frame
        assert moved.equals(frame)
        assert spill.frames == 1
        with spill_area(None):
            assert spilled(frame) is not frame  # an area that is off leaves the outer one
    assert spilled(frame) is frame


@linux_only
def test_a_frame_moved_once_is_not_written_again(tmp_path: Path) -> None:
    """A stage spills its results as it makes them; the close's spill of the record after."""
    frame = _every_dtype(copies=50)
    spill = Spill(tmp_path, min_bytes=0)
    moved = spill.frame(frame)
    written = spill.written
    assert moved is not frame
    assert spill.moved(moved)
    assert not spill.moved(frame)
    assert spill.frame(moved) is moved
    record = _Outer(moved, moved, _Inner(moved), (), "x")
    assert spill.record(record) is record
    assert (spill.frames, spill.written) == (1, written)
    assert spill.frame(frame) is not frame  # the frame as it was is still moved
    assert spill.frames == 2
    elsewhere = Spill(tmp_path, min_bytes=0)
    assert not elsewhere.moved(moved)
    assert elsewhere.frame(moved) is not moved  # another run's mapping is not this one's
    assert elsewhere.frames == 1


def test_spilled_record_uses_the_area_of_the_run_in_progress(tmp_path: Path) -> None:
    big = _every_dtype(copies=50)
    record = _Outer(big, big, _Inner(big), (), "x")
    assert spilled_record(record) is record
    with spill_area(tmp_path, min_bytes=0) as spill:
        assert spill is not None
        moved = spilled_record(record)
        assert moved is not record
        assert moved.big.equals(big)
        assert moved.inner.rows.equals(big)
        assert spill.frames > 0
    assert spilled_record(record) is record


@linux_only
def test_columns_are_moved_a_group_at_a_time_as_they_come(tmp_path: Path) -> None:
    """A frame made column by column leaves the heap in groups of at least ``min_bytes``."""
    frame = _every_dtype(copies=2_000)
    sizes = [int(frame.get_column(name).estimated_size()) for name in frame.columns]
    spill = Spill(tmp_path, min_bytes=sum(sizes) // 3)
    made: list[str] = []

    def columns() -> Iterator[pl.Series]:
        for name in frame.columns:
            # the groups before this column are in mapped files already
            made.append(name)
            yield frame.get_column(name)

    moved = spill.columns(columns())
    assert moved.equals(frame)
    assert made == frame.columns
    assert 2 <= spill.frames <= 4  # groups, not one file per column nor one for all
    assert spill.moved(moved)
    written = spill.written
    assert spill.frame(moved) is moved  # not written again
    assert spill.written == written
    small = Spill(tmp_path, min_bytes=sum(sizes) + 1)
    kept = small.columns(iter(frame.get_columns()))
    assert kept.equals(frame)
    assert (small.frames, small.moved(kept)) == (0, False)  # too small: as a frame would be


def test_spilled_columns_uses_the_area_of_the_run_in_progress(tmp_path: Path) -> None:
    frame = _every_dtype(copies=20)
    assert spilled_columns(frame.get_columns()).equals(frame)
    with spill_area(tmp_path, min_bytes=0) as spill:
        assert spill is not None
        moved = spilled_columns(frame.get_columns())
        assert moved.equals(frame)
        assert spill.moved(moved)
        # min_bytes 0: each column is a group; the 128-bit one stays in memory
        assert spill.frames == len(frame.columns) - 1
    assert spilled_columns([]).equals(pl.DataFrame())


def test_the_default_folder_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(SPILL_ENV, "off")
    assert default_folder() is None
    monkeypatch.setenv(SPILL_ENV, "OFF ")
    assert default_folder() is None
    monkeypatch.setenv(SPILL_ENV, str(tmp_path))
    assert default_folder() == tmp_path
    monkeypatch.delenv(SPILL_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_folder() == tmp_path / "cache" / "ledger-audit" / "spill"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_folder() == Path.home() / ".cache" / "ledger-audit" / "spill"
    assert os.environ.get(SPILL_ENV) is None
