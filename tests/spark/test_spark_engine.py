"""``--engine spark`` gives the frames path's findings, balances and checkpoints, exactly.

One session for the module (conftest); the demo keeps its planted anomalies (invariant
findings) and the tampered copy carries several chain breaks at once. Equality is of whole
frames, not counts: the same rows, columns, dtypes and order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ledger_audit.checks.catalogue import CATALOGUE
from ledger_audit.checks.chain_hashes import SEALED_COLUMNS
from ledger_audit.checks.engines import INVARIANT_NAMES, QueryEngine, frame_engine, violations_on
from ledger_audit.checks.invariant_rules import prepare_legs
from ledger_audit.checks.invariants import check_invariants
from ledger_audit.checks.runner import AuditResult, audit
from ledger_audit.checks.suite_files import ExpectationSpec, SuiteSpec
from ledger_audit.cli import main
from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId, Severity
from ledger_audit.replay.balances import balances_as_of
from ledger_audit.schema.frames import KEYS
from ledger_audit.schema.lach1 import genesis
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.sources.load import load_ledger
from ledger_audit.spark import chain as spark_chain
from ledger_audit.spark.dialect import spark_sql
from ledger_audit.spark.invariants import SparkQueryEngine, check_invariants_spark, register_legs
from ledger_audit.spark.replay import balances_as_of_spark
from ledger_audit.spark.run import active, spark_catalogue
from ledger_audit.spark.session import SparkSettings, start_session
from ledger_audit.spark.tables import JDBC_JAR, jdbc_options
from ledger_audit.spec import VerifySpec
from tests.checks.test_suites import DAMAGED, MISSING_COLUMN
from tests.conftest import missing_prerequisite
from tests.sources.sample_ledger import write_sample_ledger
from tests.spark.conftest import TEST_SETTINGS
from tests.test_cli_startup import run_cli
from tests.text_ledger import ledger_from_text

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LEDGERS = ("demo_parquet", "tampered_parquet")


def _both(
    spark: SparkSession, folder: Path, *, as_loaded: bool = True
) -> tuple[AuditResult, AuditResult]:
    frames, report = load_ledger(folder)
    spec = VerifySpec(source=str(folder))
    on_frames = audit(frames, report, spec)
    with active(spark, folder, frames, as_loaded=as_loaded):
        on_spark = audit(frames, report, spec, spark_catalogue())
    return on_frames, on_spark


def test_findings_and_checkpoints_equal_the_frames_path(
    spark: SparkSession, demo_parquet: Path
) -> None:
    on_frames, on_spark = _both(spark, demo_parquet)
    assert on_spark.findings.equals(on_frames.findings)
    assert on_spark.checkpoints == on_frames.checkpoints
    rules = set(on_spark.findings.get_column("rule"))
    assert "check.crashed" not in rules
    assert {"reversal.not_inverse", "idempotency.conflict"} <= rules  # the planted anomalies
    scopes = {r.check: r.coverage.scope for r in on_spark.results}
    assert "Spark SQL" in scopes["invariants"]
    summary = ["rule", "severity", "count", "status", "checks"]
    assert on_spark.summary().select(summary).equals(on_frames.summary().select(summary))


def test_verify_engine_spark_writes_what_verify_writes(
    spark: SparkSession, tampered_parquet: Path, tmp_path: Path
) -> None:
    """The command end to end on the tampered copy: the same files, bar the coverage text."""
    assert spark is not None  # the CLI's run uses this session (and leaves it running)
    source = str(tampered_parquet)
    codes = [
        main(["verify", source, "--out", str(tmp_path / "frames")]),
        main(["verify", source, "--engine", "spark", "--out", str(tmp_path / "spark")]),
    ]
    assert codes == [1, 1]  # critical findings
    found = [pl.read_parquet(tmp_path / out / "findings.parquet") for out in ("frames", "spark")]
    assert found[1].equals(found[0])
    rules = set(found[1].get_column("rule"))
    assert {"chain.tampered", "chain.deleted", "chain.resealed", "chain.meta_tampered"} <= rules
    assert "check.crashed" not in rules
    checkpoints = [
        (tmp_path / out / "checkpoints.json").read_bytes() for out in ("frames", "spark")
    ]
    assert checkpoints[1] == checkpoints[0]
    summaries = [pl.read_parquet(tmp_path / out / "summary.parquet") for out in ("frames", "spark")]
    assert summaries[1].drop("coverage").equals(summaries[0].drop("coverage"))
    assert spark.sql("SELECT 1").count() == 1  # still running


def test_views_from_the_loaded_frames_hold_the_rows_spark_reads_from_parquet(
    spark: SparkSession, tampered_parquet: Path
) -> None:
    """A source Spark cannot read (SQLite, CSV, a mapping) is shipped from the loaded frames."""
    frames, _ = load_ledger(tampered_parquet)
    tables: dict[bool, dict[str, pl.DataFrame]] = {}
    for as_loaded in (True, False):
        with active(spark, tampered_parquet, frames, as_loaded=as_loaded) as run:
            assert run.tables.origin == ("parquet" if as_loaded else "frames")
            shown = (
                f"Parquet {tampered_parquet.resolve()}"
                if as_loaded
                else f"the loaded frames of {tampered_parquet}"
            )
            assert run.tables.describe() == shown
            tables[as_loaded] = {
                table: _frame(spark.table(table).toArrow()) for table in CANONICAL_TABLES
            }
    for table, frame in frames.items():
        key = list(KEYS[table])
        assert tables[True][table].sort(key).equals(frame), table
        assert tables[False][table].sort(key).equals(frame), table


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def test_postgresql_is_read_through_jdbc_read_only(
    spark: SparkSession, demo_parquet: Path, pg_url: str
) -> None:
    """A PostgreSQL ledger's views come through JDBC and hold the rows the frames loaded."""
    if JDBC_JAR not in TEST_SETTINGS.jars:
        missing_prerequisite(f"{JDBC_JAR} is missing: scripts/ensure-java.sh installs it")
    loaded, _ = load_ledger(demo_parquet)
    engine = sa.create_engine(pg_url, poolclass=NullPool)
    write_sample_ledger(engine, {table: frame.to_dicts() for table, frame in loaded.items()})
    engine.dispose()
    frames, report = load_ledger(pg_url)
    assert frames.equals(loaded)
    spec = VerifySpec(source=pg_url)
    with active(spark, pg_url, frames, as_loaded=True) as run:
        assert run.tables.origin == "jdbc"
        for table, frame in frames.items():
            got = _frame(spark.table(table).toArrow()).sort(list(KEYS[table]))
            assert got.equals(frame), table
        on_spark = audit(frames, report, spec, spark_catalogue()[:1])  # the chain
        init = jdbc_options(pg_url)["sessionInitStatement"]
    assert "READ ONLY" in init
    on_frames = audit(frames, report, spec, CATALOGUE[:1])
    assert on_spark.findings.equals(on_frames.findings)
    assert on_spark.checkpoints == on_frames.checkpoints


