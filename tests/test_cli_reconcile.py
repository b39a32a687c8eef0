"""``ledger-audit reconcile``: files written, rates and breaks printed, one-line errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from ledger_audit.cli import main
from ledger_audit.reconcile.breaks import BREAK_SCHEMA
from tests.conftest import DemoFactory


def test_reconcile_writes_the_frames_and_prints_rates_and_breaks(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory()
    assert demo.statements is not None
    argv = ["reconcile", "--ledger", str(demo.ledger_path), "--statements"]
    argv += [str(p) for p in demo.statements.statements]
    code = main([*argv, "--out", str(tmp_path), "--as-of", "2025-02-01"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert printed.err == ""
    lines = printed.out.splitlines()
    assert lines[0] == "Match rates per stage"
    assert lines[1].split() == [
        "stage",
        "name",
        "status",
        "matches",
        "ledger",
        "items",
        "bank",
        "records",
    ]
    assert "Breaks by class" in printed.out
    assert "recon.in_transit" in printed.out
    assert "as of 2025-02-01" in printed.out
    for stem in ("matches", "links", "breaks", "aging", "rates", "findings"):
        assert (tmp_path / f"{stem}.parquet").is_file()
        assert (tmp_path / f"{stem}.csv").is_file()
    breaks = pl.read_parquet(tmp_path / "breaks.parquet")
    assert breaks.schema == pl.Schema(BREAK_SCHEMA)
    assert breaks.height == 11  # 8 on the bank accounts, 3 of the untied processor payout
    assert breaks.equals(pl.read_csv(tmp_path / "breaks.csv", schema=BREAK_SCHEMA))


def test_a_period_reconciles_that_month_only_and_writes_the_payouts(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory(clean=True)
    assert demo.statements is not None
    argv = ["reconcile", "--ledger", str(demo.ledger_path), "--statements"]
    argv += [str(p) for p in demo.statements.statements]
    code = main([*argv, "--out", str(tmp_path / "jan"), "--period", "2025-01"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "as of 2025-01-31" in printed.out
    payouts = pl.read_parquet(tmp_path / "jan" / "payouts.parquet")
    assert payouts.height > 0
    assert pl.read_parquet(tmp_path / "jan" / "breaks.parquet").height == 0
    # The month after holds none of the demo's days: nothing is matched, nothing breaks.
    code = main([*argv, "--out", str(tmp_path / "feb"), "--period", "2025-03"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert pl.read_parquet(tmp_path / "feb" / "matches.parquet").height == 0
    assert pl.read_parquet(tmp_path / "feb" / "breaks.parquet").height == 0


def test_a_clean_demo_prints_no_breaks(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory(clean=True)
    assert demo.statements is not None
    code = main(
        [
            "reconcile",
            "--ledger",
            str(demo.ledger_path),
            "--statements",
            *(str(p) for p in demo.statements.statements),
            "--out",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Breaks by class: none" in out
    assert "as of 2025-01-31" in out  # the statements' last day
    assert pl.read_parquet(tmp_path / "findings.parquet").is_empty()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--statements", "missing.bai2"], "missing.bai2: no such statement file"),
        (
            ["--statements", "STATEMENT", "--rules", "nope.toml"],
            "nope.toml: no such rules file",
        ),
        (["--statements", "STATEMENT", "--as-of", "2025-13-01"], "expected a date YYYY-MM-DD"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    demo_factory: DemoFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    demo = demo_factory(clean=True)
    assert demo.statements is not None
    statement = str(demo.statements.statements[0])
    args = [
        statement
        if a == "STATEMENT"
        else str(tmp_path / a)
        if a.endswith((".bai2", ".toml"))
        else a
        for a in extra
    ]
    code = main(
        ["reconcile", "--ledger", str(demo.ledger_path), *args, "--out", str(tmp_path / "out")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("ledger-audit: error: ")
    assert message in err
    assert not (tmp_path / "out").exists()


def test_the_statement_encoding_is_passed_to_the_parsers(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory(clean=True)
    assert demo.statements is not None
    argv = ["reconcile", "--ledger", str(demo.ledger_path), "--statements"]
    argv += [str(p) for p in demo.statements.statements]
    code = main([*argv, "--out", str(tmp_path / "a"), "--statement-encoding", "cp1250"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert pl.read_parquet(tmp_path / "a" / "breaks.parquet").height == 0
    code = main([*argv, "--out", str(tmp_path / "b"), "--statement-encoding", "no-such-codec"])
    printed = capsys.readouterr()
    assert code == 2
    assert "no-such-codec" in printed.err
    assert len(printed.err.strip().splitlines()) == 1
