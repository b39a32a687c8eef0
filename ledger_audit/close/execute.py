"""Run the close notebook headless (papermill) and put its evidence bundle in place.

``execute_close`` runs ``notebooks/00_month_end_close.ipynb`` (or a team's own copy) with
the close's parameters in a fresh staging folder ``<out>/.<period>.partial`` whose last
cell writes the bundle; then it adds the executed notebook to the bundle (and to its
manifest) and swaps the folder in as ``<out>/<period>``. So:

- **A rerun replaces the earlier bundle cleanly**: a reader sees the old folder or the new
  one, never a mix; nothing of the old run survives in the new one.
- **Sign-offs are kept**: the bundle's ``signoffs.json`` is carried into the new one, whose
  report and workpaper show each sign-off as valid or stale (``exports.signoffs``).
- **A failed run still writes its notebook**, with papermill's banner at the top and the
  failing cell marked, as ``<out>/<period>.failed.ipynb``, and leaves an earlier good
  bundle alone: a bad rerun never destroys evidence. A later good run removes it.
- **Same inputs, same digests**: the executed notebook is normalised before it is digested
  (papermill's and the kernel's timestamps and the staging path removed), and the kernel
  runs in the staging folder with every local input path made absolute, so nothing in the
  notebook depends on when or from where the close ran.
- **One close per period at a time**: a lock file ``<out>/.<period>.lock`` (flock).
- **A Spark close runs on Spark or fails**: the engine and its settings are passed only for
  ``engine="spark"`` (a frames close's injected cell is what it was, and a team's notebook
  without them still runs one), and a notebook whose bundle does not record the engine it
  was asked for (an older copy that does not pass ``engine`` on) fails as a bad input.
- **A bad input fails before the kernel starts** (``close.preflight``): the ledger is
  opened, the statements parsed and the settings files read first, so an input the
  notebook could not use fails in seconds, with the notebook's message, and writes nothing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger_audit.close.preflight import check_close_inputs
from ledger_audit.close.run import REPO_ROOT, CloseParameters
from ledger_audit.errors import InputError
from ledger_audit.exports.bundle_folder import folder_lock, normalise_notebook, swap_in
from ledger_audit.exports.manifest import add_outputs, digest_outputs
from ledger_audit.exports.signoffs import SIGNOFFS
from ledger_audit.findings import Severity
from ledger_audit.sources.findings import read_findings

NOTEBOOK = "month_end_close.ipynb"
"""The executed notebook's name inside the bundle."""

DEFAULT_NOTEBOOK = Path("notebooks") / "00_month_end_close.ipynb"
KERNEL = "python3"


@dataclass(frozen=True, slots=True)
class CloseRun:
    """How one headless close ended.

    Attributes:
        period: the period closed.
        folder: the bundle folder (``<out>/<period>``); it holds the previous good bundle,
            or nothing, when the run failed.
        notebook: the executed notebook (in the bundle, or ``<period>.failed.ipynb``).
        error: None when the notebook ran to the end; else what failed, one line.
        findings: how many findings the close reported (0 when it failed).
        critical: how many of them are critical.
        bad_input: the failure was an input the close could not read (an ``InputError``
            raised in the notebook: a statement that is not what it claims to be, say).
    """

    period: str
    folder: Path
    notebook: Path
    error: str | None
    findings: int = 0
    critical: int = 0
    bad_input: bool = False

    @property
    def failed(self) -> bool:
        """True when the notebook did not run to the end."""
        return self.error is not None


def default_notebook() -> Path:
    """The shipped close notebook (beside the package, else in the working directory)."""
    for candidate in (REPO_ROOT / DEFAULT_NOTEBOOK, Path.cwd() / DEFAULT_NOTEBOOK):
        if candidate.is_file():
            return candidate
    raise InputError(str(DEFAULT_NOTEBOOK), "the close notebook is missing: pass notebook=FILE")


def absolute(value: str) -> str:
    """A local path made absolute (the kernel runs elsewhere); URLs as given.

    ``sqlite:///relative.db`` becomes ``sqlite:////abs/relative.db``; other URLs (a
    PostgreSQL URL, ``sqlite:////abs``) and in-memory SQLite are left alone.
    """
    prefix = "sqlite:///"
    if value.startswith(prefix):
        rest = value[len(prefix) :]
        if rest and not rest.startswith("/") and not rest.startswith(":memory:"):
            return prefix + str(Path(rest).resolve())
        return value
    if "://" in value:
        return value
    return str(Path(value).resolve())


def notebook_parameters(parameters: CloseParameters) -> dict[str, Any]:
    """The papermill parameters of the close notebook (paths absolute, bundle into ``.``)."""

    def maybe(value: str | None) -> str | None:
        return None if value is None else absolute(value)

    spark = {
        "engine": parameters.engine,
        "spark_master": parameters.spark_master,
        "spark_driver_memory": parameters.spark_driver_memory,
        "spark_codegen": parameters.spark_codegen,
    }
    return {
        "source": absolute(parameters.source),
        "mapping": maybe(parameters.source_mapping),
        "adapter": parameters.adapter,
        "period": parameters.period,
        "statements": [absolute(s) for s in parameters.statements],
        "gl_mapping": maybe(parameters.gl_mapping),
        "rules": maybe(parameters.rules),
        "checkpoints": maybe(parameters.checkpoints),
        "suites": parameters.suites,
        "statement_encoding": parameters.statement_encoding,
        "jet_rules": maybe(parameters.jet_rules),
        "flux_explanations": maybe(parameters.flux_explanations),
        **(spark if parameters.engine == "spark" else {}),
        "out": ".",
    }


