"""``ledger-audit init``: what it prints and writes, one-line errors, and the whole path
from a user's own ledger to an audit (``init``, then ``verify --mapping``)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.cli import INIT_FILES, main
from ledger_audit.exports.setup_files import setup_paths
from ledger_audit.sources import load_ledger
from ledger_audit.sources.gl_mapping import read_gl_mapping
from tests.sources.mapping import conventional as conv
from tests.test_cli_startup import HEAVY, run_cli


def test_init_prints_each_decision_and_writes_the_three_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = conv.write_ledger(tmp_path, conv.entry_rows(), "sqlite")
    out = tmp_path / "setup"
    assert main(["init", source, "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.err == ""
    lines = printed.out.splitlines()
    assert lines[0].startswith(f"Inspected sqlite:///{tmp_path}")
    assert any(
        line.startswith('  sure      entries.from = "entries"  (entry per row: ') for line in lines
    )
    assert any(line.startswith("  guessed   ledger.id = ") for line in lines)
    assert "0 to fill in." in printed.out
    assert f"Wrote {out / 'mapping.toml'}, {out / 'rules.toml'} and {out / 'gl-mapping.toml'}." in (
        printed.out
    )
    assert f"Next: ledger-audit verify {source} --mapping {out / 'mapping.toml'}" in printed.out
    assert sorted(p.name for p in out.iterdir()) == sorted(INIT_FILES)
    assert read_gl_mapping(out / "gl-mapping.toml").rules


def test_the_cli_checks_the_files_the_writer_writes(tmp_path: Path) -> None:
    paths = setup_paths(tmp_path)
    assert (paths.mapping.name, paths.rules.name, paths.gl_mapping.name) == INIT_FILES


def test_init_keeps_existing_files_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = conv.write_ledger(tmp_path, conv.entry_rows(), "csv")
    out = tmp_path / "setup"
    out.mkdir()
    (out / "rules.toml").write_text("# mine\n")
    assert main(["init", source, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    existing = out / "rules.toml"
    assert err == f"ledger-audit: error: {existing}: already exists: pass --force to replace it\n"
    assert (out / "rules.toml").read_text() == "# mine\n"
    assert not (out / "mapping.toml").exists()
    assert main(["init", source, "--out", str(out), "--force"]) == 0
    assert (out / "rules.toml").read_text() != "# mine\n"


def test_what_is_left_to_fill_in_is_said_and_verify_refuses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = conv.entry_rows()
    tables["transactions"] = tables["transactions"].with_columns(
        pl.col("status").replace({"voided": "on_review"})
    )
    source = conv.write_ledger(tmp_path, tables, "sqlite")
    out = tmp_path / "setup"
    assert main(["init", source, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "  FILL-IN   transactions.status = " in printed
    assert "status value(s) 'on_review' in its first 6 rows not known" in printed
    assert "1 to fill in.\n" in printed
    assert 'Fill in the 1 "FILL-IN" value(s) of ' in printed
    code = main(["verify", source, "--mapping", str(out / "mapping.toml"), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert f"{out / 'mapping.toml'}:" in err
    assert "transactions.status" in err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.sqlite", "missing.sqlite: no such ledger file or folder"),
        (lambda p: p, "no relation looks like ledger entries"),
    ],
    ids=["missing", "no-entries"],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, message: str
) -> None:
    assert callable(make)
    (tmp_path / "notes.csv").write_text("id,text\n1,hello\n")
    source = str(make(tmp_path))
    assert main(["init", source, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ledger-audit: error: ")
    assert err.count("\n") == 1
    assert message in err
    assert not (tmp_path / "out").exists()


def test_a_database_that_is_not_one_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "ledger.sqlite"
    junk.write_bytes(b"this is not SQLite" * 100)
    assert main(["init", str(junk), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"ledger-audit: error: sqlite:///{junk}: ")


@pytest.mark.parametrize(
    "argv",
    [
        ["init", "--help"],
        ["init", "no/such.sqlite", "--out", "out"],
        ["init", "ledger.sqlite", "--out", "setup"],  # setup/mapping.toml exists
    ],
    ids=["help", "missing", "exists"],
)
def test_cheap_answers_import_no_heavy_module(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "ledger.sqlite").write_bytes(b"")
    (tmp_path / "setup").mkdir()
    (tmp_path / "setup" / "mapping.toml").write_text("")
    code, modules, stderr = run_cli(argv, tmp_path, tmp_path / "report.json")
    assert code == (0 if "--help" in argv else 2), stderr
    assert modules & HEAVY == set()


def _tamper(path: Path) -> None:
    """Unbalance one posted transaction of the conventional ledger (a critical finding)."""
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("UPDATE entries SET amount = amount + 1 WHERE id = 1")
        connection.commit()


@pytest.mark.parametrize("storage", ["sqlite", "csv", "parquet"])
def test_init_then_verify_audits_the_users_own_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], storage: str
) -> None:
    source = conv.write_ledger(tmp_path, conv.signed_rows(accounts=False), storage)
    setup = tmp_path / "setup"
    assert main(["init", source, "--out", str(setup)]) == 0
    frames, report = load_ledger(source, mapping=setup / "mapping.toml")
    assert report.rejected == 0
    assert frames.entries.height == 12
    capsys.readouterr()
    out = tmp_path / "audit"
    code = main(["verify", source, "--mapping", str(setup / "mapping.toml"), "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.out + printed.err
    assert "1 finding(s), 0 critical, over 6 transaction versions and 12 entries" in printed.out
    assert "through the mapping" in printed.out
    findings = pl.read_parquet(out / "findings.parquet")
    # t4 is voided in a one-row-per-transaction layout: archived with no pending version first
    assert findings.select("rule", "severity").rows() == [("status.invalid_move", "high")]
    assert "t4" in findings["locator"][0]


def test_verify_of_an_init_mapping_finds_what_was_planted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = conv.write_ledger(tmp_path, conv.entry_rows(), "sqlite")
    setup = tmp_path / "setup"
    assert main(["init", source, "--out", str(setup)]) == 0
    _tamper(Path(source))
    capsys.readouterr()
    out = tmp_path / "audit"
    code = main(["verify", source, "--mapping", str(setup / "mapping.toml"), "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 1, printed.out + printed.err
    findings = pl.read_parquet(out / "findings.parquet")
    assert "critical" in findings["severity"].to_list()
    assert "t1" in " ".join(findings["locator"].to_list())
