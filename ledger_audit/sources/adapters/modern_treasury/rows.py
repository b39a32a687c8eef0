"""The SDK's validated records as polars frames.

This is the one step that walks records (the SDK's objects are Python objects); everything
after it is columnar.

Times are the API's ISO 8601 instants, microseconds at most, as UTC epoch nanoseconds.
Amounts and balance cells are Python ints, carried as decimal text so nothing beyond int64
is lost (``conform`` widens to Decimal(38, 0) where it must).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import polars as pl
from modern_treasury.types import LedgerAccount, LedgerTransaction
from modern_treasury.types.ledger_account_statement_retrieve_response import (
    LedgerAccountStatementRetrieveResponse,
)
from modern_treasury.types.ledger_transactions import LedgerTransactionVersion
from modern_treasury.types.shared.ledger_balance import LedgerBalance

from ledger_audit.sources.adapters.modern_treasury.pages import Page

_TIME = pl.Datetime("us", "UTC")


class _Stated(Protocol):
    """Any of the SDK's balance sets (account, entry, statement): posted and pending."""

    @property
    def posted_balance(self) -> LedgerBalance: ...

    @property
    def pending_balance(self) -> LedgerBalance: ...


CELLS = ("posted_debits", "posted_credits", "pending_debits", "pending_credits")
"""Balance cells as MT states them: its ``pending`` includes posted (converted later)."""


def ns(column: str) -> pl.Expr:
    """A datetime column as epoch nanoseconds (Int64)."""
    return pl.col(column).dt.epoch("ns")


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _cells(balances: _Stated | None) -> tuple[str | None, ...]:
    if balances is None:
        return (None, None, None, None)
    posted, pending = balances.posted_balance, balances.pending_balance
    return (str(posted.debits), str(posted.credits), str(pending.debits), str(pending.credits))


def ledgers(page: Page) -> pl.DataFrame:
    """``ledgers``: id, name, created_at, metadata (JSON text)."""
    return pl.DataFrame(
        {
            "id": [r.id for r in page.records],
            "name": [r.name for r in page.records],
            "created_at": [r.created_at for r in page.records],
            "metadata": [
                _json({"modern_treasury": {"description": r.description, "metadata": r.metadata}})
                for r in page.records
            ],
        },
        schema={"id": pl.String, "name": pl.String, "created_at": _TIME, "metadata": pl.String},
    )


def accounts(page: Page) -> pl.DataFrame:
    """``ledger_accounts`` with their stated balances (MT pending includes posted)."""
    records: tuple[LedgerAccount, ...] = page.records
    cells = [_cells(r.balances) for r in records]
    return pl.DataFrame(
        {
            "id": [r.id for r in records],
            "ledger_id": [r.ledger_id for r in records],
            "name": [r.name for r in records],
            "normal_balance": [str(r.normal_balance) for r in records],
            "currency": [r.balances.posted_balance.currency for r in records],
            "exponent": [r.balances.posted_balance.currency_exponent for r in records],
            "lock_version": [r.lock_version for r in records],
            "external_id": [r.external_id for r in records],
            "created_at": [r.created_at for r in records],
            "updated_at": [r.updated_at for r in records],
            "discarded_at": [r.discarded_at for r in records],
            "upper_bound": [r.balances.effective_at_upper_bound for r in records],
            "metadata": [
                _json({"modern_treasury": {"description": r.description, "metadata": r.metadata}})
                for r in records
            ],
            **{cell: [c[i] for c in cells] for i, cell in enumerate(CELLS)},
            "place": list(page.places),
        },
        schema={
            "id": pl.String,
            "ledger_id": pl.String,
            "name": pl.String,
            "normal_balance": pl.String,
            "currency": pl.String,
            "exponent": pl.Int64,
            "lock_version": pl.Int64,
            "external_id": pl.String,
            "created_at": _TIME,
            "updated_at": _TIME,
            "discarded_at": _TIME,
            "upper_bound": _TIME,
            "metadata": pl.String,
            **dict.fromkeys(CELLS, pl.String),
            "place": pl.String,
        },
    )


