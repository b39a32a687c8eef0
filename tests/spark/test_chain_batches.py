"""The chain partitions' own logic, without a JVM: any cut into Arrow batches, any range size.

Spark hands ``_hash_batches`` a partition as Arrow batches it cuts where it likes, each range
with the last row of the range before it. Whatever the cuts and the range size, the rows it
flags must be those a single in-order pass over the whole chain finds, and its tallies must
count every row once.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import polars as pl
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.checks.chain_hashes import (
    ENTRY_COLUMNS,
    SEALED_COLUMNS,
    VERSION_KEY,
    content_hashes,
    link_hashes,
)
from ledger_audit.schema.lach1 import genesis
from ledger_audit.sources.load import load_ledger
from ledger_audit.spark.chain import _CHAIN, _LEG_FIELDS, _hash_batches, _split

_FRAMES: dict[Path, tuple[pl.DataFrame, pl.DataFrame]] = {}


def _chain(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(chained rows in seq order, their entries), loaded once per folder."""
    if folder not in _FRAMES:
        frames, _ = load_ledger(folder)
        rows = frames.transactions.sort("chain_seq", "transaction_id", "version")
        _FRAMES[folder] = (rows, frames.entries)
    return _FRAMES[folder]


def _partition(rows: pl.DataFrame, entries: pl.DataFrame, range_rows: int) -> pl.DataFrame:
    """What ``_chained_rows`` gives a partition: rows with legs, range and its predecessor."""
    legs = entries.group_by(VERSION_KEY).agg(pl.struct(_LEG_FIELDS).alias("legs"))
    ranged = (
        rows.select(*SEALED_COLUMNS, *_CHAIN)
        .join(legs, on=list(VERSION_KEY), how="left", maintain_order="left")
        .with_columns(
            pl.col("legs").fill_null(pl.lit([], legs.schema["legs"])),
            ((pl.col("chain_seq") - 1) // range_rows).alias("_range"),
        )
    )
    last = (
        ranged.group_by("ledger_id", "_range")
        .agg(
            pl.col("chain_seq").max().alias("_before_seq"),
            pl.col("chain_hash").sort_by("chain_seq").last().alias("_before_hash"),
        )
        .with_columns(pl.col("_range") + 1)
    )
    return ranged.join(last, on=["ledger_id", "_range"], how="left", maintain_order="left")


def _expected(rows: pl.DataFrame, entries: pl.DataFrame) -> tuple[set[int], set[int]]:
    """(seqs whose content or self-link differ, seqs whose prev is not the row before's)."""
    calc = content_hashes(rows, entries)
    own = link_hashes(rows.get_column("chain_prev_hash"), rows.get_column("content_hash"))
    checked = rows.with_columns(calc=calc, own=own).with_columns(
        prev_ok=pl.when(pl.col("chain_seq") == 1)
        .then(pl.col("chain_prev_hash") == genesis("demo"))
        .otherwise(
            (pl.col("chain_seq").shift(1) == pl.col("chain_seq") - 1)
            & (pl.col("chain_hash").shift(1) == pl.col("chain_prev_hash"))
        )
        .fill_null(value=False)
    )
    hashes = checked.filter(
        (pl.col("calc") != pl.col("content_hash")) | (pl.col("own") != pl.col("chain_hash"))
    )
    return set(hashes.get_column("chain_seq")), set(
        checked.filter(~pl.col("prev_ok")).get_column("chain_seq")
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    range_rows=st.integers(1, 40),
    partitions=st.integers(1, 4),
    spread=st.integers(0, 1000),
    cuts=st.lists(st.floats(0, 1), max_size=6),
)
def test_any_batches_and_ranges_flag_what_one_pass_finds(
    tampered_parquet: Path, range_rows: int, partitions: int, spread: int, cuts: list[float]
) -> None:
    rows, entries = _chain(tampered_parquet)
    assert rows.get_column("chain_seq").is_unique().all()  # no fork: one predecessor each
    ranged = _partition(rows, entries.select(ENTRY_COLUMNS), range_rows)
    # Spark spreads the ranges over partitions by hash: a range rarely sits beside its predecessor
    home = (pl.col("_range") * 7919 + spread) % partitions
    outputs: list[pa.RecordBatch] = []
    for _, part in ranged.with_columns(_home=home).group_by("_home", maintain_order=True):
        table = part.drop("_home").to_arrow(compat_level=pl.CompatLevel.oldest())
        bounds = sorted({0, table.num_rows, *(round(c * table.num_rows) for c in cuts)})
        batches = [table.slice(a, b - a).to_batches()[0] for a, b in pairwise(bounds) if b > a]
        outputs.extend(_hash_batches(iter(batches)))
    out = pl.from_arrow(pa.Table.from_batches(outputs))
    assert isinstance(out, pl.DataFrame)
    flagged, hashed = _split(out)
    assert hashed == rows.height
    bad_hashes, bad_links = _expected(rows, entries)
    assert bad_hashes  # the tampering shows in both signals
    assert bad_links
    content_or_link = flagged.filter(~(pl.col("content_ok") & pl.col("self_link_ok")))
    assert set(content_or_link.get_column("chain_seq")) == bad_hashes
    assert set(flagged.filter(~pl.col("prev_ok")).get_column("chain_seq")) == bad_links
