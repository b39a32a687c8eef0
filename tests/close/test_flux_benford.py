"""The close's flux review and Benford tests: tables, sheets, coverage, the report section,
explanations read back from the close's own workpaper, and kept out of the verdict."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from ledger_audit.analytics.flux import build_flux
from ledger_audit.analytics.jet.completeness import population_completeness
from ledger_audit.cli import main
from ledger_audit.close.analytics import run_close_analytics
from ledger_audit.close.benford_section import CLOSE_TESTS, period_amounts
from ledger_audit.close.bundle import MANIFEST, REPORT, TABLES, WORKPAPER, write_bundle
from ledger_audit.close.execute import notebook_parameters
from ledger_audit.close.flux_benford_section import (
    HEADING,
    flux_benford_section,
    flux_benford_tables,
)
from ledger_audit.close.flux_section import close_flux_spec
from ledger_audit.close.run import CloseParameters, MonthEndClose, run_close
from ledger_audit.close.sections import close_tables
from ledger_audit.replay import rollforward
from ledger_audit.replay.balances import Basis
from ledger_audit.replay.rollforward import roll_forward
from ledger_audit.reports.trial_balance import build_trial_balance
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.sources.reading import read_ledger
from ledger_audit.spec import Period
from tests.conftest import PROJECT_ROOT, DemoFactory

GL_MAPPING = str(PROJECT_ROOT / "mappings" / "demo.toml")
SHEETS = ("Flux variances", "Flux drivers", "Benford summary", "Benford bins")


@pytest.fixture(scope="module")
def close(demo_factory: DemoFactory) -> MonthEndClose:
    demo = demo_factory()
    return run_close(
        CloseParameters(source=str(demo.ledger_path), period="2025-01", gl_mapping=GL_MAPPING)
    )


@pytest.fixture(scope="module")
def bundle(close: MonthEndClose, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("close-flux") / "2025-01"
    write_bundle(close, folder, run_time_ns=0, pdf=False)
    return folder


def test_flux_and_benford_have_tables_sheets_and_coverage(
    close: MonthEndClose, bundle: Path
) -> None:
    analytics = close.analytics
    assert analytics is not None
    assert analytics.flux is not None
    spec = analytics.flux.report.spec
    assert (spec.current.label, spec.comparison.label, spec.measure) == (
        "2025-01",
        "2024-12",
        "closing",
    )
    counts = analytics.flux.counts()
    assert counts["flagged"] > 0
    assert counts["unexplained"] == counts["flagged"]
    for stem in ("flux_variances", "flux_drivers", "benford_summary", "benford_bins"):
        assert (bundle / TABLES / f"{stem}.parquet").is_file(), stem
    variances = pl.read_parquet(bundle / TABLES / "flux_variances.parquet")
    assert variances.height == counts["rows"]
    benford = pl.read_parquet(bundle / TABLES / "benford_summary.parquet")
    assert set(benford["test"]) == set(CLOSE_TESTS)
    amounts = period_amounts(close.frames, Period.month("2025-01"))
    assert set(benford["asset_id"]) == set(amounts["asset_id"])
    book = load_workbook(bundle / WORKPAPER, read_only=True)
    try:
        assert set(SHEETS) <= set(book.sheetnames)
        rows = list(book["Flux variances"].iter_rows(values_only=True))
        assert list(rows[0][-2:]) == ["explanation", "explained_by"]
        assert all(r[-2:] == (None, None) for r in rows[1:])  # left for the reviewer
        assert len(rows) - 1 == counts["rows"]
    finally:
        book.close()
    manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    listed = {c["check"]: c for c in manifest["coverage"]}
    assert listed["analytics.flux"]["checked"] == counts["rows"]
    assert listed["analytics.flux"]["findings"] == counts["unexplained"]
    assert listed["analytics.benford"]["checked"] > 0
    assert listed["analytics.benford"]["unit"] == "entry amounts"


def test_they_stay_out_of_the_close_findings_and_verdict(close: MonthEndClose) -> None:
    assert close.analytics is not None
    rules = close.findings["rule"]
    assert not (rules.str.starts_with("flux.") | rules.str.starts_with("benford.")).any()
    assert not {"analytics.flux", "analytics.benford"} & set(close.checks()["check"])


def test_the_report_section_is_counts_and_folded_tables(close: MonthEndClose, bundle: Path) -> None:
    assert close.analytics is not None
    html = (bundle / REPORT).read_text(encoding="utf-8")
    section = html.split(f"<h2>{HEADING}</h2>", 1)[1].split("</section>", 1)[0]
    counts = close.analytics.flux.counts() if close.analytics.flux else {}
    assert f"{counts['flagged']:,} flagged" in section
    assert "against 2024-12" in section
    assert "Benford of the period" in section
    # every table is folded under one line: the page stays short
    assert section.count("<details>") == section.count("<table>") == 2
    assert "<summary>Largest flagged variances" in section


def test_without_a_gl_mapping_flux_says_not_run(demo_factory: DemoFactory) -> None:
    read = read_ledger(str(demo_factory().ledger_path))
    analytics = run_close_analytics(read.frames, Period.month("2025-01"))
    results = {r.check: r for r in analytics.results}
    flux = results["analytics.flux"]
    assert analytics.flux is None
    assert flux.status == "no data"  # never a pass
    assert flux.coverage.unproven == ("not run: no GL mapping",)
    assert results["analytics.benford"].coverage.checked > 0
    tables = {t.name: t for t in flux_benford_tables(analytics)}
    assert set(tables) == {"Benford summary", "Benford bins"}
    section = flux_benford_section(analytics, tables.__getitem__)
    assert section.paragraphs[0].startswith("Flux review not run: no GL mapping.")


def test_explanations_round_trip_through_the_close_workpaper(
    close: MonthEndClose, bundle: Path, tmp_path: Path
) -> None:
    assert close.analytics is not None
    assert close.analytics.flux is not None
    flagged = close.analytics.flux.report.variances.filter(pl.col("explain")).row(0, named=True)
    book = load_workbook(bundle / WORKPAPER)
    sheet = book["Flux variances"]
    header = [c.value for c in sheet[1]]
    for number in range(2, sheet.max_row + 1):
        gl = sheet.cell(number, header.index("gl_account") + 1).value
        asset = sheet.cell(number, header.index("asset_id") + 1).value
        if (gl, asset) == (flagged["gl_account"], flagged["asset_id"]):
            sheet.cell(number, header.index("explanation") + 1).value = "Campaign top-ups"
            sheet.cell(number, header.index("explained_by") + 1).value = "R. Reviewer"
    filled = tmp_path / "filled.xlsx"
    book.save(filled)
    parameters = CloseParameters(
        source=close.parameters.source,
        period="2025-01",
        gl_mapping=GL_MAPPING,
        flux_explanations=str(filled),
    )
    assert notebook_parameters(parameters)["flux_explanations"] == str(filled.resolve())
    again = run_close(parameters)
    assert again.analytics is not None
    assert again.analytics.flux is not None
    before, after = close.analytics.flux.counts(), again.analytics.flux.counts()
    assert after["explained"] == before["explained"] + 1
    assert after["unexplained"] == before["unexplained"] - 1
    folder = tmp_path / "bundle"
    manifest = write_bundle(again, folder, run_time_ns=0, pdf=False)
    assert str(filled) in {d.name for d in manifest.inputs}
    assert dict(manifest.parameters)["flux_explanations"] == str(filled)
    rows = pl.read_parquet(folder / TABLES / "flux_variances.parquet").filter(
        pl.col("explanation").is_not_null()
    )
    assert rows.select("gl_account", "explained_by").rows() == [
        (flagged["gl_account"], "R. Reviewer")
    ]


def test_a_bad_explanations_file_stops_the_close_in_one_line(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "explanations.csv"
    bad.write_text("gl_account,asset,explanation,explained_by\n,USD/2,x,y\n", encoding="utf-8")
    out = tmp_path / "out"
    argv = ["close", "--ledger", str(demo_factory().ledger_path), "--period", "2025-01"]
    argv += ["--out", str(out), "--flux-explanations", str(bad)]
    assert main([*argv, "--gl-mapping", GL_MAPPING]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{bad}:2: an explanation without its gl_account" in err
    # without a GL mapping no flux runs: the explanations would go nowhere, so it is refused
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "flux_explanations: the flux review needs a GL mapping" in err
    assert not out.exists()


def test_the_close_tables_name_each_sheet_once(close: MonthEndClose) -> None:
    names = [t.name for t in close_tables(close).sheets]
    assert len(names) == len(set(names))
    assert [n for n in names if n in SHEETS] == list(SHEETS)


def test_each_consumer_reads_what_it_would_roll_forward_itself(close: MonthEndClose) -> None:
    """The trial balance, JET completeness and the flux review read the close's one
    roll-forward; each equals what it computes alone over the same frames."""
    assert close.analytics is not None
    assert close.analytics.flux is not None
    assert close.analytics.jet.completeness is not None
    assert close.mapping is not None
    period = close.parameters.month
    alone = build_trial_balance(close.frames, period, close.parameters.basis)
    assert alone.rows.equals(close.trial_balance.rows)
    assert alone.totals.equals(close.trial_balance.totals)
    flux = build_flux(close.frames, close.mapping, close_flux_spec(period))
    assert flux.variances.equals(close.analytics.flux.report.variances)
    assert flux.drivers.equals(close.analytics.flux.report.drivers)
    chain = next(r for r in close.audit.results if r.check == "chain")
    completeness = population_completeness(close.frames, period, chain)
    assert completeness == close.analytics.jet.completeness
    assert completeness.rollforward_rows > 0


@pytest.mark.parametrize("mapping", [GL_MAPPING, None])
def test_the_close_rolls_forward_once(
    demo_factory: DemoFactory, monkeypatch: pytest.MonkeyPatch, mapping: str | None
) -> None:
    """With the flux review (three months before the closed one) or without it."""
    calls: list[tuple[str, ...]] = []

    def counted(
        frames: LedgerFrames, periods: Sequence[Period], basis: Basis = "effective"
    ) -> pl.LazyFrame:
        calls.append(tuple(p.label for p in periods))
        return roll_forward(frames, periods, basis)

    monkeypatch.setattr(rollforward, "roll_forward", counted)
    demo = demo_factory(transactions=600, seed=7)
    closed = run_close(
        CloseParameters(source=str(demo.ledger_path), period="2025-01", gl_mapping=mapping)
    )
    assert closed.analytics is not None
    assert (closed.analytics.flux is not None) is (mapping is not None)
    months = ("2024-10", "2024-11", "2024-12", "2025-01") if mapping else ("2025-01",)
    assert calls == [months]
