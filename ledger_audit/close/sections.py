"""What the close shows and ships: its report sections and its tables.

``close_tables`` names every table of a close with its money columns declared, in the order
the workpaper's sheets and the bundle's CSV/Parquet files take; ``close_sections`` arranges
them with text and charts into the sections of ``report.html``, which the close notebook
also shows one by one (``show_section``), so what the notebook showed and what the report
says are the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from ledger_audit.close.analytics_section import analytics_section, analytics_tables
from ledger_audit.close.flux_benford_section import flux_benford_section, flux_benford_tables
from ledger_audit.close.run import MonthEndClose
from ledger_audit.close.summary import key_figures
from ledger_audit.exports.html_report import Section, render_section
from ledger_audit.exports.signoffs import ROLES, SignOffStatus
from ledger_audit.exports.tables import DEBIT_CREDIT_NOTE, Table, report_tables
from ledger_audit.exports.workpaper import MAX_ROWS
from ledger_audit.replay.balances import SUM_AMOUNT
from ledger_audit.reports.bank_reconciliation import BankReconciliation
from ledger_audit.reports.trial_balance import asset_scale, by_gl_account
from ledger_audit.viz.balances import findings_figure
from ledger_audit.viz.drift import drift_lines


@dataclass(frozen=True, slots=True, eq=False)
class CloseTables:
    """The close's tables: those for people (workpaper sheets, report) and data-only ones.

    Attributes:
        sheets: tables the workpaper gets a sheet for and the report may show.
        data: tables of a row per match, link or ledger entry, and any table longer than
            Excel's rows: CSV and Parquet only.
        statements: the bank reconciliation statement of each bank account, one sheet
            each, first in the workpaper and in the report (``tables/`` has them in long
            form: ``bank_reconciliation`` and ``bank_reconciliation_items``).
    """

    sheets: tuple[Table, ...]
    data: tuple[Table, ...]
    statements: tuple[Table, ...] = ()

    def named(self, name: str) -> Table:
        """One table by name."""
        for table in (*self.statements, *self.sheets, *self.data):
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
    statements: tuple[Table, ...] = ()
    if close.bank_reconciliation is not None:
        bank = close.bank_reconciliation
        statements = statement_tables(bank)
        sheets.append(
            Table(
                "Bank rec items",
                bank.items,
                ("amount", "effect"),
                note=(
                    "The open items behind each statement line: amount as the bank or the "
                    "ledger states it (money into the account positive), effect what it adds "
                    "to its line."
                ),
            )
        )
        data.append(Table("Bank reconciliation", bank.statement, ("amount",)))
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
    if close.mapping is not None:
        sheets.append(
            Table(
                "Trial balance by GL",
                by_gl_account(close.trial_balance, close.mapping),
                ("opening", "debits", "credits", "closing"),
                debit_credit=("opening", "closing"),
                note=DEBIT_CREDIT_NOTE,
            )
        )
    sheets += [t for t in tables if t.name != "Journal drill-down"]
    data += [t for t in tables if t.name == "Journal drill-down"]
    if close.analytics is not None:
        analytic_sheets, analytic_data = analytics_tables(close.analytics)
        sheets += analytic_sheets
        data += analytic_data
        sheets += flux_benford_tables(close.analytics)
    # a sheet longer than Excel allows ships as CSV and Parquet only (the manifest lists them)
    too_long = [t for t in sheets if t.frame.height >= MAX_ROWS]
    return CloseTables(
        sheets=tuple(t for t in sheets if t not in too_long),
        data=(*data, *too_long),
        statements=statements,
    )


STATEMENT_NOTE = (
    "Each line is signed as it moves the bank balance to the ledger balance (money into the "
    "account positive); the explained lines add up to the difference."
)


def statement_name(account_ref: str, asset_id: str, taken: set[str]) -> str:
    """A workpaper sheet name for one account's statement: ``Rec USD US00DEMO...``."""
    code = asset_id.split("/", 1)[0]
    ref = re.sub(r"[\[\]:*?/\\']", "-", account_ref)
    name = f"Rec {code} {ref}"
    if len(name) > _SHEET_NAME:
        name = f"Rec {code} ~{ref[-(_SHEET_NAME - len(code) - 6) :]}"
    base, number = name, 2
    while name.casefold() in taken:
        suffix = f" {number}"
        name, number = base[: _SHEET_NAME - len(suffix)] + suffix, number + 1
    taken.add(name.casefold())
    return name


_SHEET_NAME = 31


def statement_tables(bank: BankReconciliation) -> tuple[Table, ...]:
    """One table per bank account and asset: its reconciliation statement's lines."""
    taken: set[str] = set()
    tables = []
    for ledger_id, account_id, account_ref, asset_id in bank.accounts():
        lines = bank.statement.filter(
            (pl.col("ledger_id") == ledger_id)
            & (pl.col("account_id") == account_id)
            & (pl.col("account_ref") == account_ref)
            & (pl.col("asset_id") == asset_id)
        ).select("label", "date", "amount", "items", "asset_id", "scale")
        tables.append(
            Table(
                statement_name(account_ref, asset_id, taken),
                lines,
                ("amount",),
                note=f"{account_id} at bank account {account_ref}, {asset_id}. {STATEMENT_NOTE}",
            )
        )
    return tuple(tables)


