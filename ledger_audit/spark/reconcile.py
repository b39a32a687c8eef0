"""Reconciliation's keyed stages on Spark: ``key`` (1), ``group`` (4) and ``exact`` (2).

``reconcile.match.reconcile`` takes a stage runner; :class:`SparkStages` runs these three
stages as Spark DataFrame joins, window ranks and keyed sums over the open ledger items and
records, and hands the others (``scored``, ``subset``) to the frames (``match.run_stage``):
the scored band join, the bounded subset sums, the breaks, aging and payouts stay on the
driver. Normalisation stays on the driver too (``normalise.prepare`` numbers both sides;
``normalise.references`` trims, upper-cases and splits the references), so both engines
compare the same strings; Spark's ``trim`` and ``upper`` are not polars' on every character.

Each stage returns the ``Found`` of its frame twin (``reconcile.stages``) row for row: ties
are broken by the same total order (``i``, then ``x``), nulls sort first as in polars,
amounts are summed as DECIMAL(38, 0) (ANSI mode: an overflow is an error, never a wrapped
sum), and a group's number is given on the driver after the same sort by its key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import polars as pl

from ledger_audit.reconcile.match import Stage, run_stage
from ledger_audit.reconcile.normalise import (
    GROUP_EXTERNAL,
    GROUP_INTERNAL,
    STRONG_EXTERNAL,
    STRONG_INTERNAL,
    references,
)
from ledger_audit.reconcile.stages import (
    AUTO,
    MATCH_ROWS,
    MAX_ROUNDS,
    Found,
    link_rows,
    mutual_best,
    settle_groups,
)
from ledger_audit.sources.match_rules import MatchRules

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

SPARK_STAGES = ("key", "group", "exact")
"""The stages Spark runs; ``scored`` and ``subset`` run on the frames."""

DRIVER_ROWS = 50_000
"""Candidate pairs few enough to finish the mutual-best rounds on the driver (polars)."""

_MONEY = "DECIMAL(38, 0)"
_GROUP_KEY = ["account_ref", "asset_id", "ref"]


class SparkStages:
    """A ``match.StageRunner``: the keyed stages on ``spark``, the others on the frames.

    ``driver_rows``: see :func:`mutual_best_spark` (0: every round on Spark). ``ran`` lists
    the stages Spark ran (in order), so a caller can say where each ran.
    """

    def __init__(self, spark: SparkSession, *, driver_rows: int = DRIVER_ROWS) -> None:
        self.spark = spark
        self.driver_rows = driver_rows
        self.ran: list[str] = []

    def __call__(
        self, stage: Stage, internal: pl.DataFrame, external: pl.DataFrame, rules: MatchRules
    ) -> Found:
        """``stage`` over the open items and records (``match.run_stage``'s contract)."""
        if stage.name not in SPARK_STAGES or not internal.height or not external.height:
            return run_stage(stage, internal, external, rules)
        self.ran.append(stage.name)
        if stage.name == "key":
            return key_stage_spark(self.spark, internal, external, driver_rows=self.driver_rows)
        if stage.name == "group":
            return group_stage_spark(self.spark, internal, external)
        return exact_stage_spark(self.spark, internal, external)


def _ship(spark: SparkSession, frame: pl.DataFrame) -> DataFrame:
    """A driver frame as a Spark DataFrame (through Arrow; dtypes map one to one)."""
    return spark.createDataFrame(frame.to_arrow(compat_level=pl.CompatLevel.oldest()))


def _hold(frame: DataFrame, held: list[DataFrame]) -> DataFrame:
    """``frame`` cached (a round reads it more than once), remembered for :func:`_release`."""
    held.append(frame.cache())
    return held[-1]


@contextmanager
def _released() -> Iterator[list[DataFrame]]:
    """A list for :func:`_hold`; every frame in it is uncached at the end of the block."""
    held: list[DataFrame] = []
    try:
        yield held
    finally:
        for frame in held:
            frame.unpersist()


def _fetch(frame: DataFrame) -> pl.DataFrame:
    found = pl.from_arrow(frame.toArrow())
    assert isinstance(found, pl.DataFrame)  # noqa: S101 - a table gives a frame
    return found


def _order(columns: Sequence[str], descending: Sequence[bool]) -> list[Column]:
    """Sort keys as polars sorts: nulls first in both directions."""
    from pyspark.sql import functions as f  # noqa: PLC0415 - pyspark only when Spark runs

    return [
        f.col(name).desc_nulls_first() if down else f.col(name).asc_nulls_first()
        for name, down in zip(columns, descending, strict=True)
    ]


def mutual_best_spark(
    pairs: DataFrame,
    by: Sequence[str],
    descending: Sequence[bool],
    held: list[DataFrame],
    *,
    driver_rows: int = DRIVER_ROWS,
) -> pl.DataFrame:
    """``stages.mutual_best`` with its rounds on Spark while many pairs are left.

    A round ranks each member's candidates by ``by`` then ``i`` and ``x``, keeps the pairs
    that are first both ways, and drops every pair touching them. ``pairs`` holds one row per
    (i, x). Once at most ``driver_rows`` pairs are left (from the start on a small
    reconciliation; after the first round, which settles every uncontested pair, on a large
    one), the remaining rounds run on the driver by ``stages.mutual_best`` itself, with the
    rounds not yet used: the same rounds, whichever engine runs each. The frames cached go to
    ``held`` (the caller releases them).
    """
    from pyspark.sql import Window  # noqa: PLC0415
    from pyspark.sql import functions as f  # noqa: PLC0415

    order = _order([*by, "i", "x"], [*descending, False, False])
    chosen: list[pl.DataFrame] = []
    columns = pairs.columns  # a join puts its key first: keep one column order
    live = _hold(pairs, held)
    left = live.count()
    for done in range(MAX_ROUNDS):
        if left <= driver_rows:
            rest = _fetch(live.select(*columns))
            chosen.append(mutual_best(rest, list(by), list(descending), MAX_ROUNDS - done))
            break
        both = _hold(
            live.withColumn("_ri", f.row_number().over(Window.partitionBy("i").orderBy(*order)))
            .withColumn("_rx", f.row_number().over(Window.partitionBy("x").orderBy(*order)))
            .filter((f.col("_ri") == 1) & (f.col("_rx") == 1))
            .drop("_ri", "_rx"),
            held,
        )
        if not both.count():
            break
        chosen.append(_fetch(both.select(*columns)))
        live = _hold(
            live.join(both.select("i"), "i", "left_anti").join(both.select("x"), "x", "left_anti"),
            held,
        )
        left = live.count()
        if not left:
            break
    chosen = [frame for frame in chosen if frame.height]
    return pl.concat(chosen).sort("i") if chosen else pl.DataFrame()


def _one_to_one(rows: pl.DataFrame) -> Found:
    """``Found.of_pairs`` of (i, x, rule) rows, automatic with score 1."""
    if not rows.height:
        return Found.none()
    return Found.of_pairs(
        rows.select("i", "x", "rule")
        .with_columns(pl.lit(1.0).alias("score"), pl.lit(AUTO).alias("status"))
        .sort("i")
    )


def key_stage_spark(
    spark: SparkSession,
    internal: pl.DataFrame,
    external: pl.DataFrame,
    *,
    driver_rows: int = DRIVER_ROWS,
) -> Found:
    """``stages.key_stage`` on Spark: the reference join and the mutual-nearest rounds.

    The contested tail of at most ``driver_rows`` pairs is settled on the driver.
    """
    from pyspark.sql import Window  # noqa: PLC0415
    from pyspark.sql import functions as f  # noqa: PLC0415

    left = references(internal, "i", STRONG_INTERNAL, split=False)
    right = references(external, "x", STRONG_EXTERNAL, split=True)
    if not left.height or not right.height:
        return Found.none()
    on = ["account_ref", "asset_id", "amount", "ref"]
    joined = _ship(spark, left).join(
        _ship(
            spark,
            right.rename({"column": "column_right", "priority": "priority_right"}),
        ),
        on=on,
        how="inner",
    )
    first = Window.partitionBy("i", "x").orderBy(*_order(["rank"], [False]))
    pairs = (
        joined.withColumn(
            "rank", f.col("priority") * len(STRONG_EXTERNAL) + f.col("priority_right")
        )
        .withColumn("rule", f.concat(f.lit("key:"), "column", f.lit("="), "column_right"))
        .withColumn("_first", f.row_number().over(first))
        .filter(f.col("_first") == 1)
        .join(_ship(spark, internal.select("i", "days")), "i")
        .join(_ship(spark, external.select("x", pl.col("days").alias("x_days"))), "x")
        .select("i", "x", "rank", "rule", f.abs(f.col("x_days") - f.col("days")).alias("distance"))
    )
    with _released() as held:
        best = mutual_best_spark(
            pairs, ["rank", "distance"], [False, False], held, driver_rows=driver_rows
        )
    return _one_to_one(best)


def exact_stage_spark(spark: SparkSession, internal: pl.DataFrame, external: pl.DataFrame) -> Found:
    """``stages.exact_stage`` on Spark: same amount in the rail window, one candidate both ways."""
    from pyspark.sql import Window  # noqa: PLC0415
    from pyspark.sql import functions as f  # noqa: PLC0415

    items = internal.select(
        "i", "account_ref", "asset_id", "amount", "days", "days_before", "days_after", "rail"
    )
    records = external.select(
        "x", "account_ref", "asset_id", "amount", pl.col("days").alias("x_days")
    )
    gap = f.col("x_days") - f.col("days")
    pairs = (
        _ship(spark, items)
        .join(_ship(spark, records), on=["account_ref", "asset_id", "amount"], how="inner")
        .filter((gap >= -f.col("days_before")) & (gap <= f.col("days_after")))
        .withColumn("_n_i", f.count(f.lit(1)).over(Window.partitionBy("i")))
        .withColumn("_n_x", f.count(f.lit(1)).over(Window.partitionBy("x")))
        .filter((f.col("_n_i") == 1) & (f.col("_n_x") == 1))
        .select("i", "x", f.concat(f.lit("exact:"), "rail").alias("rule"))
    )
    return _one_to_one(_fetch(pairs))


def _sides(frame: DataFrame, suffix: str) -> DataFrame:
    """Per batch key: the exact sum, the count and the most telling column of one side."""
    from pyspark.sql import functions as f  # noqa: PLC0415

    return frame.groupBy(*_GROUP_KEY).agg(
        f.sum(f.col("amount").cast(_MONEY)).alias(f"sum_{suffix}"),
        f.count(f.lit(1)).alias(f"n_{suffix}"),
        f.min("priority").alias(f"p_{suffix}"),
    )


def group_stage_spark(spark: SparkSession, internal: pl.DataFrame, external: pl.DataFrame) -> Found:
    """``stages.group_stage`` on Spark: keyed sums per round; numbering on the driver."""
    left_rows = references(internal, "i", GROUP_INTERNAL, split=False)
    right_rows = references(external, "x", GROUP_EXTERNAL, split=True)
    if not left_rows.height or not right_rows.height:
        return Found.none()
    with _released() as held:
        matches, links = _group_rounds(
            spark, _ship(spark, left_rows), _ship(spark, right_rows), held
        )
    if not matches:
        return Found.none()
    return Found(
        pl.concat(matches).cast(pl.Schema(MATCH_ROWS)).sort("gid"), link_rows(pl.concat(links))
    )


def _group_rounds(
    spark: SparkSession, left: DataFrame, right: DataFrame, held: list[DataFrame]
) -> tuple[list[pl.DataFrame], list[pl.DataFrame]]:
    """The rounds of the group stage: the keyed sums on Spark, each round settled on the driver.

    ``stages.settle_groups`` settles a round from the groups whose sums agree and their
    members: rows of the size of the matches, which the driver holds anyway.
    """
    from pyspark.sql import functions as f  # noqa: PLC0415

    left, right = _hold(left, held), _hold(right, held)
    matches: list[pl.DataFrame] = []
    links: list[pl.DataFrame] = []
    for _ in range(MAX_ROUNDS):
        valid = _hold(
            _sides(left, "i")
            .join(_sides(right, "x"), on=_GROUP_KEY, how="inner")
            .filter((f.col("sum_i") == f.col("sum_x")) & (f.col("n_i") + f.col("n_x") > 2))  # noqa: PLR2004
            .select(*_GROUP_KEY, "p_i", "p_x"),
            held,
        )
        found = _fetch(valid)
        if not found.height:
            break
        keys = valid.select(*_GROUP_KEY)
        members = _fetch(
            left.join(keys, on=_GROUP_KEY, how="left_semi")
            .select(*_GROUP_KEY, f.lit("internal").alias("side"), f.col("i").alias("idx"))
            .unionByName(
                right.join(keys, on=_GROUP_KEY, how="left_semi").select(
                    *_GROUP_KEY, f.lit("external").alias("side"), f.col("x").alias("idx")
                )
            )
        )
        accepted, picked = settle_groups(found, members, sum(m.height for m in matches))
        if not accepted.height:
            break
        matches.append(accepted)
        links.append(picked)
        left = _hold(left.join(_taken(spark, picked, "internal", "i"), "i", "left_anti"), held)
        right = _hold(right.join(_taken(spark, picked, "external", "x"), "x", "left_anti"), held)
    return matches, links


def _taken(spark: SparkSession, picked: pl.DataFrame, side: str, name: str) -> DataFrame:
    """The members of ``side`` a round took, as a one-column Spark frame ``name``."""
    return _ship(spark, picked.filter(pl.col("side") == side).select(pl.col("idx").alias(name)))
