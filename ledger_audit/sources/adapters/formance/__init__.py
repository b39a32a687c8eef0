"""``--adapter formance``: a Formance Ledger v2 database (or logs/export) as the canonical ledger.

Code, not a mapping: postings are a JSON array per transaction, the idempotency key lives on
the log, a revert is a metadata key, and the evidence only Formance holds is checked while
its rows are at hand: the log hash chain (``chain.py``, features read first), each
transaction against the memento its log hashed, reverts, idempotency keys and the moves'
post-commit volumes (``consistency.py``). ``accounts_volumes`` become the stored balances, so
the canonical drift check compares them with the replay.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.findings import NativeCheck
from ledger_audit.sources.adapters.adapted import Adapted, not_run
from ledger_audit.sources.adapters.formance import chain, consistency
from ledger_audit.sources.adapters.formance.chain import chain_check, features_of
from ledger_audit.sources.adapters.formance.consistency import (
    keyed_log_transactions,
    log_transactions,
    logs_check,
    moves_check,
)
from ledger_audit.sources.adapters.formance.export import is_export, read_export
from ledger_audit.sources.adapters.formance.frames import build_frames, transaction_keys
from ledger_audit.sources.adapters.formance.read import (
    NAME,
    BucketRows,
    FrameRows,
    read_frame_rows,
    read_keyed_logs,
    read_rows,
    require,
)
from ledger_audit.sources.mapping import open_relations

__all__ = ["NAME", "check", "load"]

NOTES = (
    (
        "Formance has no pending state: pending, posted-from-pending and void transactions "
        "are not proven"
    ),
    (
        "Formance stores no normal balance: addresses under assets: and expenses: are read as "
        "debit-normal, every other as credit-normal"
    ),
    (
        "Formance keeps overdraft permission in Numscript, not on accounts: every account is "
        "read as allowing a negative balance, so no-negative is not proven"
    ),
    "Formance times are microseconds: sub-microsecond order is not proven",
)


EXPORT_NOTES = (
    "a logs/export stream holds no moves: post-commit volumes per move are not proven",
    (
        "a logs/export stream holds no accounts table: accounts are the addresses its postings "
        "use, without metadata"
    ),
)


def check(source: str | Path) -> None:
    """Raise InputError unless ``source`` is a Formance v2 database or export; reads no row."""
    if is_export(source):
        if not Path(source).is_file():
            raise InputError(f"--adapter {NAME}: {source}", "no such logs/export file")
        return
    with open_relations(source) as opened:
        require(opened)


NOT_RUN = (
    "the vendor checks were not run (load with vendor_checks=False read the frames only: "
    "no log hash, memento of an unkeyed log, move or block was read)"
)


def _not_run() -> tuple[NativeCheck, ...]:
    """The three vendor checks, each stating that it proved nothing (not a pass)."""
    checks = (
        (chain.CHECK, chain.RULES),
        (consistency.CHECK_LOGS, consistency.LOGS_RULES),
        (consistency.CHECK_MOVES, consistency.MOVES_RULES),
    )
    return not_run(checks, NOT_RUN)


def load(source: str | Path, *, vendor_checks: bool = True) -> Adapted:
    """Read a Formance database (one read-only snapshot) or a ``logs/export`` JSON-lines file.

    Two steps of the same snapshot: the rows the frames need, then, with ``vendor_checks``,
    the logs, moves and blocks that only the vendor checks read. Without them only the keyed
    transaction logs' mementos are read (a transaction's idempotency key is in its log), and
    the three checks say they proved nothing; the frames are the same either way.
    """
    extra: tuple[str, ...] = ()
    rows: FrameRows
    full: BucketRows | None = None
    keyed_logs = pl.DataFrame()
    if is_export(source):
        check(source)
        rows = full = read_export(Path(source))
        label = str(source)
        extra = EXPORT_NOTES
    else:
        with open_relations(source) as opened:
            buckets = require(opened)
            if vendor_checks:
                rows = full = read_rows(opened, buckets)
            else:
                rows = read_frame_rows(opened, buckets)
                keyed_logs = read_keyed_logs(opened, buckets)
            label = opened.label
    log_tx = log_transactions(full.logs) if full is not None else None
    keys = transaction_keys(log_tx if log_tx is not None else keyed_log_transactions(keyed_logs))
    notes = [*NOTES, *extra]
    unscaled = sorted(
        set(rows.postings.get_column("asset").unique().drop_nulls().to_list())
        - set(rows.postings.filter(pl.col("asset").str.contains(r"/[0-9]+$"))["asset"].to_list())
    )
    if unscaled:
        shown = ", ".join(unscaled[:5])
        notes.append(
            f"asset(s) {shown} carry no /precision: read with scale 0 ({len(unscaled)} in all)"
        )
    features = features_of(rows.ledgers)
    for ledger, flags in sorted(features.items()):
        if flags.get("HASH_LOGS") == "DISABLED":
            notes.append(f"ledger {ledger} has HASH_LOGS=DISABLED: its log chain is not proven")
    frames, report = build_frames(rows, keys, label, tuple(notes))
    if full is None or log_tx is None or not vendor_checks:
        return Adapted(NAME, frames, report, _not_run())
    logs_result, content = logs_check(full, log_tx)
    native = (
        chain_check(full.logs, full.blocks, features, content),
        logs_result,
        moves_check(full, features),
    )
    return Adapted(NAME, frames, report, native)
