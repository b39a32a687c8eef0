"""``close --engine spark``: the month-end close with its Spark stages is the frames close.

``run_close`` runs the chain, the invariant suites, reconciliation's keyed stages and the
trial balance's sums on the tests' Spark session (conftest), and everything else on the
frames; the findings, the checks table, the trial balance, the reconciliation and the
checkpoints must be the frames close's. Whole frames are compared. Two ledgers: the demo
read from SQLite (Spark is shipped the loaded frames) and the tampered copy read from
Parquet (Spark reads the files itself). Spies prove the Spark stages ran, so an equality
cannot come from a close that quietly stayed on the frames.

The headless notebook is not run here with Spark (its kernel would start a second JVM
beside the tests' one): what it is handed and passes on is checked without a kernel, and
the command's refusal of ``--suites sql`` needs no Spark at all.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger_audit.cli import main
from ledger_audit.close import execute
from ledger_audit.close.execute import default_notebook, notebook_parameters
from ledger_audit.close.run import STAGES, CloseParameters, MonthEndClose, run_close
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.errors import InputError
from ledger_audit.replay.balances import Basis
from ledger_audit.reports.trial_balance import TrialBalance
from ledger_audit.spark import reconcile as spark_reconcile
from ledger_audit.spark import trial_balance as spark_trial_balance
from ledger_audit.spec import Period
from tests.conftest import PROJECT_ROOT

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MAPPING = PROJECT_ROOT / "mappings" / "demo.toml"
SPARK_KEYS = ("engine", "spark_master", "spark_driver_memory", "spark_codegen")


def _parameters(demo: DemoSummary, source: Path, **engine: object) -> CloseParameters:
    assert demo.statements is not None
    return CloseParameters(
        source=str(source),
        period=demo.month,
        statements=tuple(str(p) for p in demo.statements.statements),
        gl_mapping=str(MAPPING),
        **engine,  # type: ignore[arg-type]
    )


@dataclass
class Spied:
    """What the close handed to Spark: its stage runners and the trial balances it summed."""

    runners: list[spark_reconcile.SparkStages] = field(default_factory=list)
    trial_balances: list[tuple[str, str]] = field(default_factory=list)


def _spy(monkeypatch: pytest.MonkeyPatch) -> Spied:
    """Record the Spark stage runners and trial balances the close uses; they still run."""
    spied = Spied()
    real_runner = spark_reconcile.SparkStages
    real_trial_balance = spark_trial_balance.build_trial_balance_spark

    class Recorded(real_runner):  # type: ignore[misc, valid-type]
        def __init__(self, spark: SparkSession, **options: int) -> None:
            super().__init__(spark, **options)
            spied.runners.append(self)

    def trial_balance(spark: SparkSession, period: Period, basis: Basis) -> TrialBalance:
        spied.trial_balances.append((period.label, basis))
        return real_trial_balance(spark, period, basis)

    monkeypatch.setattr(spark_reconcile, "SparkStages", Recorded)
    monkeypatch.setattr(spark_trial_balance, "build_trial_balance_spark", trial_balance)
    return spied


def _assert_same_close(on_frames: MonthEndClose, on_spark: MonthEndClose) -> None:
    assert on_spark.findings.equals(on_frames.findings)
    assert on_spark.audit.checkpoints == on_frames.audit.checkpoints
    assert on_spark.audit.checkpoints  # the demo is chained: checkpoints to compare
    # the checks table: only the invariants' scope says where they ran
    checks = [close.checks() for close in (on_frames, on_spark)]
    assert checks[1].drop("scope").equals(checks[0].drop("scope"))
    scopes = [dict(zip(c["check"], c["scope"], strict=True)) for c in checks]
    assert {k for k, v in scopes[1].items() if scopes[0][k] != v} == {"invariants"}
    assert "Spark SQL" in scopes[1]["invariants"]
    assert "Spark" not in scopes[0]["invariants"]
    # the trial balance
    ours, theirs = on_spark.trial_balance, on_frames.trial_balance
    assert ours.rows.equals(theirs.rows)
    assert ours.totals.equals(theirs.totals)
    assert (ours.period, ours.basis, ours.balanced) == (
        theirs.period,
        theirs.basis,
        theirs.balanced,
    )
    assert ours.rows.height > 0
    # the reconciliation: matches, links, breaks, aging, rates, payouts, and its coverage
    assert on_spark.reconciliation is not None
    assert on_frames.reconciliation is not None
    for name, frame in on_frames.reconciliation.frames().items():
        assert on_spark.reconciliation.frames()[name].equals(frame, null_equal=True), name
    assert on_spark.reconciliation.coverage == on_frames.reconciliation.coverage
    assert on_spark.reconciliation.matches.height > 0
    assert on_spark.reconciliation.breaks.height > 0  # the demo plants breaks
    # what the frames computed from the Spark stages' results
    assert on_spark.journals is not None
    assert on_frames.journals is not None
    assert on_spark.journals.lines.equals(on_frames.journals.lines)
    assert on_spark.journals.ties_out == on_frames.journals.ties_out


@pytest.mark.parametrize("ledger", ["demo", "tampered"])
def test_the_close_on_spark_is_the_frames_close(
    spark: SparkSession,
    spark_demo: DemoSummary,
    tampered_parquet: Path,
    ledger: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = spark_demo.ledger_path if ledger == "demo" else tampered_parquet
    on_frames = run_close(_parameters(spark_demo, source))
    spied = _spy(monkeypatch)
    stages: list[str] = []
    on_spark = run_close(
        _parameters(spark_demo, source, engine="spark", spark_master="local[2]"),
        on_stage=lambda stage, _seconds: stages.append(stage),
    )
    _assert_same_close(on_frames, on_spark)
    assert tuple(stages) == STAGES  # the stages keep their names
    assert len(spied.runners) == 1
    assert spied.runners[0].spark is spark  # the running session, left running
    assert spied.runners[0].ran  # the keyed stages met open items and records
    assert set(spied.runners[0].ran) <= {"key", "group", "exact"}
    assert spied.trial_balances == [(spark_demo.month, "effective")]
    shipped = f"the loaded frames of {source}"  # the source named once, not "of loaded frames"
    where = shipped if ledger == "demo" else f"Parquet {Path(source).resolve()}"
    invariants = next(r for r in on_spark.results if r.check == "invariants")
    assert f"over {where}" in invariants.coverage.scope
    assert "loaded frames of loaded frames" not in invariants.coverage.scope
    rules = set(on_spark.findings.get_column("rule"))
    assert "check.crashed" not in rules
    assert on_spark.trial_balance.balanced is (ledger == "demo")  # an amount was edited
    if ledger == "tampered":
        assert {"chain.tampered", "chain.deleted", "chain.resealed"} <= rules
        assert on_spark.critical == on_frames.critical > 0
    else:
        assert {"reversal.not_inverse", "idempotency.conflict"} <= rules  # planted
    assert spark.sql("SELECT 1").count() == 1  # still running: the close did not stop it


# --- parameters, the notebook and the command: no Spark needed ----------------------------


def test_the_engine_is_validated_like_the_other_parameters(spark_demo: DemoSummary) -> None:
    source = spark_demo.ledger_path
    with pytest.raises(InputError, match="drop suites sql"):
        _parameters(spark_demo, source, engine="spark", suites="sql")
    with pytest.raises(InputError, match="expected frames or spark"):
        _parameters(spark_demo, source, engine="duckdb")
    with pytest.raises(InputError, match="spark_driver_memory"):
        _parameters(spark_demo, source, engine="spark", spark_driver_memory="lots")
    with pytest.raises(InputError, match="spark_master"):
        _parameters(spark_demo, source, engine="spark", spark_master=" ")
    _parameters(spark_demo, source, suites="sql")  # the frames engine still takes sql


def test_the_manifest_names_the_engine_of_a_spark_close_only(spark_demo: DemoSummary) -> None:
    """A frames close's parameters (hence its manifest and workpaper cover) are unchanged."""
    source = spark_demo.ledger_path
    frames = _parameters(spark_demo, source)
    on_spark = _parameters(
        spark_demo,
        source,
        engine="spark",
        spark_master="spark://host:7077",
        spark_driver_memory="4g",
        spark_codegen=False,
    )
    assert not set(SPARK_KEYS) & set(frames.as_text())
    assert {k: on_spark.as_text()[k] for k in SPARK_KEYS} == {
        "engine": "spark",
        "spark_master": "spark://host:7077",
        "spark_driver_memory": "4g",
        "spark_codegen": "off",
    }
    assert {k: v for k, v in on_spark.as_text().items() if k not in SPARK_KEYS} == (
        frames.as_text()
    )
    settings = on_spark.spark_settings
    assert (settings.master, settings.driver_memory, settings.codegen) == (
        "spark://host:7077",
        "4g",
        False,
    )


