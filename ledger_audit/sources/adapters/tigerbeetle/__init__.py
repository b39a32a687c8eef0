"""``--adapter tigerbeetle``: a TigerBeetle export folder read as the canonical ledger.

The folder holds ``accounts`` and ``transfers`` (JSON lines or CSV, one object per record,
the fields of TigerBeetle's ``Account`` and ``Transfer``, u128 values as decimal strings)
and ``ledgers.toml`` mapping each ledger number to an asset. This is code, not a mapping:
u128 ids and amounts, flag bits, two-phase resolution by ``pending_id``, expiry and linked
chains are beyond the mapping format. See docs/adapters/tigerbeetle.md.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources.adapters.adapted import Adapted
from ledger_audit.sources.adapters.tigerbeetle import canonical, native, screen
from ledger_audit.sources.adapters.tigerbeetle.export import (
    NAME,
    TABLES,
    find_files,
    read_config,
    read_table,
    require_header,
)
from ledger_audit.sources.adapters.tigerbeetle.fields import (
    ACCOUNT_FLAG_NAMES,
    TRANSFER_FLAG_NAMES,
    require_known_flags,
)
from ledger_audit.sources.conform import conform_table
from ledger_audit.sources.ledger_frames import LedgerFrames, LoadReport, TableCount

__all__ = ["NAME", "check", "load"]

NOT_CARRIED = (
    (
        "TigerBeetle exposes no hash chain (its write-ahead log and checksums are internal): "
        "the transfer history is not proven beyond this run's own seal"
    ),
    (
        "TigerBeetle keeps one cluster timestamp per object: there is no separate effective "
        "time, so the effective basis is the recorded basis"
    ),
    (
        "TigerBeetle has no reversal link: a reversal is an ordinary transfer here, so "
        "reversal.not_inverse and reversal.duplicate are not proven"
    ),
    (
        "TigerBeetle's external references live in user_data fields whose meaning is the "
        "application's: external ids are not mapped (kept in metadata)"
    ),
)


def check(source: str | Path) -> None:
    """Raise InputError unless ``source`` is a TigerBeetle export folder (reads no record)."""
    files = find_files(source)
    read_config(files.config)
    for table in TABLES:
        require_header(files, table)


def _notes(config_version_known: bool, built: canonical.Built, merged: int) -> tuple[str, ...]:
    notes = list(NOT_CARRIED)
    if not config_version_known:
        notes.append(
            "ledgers.toml names no [source] version: 0.16 semantics are assumed (a post of "
            "amount 0 posts nothing; before 0.16 it posted the whole pending amount)"
        )
    if built.default_normal:
        notes.append(
            f"{built.default_normal} account(s) have no balance-limit flag and no [codes] "
            "entry: taken as debit-normal, so their oriented balances are not proven"
        )
    if built.closed_unknown:
        notes.append(
            f"{built.closed_unknown} closed account(s) have no closing transfer in the "
            "export: their closing time is unknown"
        )
    if built.imported:
        notes.append(
            f"{built.imported} transfer(s) are imported: their timestamps were supplied by "
            "the application, not assigned by the cluster"
        )
    if built.expired:
        notes.append(
            f"{built.expired} pending transfer(s) timed out unresolved by the export's end: "
            "each has a synthetic archived version at its expiry (metadata expired = true)"
        )
    if merged:
        notes.append(
            f"{merged} identical replay(s) of an id were merged with the first record "
            "(TigerBeetle answers exists)"
        )
    return tuple(notes)


def load(source: str | Path) -> Adapted:
    """Read the export folder (read-only) into canonical frames and the native checks."""
    files = find_files(source)
    config = read_config(files.config)
    raw_accounts = read_table(files, "accounts")
    raw_transfers = read_table(files, "transfers")
    require_known_flags(raw_accounts, str(files.accounts), ACCOUNT_FLAG_NAMES, "account")
    require_known_flags(raw_transfers, str(files.transfers), TRANSFER_FLAG_NAMES, "transfer")
    accounts = screen.screen(
        raw_accounts,
        screen.account_problems(config),
        table="accounts",
        path=str(files.accounts),
        numeric=screen.ACCOUNT_NUMERIC,
    )
    transfers = screen.screen(
        raw_transfers,
        screen.transfer_problems(config),
        table="transfers",
        path=str(files.transfers),
        numeric=screen.TRANSFER_NUMERIC,
    )
    end_ns = canonical.end_of(config, accounts.rows, transfers.rows)
    built = canonical.build(config, accounts.rows, transfers.rows, end_ns)
    label = str(files.folder)
    conformed = {
        table: conform_table(
            built.tables[table], table, source=f"{label} ({table})", locate_by="key"
        )
        for table in CANONICAL_TABLES
    }
    frames = LedgerFrames.from_tables({table: c.frame for table, c in conformed.items()})
    source_counts = tuple(
        TableCount(
            f"{NAME}.{table}",
            read=s.read,
            loaded=s.read - s.rejected,
            rejected=s.rejected,
        )
        for table, s in (("accounts", accounts), ("transfers", transfers))
    )
    report = LoadReport(
        source=label,
        counts=tuple(c.count for c in conformed.values()),
        rejections=pl.concat(
            [accounts.rejections, transfers.rejections, *(c.rejections for c in conformed.values())]
        ),
        source_counts=source_counts,
        notes=_notes(config.version_known, built, accounts.merged + transfers.merged),
    )
    check_result = native.transfers_check(
        accounts, transfers, built, (str(files.accounts), str(files.transfers)), config.cluster
    )
    return Adapted(NAME, frames, report, (check_result,))
