"""The close report a controller reads: exceptions most severe first in every output, money
for people, the bank reconciliation statement, and the page as a browser lays it out."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from ledger_audit.close.bundle import REPORT, TABLES, WORKPAPER, write_bundle
from ledger_audit.close.run import CloseParameters, MonthEndClose, run_close
from ledger_audit.findings import SEVERITY_RANK
from ledger_audit.money import MINOR_AMOUNT
from tests.conftest import PROJECT_ROOT, DemoFactory

MAPPING = str(PROJECT_ROOT / "mappings" / "demo.toml")


def _close(demo_factory: DemoFactory, **demo: object) -> MonthEndClose:
    built = demo_factory(**demo)
    assert built.statements is not None
    return run_close(
        CloseParameters(
            source=str(built.ledger_path),
            period="2025-01",
            statements=tuple(str(p) for p in built.statements.statements),
            gl_mapping=MAPPING,
        )
    )


@pytest.fixture(scope="module")
def close(demo_factory: DemoFactory) -> MonthEndClose:
    return _close(demo_factory)


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
