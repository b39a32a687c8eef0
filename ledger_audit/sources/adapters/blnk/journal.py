"""Blnk's transaction journal: edits and deletions its immutability promise forbids.

Blnk's ``transaction_journal`` (migration 1742100059) is filled by a trigger with every
INSERT, UPDATE and DELETE of a transaction row, the old and new row as JSON, the client
address and backend pid. Blnk's immutability trigger lets only ``meta_data`` and the chain
columns change, so a journaled UPDATE that changed a protected column, or any DELETE, means
someone went around it (disabled the trigger, or wrote as a superuser). The journal catches
what the chain cannot: edits of rows the chainer had not sealed yet, and it says when and
from where. It is evidence, not proof: the journal itself can be edited, which the coverage
says.

Findings are ``source.inconsistent`` (Blnk's own audit trail against the immutability its
model promises), one per journal entry, naming ``blnk.transaction_journal(id=...)``; the chain
check reports the same damage to a sealed row under its own class.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.findings import (
    CheckResult,
    Coverage,
    RuleId,
    Severity,
    empty_findings,
    findings_from,
    sort_findings,
)
from ledger_audit.sources.adapters.adapted import NativeCheck
from ledger_audit.sources.adapters.blnk.canonical import LEDGER_ID
from ledger_audit.sources.adapters.blnk.layout import JOURNAL, PROTECTED_COLUMNS
from ledger_audit.sources.adapters.blnk.read import BlnkRows

CHECK = "blnk_journal"
RULES = (RuleId.SOURCE_INCONSISTENT,)


def _changed(old: pl.Expr, new: pl.Expr) -> pl.Expr:
    """The protected columns whose JSON values differ between ``old`` and ``new``, joined."""
    names = [
        pl.when(
            old.str.json_path_match(f"$.{name}").ne_missing(new.str.json_path_match(f"$.{name}"))
        ).then(pl.lit(name))
        for name in PROTECTED_COLUMNS
    ]
    return pl.concat_str(names, separator=", ", ignore_nulls=True)


def check_journal(rows: BlnkRows) -> NativeCheck:
    """Every journaled DELETE, and every UPDATE that changed a protected column."""
    journal = rows.journal
    if journal is None:
        coverage = Coverage(
            0,
            "journal entries",
            f"{rows.label}: no {JOURNAL}",
            unproven=(
                (
                    f"this Blnk database has no {JOURNAL} (migration 1742100059): edits and "
                    "deletions of transaction rows are not proven absent by Blnk's audit trail"
                ),
            ),
            unproven_rules=RULES,
        )
        return NativeCheck(CheckResult(CHECK, empty_findings(), coverage), RULES)
    entries = journal.with_columns(
        _changed(pl.col("old_data"), pl.col("new_data")).alias("_changed")
    )
    deleted = pl.col("action_type") == "DELETE"
    edited = (pl.col("action_type") == "UPDATE") & (pl.col("_changed") != "")
    bad = entries.filter(deleted | edited)
    where = pl.format(
        "at {} from {} (backend pid {})",
        pl.col("at").cast(pl.String),
        pl.col("client_addr").fill_null("a local socket"),
        pl.col("backend_pid").cast(pl.String).fill_null("?"),
    )
    findings = findings_from(
        bad.lazy().with_columns(
            pl.lit(LEDGER_ID).alias("ledger_id"),
            pl.col("id").alias("journal_id"),
        ),
        rule=RuleId.SOURCE_INCONSISTENT,
        severity=Severity.CRITICAL,
        check=CHECK,
        table=JOURNAL,
        message=pl.when(deleted)
        .then(
            pl.format(
                "Blnk's journal records that transaction {} was deleted {}",
                pl.col("transaction_id"),
                where,
            )
        )
        .otherwise(
            pl.format(
                "Blnk's journal records an UPDATE of transaction {} that changed {} {}",
                pl.col("transaction_id"),
                pl.col("_changed"),
                where,
            )
        ),
        expected=pl.lit("no change to a protected column, no deletion"),
        actual=pl.when(deleted).then(pl.lit("DELETE")).otherwise(pl.col("_changed")),
        locator=pl.format(f"{JOURNAL}(id={{}})", pl.col("journal_id")),
    ).collect()
    coverage = Coverage(
        journal.height + rows.journal_inserts,
        "journal entries",
        f"{rows.label}: {JOURNAL} ({rows.journal_inserts:,} inserts, {journal.height:,} "
        "updates and deletes)",
        unproven=("the journal is a table like any other: entries removed from it leave no trace",),
    )
    frame = sort_findings(findings) if findings.height else empty_findings()
    return NativeCheck(CheckResult(CHECK, frame, coverage), RULES)
