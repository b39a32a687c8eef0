"""The close report a controller reads: exceptions most severe first in every output, money
for people, the bank reconciliation statement, and the page as a browser lays it out."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from ledger_audit.close.bundle import REPORT, TABLES, WORKPAPER, write_bundle
from ledger_audit.close.run import CloseParameters, MonthEndClose, run_close
from ledger_audit.close.summary import key_figures
from ledger_audit.exports.tables import decimal_text
from ledger_audit.findings import SEVERITY_RANK
from ledger_audit.money import MINOR_AMOUNT, format_money
from ledger_audit.testing.browser import Layout, measure_layout
from tests.conftest import PROJECT_ROOT, DemoFactory

MAPPING = str(PROJECT_ROOT / "mappings" / "demo.toml")


def _close(demo_factory: DemoFactory, root: Path, **demo: object) -> MonthEndClose:
    """The demo's close, its inputs named through a link in ``root`` to the demo's folder.

    The report prints the inputs' paths, so its height depends on their length: read through
    a link of one length, the close does not depend on where pytest's (or a worker's)
    temporary folder is.
    """
    built = demo_factory(**demo)
    assert built.statements is not None
    folder = built.ledger_path.parent
    link = root / folder.name
    if not link.exists():
        link.symlink_to(folder, target_is_directory=True)
    return run_close(
        CloseParameters(
            source=str(link / built.ledger_path.relative_to(folder)),
            period="2025-01",
            statements=tuple(
                str(link / p.relative_to(folder)) for p in built.statements.statements
            ),
            gl_mapping=MAPPING,
        )
    )


@pytest.fixture(scope="module")
def short_root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="la-report-") as root:
        yield Path(root)


@pytest.fixture(scope="module")
def close(demo_factory: DemoFactory, short_root: Path) -> MonthEndClose:
    return _close(demo_factory, short_root)


@pytest.fixture(scope="module")
def bundle(close: MonthEndClose, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("close") / "2025-01"
    write_bundle(close, folder, run_time_ns=0)
    return folder


def _ranks(severities: list[str]) -> list[int]:
    rank = {str(k): v for k, v in SEVERITY_RANK.items()}
    return [rank[s] for s in severities]


def test_findings_are_most_severe_first_in_the_csv_the_workpaper_and_the_report(
    close: MonthEndClose, bundle: Path
) -> None:
    csv = pl.read_csv(bundle / TABLES / "findings.csv", infer_schema=False)
    ranks = _ranks(csv["severity"].to_list())
    assert ranks == sorted(ranks)
    assert ranks[0] == 0  # the demo's chain findings are critical and lead
    assert csv["rule"].to_list() == close.findings["rule"].to_list()
    # the CSV keeps the exact minor-unit text tools parse
    assert any(MINOR_AMOUNT.search(m) for m in csv["message"].to_list())

    book = load_workbook(bundle / WORKPAPER, read_only=True)
    rows = list(book["Findings"].iter_rows(values_only=True))
    book.close()
    header = list(rows[0])
    sheet = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert [r["rule"] for r in sheet] == csv["rule"].to_list()
    assert [r["locator"] for r in sheet] == csv["locator"].to_list()
    # the reader's sheet shows amounts in their currency, never as minor units
    for row in sheet:
        for column in ("message", "expected", "actual", "difference"):
            assert not MINOR_AMOUNT.search(str(row[column] or "")), (column, row[column])

    html = (bundle / REPORT).read_text(encoding="utf-8")
    table = html.split("<caption>Findings</caption>", 1)[1].split("</table>", 1)[0]
    shown = re.findall(r"<td>(critical|high|medium|low|info)</td>", table)
    assert shown == csv["severity"].to_list()


def test_each_bank_account_has_its_statement_in_the_workpaper_tables_and_report(
    close: MonthEndClose, bundle: Path
) -> None:
    bank = close.bank_reconciliation
    assert bank is not None
    accounts = bank.accounts()
    assert len(accounts) == 2  # the demo's USD and EUR operating accounts
    book = load_workbook(bundle / WORKPAPER, read_only=True)
    names = book.sheetnames
    statements = [n for n in names if n.startswith("Rec ")]
    assert statements == ["Rec EUR DE00DEMO0000000002", "Rec USD US00DEMO0000000001"]
    assert names.index(statements[0]) == 1  # right after the cover: read first
    for name, (_, _, ref, asset) in zip(statements, accounts, strict=True):
        rows = list(book[name].iter_rows(values_only=True))
        header = list(rows[0])
        lines = [dict(zip(header, row, strict=True)) for row in rows[1:]]
        exact = [r["amount_minor"] for r in lines]
        expected = bank.statement.filter(
            (pl.col("account_ref") == ref) & (pl.col("asset_id") == asset)
        )["amount"].to_list()
        assert exact == [int(v) for v in expected]
        assert lines[-1]["label"].strip() == "unexplained"
    book.close()
    long_form = pl.read_csv(bundle / TABLES / "bank_reconciliation.csv")
    assert long_form.height == bank.statement.height
    items = pl.read_csv(bundle / TABLES / "bank_rec_items.csv")
    assert items.height == bank.items.height == 8
    html = (bundle / REPORT).read_text(encoding="utf-8")
    assert html.index("<h2>Bank reconciliation</h2>") < html.index("<h2>Integrity</h2>")
    assert "<td>Balance per bank statement</td>" in html
    outstanding = bank.line("US00DEMO0000000001", "USD/2", "outstanding_payments")
    assert outstanding is not None
    assert outstanding < 0  # the planted payment in transit
    assert f'<td class="money">{decimal_text(outstanding, 2, grouped=True)}</td>' in html


# --- the page as a reader's browser lays it out ---------------------------------------------

RAW_FLOAT = re.compile(r"(?<![\d:.,])\d+\.\d{5,}(?!\d)(?! [A-Z]{3}\b)")
"""A float's repr (``0.9962756052141527``): five decimals or more, after no clock time and
before no currency code (a timestamp's nanoseconds and an 8-decimal BTC amount are fine)."""


def raw_numbers(text: str) -> list[str]:
    """Raw floats and minor-unit amounts (``-10488 EUR/2``) a reader should never see."""
    return [m.group(0) for m in (*RAW_FLOAT.finditer(text), *MINOR_AMOUNT.finditer(text))]


def test_the_raw_number_check_catches_what_it_is_for() -> None:
    planted = "rate 0.9962756052141527, fee -10488 EUR/2 and 626533 USD/2 in a message"
    assert raw_numbers(planted) == ["0.9962756052141527", "-10488 EUR/2", "626533 USD/2"]
    fine = (
        "99.63 %, -104.88 EUR, 1.23456789 BTC, 2024-12-31T23:59:59.999999999Z, "
        "seq 863, head 332c49b169868b57, score 1.0, 6,265.33 USD"
    )
    assert raw_numbers(fine) == []


@pytest.fixture(scope="module")
def wide(bundle: Path, chromium: Path) -> Layout:
    return measure_layout(bundle / REPORT, 1400, chromium=chromium)


def test_the_report_fits_a_1400_and_a_900_px_window(
    bundle: Path, wide: Layout, chromium: Path
) -> None:
    narrow = measure_layout(bundle / REPORT, 900, chromium=chromium)
    for layout in (wide, narrow):
        assert layout.wide == (), layout.wide[:10]
        assert layout.scroll_width <= layout.width
    assert wide.width > 1300
    assert narrow.width < 900
    assert wide.height < 12_000, wide.height  # the issue's bound (the demo close: 11,640 px)
    assert raw_numbers(narrow.text) == []


def test_no_raw_float_or_minor_unit_amount_is_visible(wide: Layout, bundle: Path) -> None:
    assert "Close at a glance" in wide.text  # the text is the rendered page's
    assert raw_numbers(wide.text) == []
    # the check would see one: the same page with one planted amount in it
    planted = bundle.parent / "planted.html"
    html = (bundle / REPORT).read_text(encoding="utf-8")
    planted.write_text(html.replace("</h1>", " 0.9962756052141527 -10488 EUR/2</h1>", 1))
    seen = measure_layout(planted, 1400).text
    assert raw_numbers(seen) == ["0.9962756052141527", "-10488 EUR/2"]


def test_the_summary_says_what_the_tables_say(close: MonthEndClose, wide: Layout) -> None:
    figures = dict(line.split("\t", 1) for line in wide.text.splitlines() if line.count("\t") == 1)
    bank = close.bank_reconciliation
    assert bank is not None
    differences: dict[str, int] = {}
    for _, _, ref, asset in bank.accounts():
        amount = bank.line(ref, asset, "difference")
        assert amount is not None
        differences[asset] = differences.get(asset, 0) + amount
    assert figures["Unreconciled per currency"] == "; ".join(
        format_money(v, k) for k, v in sorted(differences.items())
    )
    counts = close.findings.group_by("severity").len()
    for severity, count in counts.iter_rows():
        assert f"{count:,} {severity}" in figures["Findings by severity"]
    assert figures["Verdict"].startswith("Not ready to sign: 4 critical")
    assert figures["Trial balance in balance"].startswith("yes")
    # the first screen answers the question: the summary comes before anything else
    assert wide.text.index("Trial balance in balance") < wide.text.index("Every finding")


def test_the_bundle_has_the_report_as_a_pdf(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["pdf"] == "report.pdf"
    assert "report.pdf" in {o["name"] for o in manifest["outputs"]}
    data = (bundle / "report.pdf").read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", data)) > 3  # paginated, not one long page


def test_a_clean_close_reads_clean_at_a_glance(demo_factory: DemoFactory, short_root: Path) -> None:
    clean = _close(demo_factory, short_root, clean=True)
    figures = dict(key_figures(clean).iter_rows())
    assert figures["Verdict"].startswith("Clean: no critical or high finding")
    assert figures["Findings by severity"] == "0 critical, 0 high, 0 medium, 0 low, 0 info"
    assert figures["Unreconciled per currency"] == "0.00 EUR; 0.00 USD"
    assert figures["Trial balance in balance"].startswith("yes")
