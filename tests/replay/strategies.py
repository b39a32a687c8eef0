"""Random ledgers as frames, for replay properties: both version styles, out-of-order times.

Built directly as frames (not through the writer) so that the strange-but-legal orders a
real source can hold are covered too: a later version whose time is earlier than the one
before it, a separate ``post_pending`` recorded before its hold's effective time, and so on.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import strategies as st

from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.sources.ledger_frames import LedgerFrames

ACCOUNTS = {
    "assets:bank": "debit",
    "liabilities:wallet:a": "credit",
    "liabilities:wallet:b": "credit",
    "revenue:fees": "credit",
}
ASSETS = ("USD/2", "JPY/0")
SECOND = 1_000_000_000
HORIZON = 40  # times are whole seconds in [0, HORIZON]

Row = dict[str, Any]


def _frame(table: str, rows: list[Row]) -> pl.DataFrame:
    schema = FRAME_SCHEMAS[table]
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)


@st.composite
def _legs(draw: st.DrawFn) -> list[tuple[str, str, str, int]]:
    legs = []
    for _ in range(draw(st.integers(1, 2))):
        debit, credit = draw(st.permutations(list(ACCOUNTS)))[:2]
        asset, amount = draw(st.sampled_from(ASSETS)), draw(st.integers(1, 1_000))
        legs += [(debit, asset, "debit", amount), (credit, asset, "credit", amount)]
    return legs


@st.composite
def ledger_frames(draw: st.DrawFn) -> LedgerFrames:
    """A ledger of standard posts and holds (captured or voided in either style)."""
    tx_rows: list[Row] = []
    entry_rows: list[Row] = []

    def add(tx: str, version: int, kind: str, status: str, legs: list[Any], **extra: Any) -> None:
        effective = draw(st.integers(0, HORIZON)) * SECOND
        recorded = draw(st.integers(0, HORIZON)) * SECOND
        tx_rows.append(
            {
                "ledger_id": "l",
                "transaction_id": tx,
                "version": version,
                "kind": kind,
                "status": status,
                "effective_ns": effective,
                "recorded_ns": recorded,
                "chain_seq": len(tx_rows) + 1,
                **extra,
            }
        )
        entry_rows.extend(
            {
                "ledger_id": "l",
                "transaction_id": tx,
                "version": version,
                "entry_index": i,
                "account_id": account,
                "asset_id": asset,
                "direction": direction,
                "amount": amount,
            }
            for i, (account, asset, direction, amount) in enumerate(legs)
        )

    for n in range(draw(st.integers(1, 12))):
        tx, legs = f"t{n}", draw(_legs())
        shape = draw(st.sampled_from(["post", "hold", "capture", "void", "post_tx", "void_tx"]))
        if shape == "post":
            add(tx, 0, "standard", "posted", legs)
            continue
        add(tx, 0, "pending", "pending", legs)
        if shape == "capture":
            add(tx, 1, "post_pending", "posted", legs)
        elif shape == "void":
            add(tx, 1, "void_pending", "archived", legs)
        elif shape == "post_tx":
            add(f"{tx}p", 0, "post_pending", "posted", legs, pending_transaction_id=tx)
        elif shape == "void_tx":
            add(f"{tx}v", 0, "void_pending", "posted", [], pending_transaction_id=tx)
    accounts = [
        {"ledger_id": "l", "account_id": a, "name": a, "normal_balance": n, "allow_negative": True}
        for a, n in ACCOUNTS.items()
    ]
    empty = LedgerFrames.empty()
    return LedgerFrames.from_tables(
        {
            **dict(empty.items()),
            "accounts": _frame("accounts", accounts),
            "transactions": _frame("transactions", tx_rows).sort(
                "ledger_id", "transaction_id", "version"
            ),
            "entries": _frame("entries", entry_rows).sort(
                "ledger_id", "transaction_id", "version", "entry_index"
            ),
        }
    )
