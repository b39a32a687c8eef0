"""A clean month for JET tests, and single transactions to plant into it.

The clean month holds 24 standard transactions of one amount (12.34 USD), on six account
pairs four times each, four or more days apart, all on weekdays in business hours between
2 and 22 January 2025, posted by alice and approved by bob: nothing in it trips a JET rule
under :data:`PARAMS`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace

import polars as pl

from ledger_audit.analytics.jet.params import JetParams
from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period

LEDGER = "l"
USD = "USD/2"
BANK = "assets:bank"
PERIOD = Period.month("2025-01")
CLOSE = dt.datetime(2025, 2, 5, tzinfo=dt.UTC)
PARAMS = replace(
    JetParams(),
    timezone="UTC",
    holidays=(dt.date(2025, 1, 1),),
    close_at_ns=int(CLOSE.timestamp()) * 10**9,
)


def ns(day: int, hour: int = 10, minute: int = 0, month: int = 1) -> int:
    """2025-MM-DD HH:MM UTC in epoch nanoseconds."""
    return int(dt.datetime(2025, month, day, hour, minute, tzinfo=dt.UTC).timestamp()) * 10**9


@dataclass(frozen=True)
class Tx:
    """One transaction version to write (legs as (account, direction, amount))."""

    transaction_id: str
    created: int
    legs: tuple[tuple[str, str, int], ...]
    effective: int | None = None
    kind: str = "standard"
    description: str = "Card sales settlement"
    actor: str | None = "alice"
    approver: str | None = "bob"
    reverses: str | None = None
    version: int = 0


def move(debit: str, credit: str, amount: int) -> tuple[tuple[str, str, int], ...]:
    """Two legs moving ``amount`` minor units from ``credit`` to ``debit``."""
    return ((debit, "debit", amount), (credit, "credit", amount))


_WEEKDAYS = (2, 7, 13, 17, 3, 8, 14, 20, 6, 10, 15, 21, 2, 8, 13, 17, 3, 9, 14, 20, 6, 10, 15, 22)


def clean() -> list[Tx]:
    """The clean month (see the module docstring)."""
    txs = []
    for i, day in enumerate(_WEEKDAYS):
        pair = i // 4
        txs.append(Tx(f"c{i:02d}", ns(day, 9 + pair), move(BANK, f"revenue:r{pair}", 1234)))
    return txs


def frames(txs: list[Tx], *, skip_seq: int | None = None) -> LedgerFrames:
    """The canonical frames of ``txs`` (chain_seq in list order; ``skip_seq`` left out)."""
    rows: list[dict[str, object]] = []
    legs: list[dict[str, object]] = []
    for seq, tx in enumerate(txs, start=1):
        if seq == skip_seq:
            continue
        meta = {k: v for k, v in (("actor", tx.actor), ("approved_by", tx.approver)) if v}
        rows.append(
            {
                "ledger_id": LEDGER,
                "transaction_id": tx.transaction_id,
                "version": tx.version,
                "kind": tx.kind,
                "status": "posted",
                "reverses_transaction_id": tx.reverses,
                "effective_ns": tx.created if tx.effective is None else tx.effective,
                "recorded_ns": tx.created,
                "description": tx.description,
                "metadata": json.dumps(meta),
                "chain_seq": seq,
            }
        )
        legs.extend(
            {
                "ledger_id": LEDGER,
                "transaction_id": tx.transaction_id,
                "version": tx.version,
                "entry_index": i,
                "account_id": account,
                "asset_id": USD,
                "direction": direction,
                "amount": amount,
            }
            for i, (account, direction, amount) in enumerate(tx.legs)
        )
    accounts = sorted({str(leg["account_id"]) for leg in legs})
    tables: dict[str, list[dict[str, object]]] = {
        "ledgers": [{"ledger_id": LEDGER, "name": LEDGER, "created_ns": ns(1, 0)}],
        "assets": [{"asset_id": USD, "code": "USD", "scale": 2, "kind": "fiat"}],
        "accounts": [
            {
                "ledger_id": LEDGER,
                "account_id": a,
                "name": a,
                "normal_balance": "debit" if a.startswith(("assets", "expenses")) else "credit",
                "asset_id": USD,
                "allow_negative": True,
                "opened_ns": ns(1, 0),
            }
            for a in accounts
        ],
        "transactions": rows,
        "entries": legs,
        "balances": [],
    }
    keys = {
        "ledgers": ["ledger_id"],
        "assets": ["asset_id"],
        "accounts": ["ledger_id", "account_id"],
        "transactions": ["ledger_id", "transaction_id", "version"],
        "entries": ["ledger_id", "transaction_id", "version", "entry_index"],
        "balances": ["ledger_id", "account_id", "asset_id"],
    }
    return LedgerFrames.from_tables(
        {
            name: pl.DataFrame(
                [{c: r.get(c) for c in FRAME_SCHEMAS[name]} for r in table],
                schema=FRAME_SCHEMAS[name],
            ).sort(keys[name])
            for name, table in tables.items()
        }
    )
