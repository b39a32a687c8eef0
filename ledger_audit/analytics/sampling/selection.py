"""Monetary-unit selection with a seeded generator, recorded so that anyone can redo it.

The population is one asset's items (``item_id`` text, ``book_value`` integer minor units),
sorted by ``item_id`` (a total order, so the cumulative monetary line is reproducible).
Items with a book value <= 0 cannot be hit and are counted in ``excluded``, never dropped
silently. A unit u on the cumulative line belongs to the item i with cum[i-1] < u <= cum[i].
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from ledger_audit.analytics.sampling.attribute import SamplingInputError

SelectionMethod = Literal["fixed_interval", "cell", "random"]
RNG_NAME = "numpy.random.Generator(PCG64)"
SELECTION_SCHEMA: dict[str, pl.DataType] = {
    "item_id": pl.String(),
    "book_value": pl.Int64(),
    "hits": pl.UInt32(),
    "first_unit": pl.Int64(),
    "top_stratum": pl.Boolean(),
}
WORKPAPER_SCHEMA: dict[str, pl.DataType] = {
    **SELECTION_SCHEMA,
    "audited_value": pl.Int64(),
    "tester_result": pl.String(),
    "tester_note": pl.String(),
}


@dataclass(frozen=True, slots=True)
class MusSelection:
    """Selected items and everything needed to reproduce the draw (the manifest's record)."""

    items: pl.DataFrame
    method: SelectionMethod
    seed: int
    rng: str
    numpy_version: str
    population_sha256: str
    population_items: int
    excluded: int
    book_value: int
    n: int
    interval: int
    start: int | None
    sort_key: str = "item_id"

    def record(self) -> dict[str, object]:
        """The parameters and ids as plain JSON values (for ``--json`` and the manifest)."""
        return {
            "method": f"mus.selection.{self.method}",
            "rng": self.rng,
            "numpy_version": self.numpy_version,
            "seed": self.seed,
            "population_sha256": self.population_sha256,
            "population_items": self.population_items,
            "excluded_non_positive": self.excluded,
            "book_value": self.book_value,
            "n": self.n,
            "interval": self.interval,
            "start": self.start,
            "sort_key": self.sort_key,
            "selected_ids": self.items["item_id"].to_list(),
        }


def population_digest(population: pl.DataFrame) -> str:
    """SHA-256 of the sorted population as ``id<TAB>value`` lines."""
    lines = population.select(
        pl.concat_str(pl.col("item_id"), pl.lit("\t"), pl.col("book_value").cast(pl.String))
    ).to_series()
    return hashlib.sha256(("\n".join(lines.to_list()) + "\n").encode()).hexdigest()


def select_mus(
    population: pl.DataFrame, n: int, seed: int, method: SelectionMethod = "fixed_interval"
) -> MusSelection:
    """Select by monetary unit; every item at least one interval large is hit (top stratum)."""
    if n < 1:
        raise SamplingInputError(f"sample size must be >= 1, got {n}")
    frame = population.select(
        pl.col("item_id").cast(pl.String), pl.col("book_value").cast(pl.Int64)
    ).sort("item_id")
    if frame["item_id"].is_duplicated().any():
        raise SamplingInputError("population item ids must be unique")
    positive = frame.filter(pl.col("book_value") > 0)
    total = int(positive["book_value"].sum())
    if total < n:
        raise SamplingInputError(f"book value {total} has fewer monetary units than n = {n}")
    interval = total // n
    rng = np.random.Generator(np.random.PCG64(seed))
    start: int | None = None
    if method == "fixed_interval":
        start = int(rng.integers(1, interval + 1))
        units = np.arange(start, total + 1, interval, dtype=np.int64)
    elif method == "cell":
        units = np.arange(n, dtype=np.int64) * interval + rng.integers(1, interval + 1, size=n)
    elif method == "random":
        units = np.sort(rng.integers(1, total + 1, size=n))
    else:
        raise SamplingInputError(f"unknown selection method {method!r}")
    cumulative = positive["book_value"].cum_sum().to_numpy()
    index = np.searchsorted(cumulative, units, side="left")
    hits = (
        pl.DataFrame({"row": index.astype(np.int64), "unit": units})
        .group_by("row")
        .agg(pl.len().cast(pl.UInt32).alias("hits"), pl.col("unit").min().alias("first_unit"))
    )
    items = (
        positive.with_row_index("row")
        .with_columns(pl.col("row").cast(pl.Int64))
        .join(hits, on="row", how="inner")
        .sort("row")
        .select(
            "item_id",
            "book_value",
            "hits",
            "first_unit",
            (pl.col("book_value") >= interval).alias("top_stratum"),
        )
    )
    return MusSelection(
        items=items,
        method=method,
        seed=seed,
        rng=RNG_NAME,
        numpy_version=np.__version__,
        population_sha256=population_digest(frame),
        population_items=frame.height,
        excluded=frame.height - positive.height,
        book_value=total,
        n=n,
        interval=interval,
        start=start,
    )


def workpaper_frame(selection: MusSelection) -> pl.DataFrame:
    """The selected items with empty columns for the tester's audited value and result."""
    return selection.items.with_columns(
        pl.lit(None, pl.Int64).alias("audited_value"),
        pl.lit(None, pl.String).alias("tester_result"),
        pl.lit(None, pl.String).alias("tester_note"),
    ).cast(WORKPAPER_SCHEMA)  # type: ignore[arg-type]
