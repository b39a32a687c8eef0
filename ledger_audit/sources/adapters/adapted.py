"""What an adapter hands to the rest of the flow: canonical frames plus the vendor's own checks.

An adapter reads a vendor's ledger (Formance, Blnk, pgledger...) into the six canonical frames,
so every canonical check runs on it unchanged. Some evidence exists only in the vendor's own
data and has no canonical column: Formance's log hash chain, pgledger's running balances on
each entry, Blnk's float ``amount`` beside ``precise_amount``. The adapter checks those while
it still holds the vendor rows and returns them as ``NativeCheck`` results, which the runner
merges with the catalogue's (findings as data, coverage stated, like every check).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ledger_audit.findings import (
    CheckResult,
    Coverage,
    NativeCheck,
    RuleId,
    empty_findings,
)
from ledger_audit.sources.ledger_frames import LedgerFrames, LoadReport

__all__ = [
    "Adapted",
    "CheckFunction",
    "FramesOnlyLoad",
    "LoadFunction",
    "NativeCheck",
    "not_run",
]


@dataclass(frozen=True, slots=True, eq=False)
class Adapted:
    """One vendor ledger read through its adapter.

    Attributes:
        adapter: the adapter's name (``formance``).
        frames: the canonical frames.
        report: what was read, loaded and rejected; ``report.notes`` says what the vendor
            cannot give (no chain, no pending states...), one sentence each.
        native: the vendor-specific checks, in the order they ran.
    """

    adapter: str
    frames: LedgerFrames
    report: LoadReport
    native: tuple[NativeCheck, ...] = ()


LoadFunction = Callable[[str | Path], Adapted]
"""``load(source)``: read the vendor's data, read-only, into an ``Adapted``."""


class FramesOnlyLoad(Protocol):
    """``load(source, vendor_checks=...)`` of an adapter that can read the frames alone."""

    def __call__(self, source: str | Path, *, vendor_checks: bool = True) -> Adapted:
        """Read ``source``; without ``vendor_checks``, only what the frames need."""
        ...


CheckFunction = Callable[[str | Path], None]
"""``check(source)``: raise InputError when the source is not this vendor's layout; read no row."""


def not_run(checks: Sequence[tuple[str, tuple[RuleId, ...]]], why: str) -> tuple[NativeCheck, ...]:
    """Vendor checks a frames-only load skipped, each stating it proved nothing (not a pass)."""
    return tuple(
        NativeCheck(
            CheckResult(
                name,
                empty_findings(),
                Coverage(0, "rows", "not run", unproven=(why,), unproven_rules=rules),
            ),
            rules,
        )
        for name, rules in checks
    )
