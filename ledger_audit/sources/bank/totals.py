"""Statement totals: opening balance + booked movements = closing balance, per statement.

The opening is the statement's first OPBD (else its first PRCD, "previously closed
booked"); the closing is its last CLBD. A statement with no opening or no closing states
nothing to verify. Only records with status ``BOOK`` and the opening's asset move the
balance. Amounts in findings are minor units followed by the asset id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import polars as pl

from ledger_audit.findings import Finding, RuleId, Severity
from ledger_audit.schema.frames import WIDE_AMOUNT

Row = dict[str, object]


class _Locating(Protocol):
    check: str

    def locator(self, line: int, where: str | None = None) -> str: ...


def _first(rows: Sequence[Row], kind: str) -> Row | None:
    return next((row for row in rows if row["kind"] == kind), None)


def _opening_closing(rows: Sequence[Row]) -> tuple[Row | None, Row | None]:
    opening = _first(rows, "OPBD") or _first(rows, "PRCD")
    closings = [row for row in rows if row["kind"] == "CLBD"]
    return opening, (closings[-1] if closings else None)


def _amount(row: Row) -> int:
    value = row["amount"]
    if not isinstance(value, int):
        raise TypeError("balance amount is not an integer")
    return value


def balance_findings(
    records: pl.DataFrame, balances: pl.DataFrame, where: _Locating
) -> list[Finding]:
    """One ``statement.balance_mismatch`` per statement whose totals do not add up."""
    by_statement: dict[object, list[Row]] = {}
    for row in balances.to_dicts():
        by_statement.setdefault(row["statement_id"], []).append(row)
    movements = (
        records.filter(pl.col("status") == "BOOK")
        .group_by("statement_id", "asset_id")
        # Decimal(38, 0): exact, where an Int64 sum of a long statement could wrap around
        .agg(pl.col("amount").cast(WIDE_AMOUNT).sum().alias("movement"), pl.len().alias("n"))
    )
    totals = {(r["statement_id"], r["asset_id"]): r for r in movements.to_dicts()}
    findings: list[Finding] = []
    for statement_id, rows in by_statement.items():
        opening, closing = _opening_closing(rows)
        if opening is None or closing is None:
            continue
        asset = opening["asset_id"]
        line = closing["line"]
        if not isinstance(line, int):
            raise TypeError("balance line is not an integer")
        if closing["asset_id"] != asset:
            findings.append(
                Finding(
                    rule=RuleId.STATEMENT_BALANCE_MISMATCH,
                    severity=Severity.HIGH,
                    ledger_id=None,
                    locator=where.locator(line),
                    message=(
                        f"statement {statement_id}: the closing balance is in "
                        f"{closing['asset_id']} but the opening balance is in {asset}"
                    ),
                    expected=str(asset),
                    actual=str(closing["asset_id"]),
                    check=where.check,
                    asset_id=str(asset),
                )
            )
            continue
        total = totals.get((statement_id, asset), {"movement": 0, "n": 0})
        movement = int(str(total["movement"]))
        expected = _amount(opening) + movement
        actual = _amount(closing)
        if expected != actual:
            findings.append(
                Finding(
                    rule=RuleId.STATEMENT_BALANCE_MISMATCH,
                    severity=Severity.HIGH,
                    ledger_id=None,
                    locator=where.locator(line),
                    message=(
                        f"statement {statement_id}: opening {_amount(opening)} + "
                        f"{total['n']} booked movement(s) {movement} = {expected} {asset}, "
                        f"but the closing balance is {actual}"
                    ),
                    expected=f"{expected} {asset}",
                    actual=f"{actual} {asset}",
                    difference=f"{actual - expected} {asset}",
                    check=where.check,
                    asset_id=str(asset),
                )
            )
    return findings
