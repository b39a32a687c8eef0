"""The XLSX workpaper, re-read with openpyxl: the reports still add up, bytes are reproducible."""

from __future__ import annotations

import hashlib
import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from openpyxl import load_workbook

from ledger_audit.errors import InputError
from ledger_audit.exports.manifest import Digest, Manifest, build_manifest, content_digest
from ledger_audit.exports.tables import Table, decimal_text, report_tables
from ledger_audit.exports.workpaper import (
    DISPOSITIONS,
    FINDINGS_SHEET,
    MINOR_SUFFIX,
    REVIEW_COLUMNS,
    write_workpaper,
)
from ledger_audit.findings import FINDINGS_SCHEMA, Finding, Severity, findings_frame
from ledger_audit.reports.journals import SummaryJournals, build_summary_journals
from ledger_audit.reports.trial_balance import TrialBalance, build_trial_balance
from ledger_audit.schema.lach1 import Checkpoint
from ledger_audit.schema.times import iso_to_ns
from ledger_audit.sources import load_ledger
from ledger_audit.sources.gl_mapping import read_gl_mapping
from ledger_audit.spec import Period
from tests.conftest import PROJECT_ROOT, DemoFactory

JANUARY = Period.month("2025-01")
RUN = iso_to_ns("2025-02-01T06:30:00Z")


@dataclass(frozen=True)
class Close:
    trial_balance: TrialBalance
    journals: SummaryJournals
    manifest: Manifest
    findings: pl.DataFrame


@pytest.fixture(scope="module")
def close(demo_factory: DemoFactory) -> Close:
    demo = demo_factory(clean=True)
    frames, _ = load_ledger(demo.ledger_path)
    mapping = read_gl_mapping(PROJECT_ROOT / "mappings" / "demo.toml")
    trial_balance = build_trial_balance(frames, JANUARY)
    journals = build_summary_journals(frames, mapping, JANUARY, "day")
    manifest = build_manifest(
        run_time_ns=RUN,
        parameters={"period": JANUARY.label, "granularity": "day", "mapping": mapping.version},
        inputs=[Digest(str(demo.ledger_path), "frames", "a" * 64, 1)],
        outputs=[Digest("report.html", "file", "b" * 64, 10)],
        checkpoints=[Checkpoint("demo", 5, "c" * 64, 5)],
    )
    findings = findings_frame(
        [
            Finding(
                rule="balance.drift",
                severity=Severity.HIGH,
                ledger_id="demo",
                locator="balances(ledger_id=demo)",
                message='=HYPERLINK("http://example.invalid","click")',
                expected="0 USD/2",
                actual="1 USD/2",
                difference="1 USD/2",
                check="balances",
                table="balances",
                chain_seq=12_345_678_901_234_567,
            )
        ]
    )
    return Close(trial_balance, journals, manifest, findings)


def _write(close: Close, path: Path, *, manifest: Manifest | None = None) -> Path:
    tables = report_tables(close.trial_balance, close.journals, drilldown=True)
    return write_workpaper(path, manifest or close.manifest, tables, close.findings)


def _sheet(path: Path, name: str) -> pl.DataFrame:
    """A data sheet back as a frame (values as openpyxl reads them)."""
    book = load_workbook(path, read_only=True)
    rows = list(book[name].iter_rows(values_only=True))
    book.close()
    header, body = rows[0], rows[1:]
    return pl.DataFrame(
        [
            pl.Series(name, [row[i] for row in body], dtype=_dtype(body, i))
            for i, name in enumerate(header)
        ]
    )


def _dtype(body: list[tuple[Any, ...]], index: int) -> pl.DataType:
    kinds = {type(row[index]) for row in body if row[index] is not None}
    if kinds == {int}:
        return pl.Int64()
    if kinds <= {str}:
        return pl.String()
    return pl.Object()


