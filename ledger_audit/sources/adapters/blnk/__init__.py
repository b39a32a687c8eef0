"""``--adapter blnk``: a Blnk (blnkfinance/blnk) PostgreSQL database as the ledger.

Stage 1 (sources). Reads schema ``blnk`` in one read-only snapshot: balances become accounts
and stored balances, each transaction row two entries of ``precise_amount`` (source debited,
destination credited), inflight/commit/void rows the versions of one transaction. Blnk's own
evidence is checked while its rows are held: the global hash chain (every break, classified),
``amount`` against ``precise_amount``, cached balance totals, the transaction journal's
edits and deletions. docs/adapters/blnk.md has the
mapping, the chain's byte recipe and its golden vectors.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources.adapters.adapted import Adapted
from ledger_audit.sources.adapters.blnk.canonical import RawTables, build_raw
from ledger_audit.sources.adapters.blnk.chain_verify import verify_blnk_chain
from ledger_audit.sources.adapters.blnk.consistency import check_amounts, check_consistency
from ledger_audit.sources.adapters.blnk.journal import check_journal
from ledger_audit.sources.adapters.blnk.layout import (
    ADAPTER,
    BALANCES,
    LEDGERS,
    TRANSACTIONS,
    check_layout,
)
from ledger_audit.sources.adapters.blnk.read import BlnkRows, read_rows
from ledger_audit.sources.conform import conform_table
from ledger_audit.sources.ledger_frames import LedgerFrames, LoadReport, TableCount
from ledger_audit.sources.mapping import open_relations

__all__ = ["check", "load"]


def check(source: str | Path) -> None:
    """Raise InputError unless ``source`` is a Blnk database (reads no row)."""
    with open_relations(source) as opened:
        check_layout(opened)


def _notes(blnk: BlnkRows, raw: RawTables) -> tuple[str, ...]:
    notes = [
        (
            "Blnk keeps no per-account overdraft rule (allow_overdraft is per transaction): "
            "every account allows negative balances, so the no-negative rule is not proven"
        ),
        (
            "Blnk has no idempotency key beside the unique reference: idempotency is the "
            "reference's uniqueness"
        ),
        (
            "Blnk's per-row hash (amount as a Go float, before indicators resolve) is not "
            "checked; the hash chain seals the same fields exactly"
        ),
    ]
    if not blnk.has_effective:
        notes.append(
            "this Blnk database predates effective_date: the effective basis is created_at"
        )
    if not blnk.chained:
        notes.append(
            "this Blnk database predates the hash chain (migration 1781162328): its history "
            "is not proven by a chain"
        )
    set_aside = {status: n for status, n in raw.no_effect.items() if n}
    if set_aside:
        counted = ", ".join(f"{n} {status}" for status, n in sorted(set_aside.items()))
        notes.append(
            f"{counted} transaction row(s) have no ledger effect (requests queued, scheduled "
            "or rejected) and are read but not loaded"
        )
    return tuple(notes)


def load(source: str | Path) -> Adapted:
    """Read a Blnk database read-only into canonical frames and Blnk's own checks."""
    with open_relations(source) as opened:
        check_layout(opened)
        blnk = read_rows(opened)
    raw = build_raw(blnk)
    conformed = {
        table: conform_table(
            raw.tables[table], table, source=f"{blnk.label} ({ADAPTER} {table})", locate_by="key"
        )
        for table in CANONICAL_TABLES
    }
    frames = LedgerFrames.from_tables({table: c.frame for table, c in conformed.items()})
    rejections = [raw.rejections, *(c.rejections for c in conformed.values())]
    n_tx = blnk.transactions.height
    n_bal = blnk.balances.height
    source_counts = (
        TableCount(LEDGERS, blnk.ledgers.height, blnk.ledgers.height, 0),
        TableCount(BALANCES, n_bal, n_bal - raw.rejected_balances, raw.rejected_balances),
        TableCount(TRANSACTIONS, n_tx, n_tx - raw.rejected_transactions, raw.rejected_transactions),
    )
    report = LoadReport(
        source=blnk.label,
        counts=tuple(c.count for c in conformed.values()),
        rejections=pl.concat(rejections),
        source_counts=source_counts,
        notes=_notes(blnk, raw),
    )
    native = (
        verify_blnk_chain(blnk),
        check_amounts(raw.rows, blnk.label),
        check_consistency(blnk, raw.rows),
        check_journal(blnk),
    )
    return Adapted(ADAPTER, frames, report, native)
