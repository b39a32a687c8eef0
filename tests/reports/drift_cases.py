"""Small drift cases written in the tests: a text ledger, a few statement balances, breaks.

The ledger (``assets:bank``, USD/2, mapped from bank account ``ACC`` by ``RULES``)::

    day 0  t1  +100.00  deposit, on the statement the same day
    day 1  t2   -40.00  withdrawal, on the statement on day 2
    day 2  t3   -30.00  withdrawal the bank has not booked: in transit
    day 3  t4    +5.00  deposit the bank never receives: missing external

and the bank charges a fee of 0.25 on day 2 that the ledger does not book (missing
internal). Statement closing balances: day 0 100.00, day 1 100.00, day 2 59.75, then 59.75.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from ledger_audit.findings import FINDINGS_SCHEMA, Coverage
from ledger_audit.reconcile.aging import aging
from ledger_audit.reconcile.breaks import BREAK_SCHEMA, CLASS_RULES
from ledger_audit.reconcile.match import LINK_SCHEMA, MATCH_SCHEMA, RATE_SCHEMA, Reconciliation
from ledger_audit.sources.bank.records import BALANCE_SCHEMA, RECORD_SCHEMA
from ledger_audit.sources.ledger_frames import LedgerFrames
from tests.reconcile.helpers import HEADER, RULES, day, tx
from tests.text_ledger import ledger_from_text

__all__ = ["RULES", "day"]

Match = tuple[dict[str, Any], list[dict[str, Any]]]
"""A match row and its link rows."""

LEDGER = (
    "ledger l\n"
    + HEADER
    + "\n".join(
        [
            tx("t1", 10_000, 0, ext="e1"),
            tx("t2", -4_000, 1, ext="e2"),
            tx("t3", -3_000, 2, ext="e3"),
            tx("t4", 500, 3, ext="e4"),
        ]
    )
)


def frames() -> LedgerFrames:
    """The case's ledger."""
    return ledger_from_text(LEDGER)


def balances(*closing: tuple[int, int], kind: str = "CLBD") -> pl.DataFrame:
    """Statement balances of ``ACC``: (day, amount) pairs of one kind."""
    return pl.DataFrame(
        [
            {
                "source": "canonical",
                "file": "bank.csv",
                "line": number,
                "statement_id": "s1",
                "account_ref": "ACC",
                "asset_id": "USD/2",
                "kind": kind,
                "intermediate": False,
                "date": day(on),
                "amount": amount,
            }
            for number, (on, amount) in enumerate(closing, start=1)
        ],
        schema=BALANCE_SCHEMA,
    )


STATEMENT = ((0, 10_000), (1, 10_000), (2, 5_975), (3, 5_975), (4, 5_975))
"""The case's closing balances, days 0 to 4."""


def record(ident: str, amount: int, on: int, *, ref: str | None = None) -> dict[str, Any]:
    """One bank record of ``ACC`` in ``bank.csv``."""
    row: dict[str, Any] = dict.fromkeys(RECORD_SCHEMA)
    row.update(
        source="canonical",
        file="bank.csv",
        line=int(ident.removeprefix("r")),
        record_id=ident,
        statement_id="s1",
        account_ref="ACC",
        asset_id="USD/2",
        amount=amount,
        booking_date=day(on),
        status="BOOK",
        reversal=False,
        customer_ref=ref,
    )
    return row


RECORDS = pl.DataFrame(
    [
        record("r1", 10_000, 0, ref="e1"),
        record("r2", -4_000, 2, ref="e2"),
        record("r3", -25, 2),
    ],
    schema=RECORD_SCHEMA,
)
"""The case's bank lines: r1 and r2 pay t1 and t2, r3 is the fee."""


def brk(side: str, ident: str, amount: int, on: int, cls: str) -> dict[str, Any]:
    """One break row: ``ident`` is a transaction id (internal) or a record id (external)."""
    internal = side == "internal"
    return {
        "side": side,
        "item_id": f"l:{ident}:0:0" if internal else ident,
        "file": None if internal else "bank.csv",
        "line": None if internal else int(ident.removeprefix("r")),
        "ledger_id": "l" if internal else None,
        "transaction_id": ident if internal else None,
        "version": 0 if internal else None,
        "account_ref": "ACC",
        "account_id": "assets:bank",
        "asset_id": "USD/2",
        "amount": amount,
        "date": day(on),
        "age_days": 10 - on,
        "bucket": "8-30",
        "class": cls,
        "rule": CLASS_RULES[cls],
        "counterpart": None,
        "difference": None,
    }


BREAKS = (
    brk("internal", "t3", -3_000, 2, "in_transit"),
    brk("internal", "t4", 500, 3, "missing_external"),
    brk("external", "r3", -25, 2, "missing_internal"),
)
"""The case's breaks."""


def match(
    match_id: str, status: str, internal: list[tuple[str, int]], external: list[tuple[str, int]]
) -> Match:
    """A match row and its links: (transaction id, amount) and (record id, amount) members."""
    total_i = sum(a for _, a in internal)
    total_x = sum(a for _, a in external)
    row = {
        "match_id": match_id,
        "stage": 1,
        "stage_name": "key",
        "rule": "key:test",
        "score": 1.0,
        "status": status,
        "account_ref": "ACC",
        "asset_id": "USD/2",
        "internal_count": len(internal),
        "external_count": len(external),
        "internal_amount": total_i,
        "external_amount": total_x,
        "difference": total_x - total_i,
    }
    links = [
        {
            "match_id": match_id,
            "side": "internal",
            "item_id": f"l:{t}:0:0",
            "file": None,
            "line": None,
        }
        for t, _ in internal
    ] + [
        {
            "match_id": match_id,
            "side": "external",
            "item_id": r,
            "file": "bank.csv",
            "line": int(r.removeprefix("r")),
        }
        for r, _ in external
    ]
    return row, links


def reconciliation(
    breaks: tuple[dict[str, Any], ...] = BREAKS,
    matches: tuple[Match, ...] = (),
    *,
    as_of: dt.date | None = None,
) -> Reconciliation:
    """A reconciliation holding exactly these breaks and matches."""
    frame = pl.DataFrame(list(breaks), schema=BREAK_SCHEMA)
    return Reconciliation(
        as_of=as_of or day(10),
        rules_version="test",
        matches=pl.DataFrame([m for m, _ in matches], schema=MATCH_SCHEMA),
        links=pl.DataFrame([link for _, ls in matches for link in ls], schema=LINK_SCHEMA),
        breaks=frame,
        aging=aging(frame),
        rates=pl.DataFrame(schema=RATE_SCHEMA),
        findings=pl.DataFrame(schema=FINDINGS_SCHEMA),
        coverage=Coverage(checked=0, unit="test", scope="test"),
    )