INLINE_ROWS = 20
"""Rows a long table shows inline in the report; the rest are in the workpaper and tables/."""

FINDING_COLUMNS = ("severity", "rule", "message", "difference")
"""The findings columns the report shows (the workpaper and tables/findings.* have all)."""


def close_sections(
    close: MonthEndClose,
    tables: CloseTables | None = None,
    *,
    signoffs: Sequence[SignOffStatus] = (),
) -> tuple[Section, ...]:
    """The report's sections, in the order a controller reads them.

    ``signoffs``: the close's sign-offs held against its bundle (shown in the summary).
    """
    tables = tables or close_tables(close)
    return (
        _summary(close, signoffs),
        _exceptions(close),
        _bank_reconciliation(close, tables),
        _ledger_rollup(close, tables),
        _reconciliation(close, tables),
        _drift(close, tables),
        _integrity(close, tables),
        analytics_section(close.analytics, tables.named, close.parameters.jet_rules),
        flux_benford_section(close.analytics, tables.named),
        Section(
            "Checks",
            paragraphs=("Every check of the close: its status and what it examined.",),
            tables=(tables.named("Checks"),),
        ),
    )


def title(close: MonthEndClose) -> str:
    """The report's title."""
    return f"Month-end close {close.parameters.period}"


def _summary(close: MonthEndClose, signoffs: Sequence[SignOffStatus]) -> Section:
    return Section(
        "Summary",
        tables=(
            Table(
                "Close at a glance",
                key_figures(close),
                note=(
                    "Amounts in their currency; drift is bank minus ledger, the unreconciled "
                    "amount the bank reconciliation statements' differences."
                ),
            ),
            _signoff_table(signoffs),
        ),
    )


def _signoff_table(signoffs: Sequence[SignOffStatus]) -> Table:
    rows = [
        (s.signoff.role, s.signoff.name, s.signoff.signed_on, s.state, "; ".join(s.changed))
        for s in signoffs
    ]
    frame = pl.DataFrame(
        rows or [(role, "", "", "not signed", "") for role in ROLES],
        schema={
            "role": pl.String(),
            "name": pl.String(),
            "signed on": pl.String(),
            "status": pl.String(),
            "what changed since": pl.String(),
        },
        orient="row",
    )
    note = (
        "Each sign-off is bound to the bundle's table digests and chain checkpoint: stale "
        "means a number changed after it was signed."
        if signoffs
        else "Not signed yet: ledger-audit signoff BUNDLE --role preparer|reviewer --name NAME."
    )
    return Table("Sign-off", frame, note=note)


def _exceptions(close: MonthEndClose) -> Section:
    figures = (findings_figure(close.findings_by_rule()),) if close.findings.height else ()
    return Section(
        "Exceptions",
        paragraphs=(
            (
                "Every finding of the close, most severe first (critical, high, medium, low, "
                "info), then by amount, largest first. The workpaper's Findings sheet has "
                "every column, with disposition and reviewer columns to fill in."
            ),
        ),
        tables=(
            Table(
                "Findings",
                close.readable.select(FINDING_COLUMNS),
                limit=INLINE_ROWS,
            ),
        ),
        figures=figures,
    )


def _bank_reconciliation(close: MonthEndClose, tables: CloseTables) -> Section:
    bank = close.bank_reconciliation
    if bank is None:
        return Section("Bank reconciliation", paragraphs=("No statements were given: not run.",))
    return Section(
        "Bank reconciliation",
        paragraphs=(
            (
                f"Per bank account and currency at {bank.as_of.isoformat()}: the balance per "
                "bank statement, plus deposits in transit, less outstanding payments, plus or "
                "minus bank items the ledger has not booked, equals the balance per ledger; a "
                "difference is explained by break class. "
                + (
                    "Every account reconciles to a difference of zero."
                    if bank.reconciled
                    else "Not every account reconciles: see the difference lines."
                )
            ),
        ),
        tables=(
            *tables.statements,
            _narrow(tables.named("Bank rec items"), _ITEMS_SHOWN, limit=INLINE_ROWS),
        ),
    )


_ITEMS_SHOWN = ("account_ref", "line", "class", "date", "amount", "effect", "item_id")


