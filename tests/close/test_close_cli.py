"""``ledger-audit close``: the close notebook run headless over a demo, and its bundle.

Acceptance: the bundle reports every planted anomaly of both answer keys and nothing else;
report.html's charts render in headless Chromium; the workpaper re-read balances and ties
out; a rerun gives the same output digests and replaces the bundle; a failed run writes its
notebook with the failing cell marked and keeps the earlier bundle.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import polars as pl
import pytest
from openpyxl import load_workbook

from ledger_audit.cli import main
from ledger_audit.close.bundle import MANIFEST, REPORT, WORKPAPER
from ledger_audit.close.execute import NOTEBOOK, default_notebook
from ledger_audit.close.run import CloseParameters, run_close
from ledger_audit.demo.answer_key import PlantedAnomaly, read_answer_key
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.errors import InputError
from ledger_audit.exports.snapshot import write_ledger_snapshot
from ledger_audit.sources import load_ledger
from ledger_audit.sources.bank.load import load_statements
from ledger_audit.testing.browser import (
    render_page,
    rendered_charts,
)
from tests.checks.test_demo_acceptance import explains as explains_ledger_finding
from tests.conftest import PROJECT_ROOT, DemoFactory

MAPPING = PROJECT_ROOT / "mappings" / "demo.toml"


@dataclass(frozen=True)
class Closed:
    demo: DemoSummary
    out: Path
    code: int
    stdout: str

    @property
    def bundle(self) -> Path:
        return self.out / "2025-01"


def close_argv(demo: DemoSummary, out: Path, *extra: str) -> list[str]:
    assert demo.statements is not None
    return [
        "close",
        "--period",
        "2025-01",
        "--ledger",
        str(demo.ledger_path),
        "--statements",
        *(str(p) for p in demo.statements.statements),
        "--gl-mapping",
        str(MAPPING),
        "--out",
        str(out),
        *extra,
    ]


Runner = Callable[..., Closed]


@pytest.fixture(scope="module")
def run_close_cli(
    tmp_path_factory: pytest.TempPathFactory,
) -> Runner:
    def run(demo: DemoSummary, out: Path | None = None, *extra: str) -> Closed:
        out = out or tmp_path_factory.mktemp("close")
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = main(close_argv(demo, out, *extra))
        return Closed(demo, out, code, buffer.getvalue())

    return run


@pytest.fixture(scope="module")
def planted(demo_factory: DemoFactory, run_close_cli: Runner) -> Closed:
    return run_close_cli(demo_factory())


def digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- the findings ---------------------------------------------------------------------------


def bank_refs(demo: DemoSummary) -> dict[tuple[str, int], str]:
    """(statement file name, line) -> bank reference of every statement record."""
    assert demo.statements is not None
    records = load_statements(demo.statements.statements).records
    return {
        (Path(r["file"]).name, r["line"]): r["bank_ref"]
        for r in records.select("file", "line", "bank_ref").to_dicts()
    }


def explains_recon(
    anomaly: PlantedAnomaly, finding: dict[str, object], refs: dict[tuple[str, int], str]
) -> bool:
    """Same rule, and the finding names the planted item, bank line or suggested match."""
    if finding["rule"] != anomaly.rule:
        return False
    locator = str(finding["locator"])
    items = (anomaly.item_id or "").split(";")
    if locator.startswith(("entries(item_id=", "matches(match_id=")):
        return any(item and item in locator for item in items)
    path, _, line = locator.rpartition(":")
    return (
        anomaly.file is not None
        and Path(path).name == Path(anomaly.file).name
        and line.isdigit()
        and refs.get((Path(path).name, int(line))) == anomaly.bank_ref
    )


def test_the_close_reports_every_planted_anomaly_and_nothing_else(
    planted: Closed, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = planted.demo
    assert demo.statements is not None
    ledger_key = read_answer_key(demo.answer_key_path)
    recon_key = read_answer_key(demo.statements.recon_key_path)
    assert len(ledger_key) == 10
    assert len(recon_key) == 8  # seven planted breaks; the netted payout is reported twice
    findings = pl.read_parquet(planted.bundle / "tables" / "findings.parquet").to_dicts()
    refs = bank_refs(demo)

    def explained_by(finding: dict[str, object]) -> list[PlantedAnomaly]:
        return [a for a in ledger_key if explains_ledger_finding(a, finding)] + [
            a for a in recon_key if explains_recon(a, finding, refs)
        ]

    found = {a for f in findings for a in explained_by(f)}
    unexpected = [f for f in findings if not explained_by(f)]
    missed = [a for a in (*ledger_key, *recon_key) if a not in found]
    with capsys.disabled():
        print(  # noqa: T201 - the acceptance figures belong in the CI log
            f"\nclose of demo {demo.transactions} tx seed {demo.seed}: "
            f"{len(found)}/{len(ledger_key) + len(recon_key)} planted anomalies reported, "
            f"{len(findings) - len(unexpected)}/{len(findings)} findings explained by them"
        )
    assert missed == []
    assert unexpected == []
    assert planted.code == 1  # the planted chain breaks are critical
    assert "Report: " in planted.stdout
    assert str(planted.bundle / REPORT) in planted.stdout


def test_a_clean_demo_closes_with_no_finding(
    demo_factory: DemoFactory, run_close_cli: Runner
) -> None:
    closed = run_close_cli(demo_factory(clean=True))
    assert closed.code == 0, closed.stdout
    assert pl.read_parquet(closed.bundle / "tables" / "findings.parquet").is_empty()
    checks = pl.read_parquet(closed.bundle / "tables" / "checks.parquet")
    assert set(checks["status"]) == {"passed"}
    assert (checks["checked"] > 0).all()


# --- the bundle -----------------------------------------------------------------------------


def test_the_bundle_holds_what_the_manifest_lists(planted: Closed) -> None:
    manifest = json.loads((planted.bundle / MANIFEST).read_text(encoding="utf-8"))
    on_disk = digests(planted.bundle)
    listed = {o["name"]: o["sha256"] for o in manifest["outputs"]}
    assert listed == {name: sha for name, sha in on_disk.items() if name != MANIFEST}
    for name in (REPORT, WORKPAPER, NOTEBOOK, "checkpoints.json", "erp/netsuite.csv"):
        assert name in listed
    for table in ("findings", "trial_balance", "breaks", "aging", "drift_daily", "tie_out"):
        assert f"tables/{table}.csv" in listed
        assert f"tables/{table}.parquet" in listed
    assert manifest["parameters"]["period"] == "2025-01"
    assert {i["name"] for i in manifest["inputs"]} >= {
        str(MAPPING),
        *(str(p) for p in planted.demo.statements.statements),  # type: ignore[union-attr]
    }
    assert manifest["checkpoints"]
    assert {c["check"] for c in manifest["coverage"]} >= {"chain", "reconcile", "drift"}
    # the executed notebook: report mode (code hidden), every cell ran
    notebook = nbformat.read(planted.bundle / NOTEBOOK, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.metadata.get("jupyter", {}).get("source_hidden") for c in code)
    assert all(c.metadata["papermill"]["status"] == "completed" for c in code)


def test_the_report_renders_its_charts_offline_without_code(
    planted: Closed, chromium: Path
) -> None:
    report = planted.bundle / REPORT
    html = report.read_text(encoding="utf-8")
    ids = sorted(set(re.findall(r'id="(figure-\d+-\d+)"', html)))
    assert len(ids) == 3  # findings per rule; ledger vs bank for USD and for EUR
    for code in ("from ledger_audit", "run_close(", "show_section(", "In ["):
        assert code not in html
    page = render_page(report, chromium=chromium)
    assert page.errors == ()
    assert rendered_charts(page.dom, ids) == dict.fromkeys(ids, True)
    for heading in ("Summary", "Integrity", "Reconciliation", "Drift", "Trial balance"):
        assert f"<h2>{heading}" in page.dom


def sheet(path: Path, name: str) -> pl.DataFrame:
    """A workpaper sheet with each money column's exact minor units in its place."""
    book = load_workbook(path, read_only=True)
    rows = list(book[name].iter_rows(values_only=True))
    book.close()
    frame = pl.DataFrame([dict(zip(rows[0], row, strict=True)) for row in rows[1:]])
    money = [c for c in frame.columns if f"{c}_minor" in frame.columns]
    return frame.drop(money).rename({f"{c}_minor": c for c in money})


