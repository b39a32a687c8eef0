"""Write the close's ``report.html``: sections of text, plotly charts and tables, no code.

One self-contained file: the first chart embeds plotly.js inline and later charts reuse it,
so the charts render offline, with no network (only the geographic chart types fetch map
data from a CDN: don't pass those). Everything the page shows is escaped text, tables and
the charts' own JSON; nothing of a notebook (no code, no prompts) reaches it.

A section shows, in order: its heading, its paragraphs, its charts, its tables. Tables
show money columns (``Table.money``) as exact decimals at the row's scale with thousands
separators (``-1,234.50``), right-aligned, and at most ``max_rows`` rows with a note saying
how many there are (the full table ships as CSV and Parquet). A table marked
``collapsed`` is folded under a one-line ``<details>`` summary that names it and its rows.

Determinism. Each chart's ``div`` id is fixed by its place (``figure-<section>-<n>``,
both counted from 1) and the page carries no time, so the same sections always give the
same bytes. Charts are passed in as plotly figures (anything with plotly's ``to_html``):
this module never imports plotly, which stays in ``viz/``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Protocol

from ledger_audit import __version__
from ledger_audit.errors import InputError
from ledger_audit.exports.atomic import write_text_atomic
from ledger_audit.exports.tables import (
    Table,
    debit_credit_text,
    decimal_text,
    file_stem,
    percent_text,
)

DEFAULT_MAX_ROWS = 1_000
"""Rows an HTML table shows before it refers the reader to the CSV/Parquet table."""

PLOTLY_CONFIG: Mapping[str, object] = {"displaylogo": False, "responsive": True}
"""The plotly config every chart gets."""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1f2933; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem;
     border-bottom: 1px solid #d2d6dc; padding-bottom: .25rem; }
nav ol { columns: 2; }
div.table { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; margin: 1rem 0; font-size: .85rem; max-width: 100%; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { border: 1px solid #d2d6dc; padding: .2rem .5rem; overflow-wrap: anywhere; }
th { background: #f0f2f5; position: sticky; top: 0; }
td.money, td.number { text-align: right; font-variant-numeric: tabular-nums;
                      white-space: nowrap; }
td.date { white-space: nowrap; }
td.null { color: #9aa5b1; }
p.note { color: #52606d; font-size: .85rem; }
summary { cursor: pointer; font-weight: 600; font-size: .9rem; margin: .5rem 0; }
.figure { margin: 1rem 0; }
@media (max-width: 1000px) {
  body { margin: 1rem auto; }
  table { font-size: .78rem; }
  th, td { padding: .15rem .3rem; }
}
footer { margin-top: 3rem; color: #52606d; font-size: .8rem; }
@media print {
  body { max-width: none; margin: 0; padding: 0; }
  nav { display: none; }
  th { position: static; }
  tr, .figure { break-inside: avoid; }
  h2, caption { break-after: avoid; }
}
""".strip()


def _page_style(title: str) -> str:
    """Print rules: A4 landscape pages, the title on top, the page number below (the PDF)."""
    # a CSS string: backslash and quote escaped, < and > as CSS escapes (no </style>)
    text = title.replace("\\", "\\\\").replace('"', '\\"')
    quoted = '"' + text.replace("<", "\\3c ").replace(">", "\\3e ") + '"'
    small = "font-family: system-ui, sans-serif; font-size: 8pt; color: #52606d;"
    return (
        "@page { size: A4 landscape; margin: 14mm 10mm;\n"
        f"  @top-left {{ content: {quoted}; {small} }}\n"
        f'  @top-right {{ content: "ledger-audit"; {small} }}\n'
        f'  @bottom-right {{ content: "page " counter(page) " of " counter(pages); {small} }}\n'
        "}"
    )


class PlotlyFigure(Protocol):
    """What this module needs of a ``plotly.graph_objects.Figure``."""

    def to_html(
        self,
        *,
        config: Mapping[str, object],
        full_html: bool,
        include_plotlyjs: bool,
        div_id: str,
    ) -> str:
        """The figure as an HTML fragment (plotly's own method)."""
        ...


@dataclass(frozen=True, slots=True, eq=False)
class Section:
    """One section of the report.

    Attributes:
        heading: the section's title.
        paragraphs: plain text, one paragraph each (escaped: no markup gets through).
        figures: plotly figures, shown in order.
        tables: tables, shown in order, captioned by their names.
    """

    heading: str
    paragraphs: tuple[str, ...] = ()
    figures: tuple[PlotlyFigure, ...] = ()
    tables: tuple[Table, ...] = ()


def figure_id(section: int, number: int) -> str:
    """The ``div`` id of the ``number``-th chart of the ``section``-th section (from 1)."""
    return f"figure-{section}-{number}"


