"""The population's completeness, stated before any JET result (PCAOB "Audit Focus").

Two proofs: the roll-forward ties out for the period (opening + movement = closing per
account x asset), and the hash chain verifies, with the checkpoint (seq, head hash, rows)
the population was drawn under. What could not be proven is said, never implied.

A caller that has already verified the chain (the close's audit stage, against the earlier
checkpoints too) passes that check's result instead of having it verified a second time: the
chain is the slowest proof, and both must state the same verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.checks.chain import CHECK as CHAIN_CHECK
from ledger_audit.checks.chain import verify_chain
from ledger_audit.findings import CheckResult
from ledger_audit.replay.rollforward import RolledForward, rolled_rows
from ledger_audit.schema.lach1 import ALGORITHM, Checkpoint
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period


@dataclass(frozen=True, slots=True)
class Completeness:
    """What makes the JET population complete, or where it is not.

    Attributes:
        versions: transaction versions read from the source.
        entries: entries read.
        rollforward_rows: account x asset rows of the period's roll-forward.
        rollforward_breaks: rows whose opening + movement differs from closing.
        chain: one line per ledger: intact or broken, with its checkpoint.
        chain_intact: every chained ledger verified with no finding (False if none chained).
        statements: the sentences to print before the results.
    """

    versions: int
    entries: int
    rollforward_rows: int
    rollforward_breaks: int
    chain: tuple[str, ...]
    chain_intact: bool
    statements: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        """For the manifest."""
        return {
            "versions": self.versions,
            "entries": self.entries,
            "rollforward_rows": self.rollforward_rows,
            "rollforward_breaks": self.rollforward_breaks,
            "chain": list(self.chain),
            "chain_intact": self.chain_intact,
            "statements": list(self.statements),
        }


def population_completeness(
    frames: LedgerFrames,
    period: Period,
    chain: CheckResult | None = None,
    rolled: RolledForward | None = None,
) -> Completeness:
    """Tie out the roll-forward and verify the chain behind the period's population.

    ``chain``: the ``chain`` check's result over these same frames, if one already ran; the
    chain is then read from it rather than verified again. ``rolled``: the roll-forward of
    these frames, if the caller rolled the period forward already.
    """
    rows = rolled_rows(frames, [period], "effective", rolled).collect()
    breaks = rows.filter(pl.col("difference") != 0).height
    if chain is not None and not chain.crashed and chain.check == CHAIN_CHECK:
        lines, intact, unproven = _from_result(frames, chain)
    else:
        lines, intact, unproven = _verified(frames)
    statements = (
        (
            f"population read: {frames.transactions.height} transaction versions, "
            f"{frames.entries.height} entries"
        ),
        (
            f"roll-forward {period.label}: {rows.height} account x asset rows, "
            f"{breaks} not tying out"
        ),
        *(lines or ["no hash chain: completeness of the population is not proven by a chain"]),
        *unproven,
    )
    return Completeness(
        versions=frames.transactions.height,
        entries=frames.entries.height,
        rollforward_rows=rows.height,
        rollforward_breaks=breaks,
        chain=tuple(lines),
        chain_intact=intact,
        statements=statements,
    )


def _line(ledger_id: str, intact: bool, first: int | None, point: Checkpoint | None) -> str:
    where = (
        f"checkpoint seq {point.seq}, head {point.head_hash[:16]}..., {point.row_count} rows"
        if point is not None
        else "no chained rows"
    )
    state = "intact" if intact else "BROKEN" + (f" from seq {first}" if first is not None else "")
    return f"ledger {ledger_id}: chain {state}; {where}"


def _verified(frames: LedgerFrames) -> tuple[list[str], bool, tuple[str, ...]]:
    """Verify the chain here: one line per ledger, whether all are intact, what is unproven."""
    report = verify_chain(frames.transactions, frames.entries, frames.ledgers)
    lines = [_line(c.ledger_id, c.intact, c.first_broken_seq, c.checkpoint) for c in report.ledgers]
    intact = bool(report.ledgers) and all(c.intact for c in report.ledgers)
    unproven = (*report.unproven, *(s for c in report.ledgers for s in c.unproven))
    return lines, intact, unproven


def _from_result(
    frames: LedgerFrames, chain: CheckResult
) -> tuple[list[str], bool, tuple[str, ...]]:
    """The same three from the chain check that already ran (its checkpoints and findings)."""
    chained = sorted(
        frames.ledgers.filter(pl.col("chain_algorithm") == ALGORITHM)
        .get_column("ledger_id")
        .unique()
        .to_list()
    )
    first = dict(chain.findings.group_by("ledger_id").agg(pl.col("chain_seq").min()).iter_rows())
    points = {p.ledger_id: p for p in chain.checkpoints}
    lines = [
        _line(ledger, ledger not in first, first.get(ledger), points.get(ledger))
        for ledger in chained
    ]
    intact = bool(chained) and not any(ledger in first for ledger in chained)
    return lines, intact, chain.coverage.unproven
