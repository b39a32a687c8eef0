"""LACH-1 chain verification with the hashing on Spark, partitioned by sequence ranges.

Each link needs only its predecessor (DESIGN.md section 4), so a chain splits into ranges
of ``RANGE_ROWS`` seqs: every range goes to a partition with the last row of the range
before it, and a partition builds and hashes its rows' canonical payloads with the
project's own code (``checks.chain_hashes``) over Arrow batches (``mapInArrow``). Spark hands
back only what differs from the stored hashes (content, self-link, prev link, meta_hash):
an intact chain sends the driver one row per ledger. The classification of what broke
(``checks.chain``) then runs unchanged on those signals, so the findings and checkpoints
are the frames path's by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from ledger_audit.checks.chain import chain_result, verify_chain
from ledger_audit.checks.chain_hashes import (
    ENTRY_COLUMNS,
    META_COLUMNS,
    SEALED_COLUMNS,
    VECTORISED,
    VERSION_KEY,
    ChainHasher,
    content_hashes,
    link_hashes,
    meta_hashes,
)
from ledger_audit.findings import CheckResult
from ledger_audit.schema.lach1 import ALGORITHM, genesis
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import VerifySpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

RANGE_ROWS = 100_000
"""Seqs per range: a partition's unit of work (its payloads exist one Arrow batch at a time)."""

_LEG_FIELDS = ENTRY_COLUMNS[len(VERSION_KEY) :]
_CHAIN = ("chain_prev_hash", "content_hash", "chain_hash")

_STRING, _INT32, _INT64, _BOOL = pa.large_string(), pa.int32(), pa.int64(), pa.bool_()
CONTENT_SCHEMA = pa.schema(
    [
        pa.field(
            name,
            _INT32 if name == "version" else _INT64 if name.endswith(("_ns", "seq")) else _STRING,
        )
        for name in SEALED_COLUMNS
    ]
    + [pa.field("calc", _STRING)]
    + [pa.field(name, _BOOL) for name in ("content_ok", "self_link_ok", "prev_ok")]
    + [pa.field("hashed", _INT64)]
)
"""What a partition returns for each row whose hashes are not all as stored, and one tally
row per batch (only ``hashed``: how many rows it hashed), so that the driver can tell that
every row was hashed: a row Spark never saw must not pass as unchanged."""

META_SCHEMA = pa.schema(
    [pa.field(name, _STRING) for name in ("description", "metadata", "meta_hash", "calc")]
    + [pa.field("hashed", _INT64)]
)
"""What a partition returns for each row whose description and metadata hash otherwise."""


@dataclass(frozen=True, slots=True)
class SparkHashes:
    """What Spark found differing from the stored hashes.

    Attributes:
        content: CONTENT_SCHEMA rows: sealed fields, recomputed content, the three signals.
        meta: rows whose description and metadata hash to something else than meta_hash.
        hashed: chained rows hashed (every partition's tally).
        meta_hashed: rows with a meta_hash hashed.
    """

    content: pl.DataFrame
    meta: pl.DataFrame
    hashed: int
    meta_hashed: int

    def hasher(self) -> ChainHasher:
        """A ChainHasher that answers from these results (unchanged rows: the stored hash).

        ``contents`` (a moved row hashed at another seq) and ``links`` are few rows or cheap:
        they run in the driver with the same vectorised code.
        """
        calcs = self.content.select(*SEALED_COLUMNS, "calc").unique(
            SEALED_COLUMNS, keep="first", maintain_order=True
        )
        metas = self.meta.unique(("description", "metadata", "meta_hash"), keep="first")

        def content_chunks(versions: pl.DataFrame, _: pl.DataFrame) -> Iterator[pl.Series]:
            looked = versions.select(*SEALED_COLUMNS, "content_hash").join(
                calcs, on=list(SEALED_COLUMNS), how="left", nulls_equal=True, maintain_order="left"
            )
            yield looked.select(pl.coalesce("calc", "content_hash").alias("content")).to_series()

        def meta(versions: pl.DataFrame) -> pl.Series:
            looked = versions.select(*META_COLUMNS, "meta_hash").join(
                metas,
                on=["description", "metadata", "meta_hash"],
                how="left",
                nulls_equal=True,
                maintain_order="left",
            )
            return looked.select(pl.coalesce("calc", "meta_hash").alias("meta")).to_series()

        return ChainHasher("spark", VECTORISED.contents, link_hashes, content_chunks, meta)