def test_the_workpaper_reread_balances_and_ties_out(planted: Closed) -> None:
    workpaper = planted.bundle / WORKPAPER
    totals = sheet(workpaper, "Trial balance totals")
    assert totals.height == 2  # USD and EUR
    for column in ("opening", "closing", "movement"):
        assert (totals[column] == 0).all(), column
    lines = sheet(workpaper, "Journal lines")
    per_currency = lines.group_by("journal_id", "currency").agg(
        pl.col("debit").sum(), pl.col("credit").sum()
    )
    assert per_currency.height >= 2
    assert (per_currency["debit"] == per_currency["credit"]).all()
    assert (per_currency["debit"] > 0).all()
    tieout = sheet(workpaper, "Tie-out")
    assert (tieout["difference"] == 0).all()
    net = lines.group_by("gl_account", "asset_id").agg(
        (pl.col("debit") - pl.col("credit")).sum().alias("from_lines")
    )
    joined = tieout.join(net, on=["gl_account", "asset_id"], how="left")
    assert (joined["from_lines"].fill_null(0) == joined["trial_balance_net"]).all()
    tb = sheet(workpaper, "Trial balance")
    movement = tb.group_by("asset_id").agg((pl.col("debits") - pl.col("credits")).sum())
    assert set(movement["debits"].to_list()) == {0}
    cover = [
        c for row in load_workbook(workpaper)["Cover"].iter_rows(values_only=True) for c in row
    ]
    assert "data as of (UTC)" in cover


