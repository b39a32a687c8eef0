"""``--adapter modern-treasury``: a folder of Modern Treasury list-endpoint JSON as the ledger.

``ledgers``, ``ledger_accounts`` and ``ledger_transactions`` (with their ``ledger_entries``)
are required; ``ledger_transaction_versions`` and ``ledger_account_statements`` are read
when present. Every record is validated with the official ``modern_treasury`` SDK's models.
This is code, not a mapping: the records are nested JSON, versions carry entry snapshots,
and statements are assertions. See docs/adapters/modern-treasury.md.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources.adapters.adapted import Adapted
from ledger_audit.sources.adapters.modern_treasury import canonical, native, rows
from ledger_audit.sources.adapters.modern_treasury.pages import (
    NAME,
    OPTIONAL,
    endpoint_files,
    read_all,
    require_folder,
)
from ledger_audit.sources.conform import conform_table
from ledger_audit.sources.ledger_frames import LedgerFrames, LoadReport, TableCount

__all__ = ["NAME", "check", "load"]

NOT_CARRIED = (
    (
        "Modern Treasury exposes no hash chain or proof over its event log: the transaction "
        "history is not proven beyond this run's own seal"
    ),
    (
        "Modern Treasury's idempotency keys are not part of the API's objects: idempotency "
        "is not proven (external_id uniqueness is checked instead)"
    ),
    (
        "Modern Treasury has no no-negative flag on an account (balance locks are per "
        "request): every account allows a negative balance here"
    ),
    ("Modern Treasury's times are microseconds: instants finer than that cannot be told apart"),
)


def check(source: str | Path) -> None:
    """Raise InputError unless ``source`` holds the required list-endpoint files."""
    require_folder(source)


def _notes(built: canonical.Built, folder: Path) -> tuple[str, ...]:
    notes = list(NOT_CARRIED)
    missing = [e for e in OPTIONAL if endpoint_files(folder, e) is None]
    if "ledger_transaction_versions" in missing:
        notes.append(
            "no ledger_transaction_versions: each transaction is its current state only, so "
            "pending edits, posts and archives before it are not proven"
        )
    elif built.unversioned:
        notes.append(
            f"{built.unversioned} transaction(s) have no version in the export: read from "
            "their current state only"
        )
    if built.folded_archives:
        notes.append(
            f"{built.folded_archives} archived version(s) of partially posted transactions "
            "are left out: the partial post resolves its pending transaction"
        )
    return tuple(notes)


def load(source: str | Path) -> Adapted:
    """Read the export folder (read-only) into canonical frames and the native checks."""
    folder = require_folder(source)
    pages = read_all(folder)
    built = canonical.build(pages)
    label = str(folder)
    conformed = {
        table: conform_table(
            built.tables[table], table, source=f"{label} ({table})", locate_by="key"
        )
        for table in CANONICAL_TABLES
    }
    frames = LedgerFrames.from_tables({table: c.frame for table, c in conformed.items()})
    report = LoadReport(
        source=label,
        counts=tuple(c.count for c in conformed.values()),
        rejections=pl.concat(
            [
                *(page.rejections for page in pages.values()),
                *(c.rejections for c in conformed.values()),
            ]
        ),
        source_counts=tuple(
            TableCount(
                f"{NAME}.{endpoint}",
                read=page.read,
                loaded=page.read - page.rejected,
                rejected=page.rejected,
            )
            for endpoint, page in pages.items()
        ),
        notes=_notes(built, folder),
    )
    statements = rows.statements(pages["ledger_account_statements"])
    present = endpoint_files(folder, "ledger_account_statements") is not None
    return Adapted(
        NAME,
        frames,
        report,
        (
            native.statements_check(frames, statements, present=present),
            native.running_check(built),
            native.consistency_check(frames, built, statements),
        ),
    )
