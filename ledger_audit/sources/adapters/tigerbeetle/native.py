"""What only TigerBeetle's own records can show, beyond the canonical checks.

Replays of one id, resolutions that do not fit their pending transfer, and a linked chain
the export cuts open.

The canonical checks judge the rest (over-posting, a second resolution, drift of the account
counters); these are the vendor's ``create_transfers`` result codes that an export which
holds them proves were bypassed or misreported.
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
from ledger_audit.sources.adapters.tigerbeetle.canonical import Built
from ledger_audit.sources.adapters.tigerbeetle.screen import Screened

CHECK = "tigerbeetle_transfers"
RULES = (RuleId.IDEMPOTENCY_CONFLICT, RuleId.SOURCE_INCONSISTENT)


def _replays(screened: Screened, table: str, path: str, ledger_id: str) -> pl.DataFrame:
    if screened.conflicts.height == 0:
        return empty_findings()
    noun = table[:-1]
    return findings_from(
        screened.conflicts.lazy().with_columns(
            pl.lit(ledger_id).alias("ledger_id"),
            (pl.col("id") if table == "transfers" else pl.lit(None, dtype=pl.String)).alias(
                "transaction_id"
            ),
            (pl.col("id") if table == "accounts" else pl.lit(None, dtype=pl.String)).alias(
                "account_id"
            ),
        ),
        rule=RuleId.IDEMPOTENCY_CONFLICT if table == "transfers" else RuleId.SOURCE_INCONSISTENT,
        severity=Severity.HIGH,
        check=CHECK,
        table=None,
        locator=pl.format(f"{path}:{{}}", "line"),
        message=pl.format(
            f"{noun} id {{}} is given again with a different body (TigerBeetle answers "
            f"exists_with_different_*): the record at line {{}} was kept, this one rejected",
            "id",
            "kept_line",
        ),
        expected=pl.format("the body of line {}", "kept_line"),
        actual=pl.format("different {}", "fields"),
    ).collect()


def _issues(built: Built, path: str, ledger_id: str) -> pl.DataFrame:
    if built.issues.height == 0:
        return empty_findings()
    return findings_from(
        built.issues.lazy().with_columns(
            pl.lit(ledger_id).alias("ledger_id"), pl.col("transfer_id").alias("transaction_id")
        ),
        rule=RuleId.SOURCE_INCONSISTENT,
        severity=Severity.HIGH,
        check=CHECK,
        table=None,
        locator=pl.format(f"{path}:{{}}", "line"),
        message=pl.format("transfer {}: {}", "transfer_id", "message"),
        expected=pl.col("expected"),
        actual=pl.col("actual"),
    ).collect()


def _open_chain(built: Built, path: str, ledger_id: str) -> pl.DataFrame:
    if built.open_chain is None:
        return empty_findings()
    return findings_from(
        pl.LazyFrame({"ledger_id": [ledger_id], "transaction_id": [built.open_chain]}),
        rule=RuleId.SOURCE_INCONSISTENT,
        severity=Severity.MEDIUM,
        check=CHECK,
        table=None,
        locator=pl.lit(f"{path} (linked chain from transfer {built.open_chain})"),
        message=pl.lit(
            f"the export ends inside the linked chain that starts at transfer "
            f"{built.open_chain}: TigerBeetle never commits an open chain, so the chain's "
            "last transfer is missing from the export"
        ),
        expected=pl.lit("a chain closed by a transfer without flags.linked"),
        actual=pl.lit("flags.linked on the last transfer"),
    ).collect()


def transfers_check(
    accounts: Screened,
    transfers: Screened,
    built: Built,
    paths: tuple[str, str],
    ledger_id: str,
) -> NativeCheck:
    """Replays, resolutions and chains, with what was examined."""
    parts = [
        _replays(accounts, "accounts", paths[0], ledger_id),
        _replays(transfers, "transfers", paths[1], ledger_id),
        _issues(built, paths[1], ledger_id),
        _open_chain(built, paths[1], ledger_id),
    ]
    findings = sort_findings(pl.concat(parts))
    coverage = Coverage(
        accounts.read + transfers.read,
        "account and transfer records",
        f"{paths[1]} and {paths[0]}: every id's replays, every post and void against its "
        f"pending transfer, {built.chains} linked chain(s)",
        unproven=(
            (
                "a linked chain's member deleted from inside the export cannot be told from two "
                "chains: only a chain the export cuts open at its end is found"
            ),
        ),
    )
    return NativeCheck(CheckResult(CHECK, findings, coverage), RULES)
