"""Fixtures of the adapter tests: the clean demo ledger's frames."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ledger_audit.sources import LedgerFrames, load_ledger


@pytest.fixture(scope="module")
def demo(demo_factory: Callable[..., object]) -> LedgerFrames:
    """The clean demo ledger's frames (each test writes them into a vendor's layout)."""
    summary = demo_factory(clean=True)
    frames, _ = load_ledger(Path(summary.ledger_path))  # type: ignore[attr-defined]
    return frames
