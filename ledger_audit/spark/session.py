"""One SparkSession per run: quiet, small, UTC, ANSI; a clear error when Java or pyspark is missing.

The session is the driver and (in ``local[N]``) the executors: 1-2 GiB of driver memory is
enough for the demo and the tests on a shared machine, and stays configurable for a cluster.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger_audit.errors import InputError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"
LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark %p %c{1}: %m%n
"""
"""Spark's own logging: errors only, one line each, on stderr (its default is WARN and up)."""
INSTALL_HINT = (
    "install pyspark (pip install 'ledger-audit[spark]', or scripts/setup.sh --dev) and a "
    "Java 17 runtime (apt-get install openjdk-17-jre-headless, or scripts/ensure-java.sh)"
)


@dataclass(frozen=True, slots=True)
class SparkSettings:
    """How to start Spark for one run.

    Attributes:
        master: ``local[*]``, ``local[2]``, ``spark://host:7077``, ``yarn``, ``k8s://...``.
        driver_memory: the driver JVM's heap (``1g``); in local mode it holds the executors.
        shuffle_partitions: partitions after a shuffle (Spark's 200 is for clusters).
        app_name: how the run shows in the cluster's UI.
        adaptive: Spark's adaptive query execution; off, small ledgers plan faster (tests).
        codegen: compile query stages to Java; off, a small ledger's statements run in a
            third of the time (no compiler per stage), a large one's slower.
        jars: jars the driver and executors load (the PostgreSQL JDBC driver).
    """

    master: str = DEFAULT_MASTER
    driver_memory: str = "1g"
    shuffle_partitions: int = 4
    app_name: str = "ledger-audit"
    adaptive: bool = True
    codegen: bool = True
    jars: tuple[str, ...] = ()


def missing_runtime() -> str | None:
    """What is missing to start Spark here (a sentence), or None when pyspark and Java are."""
    try:
        import pyspark  # noqa: F401, PLC0415 - optional and slow: only when Spark is asked for
    except ImportError:
        return f"pyspark is not installed: {INSTALL_HINT}"
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if java is None or not os.access(java, os.X_OK):
        return f"no Java runtime found (java on PATH or $JAVA_HOME): {INSTALL_HINT}"
    return None


def start_session(settings: SparkSettings) -> SparkSession:
    """A new session for ``settings``; InputError naming what to install when it cannot start."""
    missing = missing_runtime()
    if missing is not None:
        raise InputError("--engine spark", missing)
    from pyspark.sql import SparkSession  # noqa: PLC0415 - see missing_runtime

    # Python workers (mapInArrow) run this interpreter, where ledger_audit is installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    log4j2 = _log4j2()
    builder = (
        SparkSession.builder.master(settings.master)
        .appName(settings.app_name)
        .config("spark.driver.memory", settings.driver_memory)
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        .config("spark.sql.ansi.enabled", "true")
        .config("spark.sql.adaptive.enabled", str(settings.adaptive).lower())
        .config("spark.sql.codegen.wholeStage", str(settings.codegen).lower())
        .config("spark.sql.codegen.factoryMode", "FALLBACK" if settings.codegen else "NO_CODEGEN")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j2}")
    )
    if settings.jars:
        builder = builder.config("spark.jars", ",".join(settings.jars))
    try:
        session = builder.getOrCreate()
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(
            f"--spark-master {settings.master}", f"Spark did not start: {first}"
        ) from error
    finally:
        log4j2.unlink(missing_ok=True)  # the JVM read it as it started
    session.sparkContext.setLogLevel("ERROR")
    return session


def _log4j2() -> Path:
    """The LOG4J2 configuration as a file the JVM reads at start (one per process)."""
    path = Path(tempfile.gettempdir()) / f"ledger-audit-log4j2-{os.getpid()}.properties"
    path.write_text(LOG4J2, encoding="utf-8")
    return path


def running_session() -> SparkSession | None:
    """The session already active in this process (a notebook's, a test's), if any."""
    if "pyspark.sql" not in sys.modules:
        return None
    from pyspark.sql import SparkSession  # noqa: PLC0415 - already imported

    active: SparkSession | None = SparkSession.getActiveSession()
    return active


@contextmanager
def spark_session(settings: SparkSettings) -> Iterator[SparkSession]:
    """A session for the ``with`` block, stopped at its end whatever happened.

    A session already running in this process is used as it is and left running: it is its
    owner's to stop (``settings`` do not apply to it).
    """
    running = running_session()
    if running is not None:
        yield running
        return
    session = start_session(settings)
    try:
        yield session
    finally:
        session.stop()
