"""What the close shows and ships: its report sections and its tables.

``close_tables`` names every table of a close with its money columns declared, in the order
the workpaper's sheets and the bundle's CSV/Parquet files take; ``close_sections`` arranges
them with text and charts into the sections of ``report.html``, which the close notebook
also shows one by one (``show_section``), so what the notebook showed and what the report
says are the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from ledger_audit.close.run import MonthEndClose
from ledger_audit.exports.html_report import Section, render_section
from ledger_audit.exports.tables import Table, report_tables
from ledger_audit.exports.workpaper import MAX_ROWS
from ledger_audit.replay.balances import SUM_AMOUNT
from ledger_audit.reports.exceptions import readable_findings
from ledger_audit.reports.trial_balance import asset_scale
from ledger_audit.viz.balances import findings_figure
from ledger_audit.viz.drift import drift_lines

FINDING_COLUMNS = ("rule", "severity", "check", "locator", "message", "expected", "actual")
"""The findings columns the report's table shows (the full schema ships as CSV/Parquet)."""


@dataclass(frozen=True, slots=True, eq=False)
class CloseTables:
    """The close's tables: those for people (workpaper sheets, report) and data-only ones.

    Attributes:
        sheets: tables the workpaper gets a sheet for and the report may show.
        data: tables of a row per match, link or ledger entry, and any table longer than
            Excel's rows: CSV and Parquet only.
    """

    sheets: tuple[Table, ...]
    data: tuple[Table, ...]

    def named(self, name: str) -> Table:
        """One table by name."""
        for table in (*self.sheets, *self.data):
            if table.name == name:
                return table
        raise KeyError(name)


