"""``ledger-audit sample`` and ``ledger-audit benford``: one JSON object, exact inputs, errors.

The JSON keys are a stable interface (issue 15); these tests pin them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger_audit.cli import main
from tests.test_cli_startup import HEAVY, run_cli


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    payload = json.loads(out)
    assert isinstance(payload, dict)
    return payload


def test_attribute_plan(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sample", "attribute", "--confidence", "0.95", "--tolerable-rate", "0.05"]
    payload = _json([*argv, "--expected-rate", "0.01", "--json"], capsys)
    assert payload["n"] == 93  # Table A-1
    assert payload["method"] == "attribute.binomial.clopper_pearson"
    payload = _json(
        [
            "sample",
            "attribute",
            "--confidence",
            "90%",
            "--tolerable-rate",
            "5%",
            "--expected-rate",
            "3.5%",
            "--json",
        ],
        capsys,
    )
    assert payload["n"] == 400  # exact; jfa's floating point gives 423


def test_attribute_evaluation(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sample", "attribute", "--confidence", "0.95", "--n", "20", "--deviations", "0"]
    payload = _json([*argv, "--json"], capsys)
    assert abs(float(str(payload["upper_rate"])) - (1 - 0.05 ** (1 / 20))) < 1e-12
    assert payload["factor_mode"] == "exact"
    table = _json([*argv, "--table", "--json"], capsys)
    assert table["upper_rate"] == 0.14  # Table A-3: 14.0 %


def test_mus_plan(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "sample",
        "mus",
        "--confidence",
        "0.95",
        "--book-value",
        "1000000.00",
        "--tolerable",
        "50000",
        "--expected",
        "10000",
        "--json",
    ]
    payload = _json(argv, capsys)
    assert payload["n"] == 93  # Table C-1: 5 % risk, ratio 0.2, tolerable 5 %
    assert payload["interval_exact"] == "1000000/93"
    assert payload["method"] == "mus.poisson.gamma"
    zero = _json([*argv[:-3], "--json"], capsys)
    assert zero["n"] == 60


def test_benford_reads_amounts_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "payments.csv"
    rows = [f"{i},{(i * 7919) % 100_000}.{i % 100:02d}" for i in range(1, 2001)]
    csv.write_text("id,amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    argv = ["benford", "--csv", str(csv), "--column", "amount", "--test", "first-two", "--json"]
    payload = _json(argv, capsys)
    assert set(payload) >= {"n", "mad", "chi2", "conformity"}
    assert payload["scale"] == 2
    assert payload["rows"] == 2000
    assert payload["conformity"] in {"close", "acceptable", "marginal", "nonconformity"}
    small = tmp_path / "small.csv"
    small.write_text("amount\n0.29\n4.35\n12.00\n", encoding="utf-8")
    payload = _json(["benford", "--csv", str(small), "--column", "amount", "--json"], capsys)
    assert payload["conformity"] == "not applicable"
    assert payload["n"] == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sample", "attribute", "--confidence", "0.95", "--json"], "give --tolerable-rate"),
        (["sample", "attribute", "--confidence", "1.2", "--tolerable-rate", "0.05"], "confidence"),
        (["sample", "attribute", "--confidence", "abc", "--n", "1", "--deviations", "0"], "abc"),
        (
            ["sample", "mus", "--confidence", "0.95", "--book-value", "100", "--tolerable", "1/0"],
            "not a decimal",
        ),
        (["benford", "--csv", "nope.csv", "--column", "a"], "nope.csv: no such file"),
    ],
)
def test_bad_input_is_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err


def test_bad_cell_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text("amount\n1.00\n2,50\n", encoding="utf-8")
    assert main(["benford", "--csv", str(csv), "--column", "amount"]) == 2
    assert "a.csv" in capsys.readouterr().err
    csv.write_text("amount\n1.00\n1e5\n", encoding="utf-8")
    assert main(["benford", "--csv", str(csv), "--column", "amount"]) == 2
    assert "a.csv:3: amount '1e5' is not a decimal number" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv", [["sample", "--help"], ["sample", "mus", "--help"], ["benford", "--help"]]
)
def test_help_imports_no_heavy_module(argv: list[str], tmp_path: Path) -> None:
    code, modules, _ = run_cli(argv, tmp_path, tmp_path / "report.json")
    assert code == 0
    assert modules & HEAVY == set()
    assert "scipy" not in modules


def test_mus_selection_is_exported_and_reproducible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [f"INV-{i:03d},{(i * 7919) % 50_000}.{i % 100:02d}" for i in range(1, 201)]
    forward = tmp_path / "forward.csv"
    forward.write_text("inv,amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    backward = tmp_path / "backward.csv"
    backward.write_text("inv,amount\n" + "\n".join(reversed(rows)) + "\n", encoding="utf-8")
    base = ["sample", "select", "--id-column", "inv", "--value-column", "amount", "--n", "25"]
    first = _json(
        [*base, "--csv", str(forward), "--seed", "9", "--out", str(tmp_path / "a"), "--json"],
        capsys,
    )
    again = _json(
        [*base, "--csv", str(backward), "--seed", "9", "--out", str(tmp_path / "b"), "--json"],
        capsys,
    )
    assert first["seed"] == 9
    assert first["rng"] == "numpy.random.Generator(PCG64)"
    assert first["selected_ids"] == again["selected_ids"]
    assert first["population_sha256"] == again["population_sha256"]
    csv_a = (tmp_path / "a" / "mus_selection.csv").read_bytes()
    assert csv_a == (tmp_path / "b" / "mus_selection.csv").read_bytes()
    header = csv_a.decode().splitlines()[0].split(",")
    assert header[-3:] == ["audited_value", "tester_result", "tester_note"]
    other = _json(
        [*base, "--csv", str(forward), "--seed", "10", "--out", str(tmp_path / "c"), "--json"],
        capsys,
    )
    assert other["selected_ids"] != first["selected_ids"]