# --- reruns and failures ---------------------------------------------------------------------


def test_a_rerun_gives_the_same_digests_and_replaces_the_bundle(
    planted: Closed, run_close_cli: Runner, tmp_path: Path
) -> None:
    out = tmp_path / "closes"
    shutil.copytree(planted.out, out)
    before = digests(out / "2025-01")
    (out / "2025-01" / "stray.txt").write_text("left by hand", encoding="utf-8")
    again = run_close_cli(planted.demo, out)
    after = digests(again.bundle)
    assert "stray.txt" not in after
    assert sorted(p.name for p in out.iterdir()) == [".2025-01.lock", "2025-01"]
    changed = {name for name in before if before[name] != after.get(name)}
    assert changed == {MANIFEST}  # only its run time
    first = json.loads((planted.bundle / MANIFEST).read_text(encoding="utf-8"))
    second = json.loads((again.bundle / MANIFEST).read_text(encoding="utf-8"))
    assert first.pop("run_time") != second.pop("run_time")
    assert first == second


def test_a_rerun_keeps_the_signoffs_and_shows_them_valid(
    planted: Closed, run_close_cli: Runner, tmp_path: Path
) -> None:
    out = tmp_path / "closes"
    shutil.copytree(planted.out, out)
    signed = ["signoff", str(out / "2025-01"), "--role", "reviewer", "--name", "Grace Hopper"]
    assert main([*signed, "--date", "2025-02-03"]) == 0
    again = run_close_cli(planted.demo, out)
    assert (again.bundle / "signoffs.json").is_file()  # carried into the new bundle
    report = (again.bundle / "report.html").read_text(encoding="utf-8")
    assert "<td>Grace Hopper</td>" in report
    assert "<td>valid</td>" in report
    listed = json.loads((again.bundle / MANIFEST).read_text(encoding="utf-8"))["outputs"]
    assert "signoffs.json" not in {o["name"] for o in listed}  # signing changes no evidence


