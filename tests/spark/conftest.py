"""One Spark session for all of tests/spark (the JVM takes 15-30 s to start), and its ledgers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger_audit.demo.summary import DemoSummary
from ledger_audit.exports.snapshot import write_ledger_snapshot
from ledger_audit.sources.load import load_ledger
from ledger_audit.spark.session import SparkSettings, missing_runtime, start_session
from ledger_audit.spark.tables import JDBC_JAR
from tests.checks.demo_tampering import tamper
from tests.conftest import DemoFactory, missing_prerequisite

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

TEST_SETTINGS = SparkSettings(
    master="local[2]",
    driver_memory="1g",
    shuffle_partitions=1,
    adaptive=False,
    codegen=False,
    jars=(JDBC_JAR,) if Path(JDBC_JAR).is_file() else (),
)
"""Small and fixed: two cores, 1 GiB, one partition after a shuffle, no code generation (the
ledgers are tiny: compiling each stage cost more than running it, 88 -> 42 s for the suites)."""

TAMPERINGS = (("amount", 1), ("delete", 2), ("reseal", 3), ("swap", 4), ("metadata", 5))
"""Edits made one after another to one copy of the demo: every class of chain break at once."""


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """The session (scripts/test.sh installs pyspark and Java, so CI never skips)."""
    missing = missing_runtime()
    if missing is not None:
        missing_prerequisite(missing)
    session = start_session(TEST_SETTINGS)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_demo(demo_factory: DemoFactory) -> DemoSummary:
    """A small demo with its planted anomalies (invariant findings to compare)."""
    return demo_factory(transactions=120, seed=5)


def parquet_of(sqlite: Path, folder: Path) -> Path:
    """The canonical Parquet snapshot of a SQLite ledger, as ``verify`` reads a folder."""
    frames, _ = load_ledger(sqlite)
    write_ledger_snapshot(frames, folder, "parquet")
    return folder


@pytest.fixture(scope="session")
def demo_parquet(spark_demo: DemoSummary, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo as a Parquet folder."""
    return parquet_of(spark_demo.ledger_path, tmp_path_factory.mktemp("spark-demo"))


@pytest.fixture(scope="session")
def tampered_parquet(spark_demo: DemoSummary, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo after every edit of TAMPERINGS, as a Parquet folder."""
    folder = tmp_path_factory.mktemp("spark-tampered")
    copy = folder / "tampered.sqlite"
    shutil.copy(spark_demo.ledger_path, copy)
    for kind, seed in TAMPERINGS:
        tamper(copy, kind, seed)
    return parquet_of(copy, folder / "parquet")
