"""The population's completeness, stated before any JET result (PCAOB "Audit Focus").

Two proofs: the roll-forward ties out for the period (opening + movement = closing per
account x asset), and the hash chain verifies, with the checkpoint (seq, head hash, rows)
the population was drawn under. What could not be proven is said, never implied.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.checks.chain import verify_chain
from ledger_audit.replay.rollforward import roll_forward
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


def population_completeness(frames: LedgerFrames, period: Period) -> Completeness:
    """Tie out the roll-forward and verify the chain behind the period's population."""
    rolled = roll_forward(frames, [period]).collect()
    breaks = rolled.filter(pl.col("difference") != 0).height
    report = verify_chain(frames.transactions, frames.entries, frames.ledgers)
    lines = []
    for chain in report.ledgers:
        point = chain.checkpoint
        where = (
            f"checkpoint seq {point.seq}, head {point.head_hash[:16]}..., {point.row_count} rows"
            if point is not None
            else "no chained rows"
        )
        state = "intact" if chain.intact else f"BROKEN from seq {chain.first_broken_seq}"
        lines.append(f"ledger {chain.ledger_id}: chain {state}; {where}")
    intact = bool(report.ledgers) and all(c.intact for c in report.ledgers)
    statements = (
        (
            f"population read: {frames.transactions.height} transaction versions, "
            f"{frames.entries.height} entries"
        ),
        (
            f"roll-forward {period.label}: {rolled.height} account x asset rows, "
            f"{breaks} not tying out"
        ),
        *(lines or ["no hash chain: completeness of the population is not proven by a chain"]),
        *report.unproven,
    )
    return Completeness(
        versions=frames.transactions.height,
        entries=frames.entries.height,
        rollforward_rows=rolled.height,
        rollforward_breaks=breaks,
        chain=tuple(lines),
        chain_intact=intact,
        statements=statements,
    )
