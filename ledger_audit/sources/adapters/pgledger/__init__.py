"""``--adapter pgledger``: a pgledger (pgr0ss/pgledger) database read as the canonical ledger.

Most of it is a source mapping (``mapping.py``): accounts, transfers as two entries each,
exact NUMERIC amounts, both times, the cached balances. In code: the currencies' scales
(pgledger stores none) and the evidence only pgledger's rows hold (``native.py``): the
entries' running balances and versions, and the entries against their transfers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from ledger_audit.sources.adapters.adapted import Adapted, NativeCheck, not_run
from ledger_audit.sources.adapters.layout import load_with_mapping, require_layout
from ledger_audit.sources.adapters.pgledger.mapping import (
    LEDGER_ID,
    TABLES,
    mapping_text,
    resolve_scales,
)
from ledger_audit.sources.adapters.pgledger.native import (
    ENTRIES_CHECK,
    ENTRIES_RULES,
    RUNNING,
    pgledger_entries,
    running_inputs,
)
from ledger_audit.sources.adapters.running import RULES as RUNNING_RULES
from ledger_audit.sources.adapters.running import running_check
from ledger_audit.sources.mapping import open_relations
from ledger_audit.sources.mapping.relations import RelationRef, RelationSource

NAME = "pgledger"
ENTRY_COLUMNS = TABLES["pgledger_entries"][:-1]
"""What the native checks read of an entry (all but ``created_at``, its transfer's)."""

NOTES = (
    "pgledger keeps no hash chain: its history before this run's seal is not proven",
    "pgledger has no pending state: pending and void transactions are not proven",
    "pgledger has no idempotency key: duplicate submissions are not proven",
    (
        "pgledger has no ledger-wide transaction id: each transfer is one transaction, so a "
        "multi-leg transaction is seen as separate transfers"
    ),
    (
        "pgledger stores no normal balance: every account is read as credit-normal (balance = "
        "credits - debits), and allow_positive_balance is not checked"
    ),
)
"""What pgledger cannot give, one sentence each (they reach coverage as not proven)."""

__all__ = ["NAME", "check", "load"]


def _require(opened: RelationSource) -> None:
    require_layout(
        NAME,
        opened,
        TABLES,
        hint="(pgledger.sql from pgr0ss/pgledger: pgledger_accounts, pgledger_transfers, "
        "pgledger_entries)",
    )


def check(source: str | Path) -> None:
    """Raise InputError unless ``source`` has pgledger's three tables; reads no row."""
    with open_relations(source) as opened:
        _require(opened)


def _read(opened: RelationSource, table: str) -> pl.DataFrame:
    return opened.read(RelationRef(name=table), TABLES[table])


NOT_RUN = (
    "the pgledger checks were not run (load with vendor_checks=False read the frames only: "
    "no pgledger_entries row was read)"
)


def _not_run() -> tuple[NativeCheck, ...]:
    """Both pgledger checks, each stating that it proved nothing (not a pass)."""
    checks = (
        (RUNNING.check, RUNNING_RULES),
        (ENTRIES_CHECK, ENTRIES_RULES),
    )
    return not_run(checks, NOT_RUN)


def load(
    source: str | Path,
    *,
    scales: Mapping[str, int] | None = None,
    vendor_checks: bool = True,
) -> Adapted:
    """Read a pgledger database, read-only, in one snapshot.

    ``scales`` gives the minor-unit digits of currency codes (``{"BTC": 8}``); a code without
    one takes its ISO 4217 scale, and a code that is neither has its rows rejected. Without
    ``vendor_checks`` the entries are not read: the frames are the same, and both pgledger
    checks say they proved nothing.
    """
    with open_relations(source) as opened:
        _require(opened)
        accounts = _read(opened, "pgledger_accounts")
        currencies = accounts.get_column("currency").drop_nulls().cast(pl.String).to_list()
        resolved, unknown = resolve_scales(currencies, scales)
        notes = NOTES + tuple(
            f"currency {code!r} has no ISO 4217 scale and none was given: its accounts and "
            "transfers are rejected rows (give its scale to load them)"
            for code in unknown
        )
        frames, report = load_with_mapping(NAME, opened, mapping_text(resolved), notes=notes)
        if not vendor_checks:
            return Adapted(NAME, frames, report, _not_run())
        entries = opened.read(RelationRef(name="pgledger_entries"), ENTRY_COLUMNS)
    rows, cached, legs = running_inputs(entries, accounts, resolved, LEDGER_ID)
    native = (running_check(rows, cached, RUNNING), pgledger_entries(legs, frames))
    return Adapted(NAME, frames, report, native)