def test_a_failed_run_writes_its_notebook_and_keeps_the_earlier_bundle(
    planted: Closed, run_close_cli: Runner, tmp_path: Path
) -> None:
    out = tmp_path / "closes"
    shutil.copytree(planted.out, out)
    before = digests(out / "2025-01")
    broken = nbformat.read(default_notebook(), as_version=4)
    at = next(i for i, c in enumerate(broken.cells) if "run_close(" in c.source) + 1
    broken.cells.insert(at, nbformat.v4.new_code_cell('raise RuntimeError("planted failure")'))
    template = tmp_path / "broken.ipynb"
    nbformat.write(broken, template)

    failed = run_close_cli(planted.demo, out, "--notebook", str(template))
    assert failed.code == 3
    assert digests(out / "2025-01") == before
    executed = nbformat.read(out / "2025-01.failed.ipynb", as_version=4)
    marked = [c for c in executed.cells if c.metadata.get("papermill", {}).get("exception")]
    assert [c.source for c in marked] == ['raise RuntimeError("planted failure")']
    banner = "\n".join(c.source for c in executed.cells if c.cell_type == "markdown")
    assert "An Exception was encountered" in banner
    assert not (out / ".2025-01.partial").exists()

    good = run_close_cli(planted.demo, out)
    assert good.code == 1
    assert not (out / "2025-01.failed.ipynb").exists()