def _scaled(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(asset_scale(pl.col("asset_id")).alias("scale"))


def close_tables(close: MonthEndClose) -> CloseTables:
    """Every table of ``close`` (see the module docstring); skipped stages give none."""
    sheets = [
        Table("Checks", close.checks()),
        Table("Findings by rule", close.findings_by_rule()),
        Table("Integrity", close.audit.summary()),
    ]
    data: list[Table] = []
    recon = close.reconciliation
    if recon is not None:
        sheets += [
            Table("Match rates", recon.rates, percent=("internal_share", "external_share")),
            Table("Breaks", _scaled(recon.breaks), ("amount", "difference")),
            Table("Aging", _scaled(recon.aging), ("amount",)),
            Table(
                "Payouts",
                _scaled(recon.payouts),
                tuple(
                    c
                    for c, t in recon.payouts.schema.items()
                    if t in (pl.Int64(), SUM_AMOUNT) and c != "bank_line"
                ),
            ),
        ]
        data += [  # a row per match or per link: for tools, not for a spreadsheet
            Table(
                "Matches",
                _scaled(recon.matches),
                ("internal_amount", "external_amount", "difference"),
            ),
            Table("Match links", recon.links),
        ]
    if close.drift is not None:
        money = tuple(
            name
            for name, dtype in close.drift.daily.schema.items()
            if dtype in (pl.Int64(), SUM_AMOUNT) and name != "external_age_days"
        )
        sheets += [
            Table("Drift daily", _scaled(close.drift.daily), money),
            Table("Drift explained", _scaled(close.drift.explained), ("amount",)),
        ]
    tables = report_tables(close.trial_balance, close.journals, drilldown=True)
    sheets += [t for t in tables if t.name != "Journal drill-down"]
    data += [t for t in tables if t.name == "Journal drill-down"]
    # a sheet longer than Excel allows ships as CSV and Parquet only (the manifest lists them)
    too_long = [t for t in sheets if t.frame.height >= MAX_ROWS]
    return CloseTables(
        sheets=tuple(t for t in sheets if t not in too_long), data=(*data, *too_long)
    )


def close_sections(close: MonthEndClose, tables: CloseTables | None = None) -> tuple[Section, ...]:
    """The report's sections, in reading order."""
    tables = tables or close_tables(close)
    return (
        _summary(close, tables),
        _integrity(close, tables),
        _reconciliation(close, tables),
        _drift(close, tables),
        _ledger_rollup(close, tables),
        Section(
            "Findings",
            paragraphs=(
                (
                    "Every finding of the close, most severe first (critical, high, medium, low, "
                    "info), then by amount, largest first. The workpaper's Findings "
                    "sheet has disposition and reviewer columns to fill in."
                ),
            ),
            tables=(Table("Findings", readable_findings(close.findings).select(FINDING_COLUMNS)),),
        ),
    )


def title(close: MonthEndClose) -> str:
    """The report's title."""
    return f"Month-end close {close.parameters.period}"


def _summary(close: MonthEndClose, tables: CloseTables) -> Section:
    p = close.parameters
    counts = {c.table: c.loaded for c in close.load.counts}
    failed = [r.check for r in close.results if r.status in ("failed", "crashed")]
    skipped = [r.check for r in close.results if r.status == "no data"]
    paragraphs = [
        (
            f"Ledger {p.source}, period {p.period} ({close.trial_balance.period.first_day} to "
            f"{close.trial_balance.period.last_day}, {p.basis} basis): "
            f"{counts.get('transactions', 0):,} transaction versions and "
            f"{counts.get('entries', 0):,} entries loaded, {close.load.rejected:,} rows rejected."
        ),
        f"{close.findings.height:,} finding(s), {close.critical:,} critical. "
        + (f"Checks with findings: {', '.join(failed)}. " if failed else "No check failed. ")
        + (f"Not run or nothing to examine: {', '.join(skipped)}." if skipped else ""),
    ]
    figures = (findings_figure(close.findings_by_rule()),) if close.findings.height else ()
    return Section(
        "Summary",
        paragraphs=tuple(paragraphs),
        figures=figures,
        tables=(tables.named("Checks"), tables.named("Findings by rule")),
    )


def _integrity(close: MonthEndClose, tables: CloseTables) -> Section:
    unproven = [f"Not proven: {line}" for r in close.audit.results for line in r.coverage.unproven]
    heads = [
        f"Chain checkpoint {c.ledger_id}: seq {c.seq}, head {c.head_hash}, {c.row_count:,} rows."
        for c in close.audit.checkpoints
    ]
    return Section(
        "Integrity",
        paragraphs=(
            (
                "The LACH-1 hash chain, the double-entry invariant suites, the stored balances "
                "against the replay, entries backdated into a closed period, suspected duplicates."
            ),
            *unproven,
            *heads,
        ),
        tables=(tables.named("Integrity"),),
    )


def _reconciliation(close: MonthEndClose, tables: CloseTables) -> Section:
    recon = close.reconciliation
    if recon is None:
        return Section("Reconciliation", paragraphs=("No statements were given: not run.",))
    tied = recon.payouts.filter(pl.col("status") == "tied").height
    return Section(
        "Reconciliation",
        paragraphs=(
            (
                f"Ledger items on mapped bank accounts against {close.parameters.statements}: "
                f"{recon.matches.height:,} match(es), {recon.breaks.height:,} break(s), aged as "
                f"of {recon.as_of.isoformat()} (rules {recon.rules_version})."
            ),
            (
                f"Processor payouts tied out three ways (gross, fees and refunds against the "
                f"ledger, net against the bank line): {tied:,} of {recon.payouts.height:,} tie."
            ),
            *(f"Not proven: {line}" for line in recon.coverage.unproven),
        ),
        tables=tuple(tables.named(n) for n in ("Match rates", "Breaks", "Aging", "Payouts")),
    )


def _drift(close: MonthEndClose, tables: CloseTables) -> Section:
    drift = close.drift
    if drift is None:
        return Section("Drift", paragraphs=("No statements were given: not run.",))
    accounts = drift.daily.select("account_id", "asset_id").unique().sort("account_id", "asset_id")
    figures = tuple(drift_lines(drift, a, s) for a, s in accounts.iter_rows())
    unexplained = drift.daily.filter(pl.col("unexplained") != 0).height
    return Section(
        "Drift: ledger against bank",
        paragraphs=(
            (
                "Per mapped bank account: drift = statement balance - ledger balance, explained by "
                f"the open reconciling items; {unexplained:,} account-day(s) with an unexplained "
                "remainder."
            ),
            *(f"Not proven: {line}" for line in drift.coverage.unproven),
        ),
        figures=figures,
        tables=(_narrow(tables.named("Drift daily"), _DRIFT_SHOWN),),
    )


_DRIFT_SHOWN = (
    "account_ref",
    "asset_id",
    "day",
    "ledger",
    "external",
    "drift",
    "explained",
    "unexplained",
    "stale",
    "material",
)
"""The drift columns the report shows; the workpaper and the CSV/Parquet tables have all."""


def _narrow(table: Table, columns: Sequence[str]) -> Table:
    """The same table with fewer columns (its scale column kept for the money ones)."""
    keep = [c for c in columns if c in table.frame.columns]
    money = tuple(c for c in table.money if c in keep)
    frame = table.frame.select(*keep, table.scale) if money else table.frame.select(keep)
    return Table(table.name, frame, money, table.scale)


def _ledger_rollup(close: MonthEndClose, tables: CloseTables) -> Section:
    tb = close.trial_balance
    paragraphs = [f"Trial balance totals zero per ledger and asset: {tb.balanced}."]
    names = ["Trial balance", "Trial balance totals"]
    journals = close.journals
    if journals is None:
        paragraphs.append("No GL mapping was given: no summary journals.")
    else:
        paragraphs.append(
            f"Summary journals ({journals.granularity}, mapping {journals.mapping_version}): "
            f"{journals.totals.height:,} journal(s) of {journals.lines.height:,} line(s); "
            f"every journal balances per currency: {journals.balanced}; "
            f"the journals tie out to the trial balance: {journals.ties_out}."
        )
        names += ["Journal lines", "Journal totals", "Tie-out"]
    return Section(
        "Trial balance and ERP rollup",
        paragraphs=tuple(paragraphs),
        tables=tuple(tables.named(n) for n in names),
    )


class _Html:
    """An HTML fragment Jupyter displays (``_repr_html_``) without importing IPython."""

    def __init__(self, heading: str, html: str) -> None:
        self.heading = heading
        self.html = html

    def __repr__(self) -> str:  # the text/plain fallback: no memory address in the notebook
        return f"<report section: {self.heading}>"

    def _repr_html_(self) -> str:
        return self.html


def show_section(sections: Sequence[Section], heading: str, *, max_rows: int = 50) -> _Html:
    """One section as the report shows it, for a notebook cell (charts need no network)."""
    for number, section in enumerate(sections, start=1):
        if section.heading.startswith(heading):
            first = next((n for n, s in enumerate(sections, start=1) if s.figures), 0)
            html = render_section(
                number, section, include_plotlyjs=number == first, max_rows=max_rows
            )
            return _Html(section.heading, html)
    raise KeyError(heading)
