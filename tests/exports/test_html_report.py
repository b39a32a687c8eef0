"""report.html: escaped text, exact money, fixed chart ids, same bytes; charts render offline."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import pytest

from ledger_audit.errors import InputError
from ledger_audit.exports.html_report import (
    Section,
    figure_id,
    render_html_report,
    text_cell,
    write_html_report,
)
from ledger_audit.exports.tables import Table, decimal_text
from ledger_audit.testing.browser import (
    render_page,
    rendered_charts,
)

BALANCES = pl.DataFrame(
    {
        "account_id": ["assets:bank", "revenue:fees", "assets:cash:jpy"],
        "asset_id": ["USD/2", "USD/2", "JPY/0"],
        "scale": pl.Series([2, 2, 0], dtype=pl.Int32()),
        "closing": [123_450, -123_450, 7_000_000],
        "entries": [3, 3, 1],
    }
)


def _sections() -> list[Section]:
    bars = go.Figure(go.Bar(x=["assets:bank", "revenue:fees"], y=[1234.5, -1234.5]))
    bars.update_layout(title="Closing balances")
    line = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], mode="lines+markers"))
    pie = go.Figure(go.Pie(labels=["USD", "JPY"], values=[2, 1]))
    return [
        Section(
            "Trial balance",
            paragraphs=("Closing balances of January <script>alert(1)</script> & more.",),
            figures=(bars,),
            tables=(Table("Balances", BALANCES, ("closing",)),),
        ),
        Section("Activity", figures=(line, pie)),
        Section("Notes", paragraphs=("Nothing else.",)),
    ]


FIGURE_IDS = (figure_id(1, 1), figure_id(2, 1), figure_id(2, 2))


def test_same_sections_give_the_same_bytes(tmp_path: Path) -> None:
    first = write_html_report(tmp_path / "a" / "report.html", "January close", _sections())
    second = write_html_report(tmp_path / "b" / "report.html", "January close", _sections())
    assert first.read_bytes() == second.read_bytes()


def test_page_is_self_contained_and_escaped() -> None:
    html = render_html_report("January close & more", _sections())
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>January close &amp; more</title>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more." in html
    assert "<script>alert(1)" not in html
    # plotly.js inline once; no script or stylesheet from the network
    assert len(re.findall(r"plotly\.js v\d", html)) == 1
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert not re.search(r"<link[^>]*\bhref=", html)
    for div in FIGURE_IDS:
        assert f'id="{div}"' in html
    # no code of any kind, only the page's own structure
    assert "In [" not in html
    assert html.count("<section ") == len(_sections())


def test_money_is_exact_at_the_row_scale() -> None:
    html = render_html_report("t", _sections())
    assert '<td class="money">1,234.50</td>' in html
    assert '<td class="money">-1,234.50</td>' in html
    assert '<td class="money">7,000,000</td>' in html
    assert '<td class="number">3</td>' in html
    assert decimal_text(10**30 + 1, 18) == "1000000000000.000000000000000001"
    assert decimal_text(-5, 3) == "-0.005"
    assert decimal_text(-(10**37) - 12, 2, grouped=True) == "-" + f"{10**35:,}" + ".12"
    assert decimal_text(Decimal(120), 0) == "120"
    assert decimal_text(None, 2) == ""


def test_long_tables_are_cut_with_a_note() -> None:
    many = pl.DataFrame({"n": list(range(30))})
    html = render_html_report("t", [Section("s", tables=(Table("Many", many),))], max_rows=10)
    assert html.count("<tr>") == 1 + 10
    assert "the first 10 of 30 rows; the other 20 are in the workpaper" in html
    empty = render_html_report("t", [Section("s", tables=(Table("None", many.head(0)),))])
    assert "None: no rows." in empty
    with pytest.raises(InputError, match="max_rows"):
        render_html_report("t", [], max_rows=0)


# --- in a browser ---------------------------------------------------------------------------


def test_charts_render_offline_in_headless_chromium(chromium: Path, tmp_path: Path) -> None:
    report = write_html_report(tmp_path / "report.html", "January close", _sections())
    page = render_page(report, chromium=chromium)
    assert page.errors == ()
    assert rendered_charts(page.dom, FIGURE_IDS) == dict.fromkeys(FIGURE_IDS, True)
    assert page.dom.count('class="plot-container plotly"') == len(FIGURE_IDS)
    assert "January close" in page.dom


def test_the_harness_sees_charts_that_did_not_render(chromium: Path, tmp_path: Path) -> None:
    html = render_html_report("January close", _sections())
    start = html.index("/**\n* plotly.js")
    broken = html[:start] + html[html.index("</script>", start) :]
    report = tmp_path / "no-plotly.html"
    report.write_text(broken, encoding="utf-8")
    page = render_page(report, chromium=chromium)
    assert rendered_charts(page.dom, FIGURE_IDS) == dict.fromkeys(FIGURE_IDS, False)
    assert any("Plotly is not defined" in error.message for error in page.errors)


def test_rates_are_percentages_balances_have_a_direction_and_dates_do_not_wrap() -> None:
    frame = BALANCES.with_columns(
        pl.Series("share", [0.9962756052141527, 1.0, None]),
        pl.Series("period", ["2025-01", "2025-01", "2025-01"]),
        pl.Series("day", ["2025-01-31"] * 3).str.to_date(),
    )
    table = Table(
        "Balances",
        frame,
        ("closing",),
        percent=("share",),
        debit_credit=("closing",),
        note="Dr a debit balance, Cr a credit balance.",
    )
    html = render_html_report("t", [Section("s", tables=(table,))])
    assert '<td class="number">99.63 %</td>' in html
    assert '<td class="number">100.00 %</td>' in html
    assert "0.9962756052141527" not in html
    assert '<td class="money">1,234.50 Dr</td>' in html
    assert '<td class="money">1,234.50 Cr</td>' in html
    assert '<td class="money">7,000,000 Dr</td>' in html
    assert html.count('<td class="date">2025-01</td>') == 3
    assert html.count('<td class="date">2025-01-31</td>') == 3
    assert "td.date { white-space: nowrap; }" in html
    assert "Dr a debit balance, Cr a credit balance." in html
    with pytest.raises(InputError, match="not a money column"):
        Table("Balances", frame, ("closing",), debit_credit=("entries",))
    with pytest.raises(InputError, match="numeric rate column"):
        Table("Balances", frame, percent=("period",))


def test_an_inline_table_says_how_many_rows_it_hides_and_where() -> None:
    many = pl.DataFrame({"n": list(range(30))})
    capped = Table("Breaks", many, limit=5)
    html = render_html_report("t", [Section("s", tables=(capped,))], max_rows=10)
    assert html.count("<tr><td") == 5
    assert (
        "Breaks: the first 5 of 30 rows; the other 25 are in the workpaper's Breaks "
        "sheet and in tables/breaks.csv." in html
    )
    summary = Table("Drift at period end", many.head(2), full="Drift daily")
    html = render_html_report("t", [Section("s", tables=(summary,))])
    assert "Every column: the workpaper's Drift daily sheet and tables/drift_daily.csv." in html
    with pytest.raises(InputError, match="limit must be at least 1"):
        Table("Breaks", many, limit=0)


def test_a_label_indented_with_spaces_stays_indented_in_html() -> None:
    """HTML collapses leading spaces: the bank statement's "explained by" lines need padding."""
    assert text_cell("  explained by: x") == (
        '<td style="padding-left: 1.5rem">explained by: x</td>'
    )
    assert text_cell("Balance per ledger") == "<td>Balance per ledger</td>"
    assert text_cell("2025-01") == '<td class="date">2025-01</td>'


def test_a_collapsed_table_is_folded_under_one_line_naming_it() -> None:
    rows = pl.DataFrame({"n": [1, 2, 3]})
    folded = Table("Benford <summary>", rows, note="a note", collapsed=True)
    html = render_html_report("t", [Section("s", tables=(folded, Table("Open", rows)))])
    details = html.split("<details>", 1)[1].split("</details>", 1)[0]
    assert details.startswith("<summary>Benford &lt;summary&gt; (3 rows)</summary>")
    assert details.count("<tr><td") == 3  # every row, the note too, inside the fold
    assert "a note" in details
    assert html.count("<details>") == 1  # the other table stays open
    one = render_html_report(
        "t", [Section("s", tables=(Table("x", rows.head(1), collapsed=True),))]
    )
    assert "<summary>x (1 row)</summary>" in one