ENGINE_PARAMETERS = ("engine", "spark_master", "spark_driver_memory", "spark_codegen")
"""The manifest parameters that say where the close ran (a Spark close's only)."""


def _engine_not_passed(manifest: Path, parameters: CloseParameters) -> str | None:
    """Why the bundle's manifest does not record the engine asked for (None: it does)."""
    recorded = json.loads(manifest.read_text(encoding="utf-8"))["parameters"]
    asked = parameters.as_text()
    if all(recorded.get(name) == asked.get(name) for name in ENGINE_PARAMETERS):
        return None
    ran = recorded.get("engine", "frames")
    how = (
        f"not on {parameters.engine} as asked"
        if ran != parameters.engine
        else "but with other settings than asked"
    )
    return (
        f"the notebook ran the close on {ran}, {how}: its parameters cell must define "
        "engine and the spark_* settings and pass them on to CloseParameters"
    )


def _check_notebook(template: Path) -> None:
    """A template that is not a notebook fails here, before the kernel starts.

    Read as JSON, not with nbformat, which takes seconds to import: papermill reads it
    properly once the inputs have passed their checks.
    """
    if not template.is_file():
        raise InputError(str(template), "no such notebook")
    try:
        document = json.loads(template.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(template), f"not a readable notebook: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        raise InputError(str(template), 'not a notebook: no "cells" list')


def execute_close(
    parameters: CloseParameters,
    out: Path,
    *,
    notebook: Path | None = None,
    progress: bool = False,
    on_start: Callable[[], None] | None = None,
) -> CloseRun:
    """Run the close notebook for ``parameters`` and place its bundle in ``out/<period>``.

    ``on_start`` is called once the inputs passed their checks, as the kernel starts (a
    command line says there that the notebook is running).

    Raises:
        InputError: an input the close cannot use (checked before the kernel starts and
            before anything is written: see ``close.preflight``), the notebook template is
            missing, or another close of the same period is running in ``out``. A failure
            inside the notebook is not raised: it is the returned run's ``error``, with the
            notebook written (see the module docstring).
    """
    template = notebook or default_notebook()
    _check_notebook(template)
    check_close_inputs(parameters)
    # seconds to import (papermill; the bundle's writers: plotly, openpyxl): only once the
    # inputs passed their checks, so a bad input fails without them
    import papermill  # noqa: PLC0415
    from papermill.exceptions import PapermillExecutionError  # noqa: PLC0415

    from ledger_audit.close.bundle import MANIFEST, TABLES  # noqa: PLC0415

    period = parameters.period
    out.mkdir(parents=True, exist_ok=True)
    folder = out / period
    failed_notebook = out / f"{period}.failed.ipynb"
    staging = out / f".{period}.partial"
    with folder_lock(out / f".{period}.lock", f"another close of {period}"):
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        signed = folder / SIGNOFFS
        if signed.is_file():  # the sign-offs outlive a rerun: it shows them valid or stale
            shutil.copy2(signed, staging / SIGNOFFS)
        executed = staging / NOTEBOOK
        error, bad_input = None, False
        if on_start is not None:
            on_start()
        try:
            papermill.execute_notebook(
                str(template),
                str(executed),
                parameters=notebook_parameters(parameters),
                kernel_name=KERNEL,
                cwd=str(staging),
                progress_bar=progress,
                report_mode=True,
                # the kernel's warning about its loopback TCP transport is noise in a log
                extra_arguments=["--log-level=ERROR"],
            )
        except PapermillExecutionError as exc:
            error = f"cell In [{exc.exec_count}] raised {exc.ename}: {exc.evalue}"
            bad_input = exc.ename == InputError.__name__
        except Exception as exc:  # noqa: BLE001 - a dead kernel too must leave its notebook
            error = f"the notebook run stopped: {type(exc).__name__}: {exc}"
        if not executed.is_file():  # the kernel never started: nothing was executed
            shutil.rmtree(staging, ignore_errors=True)
            raise InputError(str(template), f"could not be executed: {error or 'no output'}")
        normalise_notebook(executed)
        if error is None and (staging / MANIFEST).is_file():
            error = _engine_not_passed(staging / MANIFEST, parameters)
            bad_input = error is not None
        if error is not None or not (staging / MANIFEST).is_file():
            error = error or "the notebook ended without writing the bundle's manifest"
            shutil.move(executed, failed_notebook)
            shutil.rmtree(staging, ignore_errors=True)
            return CloseRun(period, folder, failed_notebook, error, bad_input=bad_input)
        add_outputs(staging / MANIFEST, digest_outputs(staging, [executed]))
        swap_in(staging, folder)
        failed_notebook.unlink(missing_ok=True)
    findings = read_findings(folder / TABLES / "findings.parquet")
    critical = findings.filter(findings["severity"] == Severity.CRITICAL.value).height
    return CloseRun(period, folder, folder / NOTEBOOK, None, findings.height, critical)
