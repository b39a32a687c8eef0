"""``ledger-audit verify``: summary table, findings files, exit codes, one-line errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from ledger_audit.cli import main
from ledger_audit.demo.answer_key import read_answer_key
from ledger_audit.exports.snapshot import write_ledger_snapshot
from ledger_audit.findings import FINDINGS_SCHEMA
from ledger_audit.sources import load_ledger
from tests.demo.conftest import DemoFactory


def test_a_planted_demo_exits_1_and_writes_the_findings(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory()
    code = main(["verify", str(demo.ledger_path), "--out", str(tmp_path)])
    printed = capsys.readouterr()
    assert code == 1  # the chain is broken: critical
    assert printed.err == ""
    header = printed.out.splitlines()[0].split()
    assert header == ["rule", "severity", "count", "status", "coverage"]
    findings = pl.read_parquet(tmp_path / "findings.parquet")
    assert findings.schema == pl.Schema(FINDINGS_SCHEMA)
    assert findings.equals(pl.read_csv(tmp_path / "findings.csv", schema=FINDINGS_SCHEMA))
    key = read_answer_key(demo.answer_key_path)
    assert sorted(findings["rule"].to_list()) == sorted(a.rule.value for a in key)
    assert f"{findings.height} finding(s), " in printed.out
    first = min(a.chain_seq for a in key if a.rule.startswith("chain.") and a.chain_seq)
    assert f"first broken link at seq {first}," in printed.out
    assert "\nNot proven:\n" in printed.out
    assert "\n- ledger demo: no checkpoint from an earlier audit" in printed.out
    assert (tmp_path / "checkpoints.json").is_file()


def test_a_clean_demo_exits_0_from_a_parquet_copy(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory(clean=True)
    frames, _ = load_ledger(demo.ledger_path)
    write_ledger_snapshot(frames, tmp_path / "snapshot", "parquet")
    code = main(["verify", str(tmp_path / "snapshot"), "--out", str(tmp_path / "out")])
    printed = capsys.readouterr()
    assert code == 0, printed.out
    assert "0 finding(s), 0 critical" in printed.out
    assert "failed" not in printed.out
    assert pl.read_parquet(tmp_path / "out" / "findings.parquet").is_empty()


def test_a_later_audit_extends_the_earlier_checkpoint(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory(clean=True)
    assert main(["verify", str(demo.ledger_path), "--out", str(tmp_path / "first")]) == 0
    checkpoint = tmp_path / "first" / "checkpoints.json"
    argv = ["verify", str(demo.ledger_path), "--out", str(tmp_path / "second")]
    assert main([*argv, "--checkpoint", str(checkpoint)]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "no/such/ledger.sqlite", "--out", "x"], "no/such/ledger.sqlite"),
        (["verify", "ledger.sqlite"], "--out"),
        (["verify", "ledger.sqlite", "--out", "x", "--suites", "gx"], "invalid choice"),
    ],
)
def test_bad_verify_arguments_give_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    (line,) = printed.err.splitlines()
    assert message in line
