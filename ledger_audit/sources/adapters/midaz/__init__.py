"""``--adapter midaz``: a Midaz (LerianStudio/midaz) transaction database read as the ledger.

Most of it is a source mapping of SQL queries (``mapping.py``): balances as accounts,
transactions with their status, DEBIT/CREDIT operations as entries, exact DECIMAL amounts, the
cached balances. In code: the asset scales (Midaz stores none) and the evidence only Midaz's
rows hold (``native.py``): every operation's available and on-hold balance before and after
and its balance versions, against the ``balance`` rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from ledger_audit.sources.adapters.adapted import Adapted
from ledger_audit.sources.adapters.layout import load_with_mapping, require_layout
from ledger_audit.sources.adapters.midaz.mapping import TABLES, mapping_text, resolve_scales
from ledger_audit.sources.adapters.midaz.native import (
    _BALANCE_COLUMNS,
    _OPERATION_COLUMNS,
    BALANCES,
    OPERATIONS,
    midaz_running,
)
from ledger_audit.sources.mapping import open_relations
from ledger_audit.sources.mapping.relations import RelationRef, RelationSource

NAME = "midaz"

NOTES = (
    "Midaz keeps no hash chain: its history before this run's seal is not proven",
    (
        "Midaz updates a transaction's status in place: earlier statuses (PENDING before "
        "APPROVED) leave no version, so status moves are not proven"
    ),
    (
        "Midaz keeps no effective date apart from created_at: the effective basis is the "
        "recorded basis"
    ),
    (
        "Midaz's idempotency keys live outside these tables (a cache): duplicate submissions "
        "are not proven"
    ),
    (
        "soft-deleted rows (deleted_at set) are read like the others: whether a deletion was "
        "legitimate is not proven"
    ),
    (
        "the onboarding tables (organization, ledger, account, asset) are not read: account "
        "names are the balances' aliases, and an 'external' account type allows a negative "
        "balance"
    ),
)
"""What the Midaz transaction tables cannot give, one sentence each."""

__all__ = ["NAME", "check", "load"]


def _require(opened: RelationSource) -> None:
    require_layout(
        NAME,
        opened,
        TABLES,
        hint="(Midaz transaction component, components/ledger/migrations/transaction "
        "000000-000031)",
    )


def check(source: str | Path) -> None:
    """Raise InputError unless ``source`` has Midaz's transaction tables; reads no row."""
    with open_relations(source) as opened:
        _require(opened)


def load(source: str | Path, *, scales: Mapping[str, int] | None = None) -> Adapted:
    """Read a Midaz transaction database, read-only, in one snapshot.

    ``scales`` gives the minor-unit digits of asset codes (``{"BTC": 8}``); a code without one
    takes its ISO 4217 scale, and a code that is neither has its rows rejected.
    """
    with open_relations(source) as opened:
        _require(opened)
        codes = opened.read(
            RelationRef(
                query="SELECT DISTINCT asset_code FROM balance UNION "
                "SELECT DISTINCT asset_code FROM operation"
            ),
            ("asset_code",),
        )
        statuses = opened.read(
            RelationRef(query='SELECT status, count(*) AS n FROM "transaction" GROUP BY status'),
            ("status", "n"),
        )
        resolved, unknown = resolve_scales(
            codes.get_column("asset_code").drop_nulls().cast(pl.String).to_list(), scales
        )
        notes = (
            NOTES
            + _status_notes(statuses)
            + tuple(
                f"asset {code!r} has no ISO 4217 scale and none was given: its balances and "
                "operations are rejected rows (give its scale to load them)"
                for code in unknown
            )
        )
        frames, report = load_with_mapping(NAME, opened, mapping_text(resolved), notes=notes)
        operations = opened.read(RelationRef(query=OPERATIONS), _OPERATION_COLUMNS)
        balances = opened.read(RelationRef(query=BALANCES), _BALANCE_COLUMNS)
    return Adapted(NAME, frames, report, midaz_running(operations, balances, resolved))


def _status_notes(statuses: pl.DataFrame) -> tuple[str, ...]:
    noted = statuses.filter(pl.col("status") == "NOTED").get_column("n").sum()
    if not noted:
        return ()
    return (
        (
            f"{noted} NOTED transaction(s) are annotations with no balance effect: not loaded as "
            "ledger transactions"
        ),
    )