@pytest.mark.parametrize("ledger", LEDGERS)
def test_balances_equal_the_replay_at_every_kind_of_instant(
    spark: SparkSession, ledger: str, request: pytest.FixtureRequest
) -> None:
    folder: Path = request.getfixturevalue(ledger)
    frames, _ = load_ledger(folder)
    times = frames.transactions.get_column("effective_ns").sort().to_list()
    instants = [
        times[0] - 1,  # before anything: no rows
        times[len(times) // 2],  # on a transaction's own instant
        times[-1] + 1,  # after everything
    ]
    with active(spark, folder, frames, as_loaded=True):
        for at in instants:
            for basis in ("effective", "recorded"):
                expected = balances_as_of(frames, at, basis).collect()
                got = balances_as_of_spark(spark, at, basis)
                assert got.equals(expected), (at, basis)
                assert got.schema == expected.schema  # Decimal(38, 0): never a double
    assert expected.height  # the last instant saw balances


def test_ranges_hand_each_partition_its_predecessor(
    spark: SparkSession, tampered_parquet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ranges of 7 seqs: the prev links Spark flags are exactly those polars finds in order."""
    monkeypatch.setattr(spark_chain, "RANGE_ROWS", 7)
    frames, _ = load_ledger(tampered_parquet)
    with active(spark, tampered_parquet, frames, as_loaded=True):
        hashes = spark_chain.spark_hashes(spark)
    rows = frames.transactions.sort("chain_seq")
    expected_prev = pl.when(pl.col("chain_seq") == 1).then(pl.lit(genesis("demo")))
    in_order = rows.with_columns(
        _ps=pl.col("chain_seq").shift(1), _ph=pl.col("chain_hash").shift(1)
    ).with_columns(
        ok=pl.when(pl.col("chain_seq") == 1)
        .then(pl.col("chain_prev_hash") == expected_prev)
        .otherwise(
            (pl.col("_ps") == pl.col("chain_seq") - 1)
            & (pl.col("_ph") == pl.col("chain_prev_hash"))
        )
        .fill_null(value=False)
    )
    broken = set(in_order.filter(~pl.col("ok")).get_column("chain_seq"))
    flagged = set(hashes.content.filter(~pl.col("prev_ok")).get_column("chain_seq"))
    assert broken  # the tampering broke links, some across a range boundary
    assert flagged == broken
    assert any(seq % 7 == 1 for seq in broken) or any((seq - 1) % 7 == 0 for seq in broken)
    assert (
        hashes.content.select(SEALED_COLUMNS).schema
        == frames.transactions.select(SEALED_COLUMNS).schema
    )


def test_a_row_spark_did_not_hash_is_a_crash_not_a_pass(
    spark: SparkSession, demo_parquet: Path
) -> None:
    """Spark answers only for what differs: a row missing from its views must not read intact."""
    frames, _ = load_ledger(demo_parquet)
    fewer = LedgerFrames.from_tables(
        {**dict(frames.items()), "transactions": frames.transactions.slice(1)}
    )
    with active(spark, demo_parquet, fewer, as_loaded=False):
        with pytest.raises(RuntimeError, match=r"Spark hashed \d+ rows .* the loaded ledger has"):
            spark_chain.check_chain_spark(frames, VerifySpec(), spark)
        result = audit(frames, load_ledger(demo_parquet)[1], VerifySpec(), spark_catalogue()[:1])
    assert set(result.findings.get_column("rule")) >= {"check.crashed"}


def test_the_dialect_respells_postgresql_for_spark() -> None:
    t = sa.table("t", sa.column("a", sa.Text()), sa.column("b", sa.BigInteger()))
    statement = sa.select(
        sa.cast(t.c.b, sa.Text()).label("text"),
        sa.cast(t.c.b, sa.String()).label("string"),
    ).order_by(t.c.a.collate("C"))
    text = spark_sql(statement)
    assert "CAST(t.b AS STRING)" in text
    assert "VARCHAR" not in text
    assert "TEXT" not in text
    assert "COLLATE UTF8_BINARY" in text
    assert '"' not in text


def test_a_missing_java_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    with pytest.raises(InputError, match="openjdk-17-jre-headless") as raised:
        start_session(SparkSettings(master="local[1]"))
    assert "\n" not in str(raised.value)


def test_the_cli_starts_without_pyspark(tmp_path: Path) -> None:
    (tmp_path / "ledger").mkdir()
    argv = ["verify", "ledger", "--engine", "spark", "--suites", "sql", "--out", "out"]
    code, modules, stderr = run_cli(argv, tmp_path, tmp_path / "report.json")
    assert code == 2
    assert "drop --suites sql" in stderr
    assert "pyspark" not in modules
    code, modules, _ = run_cli(["verify", "--help"], tmp_path, tmp_path / "help.json")
    assert code == 0
    assert "pyspark" not in modules


def test_every_invariant_rule_reads_the_same_on_spark(spark: SparkSession) -> None:
    """The damaged text ledger breaks every rule of the suites, built-in expectations too."""
    frames = ledger_from_text(DAMAGED)
    on_frames = check_invariants(frames, VerifySpec())
    with active(spark, "damaged", frames, as_loaded=False) as run:
        on_spark = check_invariants_spark(frames, VerifySpec(), spark, run.tables.describe())
    rules = set(on_frames.findings.get_column("rule"))
    assert {
        "entry.unbalanced",
        "entry.invalid_amount",
        "entry.asset_mismatch",
        "entry.unknown_account",
        "idempotency.conflict",
        "reversal.duplicate",
        "balance.negative_not_allowed",
    } <= rules
    assert on_spark.findings.equals(on_frames.findings)
    assert on_spark.coverage.checked == on_frames.coverage.checked


def test_an_expectation_spark_cannot_run_is_a_crash_finding(spark: SparkSession) -> None:
    broken = SuiteSpec(
        "broken",
        (
            MISSING_COLUMN,
            ExpectationSpec(
                type="expect_column_values_to_match_regex",
                kwargs_json=json.dumps({"column": "asset_id", "regex": "^[A-Z]+/[0-9]+$"}),
                rule=RuleId.ENTRY_UNKNOWN_ASSET,
                severity=Severity.HIGH,
                doc="a built-in expectation with no Spark statement",
            ),
        ),
    )
    frames = ledger_from_text(DAMAGED)
    with active(spark, "damaged", frames, as_loaded=False) as run:
        result = check_invariants_spark(
            frames, VerifySpec(), spark, run.tables.describe(), suites=[broken]
        )
    crashed = result.findings.filter(pl.col("rule") == "check.crashed")
    assert crashed.get_column("locator").to_list() == [
        "expectation expect_column_values_to_be_between (suite broken)",
        "expectation expect_column_values_to_match_regex (suite broken)",
    ]
    messages = crashed.get_column("message").to_list()
    assert "no_such_column" in messages[0]
    assert "has no Spark statement" in messages[1]
    assert all("\n" not in m for m in messages)
    assert result.crashed  # nothing of it ran


def test_the_spark_engine_fits_the_query_engine_seam(spark: SparkSession) -> None:
    """Through ``checks.engines``' own seam, every invariant's rows equal the frame engine's."""
    frames = ledger_from_text(DAMAGED)
    with active(spark, "damaged", frames, as_loaded=False):
        register_legs(spark)
        engine: QueryEngine = SparkQueryEngine(spark)  # mypy holds the protocol
        on_spark = {name: violations_on(engine, name) for name in INVARIANT_NAMES}
    with frame_engine(prepare_legs(frames)) as local:
        on_frames = {name: violations_on(local, name) for name in INVARIANT_NAMES}
    for name in INVARIANT_NAMES:
        assert on_spark[name].equals(on_frames[name]), name
    assert sum(v.height for v in on_spark.values()) >= len(INVARIANT_NAMES) // 2
