"""The notebooks run headless (papermill) against a demo ledger, and say what they should."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill
import pytest

from ledger_audit.demo.answer_key import read_answer_key
from tests.conftest import PROJECT_ROOT, DemoFactory

NOTEBOOKS = PROJECT_ROOT / "notebooks"


def run(name: str, out_dir: Path, **parameters: object) -> nbformat.NotebookNode:
    output = out_dir / name
    papermill.execute_notebook(
        str(NOTEBOOKS / name),
        str(output),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(out_dir),
        progress_bar=False,
    )
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
        assert len(cell.source.splitlines()) <= 12


def test_the_integrity_notebook_reports_the_planted_anomalies(
    demo_factory: DemoFactory, tmp_path: Path
) -> None:
    demo = demo_factory()
    notebook = run("02_integrity.ipynb", tmp_path, source=str(demo.ledger_path))
    text = text_of(notebook)
    for anomaly in read_answer_key(demo.answer_key_path):
        assert anomaly.rule.value in text
    figures = [
        o for c in notebook.cells for o in c.get("outputs", []) if "text/html" in o.get("data", {})
    ]
    assert any("plotly" in str(o["data"]["text/html"]) for o in figures)


def test_the_explorer_notebook_runs_on_a_chosen_account(
    demo_factory: DemoFactory, tmp_path: Path
) -> None:
    demo = demo_factory(clean=True)
    notebook = run(
        "01_ledger_explorer.ipynb",
        tmp_path,
        source=str(demo.ledger_path),
        account_id="assets:bank:operating:usd",
    )
    widget_views = [
        o
        for c in notebook.cells
        for o in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert widget_views
    state = json.dumps(notebook.metadata.get("widgets", {}))
    assert "assets:bank:operating:usd" in state
