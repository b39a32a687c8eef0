"""Frozen run parameters: what a run was asked to do, recorded in its manifest.

Parameters are plain values (numbers, text, tuples of records), so that two runs with
equal specs are the same run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ledger_audit.schema.lach1 import Checkpoint

DAY_NS = 86_400 * 10**9

SuiteEngine = Literal["frame", "sql", "off"]
"""Where the great-expectations suites run: on the replayed frames (pandas path), in the
source database (SQL path), or not at all."""


@dataclass(frozen=True, slots=True)
class VerifySpec:
    """Parameters of ``ledger-audit verify``.

    Attributes:
        source: the reader input that was verified (URL or folder), as given.
        checkpoints: earlier chain checkpoints the chain must extend.
        duplicate_window_ns: two payments with the same legs closer than this are suspected
            duplicates.
        suites: where the invariant suites run.
    """

    source: str | None = None
    checkpoints: tuple[Checkpoint, ...] = ()
    duplicate_window_ns: int = DAY_NS
    suites: SuiteEngine = "frame"
