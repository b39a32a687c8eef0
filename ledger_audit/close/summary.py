"""The close's one-screen summary: the figures a controller reads first, in that order.

Period, ledger, chain checkpoint, verdict, findings by severity, the unreconciled amount per
currency (the bank reconciliation statements' differences), drift at the period's end per
bank account, and whether the trial balance is in balance. Every figure is computed from the
same values the report's tables show (the bank reconciliation statement, the drift report's
period-end row, the findings), so the summary can never say something the tables do not.
"""

from __future__ import annotations

from collections import defaultdict

import polars as pl

from ledger_audit.close.run import MonthEndClose
from ledger_audit.findings import Severity
from ledger_audit.money import format_money

VERDICT_FAILS = "Not ready to sign"
VERDICT_REVIEW = "Exceptions to review"
VERDICT_CLEAN = "Clean"


def severity_counts(findings: pl.DataFrame) -> dict[str, int]:
    """Findings per severity, every severity present (most severe first)."""
    counted = dict(findings.group_by("severity").len().iter_rows())
    return {str(s): int(counted.get(str(s), 0)) for s in Severity}


def verdict(close: MonthEndClose) -> str:
    """One line: can this close be signed as it stands?"""
    counts = severity_counts(close.findings)
    unreconciled = [v for v in unreconciled_by_currency(close).values() if v != 0]
    if counts["critical"]:
        return f"{VERDICT_FAILS}: {counts['critical']:,} critical finding(s)"
    if counts["high"] or unreconciled or not close.trial_balance.balanced:
        reasons = [f"{counts['high']:,} high finding(s)"] if counts["high"] else []
        if unreconciled:
            reasons.append(f"{len(unreconciled):,} currency(ies) not reconciled")
        if not close.trial_balance.balanced:
            reasons.append("the trial balance is out of balance")
        return f"{VERDICT_REVIEW}: {', '.join(reasons)}"
    return f"{VERDICT_CLEAN}: no critical or high finding, every bank account reconciles"


def unreconciled_by_currency(close: MonthEndClose) -> dict[str, int]:
    """The bank reconciliation statements' differences summed per asset (minor units)."""
    bank = close.bank_reconciliation
    if bank is None:
        return {}
    totals: dict[str, int] = defaultdict(int)
    rows = bank.statement.filter(pl.col("line") == "difference").select("asset_id", "amount")
    for asset_id, amount in rows.iter_rows():
        totals[str(asset_id)] += 0 if amount is None else int(amount)
    return dict(sorted(totals.items()))


def key_figures(close: MonthEndClose) -> pl.DataFrame:
    """The summary as (figure, value) text rows, in reading order."""
    p = close.parameters
    tb = close.trial_balance
    counts = {c.table: c.loaded for c in close.load.counts}
    ledgers = ", ".join(sorted(set(tb.rows["ledger_id"].to_list()))) or "-"
    rows: list[tuple[str, str]] = [
        (
            "Period",
            f"{p.period} ({tb.period.first_day} to {tb.period.last_day}), {p.basis} basis",
        ),
        (
            "Ledger",
            (
                f"{ledgers} from {p.source}: {counts.get('transactions', 0):,} transaction "
                f"versions, {counts.get('entries', 0):,} entries, {close.load.rejected:,} "
                "rejected"
            ),
        ),
        ("Chain checkpoint", _checkpoints(close)),
        ("Verdict", verdict(close)),
        (
            "Findings by severity",
            ", ".join(f"{n:,} {s}" for s, n in severity_counts(close.findings).items()),
        ),
        ("Unreconciled per currency", _unreconciled(close)),
        ("Drift at period end", _drift(close)),
        (
            "Trial balance in balance",
            "yes: every ledger and currency totals zero"
            if tb.balanced
            else "NO: a ledger and currency does not total zero (see the trial balance)",
        ),
    ]
    if close.journals is not None:
        rows.append(
            (
                "Summary journals tie out",
                "yes" if close.journals.ties_out and close.journals.balanced else "NO",
            )
        )
    return pl.DataFrame(rows, schema={"figure": pl.String(), "value": pl.String()}, orient="row")


def _checkpoints(close: MonthEndClose) -> str:
    heads = [
        f"{c.ledger_id} seq {c.seq:,}, head {c.head_hash[:16]}" for c in close.audit.checkpoints
    ]
    return "; ".join(heads) or "none (the ledger has no chain)"


def _unreconciled(close: MonthEndClose) -> str:
    totals = unreconciled_by_currency(close)
    if not totals:
        return "not reconciled: no statements were given"
    return "; ".join(format_money(amount, asset) for asset, amount in totals.items())


def _drift(close: MonthEndClose) -> str:
    drift = close.drift
    if drift is None:
        return "not measured: no statements were given"
    end = drift.daily.filter(pl.col("day") == drift.last_day).sort("account_ref", "asset_id")
    parts = []
    for ref, asset, value, rest in end.select(
        "account_ref", "asset_id", "drift", "unexplained"
    ).iter_rows():
        if value is None:
            parts.append(f"{ref}: no statement balance")
            continue
        parts.append(
            f"{ref} {format_money(int(value), asset)} "
            f"(unexplained {format_money(int(rest or 0), asset)})"
        )
    return "; ".join(parts) or "no bank account"
