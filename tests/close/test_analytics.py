"""The close's journal-entry testing and analytics: its own stage, section, tables and sheets,
its coverage stated, the demo's planted JET red flags among the scored transactions, and its
flags kept out of the close's findings and verdict."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from ledger_audit.checks.runner import merge_findings
from ledger_audit.cli import main
from ledger_audit.close.analytics import run_close_analytics
from ledger_audit.close.analytics_section import HEADING, TESTER_COLUMNS, TOP_ROWS
from ledger_audit.close.bundle import MANIFEST, REPORT, TABLES, WORKPAPER, write_bundle
from ledger_audit.close.execute import notebook_parameters
from ledger_audit.close.preflight import check_close_inputs
from ledger_audit.close.run import STAGES, CloseParameters, MonthEndClose, run_close
from ledger_audit.close.sections import close_tables
from ledger_audit.demo.jet_plant import JET_KEY_FILE
from ledger_audit.errors import InputError
from ledger_audit.money import format_money
from ledger_audit.sources.spill import spill_area
from tests.conftest import PROJECT_ROOT, DemoFactory

JET_TOML = PROJECT_ROOT / "rules" / "jet.toml"
SHEETS = ("JET scores", "JET coverage", "Idempotency", "Pending at period end", "Reversals")
FILES = ("jet_scores", "jet_coverage", "jet_findings", "idempotency", "pending_at_period_end")


@pytest.fixture(scope="module")
def close(demo_factory: DemoFactory) -> MonthEndClose:
    demo = demo_factory()
    stages: list[str] = []
    closed = run_close(
        CloseParameters(source=str(demo.ledger_path), period="2025-01"),
        on_stage=lambda stage, _seconds: stages.append(stage),
    )
    assert tuple(stages) == STAGES
    assert stages[-1] == "analytics"
    return closed


@pytest.fixture(scope="module")
def bundle(close: MonthEndClose, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("close-analytics") / "2025-01"
    write_bundle(close, folder, run_time_ns=0, pdf=False)
    return folder


def test_the_planted_jet_red_flags_are_among_the_scored_transactions(
    close: MonthEndClose, demo_factory: DemoFactory
) -> None:
    key = json.loads((demo_factory().out_dir / JET_KEY_FILE).read_text(encoding="utf-8"))
    assert len(key) == 6
    assert close.analytics is not None
    scores = close.analytics.jet.scores
    scored = set(zip(scores["transaction_id"], scores["chain_seq"], strict=True))
    missed = [k for k in key if (k["transaction_id"], k["chain_seq"]) not in scored]
    assert missed == []
    # every planted one is high or medium: a tester working down the list reaches it
    planted = scores.filter(pl.col("transaction_id").is_in([k["transaction_id"] for k in key]))
    assert set(planted["band"]) <= {"high", "medium"}


def test_jet_flags_stay_out_of_the_close_findings_and_verdict(close: MonthEndClose) -> None:
    assert close.analytics is not None
    assert close.analytics.jet.findings.height > 0
    rules = close.findings["rule"]
    assert not (rules.str.starts_with("jet.") | rules.str.starts_with("analytics.")).any()
    # the close's findings are exactly its checks' findings, as before the stage existed
    merged = merge_findings([r.findings for r in close.results])
    assert close.findings.height == merged.height
    assert "jet" not in set(close.checks()["check"])


def test_every_analytic_states_its_coverage(close: MonthEndClose, bundle: Path) -> None:
    assert close.analytics is not None
    results = {r.check: r for r in close.analytics.results}
    assert set(results) == {
        "jet",
        "analytics.idempotency",
        "analytics.pending",
        "analytics.reversals",
        "analytics.benford",
        "analytics.flux",
    }
    flux = results.pop("analytics.flux")  # this close has no GL mapping: flux did not run
    assert (flux.status, flux.coverage.unproven) == ("no data", ("not run: no GL mapping",))
    assert all(r.coverage.checked > 0 for r in results.values())
    coverage = close.analytics.jet.coverage
    not_applicable = coverage.filter(pl.col("status") == "not applicable")
    assert not_applicable.height > 0  # the demo has no actor and no entity time zone
    assert (not_applicable["checked"] == 0).all()
    assert (not_applicable["note"].str.len_chars() > 0).all()
    unproven = " | ".join(results["jet"].coverage.unproven)
    for code, rule in not_applicable.select("code", "rule").iter_rows():
        assert f"{code} {rule} not applicable" in unproven
    manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    listed = {c["check"]: c for c in manifest["coverage"]}
    assert listed["jet"]["checked"] == close.analytics.jet.population
    assert listed["jet"]["findings"] == close.analytics.jet.findings.height
    assert manifest["parameters"]["jet_rules"] == "built-in defaults"
    assert "jet.post_close=" in manifest["parameters"]["jet_weights"]


def test_the_tables_and_workpaper_sheets_hold_every_row_with_tester_columns(
    close: MonthEndClose, bundle: Path
) -> None:
    assert close.analytics is not None
    analytics = close.analytics
    for stem in (*FILES, "reversals"):
        for suffix in ("csv", "parquet"):
            assert (bundle / TABLES / f"{stem}.{suffix}").is_file(), stem
    expected_rows = {
        "JET scores": analytics.jet.scores.height,
        "JET coverage": analytics.jet.coverage.height,
        "Idempotency": analytics.idempotency.classified.height,
        "Pending at period end": analytics.pending.items.height,
        "Reversals": analytics.reversals.pairs.height,
    }
    book = load_workbook(bundle / WORKPAPER, read_only=True)
    try:
        for name in SHEETS:
            rows = list(book[name].iter_rows(values_only=True))
            assert len(rows) - 1 == expected_rows[name], name
            header = list(rows[0])
            if name != "JET coverage":
                assert header[-2:] == list(TESTER_COLUMNS), name
            parquet = pl.read_parquet(bundle / TABLES / f"{name.lower().replace(' ', '_')}.parquet")
            assert parquet.height == expected_rows[name]
        # pending amounts: a currency number and the exact minor units beside it
        rows = list(book["Pending at period end"].iter_rows(values_only=True))
        header = list(rows[0])
        minor = [r[header.index("amount_minor")] for r in rows[1:]]
        assert minor == [int(v) for v in analytics.pending.items["amount"].to_list()]
    finally:
        book.close()
    findings = pl.read_parquet(bundle / TABLES / "jet_findings.parquet")
    assert findings.height == analytics.jet.findings.height


def test_the_report_section_states_completeness_first_then_counts_scores_and_figures(
    close: MonthEndClose, bundle: Path
) -> None:
    assert close.analytics is not None
    html = (bundle / REPORT).read_text(encoding="utf-8")
    assert html.index("<h2>Integrity</h2>") < html.index(f"<h2>{HEADING}</h2>")
    section = html.split(f"<h2>{HEADING}</h2>", 1)[1].split("</section>", 1)[0]
    assert section.index("Population completeness") < section.index("<caption>JET rules")
    assert "kept out of the close&#x27;s findings" in section
    rules = section.split("<caption>JET rules</caption>", 1)[1].split("</table>", 1)[0]
    assert rules.count("<tr>") - 1 == close.analytics.jet.coverage.height  # every rule
    assert "<td>not applicable</td>" in rules
    top = section.split("<caption>Top-scored transactions</caption>", 1)[1]
    scored = close.analytics.jet.scores.height
    assert top.split("</table>", 1)[0].count("<tr>") - 1 == TOP_ROWS
    assert (
        f"the first {TOP_ROWS} of {scored} rows; the other {scored - TOP_ROWS} are in the "
        "workpaper's JET scores sheet and in tables/jet_scores.csv"
    ) in top
    # headline amounts: per currency, as a reader writes them, summed independently here
    items = close.analytics.pending.items.filter(pl.col("open_at_as_of"))
    totals: dict[str, int] = defaultdict(int)
    for asset, amount in items.select("asset_id", "amount").iter_rows():
        totals[asset] += int(amount)
    expected = "; ".join(format_money(v, k) for k, v in sorted(totals.items()))
    assert f"<td>{items.height}: {expected}</td>" in section
    assert not re.search(r"\d \w{3}/\d", section)  # no minor units with an asset id


def test_jet_rules_are_a_close_parameter_read_before_the_ledger(
    demo_factory: DemoFactory, tmp_path: Path
) -> None:
    demo = demo_factory()
    given = CloseParameters(source=str(demo.ledger_path), period="2025-01", jet_rules=str(JET_TOML))
    assert given.as_text()["jet_rules"] == str(JET_TOML)
    assert notebook_parameters(given)["jet_rules"] == str(JET_TOML.resolve())
    bad = tmp_path / "jet.toml"
    bad.write_text("[entity]\ntimezone = 7\n", encoding="utf-8")
    broken = CloseParameters(
        source=str(tmp_path / "no-ledger"), period="2025-01", jet_rules=str(bad)
    )
    # the JET rules are read before the (missing) ledger: the error names them
    with pytest.raises(InputError, match=re.escape(str(bad))):
        check_close_inputs(broken)
    with pytest.raises(InputError, match=re.escape(str(bad))):
        run_close(broken)
    closed = run_close(given)
    assert closed.analytics is not None
    status = dict(closed.analytics.jet.coverage.select("rule", "status").iter_rows())
    assert status["jet.weekend"] == "applied"  # the rules file names the entity's time zone
    tables = {t.name for t in close_tables(closed).sheets}
    assert set(SHEETS) <= tables


def test_a_missing_jet_rules_file_is_one_line_and_exit_2(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory()
    missing = tmp_path / "nope-jet.toml"
    out = tmp_path / "out"
    argv = ["close", "--ledger", str(demo.ledger_path), "--period", "2025-01", "--out", str(out)]
    assert main([*argv, "--jet-rules", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(missing) in err
    assert "JET rules" in err
    assert not out.exists()


def test_inside_a_spill_area_each_analytic_leaves_the_heap_as_it_is_made(
    close: MonthEndClose, tmp_path: Path
) -> None:
    """Each result is moved before the next analytic runs, and the close's spill of the
    whole record afterwards writes nothing again; the results are the same."""
    assert close.analytics is not None
    period = close.parameters.month
    with spill_area(tmp_path, min_bytes=0) as spill:
        assert spill is not None
        chain = next(r for r in close.audit.results if r.check == "chain")
        made = run_close_analytics(close.frames, period, chain=chain)
        for frame in (
            made.jet.findings,
            made.jet.scores,
            made.idempotency.classified,
            made.pending.items,
            made.reversals.pairs,
        ):
            assert spill.moved(frame)
        frames, written = spill.frames, spill.written
        assert spill.record(made) is made
        assert (spill.frames, spill.written) == (frames, written)
    kept = close.analytics
    assert made.jet.findings.equals(kept.jet.findings)
    assert made.jet.scores.equals(kept.jet.scores)
    assert made.idempotency.classified.equals(kept.idempotency.classified)
    assert made.pending.items.equals(kept.pending.items)
    assert made.reversals.pairs.equals(kept.reversals.pairs)