def test_the_notebook_is_handed_the_engine_and_passes_it_to_the_close(
    spark_demo: DemoSummary,
) -> None:
    source = spark_demo.ledger_path
    frames = notebook_parameters(_parameters(spark_demo, source))
    given = notebook_parameters(
        _parameters(spark_demo, source, engine="spark", spark_master="local[2]")
    )
    assert not set(SPARK_KEYS) & set(frames)  # a frames close's injected cell is as it was
    assert {k: given[k] for k in SPARK_KEYS} == {
        "engine": "spark",
        "spark_master": "local[2]",
        "spark_driver_memory": "1g",
        "spark_codegen": True,
    }
    cells = json.loads(default_notebook().read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    defaults = {
        target.id: ast.literal_eval(statement.value)
        for statement in ast.parse(code[0]).body
        if isinstance(statement, ast.Assign)
        for target in statement.targets
        if isinstance(target, ast.Name)
    }
    assert set(given) <= set(defaults)  # papermill overrides each of them
    assert {k: defaults[k] for k in SPARK_KEYS} == {
        "engine": "frames",
        "spark_master": "local[*]",
        "spark_driver_memory": "1g",
        "spark_codegen": True,
    }
    call = next(c for c in code if "CloseParameters(" in c)
    keywords = {
        (k.arg, k.value.id)
        for node in ast.walk(ast.parse(call))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "CloseParameters"
        for k in node.keywords
        if isinstance(k.value, ast.Name)
    }
    assert {(k, k) for k in SPARK_KEYS} <= keywords


def test_a_bundle_closed_on_another_engine_than_asked_is_refused(
    spark_demo: DemoSummary, tmp_path: Path
) -> None:
    """A notebook that does not pass the engine on would close on the frames, unnoticed."""
    manifest = tmp_path / "manifest.json"
    asked = _parameters(spark_demo, spark_demo.ledger_path, engine="spark")
    frames = _parameters(spark_demo, spark_demo.ledger_path)
    other = _parameters(spark_demo, spark_demo.ledger_path, engine="spark", spark_codegen=False)
    manifest.write_text(json.dumps({"parameters": frames.as_text()}), encoding="utf-8")
    assert execute._engine_not_passed(manifest, frames) is None
    why = execute._engine_not_passed(manifest, asked)
    assert why is not None
    assert why.startswith("the notebook ran the close on frames, not on spark as asked")
    manifest.write_text(json.dumps({"parameters": asked.as_text()}), encoding="utf-8")
    assert execute._engine_not_passed(manifest, asked) is None
    why = execute._engine_not_passed(manifest, other)
    assert why is not None
    assert why.startswith("the notebook ran the close on spark, but with other settings")


def test_a_notebook_that_does_not_pass_the_engine_on_fails_the_close(
    spark_demo: DemoSummary, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end with a team's older copy of the notebook: it closes on the frames (no JVM
    starts), and the command refuses the bundle, exit 2, rather than pass it off as Spark's."""
    document = json.loads(default_notebook().read_text(encoding="utf-8"))
    removed = 0
    for cell in document["cells"]:  # the engine's lines out of the parameters and the call
        kept = [line for line in cell["source"] if not line.startswith(("engine =", "spark_"))]
        kept = [line for line in kept if "spark_" not in line or "CloseParameters" in line]
        removed += len(cell["source"]) - len(kept)
        cell["source"] = kept
    assert removed == 6  # 4 parameters, 2 lines of the call
    older = tmp_path / "older.ipynb"
    older.write_text(json.dumps(document), encoding="utf-8")
    out = tmp_path / "closes"
    argv = [*_close_argv(spark_demo, out), "--engine", "spark", "--notebook", str(older)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "the notebook ran the close on frames, not on spark as asked" in err
    assert (out / f"{spark_demo.month}.failed.ipynb").is_file()
    assert not (out / spark_demo.month).exists()  # no bundle passed off as Spark's


def _close_argv(demo: DemoSummary, out: Path) -> list[str]:
    assert demo.statements is not None
    return [
        "close",
        "--period",
        demo.month,
        "--ledger",
        str(demo.ledger_path),
        "--statements",
        *(str(p) for p in demo.statements.statements),
        "--out",
        str(out),
    ]


def test_close_engine_spark_with_suites_sql_is_refused_before_anything_runs(
    spark_demo: DemoSummary, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "closes"
    assert main([*_close_argv(spark_demo, out), "--engine", "spark", "--suites", "sql"]) == 2
    printed = capsys.readouterr()
    assert printed.err == (
        "ledger-audit: error: --engine spark: the invariants run on Spark: drop --suites sql\n"
    )
    assert printed.out == ""
    assert not out.exists()  # no kernel started, nothing written
