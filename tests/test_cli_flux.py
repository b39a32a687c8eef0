"""``ledger-audit flux``: tables and run written, one-line errors, explanations round trip."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from ledger_audit.cli import main
from ledger_audit.money import format_money
from tests.conftest import PROJECT_ROOT, DemoFactory
from tests.test_cli_startup import HEAVY, run_cli

GL_MAPPING = PROJECT_ROOT / "mappings" / "demo.toml"
WORKPAPER = "flux_workpaper.xlsx"


@pytest.fixture
def argv(demo_factory: DemoFactory, tmp_path: Path) -> list[str]:
    """flux over the small demo (January against the openings of December), amount test 100."""
    demo = demo_factory(transactions=600, seed=7)
    return [
        *("flux", str(demo.ledger_path), "--gl-mapping", str(GL_MAPPING)),
        *("--period", "2025-01", "--amount", "100", "--out", str(tmp_path / "out")),
    ]


def _run(out: Path) -> dict[str, object]:
    run = json.loads((out / "flux_run.json").read_text(encoding="utf-8"))
    assert isinstance(run, dict)
    return run


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_flux_writes_its_tables_and_run(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    text = capsys.readouterr().out
    out = tmp_path / "out"
    variances = pl.read_parquet(out / "flux_variances.parquet")
    drivers = pl.read_parquet(out / "flux_drivers.parquet")
    assert pl.read_csv(out / "flux_variances.csv").height == variances.height
    run = _run(out)
    flagged = variances.filter(pl.col("explain"))
    assert run["counts"] == {
        "rows": variances.height,
        "flagged": flagged.height,
        "explained": 0,
        "unexplained": flagged.height,
        "new_activity": variances.filter(pl.col("new_activity")).height,
        "trends": variances.filter(pl.col("trend")).height,
        "drivers": drivers.height,
        "explanations_unused": 0,
    }
    assert flagged.height > 0
    assert drivers.height > 0
    assert set(drivers["gl_account"]) <= set(flagged["gl_account"])
    parameters = run["parameters"]
    assert isinstance(parameters, dict)
    assert (parameters["period"], parameters["compare"]) == ("2025-01", "2024-12")
    assert parameters["threshold"] == {"mode": "and", "amount": 100, "percent_bp": 1000}
    assert parameters["history"] == ["2024-10", "2024-11", "2024-12"]
    inputs = {i["role"]: i["sha256"] for i in run["inputs"]}  # type: ignore[attr-defined]
    assert inputs["gl mapping"] == _sha256(GL_MAPPING)
    assert len(inputs["ledger"]) == 64
    outputs = {o["name"]: o["sha256"] for o in run["outputs"]}  # type: ignore[attr-defined]
    assert outputs["flux_variances.parquet"] == _sha256(out / "flux_variances.parquet")
    # the largest flagged delta is printed in its currency, never as minor units or a float
    top = flagged.sort(pl.col("delta").abs(), descending=True).row(0, named=True)
    assert format_money(int(top["delta"]), top["asset_id"]) in text
    assert f" {int(top['delta'])} " not in text
    # unexplained flagged rows are findings, one each
    findings = pl.read_csv(out / "findings.csv")
    assert findings["rule"].to_list() == ["flux.unexplained"] * flagged.height


def test_json_prints_the_run_as_one_object(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out) == _run(tmp_path / "out")


def test_a_rerun_writes_the_same_bytes(argv: list[str], tmp_path: Path) -> None:
    assert main(argv) == 0
    first = _run(tmp_path / "out")["outputs"]
    assert main(argv) == 0
    assert _run(tmp_path / "out")["outputs"] == first


def _fill(workpaper: Path, filled: Path, rows: dict[tuple[str, str], str]) -> None:
    """Type explanations into the flux sheet as a reviewer would, and save a copy."""
    book = load_workbook(workpaper)
    sheet = book["Flux variances"]
    header = [cell.value for cell in sheet[1]]
    gl, asset = header.index("gl_account") + 1, header.index("asset_id") + 1
    column = header.index("explanation") + 1
    for number in range(2, sheet.max_row + 1):
        key = (sheet.cell(number, gl).value, sheet.cell(number, asset).value)
        if key in rows:
            sheet.cell(number, column).value = rows[key]
            sheet.cell(number, column + 1).value = "R. Reviewer"
    book.save(filled)


def test_explanations_round_trip_through_the_workpaper(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    out = tmp_path / "out"
    before = _run(out)["counts"]
    variances = pl.read_parquet(out / "flux_variances.parquet")
    flagged = variances.filter(pl.col("explain")).sort("gl_account", "asset_id").row(0, named=True)
    key = (flagged["gl_account"], flagged["asset_id"])
    filled = tmp_path / "filled.xlsx"
    _fill(out / WORKPAPER, filled, {key: "Campaign top-ups, agreed to the bank"})
    capsys.readouterr()

    assert main([*argv, "--explanations", str(filled)]) == 0
    run = _run(out)
    after = run["counts"]
    assert isinstance(before, dict)
    assert isinstance(after, dict)
    assert after["explained"] == before["explained"] + 1 == 1
    assert after["unexplained"] == before["unexplained"] - 1
    assert after["explanations_unused"] == 0
    assert run["explanations_sha256"] == _sha256(filled)
    row = (
        pl.read_parquet(out / "flux_variances.parquet")
        .filter((pl.col("gl_account") == key[0]) & (pl.col("asset_id") == key[1]))
        .row(0, named=True)
    )
    assert (row["explanation"], row["explained_by"]) == (
        "Campaign top-ups, agreed to the bank",
        "R. Reviewer",
    )
    # the new workpaper carries it, so the reviewer goes on from where they were
    again = tmp_path / "again.xlsx"
    _fill(out / WORKPAPER, again, {})
    assert main([*argv, "--explanations", str(again)]) == 0
    assert _run(out)["counts"] == after


def test_an_explanation_of_an_unflagged_or_unknown_row_is_reported(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    variances = pl.read_parquet(tmp_path / "out" / "flux_variances.parquet")
    quiet = variances.filter(~pl.col("explain")).row(0, named=True)
    csv = tmp_path / "explanations.csv"
    csv.write_text(
        "gl_account,asset,explanation,explained_by\n"
        f"{quiet['gl_account']},{quiet['asset_id']},Seasonal,Ann\n"
        "7777,USD/2,An account nobody has,Ann\n"
        "1010,USD/2,,Ann\n",  # left blank: not an explanation
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main([*argv, "--explanations", str(csv)]) == 0
    text = capsys.readouterr().out
    run = _run(tmp_path / "out")
    assert run["unused_explanations"] == [
        {
            "where": f"{csv}:2",
            "reason": (
                f"GL account {quiet['gl_account']} {quiet['asset_id']} is not flagged: its "
                "variance is under the threshold"
            ),
        },
        {"where": f"{csv}:3", "reason": "no GL account 7777 in USD/2 in the flux of 2025-01"},
    ]
    assert f"- {csv}:3: no GL account 7777" in text
    findings = pl.read_csv(tmp_path / "out" / "findings.csv").filter(
        pl.col("rule") == "flux.explanation_unused"
    )
    assert findings["locator"].to_list() == [f"{csv}:2", f"{csv}:3"]


OVERRIDE_CASES = {
    "unknown key": ('["2010"]\nmode = "or"\nammount = 5\n', "overrides.toml:3 [2010] ammount"),
    "bad mode": ('["2010"]\n\nmode = "either"\n', "overrides.toml:3 [2010] mode: 'either'"),
    "not a table": ('"2010" = 5\n', "overrides.toml:1 [2010]: expected a table"),
    "not TOML": ('["2010"\n', "overrides.toml: not valid TOML"),
    "fine percent": ('["2010"]\npercent = 12.345\n', "overrides.toml:2 [2010] percent"),
}


@pytest.mark.parametrize("case", OVERRIDE_CASES)
def test_a_bad_overrides_file_is_one_line(
    case: str, argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, message = OVERRIDE_CASES[case]
    path = tmp_path / "overrides.toml"
    path.write_text(text, encoding="utf-8")
    assert main([*argv, "--overrides", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("ledger-audit: error: ")
    assert message in captured.err
    assert not (tmp_path / "out").exists()


def test_an_override_wins(argv: list[str], tmp_path: Path) -> None:
    path = tmp_path / "overrides.toml"
    path.write_text('["2010"]\namount = 1000000000\n', encoding="utf-8")
    assert main([*argv, "--overrides", str(path)]) == 0
    variances = pl.read_parquet(tmp_path / "out" / "flux_variances.parquet")
    wallets = variances.filter(pl.col("gl_account") == "2010")
    assert wallets["override"].all()
    assert not wallets["explain"].any()
    assert variances.filter(pl.col("gl_account") != "2010")["override"].sum() == 0


EXPLANATION_CASES = {
    "a missing column": (
        b"gl_account,explanation\n2010,x\n",
        "explanations.csv:1: missing column(s) asset, explained_by",
    ),
    "a row without its GL account": (
        b"gl_account,asset,explanation,explained_by\n2010,USD/2,ok,a\n,USD/2,x,a\n",
        "explanations.csv:3: an explanation without its gl_account",
    ),
    "too many fields": (
        b"gl_account,asset,explanation,explained_by\n2010,USD/2,a, b,c,d\n",
        "explanations.csv:2: 6 fields where the header has 4",
    ),
    "not UTF-8": (b"gl_account\n\xff\xfe\n", "not a UTF-8 CSV nor an XLSX workpaper"),
    "a broken workbook": (b"PK\x03\x04garbage", "explanations.csv: not a readable XLSX"),
}


@pytest.mark.parametrize("case", EXPLANATION_CASES)
def test_a_bad_explanations_file_is_one_line(
    case: str, argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, message = EXPLANATION_CASES[case]
    path = tmp_path / "explanations.csv"
    path.write_bytes(data)
    assert main([*argv, "--explanations", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert message in captured.err
    assert not (tmp_path / "out").exists()


def test_a_workbook_without_the_flux_sheet_is_one_line(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from openpyxl import Workbook

    path = tmp_path / "other.xlsx"
    Workbook().save(path)
    assert main([*argv, "--explanations", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "other.xlsx: no 'Flux variances' sheet (sheets: Sheet)" in err


def test_help_imports_no_heavy_module(tmp_path: Path) -> None:
    code, modules, _ = run_cli(["flux", "--help"], tmp_path, tmp_path / "report.json")
    assert code == 0
    assert modules & HEAVY == set()
