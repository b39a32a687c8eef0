"""report.pdf: printed by headless Chromium, paginated, the same bytes twice; skipped with
its reason where no Chromium is installed."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import pytest

from ledger_audit.exports.html_report import Section, write_html_report
from ledger_audit.exports.pdf import write_pdf_report
from ledger_audit.exports.tables import Table
from ledger_audit.testing.browser import CHROMIUM_ENV

STAMP = dt.datetime(2025, 1, 31, 23, 59, 59, tzinfo=dt.UTC)


def _report(folder: Path) -> Path:
    rows = pl.DataFrame({"account": [f"assets:bank:{n:03d}" for n in range(150)]})
    chart = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
    sections = [
        Section(
            "Summary", paragraphs=("One.",), figures=(chart,), tables=(Table("Accounts", rows),)
        )
    ]
    return write_html_report(folder / "report.html", 'Close "2025-01" <draft>', sections)


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_the_report_prints_to_a_paginated_pdf_the_same_twice(
    tmp_path: Path, chromium: Path
) -> None:
    report = _report(tmp_path)
    html = report.read_text(encoding="utf-8")
    assert "@page { size: A4 landscape" in html
    assert 'content: "Close \\"2025-01\\" \\3c draft\\3e "' in html  # title on every page
    assert 'counter(page) " of " counter(pages)' in html
    first = write_pdf_report(report, tmp_path / "a.pdf", stamp=STAMP, chromium=chromium)
    second = write_pdf_report(report, tmp_path / "b.pdf", stamp=STAMP, chromium=chromium)
    assert first.reason is None
    assert first.path is not None
    assert second.path is not None
    data = first.path.read_bytes()
    assert data.startswith(b"%PDF-")
    assert _pages(data) > 1  # 150 rows do not fit one page
    assert b"(D:20250131235959+00'00')" in data  # the stamp, not the print time
    assert data == second.path.read_bytes()


def test_without_chromium_the_pdf_is_skipped_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "no-such-chromium"))
    result = write_pdf_report(_report(tmp_path), tmp_path / "r.pdf", stamp=STAMP)
    assert result.path is None
    assert result.reason is not None
    assert result.reason.startswith("no PDF renderer:")
    assert "no-such-chromium" in result.reason
    assert not (tmp_path / "r.pdf").exists()
