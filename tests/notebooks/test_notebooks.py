"""The notebooks run headless in a real kernel started in ``notebooks/``, as JupyterLab starts it,
with their defaults (the demo ledger) pointed at a demo the session built, and say what they
should.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path

import nbformat
import papermill
import pytest
from papermill.exceptions import PapermillExecutionError

from ledger_audit.demo.answer_key import read_answer_key
from ledger_audit.demo.statements import BAI2_FILE, CAMT_FILE, PROCESSOR_FILE
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.paths import DATA_ENV
from ledger_audit.reconcile.breaks import CLASS_RULES
from tests.conftest import PROJECT_ROOT, DemoFactory

DefaultsTo = Callable[[DemoSummary | None], Path]

NOTEBOOKS = PROJECT_ROOT / "notebooks"


@pytest.fixture
def defaults_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[DemoSummary | None], Path]:
    """Point the notebooks' ``data/demo`` defaults at a built demo (None: at no demo at all).

    The kernel inherits ``$LEDGER_AUDIT_DATA``; the user's own ``data/`` is never touched.
    """

    def point(demo: DemoSummary | None) -> Path:
        data = tmp_path / "data"
        data.mkdir()
        if demo is not None:
            (data / "demo").symlink_to(demo.out_dir, target_is_directory=True)
        monkeypatch.setenv(DATA_ENV, str(data))
        return data

    return point


def run(name: str, out_dir: Path, **parameters: object) -> nbformat.NotebookNode:
    """Execute a notebook in a kernel whose working directory is ``notebooks/``.

    Only the parameters given are injected: every other one keeps the notebook's default.
    The kernel must write nothing where it runs.
    """
    before = sorted(p.name for p in NOTEBOOKS.iterdir())
    output = out_dir / name
    try:
        papermill.execute_notebook(
            str(NOTEBOOKS / name),
            str(output),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(NOTEBOOKS),
            progress_bar=False,
        )
    finally:
        assert sorted(p.name for p in NOTEBOOKS.iterdir()) == before
    notebook: nbformat.NotebookNode = nbformat.read(output, as_version=4)
    return notebook


def text_of(notebook: nbformat.NotebookNode) -> str:
    """Every output's text (streams, plain text and HTML) in one string."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            data = output.get("data", {})
            parts += [str(data.get(kind, "")) for kind in ("text/plain", "text/html")]
    return "\n".join(parts)


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_every_notebook_is_thin_and_parameterised(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert [c for c in code if "parameters" in c.metadata.get("tags", [])] == code[:1]
    for cell in code:
        assert not cell.get("outputs"), "notebooks are committed without outputs"
        assert "def " not in cell.source
        assert "class " not in cell.source
        # the parameters cell declares one input a line; every other cell stays short
        assert len(cell.source.splitlines()) <= (18 if cell is code[0] else 12)


PATH_PARAMETERS = {
    "source",
    "statements",
    "rules",
    "checkpoints",
    "mapping",
    "gl_mapping",
    "source_mapping",
    "jet_rules",
    "flux_explanations",
}
"""Inputs by name; any other parameter whose default looks like a path counts too."""


def looks_like_path(value: object) -> bool:
    if isinstance(value, list):
        return any(looks_like_path(v) for v in value)
    return isinstance(value, str) and "/" in value and "\n" not in value


def parameter_defaults(name: str) -> dict[str, object]:
    """The notebook's parameters cell, name by name (every default is a literal)."""
    code = [c for c in nbformat.read(NOTEBOOKS / name, as_version=4).cells if c.cell_type == "code"]
    return {
        target.id: ast.literal_eval(statement.value)
        for statement in ast.parse(code[0].source).body
        if isinstance(statement, ast.Assign)
        for target in statement.targets
        if isinstance(target, ast.Name)
    }


READS_STATEMENTS = sorted(
    p.name for p in NOTEBOOKS.glob("*.ipynb") if "statements" in parameter_defaults(p.name)
)


@pytest.mark.parametrize("name", READS_STATEMENTS)
def test_a_notebook_reads_every_statement_the_demo_writes_by_default(name: str) -> None:
    """Without the processor's report, its entries would show as thousands of breaks."""
    assert len(READS_STATEMENTS) >= 3  # the close, reconciliation and drift
    defaults = parameter_defaults(name)["statements"]
    assert isinstance(defaults, list)
    assert sorted(defaults) == sorted(
        f"data/demo/statements/{f}" for f in (BAI2_FILE, CAMT_FILE, PROCESSOR_FILE)
    )


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_every_input_path_is_resolved_right_after_the_parameters(name: str) -> None:
    """So no input is read relative to wherever the kernel happened to start."""
    code = [c for c in nbformat.read(NOTEBOOKS / name, as_version=4).cells if c.cell_type == "code"]
    defaults = parameter_defaults(name)
    inputs = {k for k, v in defaults.items() if k in PATH_PARAMETERS or looks_like_path(v)}
    assert "source" in inputs
    resolved = {
        line.split(" = ")[0]
        for line in code[1].source.splitlines()
        if re.fullmatch(r"(\w+) = input_paths?\(\1\)", line)
    }
    assert resolved == inputs


def test_the_integrity_notebook_reports_the_planted_anomalies(
    demo_factory: DemoFactory, defaults_to: DefaultsTo, tmp_path: Path
) -> None:
    demo = demo_factory()
    defaults_to(demo)
    notebook = run("02_integrity.ipynb", tmp_path)
    text = text_of(notebook)
    for anomaly in read_answer_key(demo.answer_key_path):
        assert anomaly.rule.value in text
    figures = [
        o for c in notebook.cells for o in c.get("outputs", []) if "text/html" in o.get("data", {})
    ]
    assert any("plotly" in str(o["data"]["text/html"]) for o in figures)


def test_the_explorer_notebook_runs_on_a_chosen_account(
    demo_factory: DemoFactory, defaults_to: DefaultsTo, tmp_path: Path
) -> None:
    defaults_to(demo_factory(clean=True))
    notebook = run("01_ledger_explorer.ipynb", tmp_path, account_id="assets:bank:operating:usd")
    assert widget_views(notebook)
    state = json.dumps(notebook.metadata.get("widgets", {}))
    assert "assets:bank:operating:usd" in state


def widget_views(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [
        o
        for c in notebook.cells
        for o in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]


def plotly_outputs(notebook: nbformat.NotebookNode) -> int:
    """How many charts the notebook drew (plotly.js's loader output is not one)."""
    return sum(
        str(o.get("data", {}).get("text/html", "")).count('class="plotly-graph-div"')
        for c in notebook.cells
        for o in c.get("outputs", [])
    )


def test_the_reconciliation_notebook_shows_breaks_aging_and_the_rule_preview(
    demo_factory: DemoFactory, defaults_to: DefaultsTo, tmp_path: Path
) -> None:
    demo = demo_factory()
    assert demo.statements is not None
    defaults_to(demo)
    notebook = run("03_reconciliation.ipynb", tmp_path)
    text = text_of(notebook)
    planted = {a.rule.value for a in read_answer_key(demo.statements.recon_key_path)}
    classes = {rule: name for name, rule in CLASS_RULES.items()}
    assert len(planted & set(classes)) >= 5  # the demo plants five break classes
    for rule in planted:  # every planted break by its class; the suggested batch below
        assert classes.get(rule, "suggested") in text, rule
    assert plotly_outputs(notebook) == 2  # match rates, aging
    # the default override accepts the planted unique batch: the preview shows it changed
    assert "suggested 5 subset" in text
    assert "auto 5 subset" in text
    assert "still unmatched" in text


def test_the_drift_notebook_charts_every_bank_account(
    demo_factory: DemoFactory, defaults_to: DefaultsTo, tmp_path: Path
) -> None:
    defaults_to(demo_factory())
    notebook = run("04_drift.ipynb", tmp_path)
    text = text_of(notebook)
    for account in ("assets:bank:operating:usd", "assets:bank:operating:eur"):
        assert account in text
    assert plotly_outputs(notebook) == 4  # a line chart and a waterfall per account
    assert "US00DEMO0000000001" in text
    assert "DE00DEMO0000000002" in text


def test_the_erp_notebook_balances_ties_out_and_exports(
    demo_factory: DemoFactory, defaults_to: DefaultsTo, tmp_path: Path
) -> None:
    defaults_to(demo_factory())
    out = tmp_path / "erp"
    out.mkdir()
    notebook = run("05_erp_rollup.ipynb", tmp_path, out=str(out))
    soundness = next(
        o["data"]["text/plain"]
        for c in notebook.cells
        if "trial balance totals zero" in c.source
        for o in c.outputs
        if "data" in o
    )
    assert soundness == (
        "{'trial balance totals zero': True,\n"
        " 'every journal balances per currency': True,\n"
        " 'journals tie out to the trial balance': True,\n"
        " 'unmapped accounts (to suspense)': 0}"
    )
    assert sorted(p.name for p in out.iterdir()) == ["netsuite.csv", "quickbooks.csv", "xero.csv"]
    assert "['netsuite.csv', 'quickbooks.csv', 'xero.csv']" in text_of(notebook)


def test_the_close_notebook_runs_interactively_without_writing(
    demo_factory: DemoFactory, defaults_to: DefaultsTo, tmp_path: Path
) -> None:
    defaults_to(demo_factory())
    notebook = run("00_month_end_close.ipynb", tmp_path)
    text = text_of(notebook)
    assert "out is None: nothing written" in text
    headings = ("Summary", "Integrity", "Reconciliation", "Drift", "Trial balance")
    for heading in (*headings, "Journal-entry testing and analytics", "Flux review and Benford"):
        assert f"<h2>{heading}" in text
    assert plotly_outputs(notebook) == 3  # findings per rule; ledger vs bank, USD and EUR
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00_month_end_close.ipynb", "data"]


def test_the_explorer_and_erp_notebooks_run_with_no_parameter_at_all(
    demo_factory: DemoFactory, defaults_to: DefaultsTo, tmp_path: Path
) -> None:
    """The two tests above that pass a parameter, without it: every notebook ran as it stands."""
    defaults_to(demo_factory())
    assert widget_views(run("01_ledger_explorer.ipynb", tmp_path))
    assert "out is None: nothing exported" in text_of(run("05_erp_rollup.ipynb", tmp_path))


def test_a_missing_demo_stops_the_first_cell_with_one_line_saying_how_to_build_it(
    defaults_to: DefaultsTo, tmp_path: Path
) -> None:
    data = defaults_to(None)
    with pytest.raises(PapermillExecutionError) as raised:
        run("02_integrity.ipynb", tmp_path)
    assert raised.value.ename == "InputError"
    assert raised.value.evalue == (
        f"data/demo/ledger.sqlite: the demo is not built in {data / 'demo'}: run "
        f"`bash scripts/demo.sh` or `.venv/bin/ledger-audit demo --out {data / 'demo'}`, "
        "or pass your own file"
    )
    notebook = nbformat.read(tmp_path / "02_integrity.ipynb", as_version=4)
    failed = [
        c for c in notebook.cells if any(o.output_type == "error" for o in c.get("outputs", []))
    ]
    assert [c.id for c in failed] == ["cell-paths"]  # right after the parameters, before any work
    (error,) = failed[0].outputs
    assert error.traceback == [f"InputError: {raised.value.evalue}"]  # one line, no traceback
