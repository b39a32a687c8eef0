"""Start-up: ``--help``, usage errors and a missing input answer without the heavy stages.

Nothing is timed here (``benchmarks/bench_startup.py`` measures): each case runs the
command in a fresh interpreter and the test asserts which modules it imported. Importing
polars, SQLAlchemy, pandas, great-expectations or the notebook machinery is what made
``ledger-audit --help`` and one-line errors take seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

HEAVY = frozenset(
    {
        "polars",
        "great_expectations",
        "pandas",
        "numpy",
        "sqlalchemy",
        "adbc_driver_manager",
        "pyarrow",
        "plotly",
        "openpyxl",
        "papermill",
        "nbformat",
        "nbclient",
        "jupyter_client",
        "jupyter_core",
        "ipywidgets",
        "IPython",
    }
)
"""Top-level packages that take long to import and that no cheap answer needs."""

_PROBE = """
import json, sys
from ledger_audit.cli import main
code = main(json.loads(sys.argv[1]))
modules = sorted({name.partition(".")[0] for name in sys.modules})
with open(sys.argv[2], "w", encoding="utf-8") as out:
    json.dump({"code": code, "modules": modules}, out)
"""


def run_cli(argv: list[str], cwd: Path, report: Path) -> tuple[int, set[str], str]:
    """Run ``main(argv)`` in a fresh interpreter: exit code, top-level modules, stderr."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(argv), str(report)],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(report.read_text(encoding="utf-8"))
    return int(result["code"]), set(result["modules"]), done.stderr


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A working folder with a ledger file that exists (its content is never reached)."""
    (tmp_path / "ledger.sqlite").write_bytes(b"")
    return tmp_path


CLOSE = ["close", "--period", "2025-01", "--ledger", "ledger.sqlite", "--out", "out"]
RECONCILE = ["reconcile", "--ledger", "ledger.sqlite", "--out", "out"]


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--help"], 0),
        (["--version"], 0),
        (["demo", "--help"], 0),
        (["init", "--help"], 0),
        (["verify", "--help"], 0),
        (["reconcile", "--help"], 0),
        (["close", "--help"], 0),
        ([], 2),
        (["frobnicate"], 2),
        (["verify"], 2),
        (["verify", "ledger.sqlite", "--out", "out", "--suites", "gx"], 2),
        (["demo", "--transactions", "ten"], 2),
        (["demo", "--month", "2025-13"], 2),
        (["close", "--period", "25-1", "--ledger", "ledger.sqlite", "--out", "out"], 2),
        ([*RECONCILE, "--statements", "s.bai2", "--as-of", "2025-02-30"], 2),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_help_and_usage_errors_import_no_heavy_module(
    argv: list[str], code: int, inputs: Path, tmp_path: Path
) -> None:
    exit_code, modules, stderr = run_cli(argv, inputs, tmp_path / "report.json")
    assert exit_code == code, stderr
    assert modules & HEAVY == set()
    if code == 2:
        assert stderr.count("\n") == 1
        assert stderr.startswith("ledger-audit: error: ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["init", "no/such.sqlite", "--out", "out"], "no/such.sqlite: no such ledger"),
        (["verify", "no/such.sqlite", "--out", "out"], "no/such.sqlite: no such ledger"),
        (
            ["verify", "ledger.sqlite", "--out", "out", "--mapping", "m.toml"],
            "m.toml: no such source mapping file",
        ),
        (
            ["verify", "ledger.sqlite", "--out", "out", "--checkpoint", "cp.json"],
            "cp.json: no such checkpoints file",
        ),
        ([*RECONCILE, "--statements", "nope.bai2"], "nope.bai2: no such statement file"),
        ([*RECONCILE, "--statements", "ledger.sqlite", "--rules", "r.toml"], "no such rules"),
        (["reconcile", "--ledger", "gone", "--statements", "s", "--out", "o"], "gone: no such"),
        ([*CLOSE, "--statements", "nope.xml"], "nope.xml: no such statement file"),
        ([*CLOSE, "--gl-mapping", "gl.toml"], "gl.toml: no such GL mapping file"),
        ([*CLOSE, "--mapping", "m.toml"], "m.toml: no such source mapping file"),
        ([*CLOSE, "--checkpoint", "cp.json"], "cp.json: no such checkpoints file"),
        ([*CLOSE, "--notebook", "mine.ipynb"], "mine.ipynb: no such notebook file"),
        (["close", "--period", "2025-01", "--ledger", "gone.db", "--out", "o"], "gone.db: no"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_a_missing_input_fails_before_the_stages_are_imported(
    argv: list[str], message: str, inputs: Path, tmp_path: Path
) -> None:
    exit_code, modules, stderr = run_cli(argv, inputs, tmp_path / "report.json")
    assert exit_code == 2
    assert stderr.count("\n") == 1
    assert stderr.startswith("ledger-audit: error: ")
    assert message in stderr
    assert modules & HEAVY == set()
    assert not (inputs / "out").exists()


def test_the_installed_command_imports_no_heavy_module_for_help() -> None:
    """The console script itself, its imports listed by the interpreter (-X importtime)."""
    script = Path(sys.executable).with_name("ledger-audit")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "ledger_audit.cli"]
    done = subprocess.run(
        [*command, "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert done.returncode == 0
    assert "usage: ledger-audit" in done.stdout
    imported = {
        line.rpartition("|")[2].strip().partition(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "ledger_audit" in imported  # the listing is real
    assert imported & HEAVY == set()


NOTEBOOK_MACHINERY = frozenset(
    {"papermill", "nbformat", "nbclient", "jupyter_client", "plotly", "openpyxl"}
)
"""What running the notebook and writing its bundle need: seconds to import, so not before
the inputs are checked."""

_CLOSE_PROBE = """
import sys
from pathlib import Path
from ledger_audit.close.execute import execute_close
from ledger_audit.close.run import CloseParameters
from ledger_audit.errors import InputError
parameters = CloseParameters(source="ledger.sqlite", period="2025-01", checkpoints="cp.json")
try:
    execute_close(parameters, Path("out"))
except InputError as exc:
    print(exc)
print(" ".join(sorted({name.partition(".")[0] for name in sys.modules})))
"""


def test_a_bad_close_input_fails_before_the_notebook_machinery_is_imported(
    inputs: Path,
) -> None:
    (inputs / "cp.json").write_text("[]", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", _CLOSE_PROBE],
        capture_output=True,
        text=True,
        check=True,
        cwd=inputs,
    )
    error, modules = done.stdout.splitlines()
    assert error == 'cp.json: expected a JSON object with a "checkpoints" array'
    assert set(modules.split()) & NOTEBOOK_MACHINERY == set()
    assert not (inputs / "out").exists()
