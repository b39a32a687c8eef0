"""Demo ledgers as canonical frames, for rewriting into foreign layouts."""

from __future__ import annotations

import pytest

from ledger_audit.demo.summary import DemoSummary
from ledger_audit.sources import LedgerFrames, load_ledger
from tests.conftest import DemoFactory


@pytest.fixture(scope="session")
def planted_demo_summary(demo_factory: DemoFactory) -> DemoSummary:
    """The session's default demo (anomalies planted), shared with the other test packages."""
    return demo_factory()


@pytest.fixture(scope="session")
def demo_frames(planted_demo_summary: DemoSummary) -> LedgerFrames:
    """The planted demo read from its canonical SQLite file."""
    frames, report = load_ledger(planted_demo_summary.ledger_path)
    assert report.rejected == 0
    return frames