def test_bad_input_found_while_the_notebook_ran_is_exit_2_with_its_notebook(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An input the checks before the kernel cannot see (here, planted in a cell)."""
    broken = nbformat.read(default_notebook(), as_version=4)
    at = next(i for i, c in enumerate(broken.cells) if "run_close(" in c.source)
    raising = 'from ledger_audit.errors import InputError\nraise InputError("x.csv:3", "planted")'
    broken.cells.insert(at, nbformat.v4.new_code_cell(raising))
    template = tmp_path / "broken.ipynb"
    nbformat.write(broken, template)
    out = tmp_path / "closes"
    assert main(close_argv(demo_factory(), out, "--notebook", str(template))) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("ledger-audit: error: the close of 2025-01 failed: cell In [")
    assert "raised InputError: x.csv:3: planted" in err
    assert str(out / "2025-01.failed.ipynb") in err
    assert (out / "2025-01.failed.ipynb").is_file()
    assert not (out / "2025-01").exists()


# --- bad input fails before the kernel starts ------------------------------------------------


def _garbage_ledger(demo: DemoSummary, folder: Path) -> dict[str, str]:  # noqa: ARG001
    ledger = folder / "ledger.sqlite"
    ledger.write_bytes(b"SQLite format 2\x00" + b"\x00" * 200)
    return {"--ledger": str(ledger)}


def _ledger_without_balances(demo: DemoSummary, folder: Path) -> dict[str, str]:
    ledger = folder / "ledger.sqlite"
    shutil.copyfile(demo.ledger_path, ledger)  # a copy: the demo itself stays unchanged
    with contextlib.closing(sqlite3.connect(ledger)) as connection:
        connection.execute("DROP TABLE balances")
        connection.commit()
    return {"--ledger": str(ledger)}


def _snapshot_without_a_column(demo: DemoSummary, folder: Path) -> dict[str, str]:
    snapshot = folder / "snapshot"
    frames, _ = load_ledger(demo.ledger_path)
    write_ledger_snapshot(frames, snapshot, "csv")
    entries = snapshot / "entries.csv"
    entries.write_text(pl.read_csv(entries).drop("amount").write_csv(), encoding="utf-8")
    return {"--ledger": str(snapshot)}


def _statement_of_another_format(demo: DemoSummary, folder: Path) -> dict[str, str]:
    assert demo.statements is not None
    bad = folder / "usd.bai2"
    bad.write_text("garbage\n", encoding="utf-8")
    return {"--statements": str(bad)}


def _truncated_camt(demo: DemoSummary, folder: Path) -> dict[str, str]:
    assert demo.statements is not None
    camt = next(p for p in demo.statements.statements if p.suffix == ".xml")
    bad = folder / camt.name
    bad.write_bytes(camt.read_bytes()[:2000])
    return {"--statements": str(bad)}


def _rules_as_mapping(demo: DemoSummary, folder: Path) -> dict[str, str]:  # noqa: ARG001
    return {"--gl-mapping": str(PROJECT_ROOT / "rules" / "default.toml")}


def _mapping_not_toml(demo: DemoSummary, folder: Path) -> dict[str, str]:  # noqa: ARG001
    bad = folder / "gl.toml"
    bad.write_text('version = "x"\n[[rules]\n', encoding="utf-8")
    return {"--gl-mapping": str(bad)}


def _rules_not_valid(demo: DemoSummary, folder: Path) -> dict[str, str]:  # noqa: ARG001
    bad = folder / "rules.toml"
    bad.write_text("version = 3\n", encoding="utf-8")
    return {"--rules": str(bad)}


def _checkpoint_malformed(demo: DemoSummary, folder: Path) -> dict[str, str]:  # noqa: ARG001
    bad = folder / "checkpoints.json"
    bad.write_text('{"checkpoints": [{"ledger_id": "demo", "seq": 0}]}', encoding="utf-8")
    return {"--checkpoint": str(bad)}


BAD_INPUTS: dict[str, Callable[[DemoSummary, Path], dict[str, str]]] = {
    "unreadable ledger": _garbage_ledger,
    "ledger without a table": _ledger_without_balances,
    "CSV snapshot without a column": _snapshot_without_a_column,
    "statement of another format": _statement_of_another_format,
    "truncated camt.053": _truncated_camt,
    "rules file as GL mapping": _rules_as_mapping,
    "GL mapping not TOML": _mapping_not_toml,
    "rules not valid": _rules_not_valid,
    "malformed checkpoint": _checkpoint_malformed,
}


def _with(argv: list[str], changes: dict[str, str]) -> list[str]:
    """``argv`` with each option's value replaced (or the option added)."""
    argv = list(argv)
    for option, value in changes.items():
        if option == "--statements":  # one bad file in place of the same kind of file
            suffix = Path(value).suffix
            argv = [value if a.endswith(suffix) and a != value else a for a in argv]
        elif option in argv:
            argv[argv.index(option) + 1] = value
        else:
            argv += [option, value]
    return argv


def _parameters(argv: list[str]) -> CloseParameters:
    """The close parameters that ``argv`` asks for, as the notebook receives them."""
    values: dict[str, list[str]] = {}
    for arg in argv[1:]:
        if arg.startswith("--"):
            option = arg
            values[option] = []
        else:
            values[option].append(arg)
    return CloseParameters(
        source=values["--ledger"][0],
        period=values["--period"][0],
        statements=tuple(values.get("--statements", [])),
        gl_mapping=values.get("--gl-mapping", [None])[0],
        source_mapping=values.get("--mapping", [None])[0],
        rules=values.get("--rules", [None])[0],
        checkpoints=values.get("--checkpoint", [None])[0],
    )


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_fails_before_the_kernel_with_the_notebooks_message(
    case: str, demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory(clean=True)
    out = tmp_path / "closes"
    argv = _with(close_argv(demo, out), BAD_INPUTS[case](demo, tmp_path))
    with pytest.raises(InputError) as in_the_notebook:  # what the notebook's cell raises
        run_close(_parameters(argv))
    assert main(argv) == 2
    printed = capsys.readouterr()
    assert printed.err == f"ledger-audit: error: {' '.join(str(in_the_notebook.value).split())}\n"
    assert printed.out == ""  # "Closing ... (headless notebook)" is said as the kernel starts
    assert not out.exists()  # no staging folder, no failed notebook, no lock: no kernel ran


def test_a_missing_input_or_bad_period_is_one_line_and_exit_2(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = close_argv(demo_factory(clean=True), tmp_path)
    missing = [a if not a.endswith(".bai2") else str(tmp_path / "nope.bai2") for a in argv]
    assert main(missing) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nope.bai2" in err
    assert "no such statement file" in err
    period = argv.index("--period") + 1
    assert main([*argv[:period], "2025-13", *argv[period + 1 :]]) == 2
    assert "2025-13" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
