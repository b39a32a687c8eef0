"""Seal what an adapter read with LACH-1, so the evidence proves which copy was audited.

TigerBeetle, Modern Treasury and pgledger expose no hash chain; Formance and Blnk chain only
their own rows. Whatever the vendor offers, the canonical versions an adapter produced are
sealed here as a LACH-1 chain (DESIGN.md section 4) in recorded order, one chain per ledger:
``chain_seq`` is the position in that order, ``recorded_ns`` null counts as 0. The head is a
checkpoint named ``<adapter>:<ledger_id>``; a later audit given that checkpoint recomputes
the seal and says whether the vendor's history up to it is still the same (``chain.rewritten``)
or shorter (``chain.truncated``). An append-only vendor ledger extends its earlier seal.

The links are computed one row at a time (each needs its predecessor's hash), with hashlib
over 64-character hex strings; the contents, which are the bulk of the bytes, are vectorised.
"""

from __future__ import annotations

import hashlib

import polars as pl

from ledger_audit.checks.chain_hashes import SEALED_COLUMNS, VERSION_KEY, content_hashes
from ledger_audit.findings import (
    CheckResult,
    Coverage,
    Finding,
    RuleId,
    Severity,
    empty_findings,
    findings_frame,
)
from ledger_audit.schema import lach1
from ledger_audit.schema.lach1 import Checkpoint
from ledger_audit.sources.adapters.adapted import NativeCheck
from ledger_audit.sources.ledger_frames import LedgerFrames

CHECK = "mirror_seal"
RULES = (RuleId.CHAIN_TRUNCATED, RuleId.CHAIN_REWRITTEN)
_LINK = f"{lach1.ALGORITHM} link\n".encode()


def seal_name(adapter: str, ledger_id: str) -> str:
    """The checkpoint name of a sealed ledger: never a canonical ledger's own chain."""
    return f"{adapter}:{ledger_id}"


def _sealed_order(transactions: pl.DataFrame, ledger_id: str) -> pl.DataFrame:
    rows = transactions.filter(pl.col("ledger_id") == ledger_id)
    rows = rows.with_columns(pl.col("recorded_ns").fill_null(0)).sort(
        "recorded_ns", *VERSION_KEY, nulls_last=True
    )
    return rows.with_columns(
        pl.int_range(1, rows.height + 1, dtype=pl.Int64).alias("chain_seq")
    ).select(SEALED_COLUMNS)


def seal_links(frames: LedgerFrames, ledger_id: str) -> list[str]:
    """The LACH-1 chain hash at every position of one ledger's seal (index 0 is seq 1)."""
    versions = _sealed_order(frames.transactions, ledger_id)
    contents = content_hashes(versions, frames.entries.filter(pl.col("ledger_id") == ledger_id))
    prev = lach1.genesis(ledger_id)
    links: list[str] = []
    for content in contents.fill_null("").to_list():
        prev = hashlib.sha256(_LINK + prev.encode() + b"\n" + content.encode()).hexdigest()
        links.append(prev)
    return links


def seal_check(
    adapter: str, frames: LedgerFrames, earlier: tuple[Checkpoint, ...] = ()
) -> NativeCheck:
    """Seal every ledger; compare with ``earlier`` checkpoints of the same seal names."""
    checkpoints: list[Checkpoint] = []
    findings: list[Finding] = []
    ledgers = sorted(frames.transactions.get_column("ledger_id").unique().drop_nulls())
    for ledger_id in ledgers:
        name = seal_name(adapter, ledger_id)
        links = seal_links(frames, ledger_id)
        if links:
            checkpoints.append(Checkpoint(name, len(links), links[-1], len(links)))
        for old in (c for c in earlier if c.ledger_id == name):
            finding = _compare(name, ledger_id, links, old)
            if finding is not None:
                findings.append(finding)
    compared = sum(1 for c in earlier if c.ledger_id.startswith(f"{adapter}:"))
    unproven = (
        ()
        if compared
        else (
            (
                f"no seal from an earlier audit through --adapter {adapter}: this run's seal "
                "(checkpoints.json) is what the next audit will compare against"
            ),
        )
    )
    coverage = Coverage(
        frames.transactions.height,
        "transaction versions",
        f"sealed in recorded order as {len(checkpoints)} LACH-1 chain(s); "
        f"{compared} earlier seal(s) compared",
        unproven=unproven,
        unproven_rules=() if compared else RULES,
    )
    frame = findings_frame(findings) if findings else empty_findings()
    return NativeCheck(CheckResult(CHECK, frame, coverage, checkpoints=tuple(checkpoints)), RULES)


def _compare(name: str, ledger_id: str, links: list[str], old: Checkpoint) -> Finding | None:
    if len(links) < old.seq:
        return Finding(
            rule=RuleId.CHAIN_TRUNCATED,
            severity=Severity.CRITICAL,
            ledger_id=ledger_id,
            locator=f"seal {name} at seq {old.seq}",
            message=(
                f"the vendor's ledger {ledger_id} now holds {len(links)} transaction versions; "
                f"an earlier audit sealed {old.seq}: rows were deleted since"
            ),
            expected=f"at least {old.seq} versions",
            actual=str(len(links)),
            check=CHECK,
        )
    if links[old.seq - 1] != old.head_hash:
        return Finding(
            rule=RuleId.CHAIN_REWRITTEN,
            severity=Severity.CRITICAL,
            ledger_id=ledger_id,
            locator=f"seal {name} at seq {old.seq}",
            message=(
                f"the first {old.seq} transaction versions of the vendor's ledger {ledger_id} "
                "differ from the copy an earlier audit sealed: history was changed since"
            ),
            expected=old.head_hash,
            actual=links[old.seq - 1],
            check=CHECK,
        )
    return None