def _chained_rows(spark: SparkSession) -> DataFrame:
    """Rows of lach/1 ledgers with every chain field, their entries as an array, and range."""
    legs = ", ".join(f"'{name}', {name}" for name in _LEG_FIELDS)
    sealed = ", ".join(f"t.{name}" for name in (*SEALED_COLUMNS, *_CHAIN))
    return spark.sql(
        f"""
        WITH chained AS (
          SELECT * FROM transactions
          WHERE ledger_id IN (SELECT ledger_id FROM ledgers WHERE chain_algorithm = '{ALGORITHM}')
            AND chain_seq IS NOT NULL AND chain_prev_hash IS NOT NULL
            AND content_hash IS NOT NULL AND chain_hash IS NOT NULL
        ),
        legs AS (
          SELECT ledger_id, transaction_id, version,
                 collect_list(named_struct({legs})) AS legs
          FROM entries GROUP BY ledger_id, transaction_id, version
        ),
        ranged AS (
          SELECT {sealed}, coalesce(l.legs, array()) AS legs,
                 (t.chain_seq - 1) DIV {RANGE_ROWS} AS _range
          FROM chained t LEFT JOIN legs l
            ON l.ledger_id = t.ledger_id AND l.transaction_id = t.transaction_id
           AND l.version = t.version
        ),
        last_of_range AS (
          SELECT ledger_id, _range + 1 AS _range,
                 max_by(named_struct('seq', chain_seq, 'hash', chain_hash),
                        named_struct('seq', chain_seq, 'hash', chain_hash)) AS _before
          FROM ranged GROUP BY ledger_id, _range
        )
        SELECT r.*, b._before.seq AS _before_seq, b._before.hash AS _before_hash
        FROM ranged r LEFT JOIN last_of_range b
          ON b.ledger_id = r.ledger_id AND b._range = r._range
        """
    )