_VERSION_SCHEMA: dict[str, pl.DataType] = {
    "transaction_id": pl.String(),
    "mt_version": pl.Int64(),
    "ledger_id": pl.String(),
    "status": pl.String(),
    "created_at": _TIME,
    "effective_at": _TIME,
    "posted_at": _TIME,
    "external_id": pl.String(),
    "description": pl.String(),
    "reverses": pl.String(),
    "partially_posts": pl.String(),
    "metadata": pl.String(),
    "place": pl.String(),
}
_ENTRY_SCHEMA: dict[str, pl.DataType] = {
    "transaction_id": pl.String(),
    "mt_version": pl.Int64(),
    "position": pl.Int32(),
    "entry_id": pl.String(),
    "account_id": pl.String(),
    "currency": pl.String(),
    "exponent": pl.Int64(),
    "direction": pl.String(),
    "amount": pl.String(),
    "lock_version": pl.Int64(),
    **{f"resulting_{cell}": pl.String() for cell in CELLS},
}


def _meta(record: LedgerTransaction | LedgerTransactionVersion, version: int | None) -> str:
    return _json(
        {
            "modern_treasury": {
                "version": version,
                "metadata": record.metadata,
                "archived_reason": record.archived_reason,
                "ledgerable_type": record.ledgerable_type,
                "ledgerable_id": record.ledgerable_id,
            }
        }
    )


def versions(page: Page, *, current: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Version rows and their entries.

    From ``ledger_transaction_versions``, or with ``current`` from ``ledger_transactions``
    (the state now; ``mt_version`` null; discarded entries, which belong to older versions,
    left out).
    """
    rows: dict[str, list[Any]] = {name: [] for name in _VERSION_SCHEMA}
    legs: dict[str, list[Any]] = {name: [] for name in _ENTRY_SCHEMA}
    for record, place in zip(page.records, page.places, strict=True):
        tx_id = record.id if current else record.ledger_transaction_id
        version = None if current else record.version
        values = (
            tx_id,
            version,
            record.ledger_id,
            record.status,
            record.created_at,
            record.effective_at,
            record.posted_at,
            record.external_id,
            record.description,
            record.reverses_ledger_transaction_id,
            record.partially_posts_ledger_transaction_id,
            _meta(record, version),
            place,
        )
        for name, value in zip(_VERSION_SCHEMA, values, strict=True):
            rows[name].append(value)
        position = 0
        for entry in record.ledger_entries:
            if getattr(entry, "discarded_at", None) is not None:
                continue
            cells = _cells(entry.resulting_ledger_account_balances)
            entry_values = (
                tx_id,
                version,
                position,
                entry.id,
                entry.ledger_account_id,
                entry.ledger_account_currency,
                entry.ledger_account_currency_exponent,
                str(entry.direction),
                str(entry.amount),
                entry.ledger_account_lock_version,
                *cells,
            )
            for name, value in zip(_ENTRY_SCHEMA, entry_values, strict=True):
                legs[name].append(value)
            position += 1
    return (
        pl.DataFrame(rows, schema=_VERSION_SCHEMA),
        pl.DataFrame(legs, schema=_ENTRY_SCHEMA),
    )


def statements(page: Page) -> pl.DataFrame:
    """``ledger_account_statements``: bounds, stated starting and ending cells."""
    records: tuple[LedgerAccountStatementRetrieveResponse, ...] = page.records
    start = [_cells(r.starting_balance) for r in records]
    end = [_cells(r.ending_balance) for r in records]
    return pl.DataFrame(
        {
            "id": [r.id for r in records],
            "ledger_id": [r.ledger_id for r in records],
            "account_id": [r.ledger_account_id for r in records],
            "normal_balance": [str(r.ledger_account_normal_balance) for r in records],
            "lower": [r.effective_at_lower_bound for r in records],
            "upper": [r.effective_at_upper_bound for r in records],
            "created_at": [r.created_at for r in records],
            **{f"start_{c}": [s[i] for s in start] for i, c in enumerate(CELLS)},
            **{f"end_{c}": [e[i] for e in end] for i, c in enumerate(CELLS)},
            "place": list(page.places),
        },
        schema={
            "id": pl.String,
            "ledger_id": pl.String,
            "account_id": pl.String,
            "normal_balance": pl.String,
            "lower": _TIME,
            "upper": _TIME,
            "created_at": _TIME,
            **{f"start_{c}": pl.String for c in CELLS},
            **{f"end_{c}": pl.String for c in CELLS},
            "place": pl.String,
        },
    )