@pytest.fixture(scope="module")
def workpaper(close: Close, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(close, tmp_path_factory.mktemp("workpaper") / "workpaper.xlsx")


def _money_columns(frame: pl.DataFrame) -> Iterator[str]:
    return (name for name in frame.columns if f"{name}{MINOR_SUFFIX}" in frame.columns)


def _exact(path: Path, name: str) -> pl.DataFrame:
    """A data sheet with each money column replaced by its exact minor-unit column."""
    sheet = _sheet(path, name)
    money = list(_money_columns(sheet))
    return sheet.drop(money).rename({f"{m}{MINOR_SUFFIX}": m for m in money})


def test_money_cells_are_numbers_in_their_currency_and_sum_exactly(workpaper: Path) -> None:
    """SUM works on the money column and agrees with the exact integers to the last digit."""
    book = load_workbook(workpaper)
    checked = 0
    for name in ("Trial balance", "Journal lines", "Tie-out"):
        sheet = book[name]
        header = [c.value for c in sheet[1]]
        money = [h for h in header if f"{h}{MINOR_SUFFIX}" in header]
        assert money, name
        asset = header.index("asset_id")
        scale_at = header.index("scale")
        for column in money:
            at, minor_at = header.index(column), header.index(f"{column}{MINOR_SUFFIX}")
            by_asset: dict[tuple[str, int], tuple[list[float], int]] = {}
            for row in sheet.iter_rows(min_row=2):
                value, minor = row[at], row[minor_at]
                code, scale = str(row[asset].value).split("/")[0], int(row[scale_at].value)
                assert isinstance(value.value, (int, float)), (name, column)  # a number
                assert isinstance(minor.value, int), (name, column)  # the exact integer
                assert value.number_format.endswith(f'"{code}"'), value.number_format
                assert value.number_format.startswith(
                    "#,##0" + ("." + "0" * scale if scale else "")
                )
                floats, total = by_asset.get((code, scale), ([], 0))
                floats.append(float(value.value))
                by_asset[(code, scale)] = (floats, total + minor.value)
                checked += 1
            for (_, scale), (floats, total) in by_asset.items():
                summed = round(Decimal(repr(math.fsum(floats))), scale)
                assert summed == Decimal(total).scaleb(-scale), (name, column)
    assert checked > 100


def test_minor_columns_hold_the_exact_integers(workpaper: Path) -> None:
    for name in ("Trial balance", "Journal lines", "Tie-out"):
        sheet = _sheet(workpaper, name)
        for column in _money_columns(sheet):
            assert sheet.schema[f"{column}{MINOR_SUFFIX}"] == pl.Int64(), (name, column)
            expected = [
                decimal_text(amount, scale)
                for amount, scale in zip(
                    sheet[f"{column}{MINOR_SUFFIX}"], sheet["scale"], strict=True
                )
            ]
            shown = [
                f"{Decimal(repr(v)):.{s}f}"
                for v, s in zip(sheet[column], sheet["scale"], strict=True)
            ]
            assert shown == expected


def test_trial_balance_totals_zero_per_asset(close: Close, workpaper: Path) -> None:
    rows = _exact(workpaper, "Trial balance")
    assert rows.height == close.trial_balance.rows.height
    sums = rows.group_by("ledger_id", "asset_id").agg(
        pl.col("opening", "debits", "credits", "closing", "difference").sum()
    )
    assert sums.height == close.trial_balance.totals.height
    assert (sums["opening"] == 0).all()
    assert (sums["closing"] == 0).all()
    assert (sums["difference"] == 0).all()
    assert (sums["debits"] == sums["credits"]).all()
    assert (sums["debits"] > 0).all()  # a real month, not a vacuous zero
    totals = _exact(workpaper, "Trial balance totals")
    assert (totals["opening"] == 0).all()
    assert (totals["closing"] == 0).all()
    assert (totals["movement"] == 0).all()


def test_every_journal_balances_per_currency(workpaper: Path) -> None:
    lines = _exact(workpaper, "Journal lines")
    per_journal = lines.group_by("journal_id").agg(
        pl.col("currency").n_unique().alias("currencies"),
        pl.col("debit").sum(),
        pl.col("credit").sum(),
    )
    assert per_journal.height > 1
    assert (per_journal["currencies"] == 1).all()
    assert (per_journal["debit"] == per_journal["credit"]).all()
    totals = _exact(workpaper, "Journal totals")
    assert totals.height == per_journal.height
    assert (totals["difference"] == 0).all()
    assert (totals["debits"] == totals["credits"]).all()


def test_tie_out_holds_between_the_sheets(workpaper: Path) -> None:
    tieout = _exact(workpaper, "Tie-out")
    assert (tieout["difference"] == 0).all()
    assert (tieout["journal_net"] == tieout["trial_balance_net"]).all()
    # the journal side recomputed from the lines sheet
    lines = _exact(workpaper, "Journal lines")
    net = lines.group_by("ledger_id", "gl_account", "asset_id").agg(
        (pl.col("debit").sum() - pl.col("credit").sum()).alias("net")
    )
    joined = tieout.join(net, on=["ledger_id", "gl_account", "asset_id"], how="full")
    assert joined.height == tieout.height
    assert (joined["journal_net"] == joined["net"]).all()
    # the trial-balance side adds up to the trial balance sheet's movement per asset
    trial = _exact(workpaper, "Trial balance")
    by_asset_tb = trial.group_by("asset_id").agg(pl.col("debits").sum(), pl.col("credits").sum())
    by_asset_tie = tieout.group_by("asset_id").agg(
        pl.col("trial_balance_debits").sum().alias("debits"),
        pl.col("trial_balance_credits").sum().alias("credits"),
    )
    assert by_asset_tb.sort("asset_id").equals(by_asset_tie.sort("asset_id"))
    # every drill-down row points at a line of the lines sheet
    drill = _exact(workpaper, "Journal drill-down")
    assert set(drill["line_id"]) <= set(lines["line_id"])


def test_cover_sheet_holds_the_manifest(close: Close, workpaper: Path) -> None:
    book = load_workbook(workpaper)
    assert book.sheetnames[0] == "Cover"
    assert book.sheetnames[-1] == FINDINGS_SHEET
    cover = [c for row in book["Cover"].iter_rows(values_only=True) for c in row if c is not None]
    manifest = close.manifest
    for expected in (
        manifest.run_time,
        content_digest(manifest),
        f"ledger-audit {manifest.version}",
        "period",
        "2025-01",
        manifest.inputs[0].sha256,
        manifest.outputs[0].sha256,
        manifest.checkpoints[0].head_hash,
        "Journal drill-down",
    ):
        assert expected in cover
    assert book.properties.creator == f"ledger-audit {manifest.version}"
    assert book.properties.created == book.properties.modified
    assert book.properties.created.isoformat() == "2025-02-01T06:30:00"


def test_findings_sheet_for_the_reviewer(close: Close, workpaper: Path) -> None:
    book = load_workbook(workpaper)
    sheet = book[FINDINGS_SHEET]
    header = [c.value for c in sheet[1]]
    assert header == [*FINDINGS_SCHEMA, *REVIEW_COLUMNS]
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == 1 + close.findings.height
    row = dict(zip(header, sheet[2], strict=True))
    assert row["disposition"].value is None
    assert row["reviewer"].value is None
    # text that looks like a formula stays text
    assert row["message"].data_type == "s"
    assert row["message"].value == '=HYPERLINK("http://example.invalid","click")'
    # an integer beyond Excel's 15 exact digits is text, never a rounded number
    assert row["chain_seq"].value == "12345678901234567"
    validations = sheet.data_validations.dataValidation
    assert len(validations) == 1
    choice = validations[0]
    assert choice.type == "list"
    assert choice.formula1 == '"' + ",".join(DISPOSITIONS) + '"'
    assert str(choice.sqref).startswith("P2:P")
    for name in ("Trial balance", "Journal lines"):
        data = book[name]
        assert data.freeze_panes == "A2"
        assert data.auto_filter.ref
        assert data["A1"].font.bold
        assert data.column_dimensions["A"].width >= 8


def test_two_writes_give_identical_bytes(close: Close, tmp_path: Path) -> None:
    first = _write(close, tmp_path / "a" / "workpaper.xlsx")
    second = _write(close, tmp_path / "b" / "workpaper.xlsx")
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(second.read_bytes()).hexdigest()
    with zipfile.ZipFile(first) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2025, 2, 1, 6, 30, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2025-02-01T06:30:00Z" in core
    # the run time is the one thing that moves the workpaper's bytes
    later = build_manifest(
        run_time_ns=RUN + 3600 * 10**9,
        parameters=dict(close.manifest.parameters),
        inputs=close.manifest.inputs,
        outputs=close.manifest.outputs,
        checkpoints=close.manifest.checkpoints,
    )
    third = _write(close, tmp_path / "c" / "workpaper.xlsx", manifest=later)
    assert hashlib.sha256(third.read_bytes()).hexdigest() != digest


def test_stamped_with_the_data_as_of_the_run_time_moves_nothing(
    close: Close, tmp_path: Path
) -> None:
    tables = report_tables(close.trial_balance, close.journals)
    later = build_manifest(
        run_time_ns=RUN + 3600 * 10**9,
        parameters=dict(close.manifest.parameters),
        inputs=close.manifest.inputs,
        outputs=close.manifest.outputs,
        checkpoints=close.manifest.checkpoints,
    )
    as_of = JANUARY.end_ns
    paths = [
        write_workpaper(tmp_path / name, manifest, tables, close.findings, as_of_ns=as_of)
        for name, manifest in (("a.xlsx", close.manifest), ("b.xlsx", later))
    ]
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    book = load_workbook(paths[0])
    cover = [c for row in book["Cover"].iter_rows(values_only=True) for c in row if c is not None]
    assert "data as of (UTC)" in cover
    assert "2025-02-01T00:00:00.000000000Z" in cover
    assert close.manifest.run_time not in cover
    assert book.properties.created.isoformat() == "2025-02-01T00:00:00"
    assert content_digest(close.manifest) == content_digest(later)
    assert len(digests) == 1  # two runs an hour apart, one workpaper


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Findings", "taken"),
        ("a/b", "at most 31"),
        ("x" * 32, "at most 31"),
        ("Cover", "taken"),
    ],
)
def test_bad_sheet_names(close: Close, tmp_path: Path, name: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        write_workpaper(
            tmp_path / "w.xlsx", close.manifest, [Table(name, pl.DataFrame())], close.findings
        )


def test_twice_the_same_name_and_bad_money(close: Close, tmp_path: Path) -> None:
    tables = [Table("T", pl.DataFrame({"a": [1]})), Table("t", pl.DataFrame({"a": [1]}))]
    with pytest.raises(InputError, match="taken"):
        write_workpaper(tmp_path / "w.xlsx", close.manifest, tables, close.findings)
    with pytest.raises(InputError, match="integer minor units"):
        Table("f", pl.DataFrame({"a": [1.5], "scale": [2]}), ("a",))
    with pytest.raises(InputError, match="scale column"):
        Table("f", pl.DataFrame({"a": [1]}), ("a",))
    with pytest.raises(InputError, match="missing column"):
        write_workpaper(tmp_path / "w.xlsx", close.manifest, (), pl.DataFrame({"rule": ["x"]}))


def test_every_row_keeps_its_styles(workpaper: Path) -> None:
    """Money in its currency's format and dates as dates on every row, not only the first."""
    book = load_workbook(workpaper)
    sheet = book["Journal lines"]
    header = [c.value for c in sheet[1]]
    money = header.index("debit") + 1
    day = header.index("journal_date") + 1
    rows = range(2, sheet.max_row + 1)
    assert len(rows) > 2
    asset = header.index("asset_id") + 1
    formats = {
        (str(sheet.cell(row=r, column=asset).value), sheet.cell(row=r, column=money).number_format)
        for r in rows
    }
    assert formats == {("USD/2", '#,##0.00 "USD"'), ("EUR/2", '#,##0.00 "EUR"')}
    assert {sheet.cell(row=r, column=day).number_format for r in rows} == {"yyyy-mm-dd"}
    assert {sheet.cell(row=r, column=1).alignment.horizontal for r in rows} == {None}