def write_html_report(
    path: Path,
    title: str,
    sections: Sequence[Section],
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> Path:
    """Write the report to ``path`` (atomically, parents created) and return the path."""
    return write_text_atomic(path, render_html_report(title, sections, max_rows=max_rows))


def render_html_report(
    title: str, sections: Sequence[Section], *, max_rows: int = DEFAULT_MAX_ROWS
) -> str:
    """The report's HTML text (see the module docstring)."""
    if max_rows < 1:
        raise InputError("max_rows", f"expected at least 1, got {max_rows}")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="ledger-audit {escape(__version__)}">',
        f"<title>{escape(title)}</title>",
        f"<style>\n{_STYLE}\n{_page_style(title)}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(title)}</h1>",
    ]
    if sections:
        parts.append("<nav><ol>")
        parts.extend(
            f'<li><a href="#section-{n}">{escape(s.heading)}</a></li>'
            for n, s in enumerate(sections, start=1)
        )
        parts.append("</ol></nav>")
    for number, section in enumerate(sections, start=1):
        first = number == _first_chart(sections)
        parts.append(render_section(number, section, include_plotlyjs=first, max_rows=max_rows))
    parts += [
        f"<footer>Generated by ledger-audit {escape(__version__)}.</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _first_chart(sections: Sequence[Section]) -> int:
    """The number of the first section with a chart (0 when none has one)."""
    return next((n for n, s in enumerate(sections, start=1) if s.figures), 0)


def render_section(
    number: int, section: Section, *, include_plotlyjs: bool, max_rows: int = DEFAULT_MAX_ROWS
) -> str:
    """One section's HTML, as the report shows it.

    The close notebook shows its sections with this too, so the notebook and the report
    agree. ``include_plotlyjs`` embeds plotly.js with the section's first chart: the first
    section with a chart on a page needs it, later ones reuse it.
    """
    parts = [f'<section id="section-{number}">', f"<h2>{escape(section.heading)}</h2>"]
    parts.extend(f"<p>{escape(text)}</p>" for text in section.paragraphs)
    for index, figure in enumerate(section.figures, start=1):
        fragment = figure.to_html(
            config=PLOTLY_CONFIG,
            full_html=False,
            include_plotlyjs=include_plotlyjs and index == 1,
            div_id=figure_id(number, index),
        )
        parts.append(f'<div class="figure">\n{fragment}\n</div>')
    parts.extend(_table_html(table, max_rows) for table in section.tables)
    parts.append("</section>")
    return "\n".join(parts)


_PERIOD = re.compile(r"^\d{4}-\d{2}(-\d{2})?([ T][0-9:.]+Z?)?$")
"""A date, month or timestamp written as text: kept on one line."""


def _cell(table: Table, name: str, value: object, scale: int | None, numeric: bool) -> str:
    if value is None:
        return '<td class="null"></td>'
    if name in table.money:
        amount = value if isinstance(value, (int, Decimal)) else None
        if name in table.debit_credit:
            text = debit_credit_text(amount, scale)
        else:
            text = decimal_text(amount, scale, grouped=True)
        return f'<td class="money">{escape(text)}</td>'
    if name in table.percent and isinstance(value, (int, float)):
        return f'<td class="number">{escape(percent_text(float(value)))}</td>'
    if isinstance(value, (dt.date, dt.datetime)):
        return f'<td class="date">{escape(str(value))}</td>'
    if numeric:
        text = (
            f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
        )
        return f'<td class="number">{escape(text)}</td>'
    return text_cell(str(value))


def text_cell(text: str) -> str:
    """A text cell; leading spaces (an indented label) become padding: HTML collapses them."""
    shown = text.lstrip(" ")
    if len(shown) < len(text):
        indent = min(len(text) - len(shown), 8)
        return f'<td style="padding-left: {0.5 + 0.5 * indent:g}rem">{escape(shown)}</td>'
    kind = ' class="date"' if _PERIOD.match(text) else ""
    return f"<td{kind}>{escape(text)}</td>"


def _table_html(table: Table, max_rows: int) -> str:
    frame = table.frame
    if table.money:  # the scale is in every money cell's decimals: not a column to read
        frame = frame.drop(table.scale)
    numeric = {name for name, dtype in frame.schema.items() if dtype.is_numeric()}
    max_rows = min(max_rows, table.limit or max_rows)
    shown = frame.head(max_rows)
    lines = ['<div class="table">', "<table>", f"<caption>{escape(table.name)}</caption>"]
    lines.append("<thead><tr>")
    lines.extend(f"<th>{escape(name)}</th>" for name in frame.columns)
    lines.append("</tr></thead>")
    lines.append("<tbody>")
    scales = (
        table.frame[table.scale].head(max_rows).to_list() if table.money else [None] * shown.height
    )
    for row, scale in zip(shown.iter_rows(named=True), scales, strict=True):
        cells = [_cell(table, name, value, scale, name in numeric) for name, value in row.items()]
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</tbody>")
    lines.append("</table>")
    lines.append("</div>")
    if table.note:
        lines.append(f'<p class="note">{escape(table.note)}</p>')
    full = table.full or table.name
    if frame.height > max_rows:
        lines.append(
            f'<p class="note">{escape(table.name)}: the first {max_rows:,} of '
            f"{frame.height:,} rows; the other {frame.height - max_rows:,} are in the "
            f"workpaper's {escape(full)} sheet and in tables/{file_stem(full)}.csv.</p>"
        )
    elif table.full is not None:
        lines.append(
            f'<p class="note">Every column: the workpaper\'s {escape(full)} sheet and '
            f"tables/{file_stem(full)}.csv.</p>"
        )
    elif frame.height == 0:
        lines.append(f'<p class="note">{escape(table.name)}: no rows.</p>')
    if table.collapsed:  # folded under one line; the browser opens it on a click
        rows = f"{frame.height:,} row" + ("" if frame.height == 1 else "s")
        lines = [f"<details><summary>{escape(table.name)} ({rows})</summary>", *lines, "</details>"]
    return "\n".join(lines)
