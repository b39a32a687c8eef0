"""Every error path of every subcommand prints one line on stderr, never a traceback.

A representative set per kind of input (ledger, statements, settings files, output folder)
and per subcommand; each case asserts the exit code, that stdout stays empty, that stderr is
exactly one ``ledger-audit: error: `` line naming the input, and that nothing was written.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger_audit import cli
from ledger_audit.cli import main
from tests.conftest import PROJECT_ROOT, DemoFactory

GL_MAPPING = PROJECT_ROOT / "mappings" / "demo.toml"


@dataclass(frozen=True)
class Inputs:
    """Good inputs from a small demo, and bad ones beside them."""

    ledger: Path
    statement: Path
    folder: Path

    def bad(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def inputs(demo_factory: DemoFactory, tmp_path: Path) -> Inputs:
    demo = demo_factory(clean=True)
    assert demo.statements is not None
    return Inputs(demo.ledger_path, demo.statements.statements[0], tmp_path)


Case = Callable[[Inputs], tuple[list[str], str]]
"""Builds (argv without ``--out``, an expected part of the line) from the inputs."""


def _csv_folder(i: Inputs) -> Path:
    folder = i.folder / "snapshot"
    folder.mkdir()
    for table in ("ledgers", "assets", "accounts", "transactions", "entries", "balances"):
        (folder / f"{table}.csv").write_text("ledger_id\ndemo\n", encoding="utf-8")
    return folder


CASES: dict[str, Case] = {
    "init: a ledger that is not there": lambda i: (
        ["init", str(i.folder / "gone.sqlite")],
        "gone.sqlite: no such ledger file or folder",
    ),
    "init: a text file as the ledger": lambda i: (
        ["init", str(i.bad("notes.txt", "hello\n"))],
        "notes.txt: not a ledger source",
    ),
    "signoff: a folder that holds no bundle": lambda i: (
        ["signoff", str(i.folder), "--role", "reviewer", "--name", "Grace Hopper"],
        "is not an evidence bundle: no manifest.json",
    ),
    "verify: a source mapping that is not there": lambda i: (
        ["verify", str(i.ledger), "--mapping", str(i.folder / "mapping.toml")],
        "mapping.toml: no such source mapping file",
    ),
    "verify: a text file as the ledger": lambda i: (
        ["verify", str(i.bad("notes.txt", "hello\n"))],
        "notes.txt: not a ledger source",
    ),
    "verify: a .sqlite file that is not SQLite": lambda i: (
        ["verify", str(i.bad("ledger.sqlite", "not a database\n"))],
        "ledger.sqlite: ",
    ),
    "verify: a folder without ledger files": lambda i: (
        ["verify", str(i.folder)],
        "no ledger files",
    ),
    "verify: a CSV snapshot missing columns": lambda i: (
        ["verify", str(_csv_folder(i))],
        "ledgers.csv: missing column(s) name",
    ),
    "verify: an unsupported URL scheme": lambda _: (
        ["verify", "mysql://host/db"],
        "unsupported source scheme 'mysql'",
    ),
    "verify: an in-memory SQLite URL": lambda _: (
        ["verify", "sqlite://"],
        "in-memory SQLite database has no ledger",
    ),
    "verify: checkpoints that are not JSON": lambda i: (
        ["verify", str(i.ledger), "--checkpoint", str(i.bad("cp.json", "{\n"))],
        "cp.json:2: not JSON",
    ),
    "verify: a malformed checkpoint": lambda i: (
        ["verify", str(i.ledger), "--checkpoint", str(i.bad("cp.json", '{"checkpoints": [1]}'))],
        "cp.json: checkpoints[0]",
    ),
    "reconcile: a statement that is not BAI2": lambda i: (
        ["reconcile", "--ledger", str(i.ledger), "--statements", str(i.bad("x.bai2", "junk\n"))],
        "x.bai2:1: not a BAI2 file",
    ),
    "reconcile: a file of no bank format": lambda i: (
        ["reconcile", "--ledger", str(i.ledger), "--statements", str(i.bad("x.txt", "junk\n"))],
        "x.txt:1: not a recognised bank file",
    ),
    "reconcile: a folder as a statement": lambda i: (
        ["reconcile", "--ledger", str(i.ledger), "--statements", str(i.folder)],
        f"{i.folder}: cannot read the file",
    ),
    "reconcile: rules that are not TOML": lambda i: (
        [
            *("reconcile", "--ledger", str(i.ledger), "--statements", str(i.statement)),
            *("--rules", str(i.bad("rules.toml", "[[rails\n"))),
        ],
        "rules.toml: not valid TOML",
    ),
    "reconcile: a GL mapping given as rules": lambda i: (
        [
            *("reconcile", "--ledger", str(i.ledger), "--statements", str(i.statement)),
            *("--rules", str(PROJECT_ROOT / "mappings" / "demo.toml")),
        ],
        "demo.toml:",
    ),
    "close: a GL mapping that is not TOML": lambda i: (
        [
            *("close", "--period", "2025-01", "--ledger", str(i.ledger)),
            *("--gl-mapping", str(i.bad("gl.toml", "version = \n"))),
        ],
        "gl.toml: not valid TOML",
    ),
    "close: checkpoints that are not JSON": lambda i: (
        [
            *("close", "--period", "2025-01", "--ledger", str(i.ledger)),
            *("--checkpoint", str(i.bad("cp.json", "[]"))),
        ],
        'cp.json: expected a JSON object with a "checkpoints" array',
    ),
    "verify: an unknown adapter": lambda i: (
        ["verify", str(i.ledger), "--adapter", "formence"],
        "unknown adapter 'formence'; known adapters: beancount, blnk, formance",
    ),
    "verify: a ledger that is not the adapter's layout": lambda i: (
        ["verify", str(i.ledger), "--adapter", "pgledger"],
        "--adapter pgledger: ",
    ),
    "verify: a mapping and an adapter together": lambda i: (
        [
            *("verify", str(i.ledger), "--adapter", "pgledger"),
            *("--mapping", str(i.bad("mapping.toml", 'format = "ledger-audit/mapping/1"\n'))),
        ],
        "give either --mapping (your own tables) or --adapter",
    ),
    "init: a Beancount adapter given a SQLite file": lambda i: (
        ["init", str(i.ledger), "--adapter", "beancount"],
        "--adapter beancount: ",
    ),
    "jet: a ledger that is not there": lambda i: (
        ["jet", str(i.folder / "gone.sqlite"), "--period", "2025-01"],
        "gone.sqlite: no such ledger file or folder",
    ),
    "jet: JET rules that are not TOML": lambda i: (
        [
            *("jet", str(i.ledger), "--period", "2025-01"),
            *("--rules", str(i.bad("jet.toml", "[weights\n"))),
        ],
        "jet.toml",
    ),
    "benford: a column the CSV does not have": lambda i: (
        ["benford", "--csv", str(i.bad("amounts.csv", "id,amt\n1,12.50\n")), "--column", "x"],
        "amounts.csv: no column named 'x'",
    ),
    "benford: an amount that is not a decimal": lambda i: (
        [
            *("benford", "--csv", str(i.bad("amounts.csv", "id,amt\n1,12.50\n2,x\n"))),
            *("--column", "amt"),
        ],
        "amounts.csv:3: amt 'x' is not a decimal number",
    ),
    "sample: a confidence outside (0, 1)": lambda _: (
        [
            *("sample", "attribute", "--confidence", "1.5"),
            *("--tolerable-rate", "0.05", "--expected-rate", "0.01"),
        ],
        "confidence must be in (0, 1)",
    ),
    "sample: a book value that is not an amount": lambda _: (
        [
            *("sample", "mus", "--confidence", "0.95", "--book-value", "abc"),
            *("--tolerable", "100", "--expected", "0"),
        ],
        "'abc' is not a decimal amount",
    ),
    "flux: a GL mapping that is not there": lambda i: (
        ["flux", str(i.ledger), "--period", "2025-01", "--gl-mapping", str(i.folder / "gl.toml")],
        "gl.toml: no such GL mapping file",
    ),
    "flux: overrides with an unknown key": lambda i: (
        [
            *("flux", str(i.ledger), "--period", "2025-01", "--gl-mapping", str(GL_MAPPING)),
            *("--overrides", str(i.bad("overrides.toml", '["2010"]\nmodes = "or"\n'))),
        ],
        "overrides.toml:2 [2010] modes: not a key of an override",
    ),
    "flux: explanations without their columns": lambda i: (
        [
            *("flux", str(i.ledger), "--period", "2025-01", "--gl-mapping", str(GL_MAPPING)),
            *("--explanations", str(i.bad("why.csv", "account,text\n2010,x\n"))),
        ],
        "why.csv:1: missing column(s) gl_account, asset, explanation, explained_by",
    ),
    "close: flux explanations that are not there": lambda i: (
        [
            *("close", "--period", "2025-01", "--ledger", str(i.ledger)),
            *("--flux-explanations", str(i.folder / "why.csv")),
        ],
        "why.csv: no such flux explanations file",
    ),
    "close: a notebook that is not JSON": lambda i: (
        [
            *("close", "--period", "2025-01", "--ledger", str(i.ledger)),
            *("--notebook", str(i.bad("mine.ipynb", "not json"))),
        ],
        "mine.ipynb: not a readable notebook",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_error_is_one_line_and_exit_2(
    case: str, inputs: Inputs, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, expected = CASES[case](inputs)
    out = inputs.folder / "out"
    takes_out = argv[0] not in {"signoff", "benford", "sample"}
    code = main([*argv, "--out", str(out)] if takes_out else [*argv])
    printed = capsys.readouterr()
    assert code == 2
    assert printed.out == ""
    assert printed.err.count("\n") == 1, printed.err
    assert printed.err.startswith("ledger-audit: error: ")
    assert expected in printed.err
    assert not out.exists() or {p.name for p in out.iterdir()} <= {".2025-01.lock"}


@pytest.mark.parametrize("command", ["demo", "verify", "reconcile", "close"])
def test_an_output_folder_that_is_a_file_is_one_line(
    command: str, inputs: Inputs, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = inputs.bad("blocker", "a file, not a folder")
    argv = {
        "demo": ["demo", "--transactions", "100"],
        "verify": ["verify", str(inputs.ledger)],
        "reconcile": [
            *("reconcile", "--ledger", str(inputs.ledger)),
            *("--statements", str(inputs.statement)),
        ],
        "close": ["close", "--period", "2025-01", "--ledger", str(inputs.ledger)],
    }[command]
    assert main([*argv, "--out", str(blocker)]) == 2
    printed = capsys.readouterr()
    assert printed.err.count("\n") == 1
    assert printed.err.startswith("ledger-audit: error: ")
    assert str(blocker) in printed.err
    assert blocker.read_text(encoding="utf-8") == "a file, not a folder"


def _crash(args: argparse.Namespace) -> int:
    raise ZeroDivisionError(f"planted bug in {args.command}\nsecond line")


def _interrupt(args: argparse.Namespace) -> int:  # noqa: ARG001 - a handler's signature
    raise KeyboardInterrupt


def test_a_bug_is_one_line_exit_4_and_its_traceback_on_request(
    inputs: Inputs, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No real input reaches an unexpected exception (each would be a bug to fix), so a
    # handler that fails like one stands in for it.
    monkeypatch.setattr(cli, "_run_verify", _crash)
    argv = ["verify", str(inputs.ledger), "--out", str(inputs.folder / "out")]
    assert main(argv) == cli.EXIT_BUG
    err = capsys.readouterr().err
    assert err == (
        "ledger-audit: internal error: ZeroDivisionError: planted bug in verify second line "
        f"(a bug: please report it; {cli.DEBUG_ENV}=1 shows the traceback)\n"
    )
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    with pytest.raises(ZeroDivisionError, match="planted bug"):
        main(argv)


def test_an_interrupt_is_one_line(
    inputs: Inputs, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_run_verify", _interrupt)
    assert main(["verify", str(inputs.ledger), "--out", str(inputs.folder / "o")]) == 130
    assert capsys.readouterr().err == "ledger-audit: interrupted\n"


def test_the_cases_cover_every_subcommand() -> None:
    """A new subcommand gets its error cases here (demo's are in tests/test_cli.py)."""
    commands = {c.partition(":")[0] for c in CASES} | {"demo"}
    actions = cli.build_parser()._actions
    (subcommands,) = [a for a in actions if isinstance(a, argparse._SubParsersAction)]
    assert set(subcommands.choices) == commands