def _integrity(close: MonthEndClose, tables: CloseTables) -> Section:
    unproven = [f"Not proven: {line}" for r in close.audit.results for line in r.coverage.unproven]
    heads = [
        f"Chain checkpoint {c.ledger_id}: seq {c.seq:,}, head {c.head_hash}, {c.row_count:,} rows."
        for c in close.audit.checkpoints
    ]
    integrity = tables.named("Integrity")
    found = Table(
        "Integrity",
        integrity.frame.filter(pl.col("count") > 0),
        note="Rules with findings; the workpaper's Integrity sheet lists every rule run.",
        limit=INLINE_ROWS,
        full="Integrity",
    )
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
        tables=(found,),
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
                f"Ledger items on mapped bank accounts against {len(close.parameters.statements)} "
                f"statement file(s): {recon.matches.height:,} match(es), "
                f"{recon.breaks.height:,} break(s), aged as of {recon.as_of.isoformat()} "
                f"(rules {recon.rules_version})."
            ),
            (
                f"Processor payouts tied out three ways (gross, fees and refunds against the "
                f"ledger, net against the bank line): {tied:,} of {recon.payouts.height:,} tie."
            ),
            *(f"Not proven: {line}" for line in recon.coverage.unproven),
        ),
        tables=(
            _narrow(tables.named("Match rates"), _RATES_SHOWN),
            _narrow(tables.named("Breaks"), _BREAKS_SHOWN, limit=INLINE_ROWS),
            _narrow(tables.named("Aging"), _AGING_SHOWN, limit=INLINE_ROWS),
            _narrow(tables.named("Payouts"), _PAYOUTS_SHOWN, limit=10),
        ),
    )


_RATES_SHOWN = ("stage_name", "status", "matches", "internal_share", "external_share")
_BREAKS_SHOWN = ("account_ref", "side", "date", "class", "amount", "bucket", "item_id")
_AGING_SHOWN = ("account_ref", "side", "class", "bucket", "count", "amount")
_PAYOUTS_SHOWN = ("payout_id", "date", "gross", "fees", "payout", "bank_amount", "status")


def _drift(close: MonthEndClose, tables: CloseTables) -> Section:
    drift = close.drift
    if drift is None:
        return Section("Drift", paragraphs=("No statements were given: not run.",))
    accounts = drift.daily.select("account_id", "asset_id").unique().sort("account_id", "asset_id")
    figures = tuple(drift_lines(drift, a, s) for a, s in accounts.iter_rows())
    unexplained = drift.daily.filter(pl.col("unexplained") != 0).height
    daily = tables.named("Drift daily")
    end = Table(
        "Drift at period end",
        daily.frame.filter(pl.col("day") == drift.last_day),
        daily.money,
        full="Drift daily",
    )
    return Section(
        "Drift: ledger against bank",
        paragraphs=(
            (
                "Per mapped bank account: drift = statement balance - ledger balance, explained by "
                f"the open reconciling items; {unexplained:,} account-day(s) with an unexplained "
                "remainder. The table shows the period's last day; the workpaper's Drift daily "
                "sheet has every day."
            ),
            *(f"Not proven: {line}" for line in drift.coverage.unproven),
        ),
        figures=figures,
        tables=(_narrow(end, _DRIFT_SHOWN),),
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
)
"""The drift columns the report shows; the workpaper and the CSV/Parquet tables have all."""


def _narrow(table: Table, columns: Sequence[str], *, limit: int | None = None) -> Table:
    """The same table with fewer columns (its scale and asset kept for the money ones)."""
    keep = [c for c in columns if c in table.frame.columns]
    money = tuple(c for c in table.money if c in keep)
    extra = [c for c in (table.asset, table.scale) if money and c in table.frame.columns]
    frame = table.frame.select(*keep, *(c for c in extra if c not in keep))
    return Table(
        table.name,
        frame,
        money,
        table.scale,
        percent=tuple(c for c in table.percent if c in keep),
        debit_credit=tuple(c for c in table.debit_credit if c in keep),
        asset=table.asset,
        note=table.note,
        limit=limit or table.limit,
        full=table.full or table.name,
    )


def _ledger_rollup(close: MonthEndClose, tables: CloseTables) -> Section:
    tb = close.trial_balance
    accounts = tb.rows.height
    paragraphs = [
        (
            f"Trial balance in balance (every ledger and currency totals zero): "
            f"{'yes' if tb.balanced else 'NO'}. {accounts:,} account x currency rows: the "
            "workpaper's Trial balance sheet and tables/trial_balance.csv."
        )
    ]
    shown: list[Table] = []
    journals = close.journals
    if journals is None:
        paragraphs.append("No GL mapping was given: the trial balance by ledger account.")
        shown.append(_narrow(tables.named("Trial balance"), _TB_SHOWN, limit=INLINE_ROWS))
    else:
        shown.append(tables.named("Trial balance by GL"))
        paragraphs.append(
            f"Summary journals ({journals.granularity}, mapping {journals.mapping_version}): "
            f"{journals.totals.height:,} journal(s) of {journals.lines.height:,} line(s); "
            "every journal balances per currency: "
            f"{'yes' if journals.balanced else 'NO'}; "
            f"the journals tie out to the trial balance: {'yes' if journals.ties_out else 'NO'}."
        )
        shown.append(_narrow(tables.named("Journal totals"), _JOURNALS_SHOWN, limit=INLINE_ROWS))
    shown.append(tables.named("Trial balance totals"))
    return Section(
        "Trial balance by GL account" if journals is not None else "Trial balance",
        paragraphs=tuple(paragraphs),
        tables=tuple(shown),
    )


_TB_SHOWN = ("account_id", "asset_id", "opening", "debits", "credits", "closing")
_JOURNALS_SHOWN = ("journal_id", "journal_date", "asset_id", "lines", "debits", "credits")


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
