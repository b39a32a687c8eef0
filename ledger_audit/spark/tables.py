"""The six canonical tables as Spark temp views: from Parquet, JDBC (PostgreSQL) or loaded frames.

Every view has the canonical columns and types of ``schema.frames`` (Spark names), so the
statements and the chain code read the same values as the frames path. Parquet is the
layout ``exports.snapshot`` writes and ``sources.files`` reads (``<table>.parquet``); a path
may be a URI the executors can read (``hdfs://``, ``s3a://``). JDBC sessions are read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import polars as pl
import sqlalchemy as sa

from ledger_audit.errors import InputError
from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources.ledger_frames import LedgerFrames

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Origin = Literal["parquet", "jdbc", "frames"]

JDBC_JAR = "/usr/share/java/postgresql.jar"
"""Debian's ``libpostgresql-jdbc-java`` (scripts/ensure-java.sh installs it)."""


def spark_type(dtype: pl.DataType) -> str:
    """The Spark SQL type of a canonical polars dtype."""
    if isinstance(dtype, pl.Decimal):
        return f"DECIMAL({dtype.precision}, {dtype.scale})"
    names = {
        pl.String(): "STRING",
        pl.Int64(): "BIGINT",
        pl.Int32(): "INT",
        pl.Boolean(): "BOOLEAN",
    }
    for polars_type, name in names.items():
        if dtype == polars_type:
            return name
    raise InputError(f"dtype {dtype}", "no Spark type for this canonical column")


@dataclass(frozen=True, slots=True)
class SparkTables:
    """Where the views came from.

    Attributes:
        origin: ``parquet``, ``jdbc`` or ``frames`` (the driver's loaded frames, shipped).
        location: the folder, or the URL without password (for ``frames``: the source
            they were loaded from).
    """

    origin: Origin
    location: str

    def describe(self) -> str:
        """``Parquet /data/ledger`` and the like, for coverage lines."""
        kinds = {"parquet": "Parquet", "jdbc": "JDBC", "frames": "the loaded frames of"}
        return f"{kinds[self.origin]} {self.location}"


def _canonical(table: str, frame: DataFrame) -> DataFrame:
    """The canonical columns of ``table`` in order, cast to their Spark types."""
    present = set(frame.columns)
    missing = [name for name in FRAME_SCHEMAS[table] if name not in present]
    if missing:
        raise InputError(f"table {table}", f"missing column(s) {', '.join(missing)}")
    from pyspark.sql import functions as f  # noqa: PLC0415 - pyspark only when Spark runs

    wide = {"entries": "amount"}.get(table)
    columns = []
    for name, dtype in FRAME_SCHEMAS[table].items():
        kind = spark_type(dtype)
        if name == wide and frame.schema[name].simpleString().startswith("decimal"):
            kind = "DECIMAL(38, 0)"  # a wide ledger's amounts stay exact
        columns.append(f.col(f"`{name}`").cast(kind).alias(name))
    return frame.select(*columns)


def register_parquet(spark: SparkSession, folder: str) -> SparkTables:
    """Views over ``folder/<table>.parquet``; the executors read the files themselves."""
    base = folder.rstrip("/")
    for table in CANONICAL_TABLES:
        path = f"{base}/{table}.parquet"
        try:
            frame = spark.read.parquet(path)
        except Exception as error:
            raise InputError(path, f"Spark cannot read it: {_first_line(error)}") from error
        _canonical(table, frame).createOrReplaceTempView(table)
    return SparkTables("parquet", base)


def register_frames(spark: SparkSession, frames: LedgerFrames, source: str) -> SparkTables:
    """Views over frames already loaded in the driver (a source Spark cannot read itself).

    ``source``: what they were loaded from, as coverage lines name it (no password).
    """
    for table, frame in frames.items():
        arrow = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        _canonical(table, spark.createDataFrame(arrow)).createOrReplaceTempView(table)
    return SparkTables("frames", source)


def jdbc_options(url: str) -> dict[str, str]:
    """Spark's JDBC options for a PostgreSQL SQLAlchemy URL; every session is read-only."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise InputError(parsed.render_as_string(), "JDBC is wired for PostgreSQL URLs only")
    host = parsed.host or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    options = {
        "url": f"jdbc:postgresql://{host}{port}/{parsed.database or ''}",
        "driver": "org.postgresql.Driver",
        "sessionInitStatement": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    }
    if parsed.username:
        options["user"] = parsed.username
    if parsed.password is not None:
        options["password"] = str(parsed.password)
    return options


def register_jdbc(spark: SparkSession, url: str) -> SparkTables:
    """Views over the PostgreSQL tables at ``url`` through JDBC, read-only."""
    options = jdbc_options(url)
    shown = sa.make_url(url).render_as_string(hide_password=True)
    for table in CANONICAL_TABLES:
        reader = spark.read.format("jdbc").options(**options).option("dbtable", table)
        try:
            frame = reader.load()
        except Exception as error:
            raise InputError(f"{shown} table {table}", _first_line(error)) from error
        _canonical(table, frame).createOrReplaceTempView(table)
    return SparkTables("jdbc", shown)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
