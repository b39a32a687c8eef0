"""``--adapter`` end to end through the CLI: verify twice with the first run's checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.cli import main
from ledger_audit.demo.vendors.tigerbeetle import write_tigerbeetle
from ledger_audit.sources import load_ledger
from tests.conftest import DemoFactory


@pytest.fixture(scope="module")
def export(demo_factory: DemoFactory, tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames, _ = load_ledger(demo_factory(clean=True).ledger_path)
    folder = tmp_path_factory.mktemp("tb") / "export"
    write_tigerbeetle(frames, folder)
    return folder


def test_a_second_verify_extends_the_first_runs_seal_without_a_false_finding(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["verify", str(export), "--adapter", "tigerbeetle", "--out", str(first)]) == 0
    seals = json.loads((first / "checkpoints.json").read_text())
    names = [c["ledger_id"] for c in seals["checkpoints"]]
    assert names
    assert all(name.startswith("tigerbeetle:") for name in names)
    code = main(
        [
            "verify",
            str(export),
            "--adapter",
            "tigerbeetle",
            "--checkpoint",
            str(first / "checkpoints.json"),
            "--out",
            str(second),
        ]
    )
    findings = pl.read_csv(second / "findings.csv", infer_schema=False)
    assert findings.is_empty(), findings.to_dicts()
    assert code == 0
    summary = pl.read_csv(second / "summary.csv", infer_schema=False)
    seal = summary.filter(pl.col("rule").is_in(["chain.truncated", "chain.rewritten"]))
    assert set(seal["status"]) == {"passed"}
    assert "mirror_seal" in " ".join(seal["checks"])
    capsys.readouterr()


def test_init_with_an_adapter_writes_the_starter_rules_and_gl_mapping_only(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "setup"
    assert main(["init", str(export), "--adapter", "tigerbeetle", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["gl-mapping.toml", "rules.toml"]
    printed = capsys.readouterr().out
    assert "--adapter tigerbeetle" in printed
    assert "FILL-IN" in (out / "rules.toml").read_text()