def _hash_batches(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One partition: rows sorted by (ledger, range, seq), each range with its predecessor.

    The previous row of a range is the one before it in the partition; the first row's is
    the range before's last row (``_before_*``), or genesis at seq 1.
    """
    carried: tuple[str, int, int, str] | None = None  # ledger, range, seq, chain_hash
    for batch in batches:
        if batch.num_rows == 0:
            continue
        rows = pl.from_arrow(batch)
        assert isinstance(rows, pl.DataFrame)  # noqa: S101 - a batch gives a frame
        rows = rows.with_row_index("_r")
        legs = (
            rows.select("_r", *VERSION_KEY, "legs")
            .filter(pl.col("_r") == pl.col("_r").min().over(VERSION_KEY))
            .explode("legs")
            .drop_nulls("legs")
            .unnest("legs")
            .select(ENTRY_COLUMNS)
        )
        calc = content_hashes(rows, legs)
        own = link_hashes(rows.get_column("chain_prev_hash"), rows.get_column("content_hash"))
        previous = rows.select(
            pl.col("ledger_id").shift(1).alias("_pl"),
            pl.col("_range").shift(1).alias("_pr"),
            pl.col("chain_seq").shift(1).alias("_ps"),
            pl.col("chain_hash").shift(1).alias("_ph"),
        )
        if carried is not None:
            previous = previous.with_columns(
                pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(v)).otherwise(pl.col(c)).alias(c)
                for c, v in zip(("_pl", "_pr", "_ps", "_ph"), carried, strict=True)
            )
        same = (pl.col("_pl") == pl.col("ledger_id")) & (pl.col("_pr") == pl.col("_range"))
        joined = pl.concat([rows, previous], how="horizontal").with_columns(
            calc=calc,
            self_link=own,
            pred_seq=pl.when(same).then(pl.col("_ps")).otherwise(pl.col("_before_seq")),
            pred_hash=pl.when(same).then(pl.col("_ph")).otherwise(pl.col("_before_hash")),
        )
        ledgers = joined.get_column("ledger_id").unique().sort()
        geneses = pl.DataFrame(
            {"ledger_id": ledgers, "_genesis": [genesis(lid) for lid in ledgers]},  # per ledger
            schema={"ledger_id": pl.String(), "_genesis": pl.String()},
        )
        first = pl.col("chain_seq") == 1
        joined = joined.join(geneses, on="ledger_id", how="left", maintain_order="left")
        checked = joined.with_columns(
            content_ok=(pl.col("calc") == pl.col("content_hash")).fill_null(value=False),
            self_link_ok=(pl.col("self_link") == pl.col("chain_hash")).fill_null(value=False),
            prev_ok=pl.when(first)
            .then(pl.col("chain_prev_hash") == pl.col("_genesis"))
            .otherwise(
                (pl.col("pred_seq") == pl.col("chain_seq") - 1)
                & (pl.col("pred_hash") == pl.col("chain_prev_hash"))
            )
            .fill_null(value=False),
        )
        last = rows.row(rows.height - 1, named=True)
        carried = (last["ledger_id"], last["_range"], last["chain_seq"], last["chain_hash"])
        bad = checked.filter(~(pl.col("content_ok") & pl.col("self_link_ok") & pl.col("prev_ok")))
        yield from _with_tally(bad, rows.height, CONTENT_SCHEMA)


def _with_tally(bad: pl.DataFrame, hashed: int, schema: pa.Schema) -> list[pa.RecordBatch]:
    """The differing rows (``hashed`` 0), then the batch's tally row."""
    rows = bad.with_columns(hashed=pl.lit(0, pl.Int64())).select(schema.names)
    tally = pl.DataFrame({"hashed": [hashed]}, schema={"hashed": pl.Int64()})
    both = pl.concat([rows, tally], how="diagonal_relaxed").select(schema.names)
    return both.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(schema).to_batches()


def _meta_batches(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        rows = pl.from_arrow(batch)
        assert isinstance(rows, pl.DataFrame)  # noqa: S101 - a batch gives a frame
        if rows.height == 0:
            continue
        bad = rows.with_columns(calc=meta_hashes(rows)).filter(
            pl.col("calc") != pl.col("meta_hash")
        )
        yield from _with_tally(bad, rows.height, META_SCHEMA)


def _ddl(schema: pa.Schema) -> str:
    """A pyarrow schema as Spark DDL (``name string, version int, ...``)."""
    names = {
        pa.large_string(): "string",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.bool_(): "boolean",
    }
    return ", ".join(f"`{field.name}` {names[field.type]}" for field in schema)


def _collect(frame: DataFrame) -> pl.DataFrame:
    out = pl.from_arrow(frame.toArrow())
    assert isinstance(out, pl.DataFrame)  # noqa: S101 - a table gives a frame
    return out


def _split(found: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """(the differing rows, how many rows were hashed) of a CONTENT or META result."""
    tally = found.filter(pl.col("hashed") > 0).get_column("hashed").sum()
    return found.filter(pl.col("hashed") == 0).drop("hashed"), int(tally)


def spark_hashes(spark: SparkSession) -> SparkHashes:
    """Hash every chained row on Spark; bring back only what differs from the stored hashes."""
    rows = _chained_rows(spark)
    ranged = rows.repartition("ledger_id", "_range").sortWithinPartitions(
        "ledger_id", "_range", "chain_seq", "transaction_id", "version"
    )
    content, hashed = _split(_collect(ranged.mapInArrow(_hash_batches, _ddl(CONTENT_SCHEMA))))
    metas = spark.sql(
        f"""SELECT description, metadata, meta_hash FROM transactions
        WHERE meta_hash IS NOT NULL
          AND ledger_id IN (SELECT ledger_id FROM ledgers WHERE chain_algorithm = '{ALGORITHM}')"""
    )
    meta, meta_hashed = _split(_collect(metas.mapInArrow(_meta_batches, _ddl(META_SCHEMA))))
    return SparkHashes(content, meta, hashed, meta_hashed)


def expected_counts(frames: LedgerFrames) -> tuple[int, int]:
    """(rows with every chain field, rows with a meta_hash) of lach/1 ledgers: what Spark hashes."""
    chained = frames.ledgers.filter(pl.col("chain_algorithm") == ALGORITHM).get_column("ledger_id")
    rows = frames.transactions.filter(pl.col("ledger_id").is_in(chained.implode()))
    complete = pl.all_horizontal(pl.col(c).is_not_null() for c in ("chain_seq", *_CHAIN))
    return rows.filter(complete).height, rows.filter(pl.col("meta_hash").is_not_null()).height


def check_chain_spark(frames: LedgerFrames, spec: VerifySpec, spark: SparkSession) -> CheckResult:
    """The ``chain`` check with every row's payload built and hashed on Spark.

    Raises RuntimeError (the runner's ``check.crashed``) when Spark hashed another number of
    rows than the loaded ledger holds: an unhashed row would read as unchanged.
    """
    hashes = spark_hashes(spark)
    rows, metas = expected_counts(frames)
    if (hashes.hashed, hashes.meta_hashed) != (rows, metas):
        msg = (
            f"Spark hashed {hashes.hashed} rows and {hashes.meta_hashed} meta hashes; the "
            f"loaded ledger has {rows} and {metas}: its views are not the loaded rows"
        )
        raise RuntimeError(msg)
    report = verify_chain(
        frames.transactions,
        frames.entries,
        frames.ledgers,
        spec.checkpoints,
        hasher=hashes.hasher(),
    )
    return chain_result(frames, report)
