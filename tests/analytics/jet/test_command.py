"""``ledger-audit jet``: completeness first, the tables written, parameters recorded."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.cli import main
from ledger_audit.findings import FINDINGS_SCHEMA
from tests.conftest import DemoFactory

RULES = Path(__file__).parents[3] / "rules" / "jet.toml"


def test_jet_writes_findings_scores_and_its_run(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory(transactions=600, seed=7)
    out = tmp_path / "jet"
    argv = ["jet", str(demo.ledger_path), "--period", "2025-01", "--out", str(out)]
    assert main([*argv, "--rules", str(RULES)]) == 0
    text = capsys.readouterr().out
    assert text.index("roll-forward 2025-01") < text.index("JE-01")
    assert "chain BROKEN" in text  # the demo's planted chain damage is said up front
    findings = pl.read_parquet(out / "findings.parquet")
    assert findings.schema == pl.Schema(FINDINGS_SCHEMA)
    scores = pl.read_csv(out / "jet_scores.csv")
    assert set(scores["transaction_id"]) == set(findings["transaction_id"])
    run = json.loads((out / "jet_run.json").read_text(encoding="utf-8"))
    assert run["parameters"]["weights"]["jet.post_close"] == 3.0
    assert run["completeness"]["rollforward_breaks"] == 0
    assert {c["rule"] for c in run["coverage"] if c["status"] == "not applicable"} == {
        "jet.unexpected_user",
        "jet.self_approval",
        "jet.concentration",
    }


def test_a_bad_rules_file_is_one_line(
    tmp_path: Path, demo_factory: DemoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory(transactions=600, seed=7)
    rules = tmp_path / "jet.toml"
    rules.write_text("[weekend]\nscop = 'all'\n", encoding="utf-8")
    argv = ["jet", str(demo.ledger_path), "--period", "2025-01", "--out", str(tmp_path)]
    assert main([*argv, "--rules", str(rules)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "[weekend] scop" in err
