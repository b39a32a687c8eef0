"""One Spark run of ``verify``: the session, the views, and the catalogue's checks on Spark.

The catalogue names checks as ``module:function`` taking ``(frames, spec)``; the Spark
checks here find their session through the run that is active (:func:`spark_run`), so the
chain and the invariants share one session (its JVM start is the slow part) and it stops
when the run ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ledger_audit.checks.catalogue import CATALOGUE, Check
from ledger_audit.findings import CheckResult
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources.database import postgres_label
from ledger_audit.sources.files import table_file
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spark.session import SparkSettings, spark_session
from ledger_audit.spark.tables import (
    JDBC_JAR,
    SparkTables,
    register_frames,
    register_jdbc,
    register_parquet,
)
from ledger_audit.spec import VerifySpec

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_HERE = "ledger_audit.spark.run"
SPARK_TARGETS = {
    "chain": f"{_HERE}:check_chain_on_spark",
    "invariants": f"{_HERE}:check_invariants_on_spark",
}
"""The catalogue checks that run on Spark; the others run on the loaded frames."""


@dataclass(frozen=True, slots=True)
class SparkRun:
    """The session of the run and where its views came from."""

    spark: SparkSession
    tables: SparkTables


_ACTIVE: list[SparkRun] = []


def parquet_folder(source: str | Path) -> bool:
    """True when ``source`` is a folder holding the six ``<table>.parquet`` files."""
    folder = Path(source)
    return folder.is_dir() and all(
        table_file(folder, table, "parquet").is_file() for table in CANONICAL_TABLES
    )


def postgresql_url(source: str | Path) -> bool:
    """True when ``source`` is a PostgreSQL SQLAlchemy URL."""
    return str(source).startswith(("postgresql://", "postgresql+", "postgres://"))


def settings_for(settings: SparkSettings, source: str | Path) -> SparkSettings:
    """``settings`` plus the PostgreSQL JDBC driver when ``source`` needs it and it is here."""
    if postgresql_url(source) and Path(JDBC_JAR).is_file() and JDBC_JAR not in settings.jars:
        return replace(settings, jars=(*settings.jars, JDBC_JAR))
    return settings


def register_source(
    spark: SparkSession, source: str | Path, frames: LedgerFrames, *, as_loaded: bool
) -> SparkTables:
    """Spark reads the source itself when its rows are the loaded ledger as they are.

    ``as_loaded``: every row of the source was loaded, unmapped. Then a Parquet folder is
    read by Spark, and a PostgreSQL URL through JDBC when the session has the driver
    (:func:`settings_for`). Otherwise (rows rejected, a mapping, an adapter, SQLite, CSV,
    no JDBC driver) the views are the loaded frames, so that both engines judge the same rows.
    """
    if as_loaded and parquet_folder(source):
        return register_parquet(spark, str(Path(source).resolve()))
    jars = str(spark.conf.get("spark.jars", "") or "")
    if as_loaded and postgresql_url(source) and JDBC_JAR in jars.split(","):
        return register_jdbc(spark, str(source))
    return register_frames(spark, frames, _shown(source))


def _shown(source: str | Path) -> str:
    """The source as a coverage line names it: a URL with its password hidden."""
    text = str(source)
    if "://" not in text:
        return text
    try:
        return postgres_label(text)
    except sa.exc.ArgumentError:  # not a URL SQLAlchemy reads: shown as given
        return text


@contextmanager
def spark_run(
    settings: SparkSettings, source: str | Path, frames: LedgerFrames, *, as_loaded: bool
) -> Iterator[SparkRun]:
    """Start Spark, register the views, make the run active; stop Spark at the end."""
    with (
        spark_session(settings) as spark,
        active(spark, source, frames, as_loaded=as_loaded) as run,
    ):
        yield run


@contextmanager
def active(
    spark: SparkSession, source: str | Path, frames: LedgerFrames, *, as_loaded: bool
) -> Iterator[SparkRun]:
    """Register the views of one ledger on a running session; its run is active inside."""
    spark.catalog.clearCache()  # the previous ledger's cached ``legs``
    run = SparkRun(spark, register_source(spark, source, frames, as_loaded=as_loaded))
    _ACTIVE.append(run)
    try:
        yield run
    finally:
        _ACTIVE.remove(run)


def active_run() -> SparkRun:
    """The run a Spark check belongs to (RuntimeError outside :func:`spark_run`)."""
    if not _ACTIVE:
        msg = "no Spark run is active: run the Spark checks inside spark_run()"
        raise RuntimeError(msg)
    return _ACTIVE[-1]


def spark_catalogue(checks: Sequence[Check] = CATALOGUE) -> tuple[Check, ...]:
    """``checks`` with the chain and the invariants on Spark, in the same order."""
    return tuple(
        replace(check, target=SPARK_TARGETS[check.name]) if check.name in SPARK_TARGETS else check
        for check in checks
    )


def check_chain_on_spark(frames: LedgerFrames, spec: VerifySpec) -> CheckResult:
    """The ``chain`` check, payloads built and hashed on Spark."""
    from ledger_audit.spark.chain import check_chain_spark  # noqa: PLC0415 - only when asked

    return check_chain_spark(frames, spec, active_run().spark)


def check_invariants_on_spark(frames: LedgerFrames, spec: VerifySpec) -> CheckResult:
    """The ``invariants`` check, each statement run by Spark SQL."""
    from ledger_audit.spark.invariants import check_invariants_spark  # noqa: PLC0415

    run = active_run()
    return check_invariants_spark(frames, spec, run.spark, run.tables.describe())
