"""The ``ledger-audit`` command line: the demo subcommand and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ledger_audit.cli import main


def test_demo_writes_the_files_and_prints_the_chain_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--transactions", "300", "--seed", "3"])
    printed = capsys.readouterr()
    assert code == 0
    assert printed.err == ""
    head = json.loads((out / "demo.json").read_text(encoding="utf-8"))["chain_head"]
    assert f"chain head: seq {head['seq']} hash {head['hash']}" in printed.out
    assert "0 rejections" in printed.out
    assert (out / "ledger.sqlite").is_file()
    key = json.loads((out / "answer_key.json").read_text(encoding="utf-8"))
    assert len(key) == 10


def test_demo_clean_defaults_to_data_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--transactions", "150", "--clean", "--month", "2024-02"]) == 0
    assert "clean (nothing planted)" in capsys.readouterr().out
    assert (tmp_path / "data" / "demo" / "answer_key.json").read_text(encoding="utf-8") == "[]\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--transactions", "0"], "--transactions: must be positive"),
        (["demo", "--transactions", "ten"], "expected a whole number"),
        (["demo", "--month", "2025-13"], "--month"),
        (["demo", "--seed", "x"], "--seed"),
        (["demo", "--transactions", "50"], "at least 100"),  # an InputError from build_demo
        (["demo", "--bogus"], "unrecognized arguments"),
        ([], "required"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--out", str(tmp_path)] if argv[:1] == ["demo"] else argv) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    lines = printed.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ledger-audit: error: ")
    assert message in lines[0]


def test_unwritable_output_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["demo", "--out", str(blocker / "demo"), "--transactions", "150"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--help"]) == 0
    assert "--transactions" in capsys.readouterr().out


def test_module_entry_point_without_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ledger_audit.cli", "demo", "--month", "nope"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("ledger-audit: error: argument --month")
    assert "Traceback" not in done.stderr
