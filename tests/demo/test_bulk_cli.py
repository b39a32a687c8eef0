"""``ledger-audit demo --writer``: both writers from the command line, the same bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger_audit.cli import main


def test_writer_bulk_and_reference_write_the_same_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for writer in ("reference", "bulk"):
        argv = ["demo", "--out", str(tmp_path / writer), "--transactions", "300"]
        assert main([*argv, "--seed", "4", "--writer", writer]) == 0
        assert "0 rejections" in capsys.readouterr().out
    reference = (tmp_path / "reference" / "ledger.sqlite").read_bytes()
    assert (tmp_path / "bulk" / "ledger.sqlite").read_bytes() == reference


def test_an_unknown_writer_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--writer", "fast"]) == 2
    err = capsys.readouterr().err
    assert "--writer: invalid choice: 'fast'" in err
    assert len(err.strip().splitlines()) == 1
