"""The demo rewritten into each foreign layout reads back, through its mapping, as the demo.

Equal means ``LedgerFrames.equals`` against what the layout can carry (``Exported.expected``);
every part a layout does not carry is stated in the load report's notes, and no other part is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger_audit.sources import LedgerFrames, LoadReport, load_ledger
from tests.sources.mapping.foreign import (
    Exported,
    differing_tables,
    export_pg_entries,
    file_exporters,
    with_fixed_entries,
)

NOTE_OF_DROP = {
    "chain": "no hash chain is mapped",
    "balances": "no stored balances are mapped",
    "idempotency_key": "idempotency keys are not mapped",
    "effective_at": "effective times are not mapped",
    "accounts": "accounts are taken from the entries",
    "kind": "transaction kinds are derived",
}


def assert_reads_back(exported: Exported) -> tuple[LedgerFrames, LoadReport]:
    """Load ``exported`` through its mapping; the frames and the notes must be as promised."""
    frames, report = load_ledger(exported.source, mapping=exported.mapping)
    assert report.rejected == 0, report.rejections
    assert report.mapping == str(exported.mapping)
    differing = differing_tables(frames, exported.expected)
    assert not differing, f"{exported.layout}: {differing} differ"
    assert frames.equals(exported.expected)
    for part, note in NOTE_OF_DROP.items():
        stated = any(n.startswith(note) for n in report.notes)
        assert stated == (part in exported.drops), (exported.layout, part, report.notes)
    read = sum(c.read for c in report.source_counts)
    loaded = sum(c.loaded for c in report.source_counts)
    assert read == loaded > 0
    return frames, report


@pytest.mark.parametrize("layout", ["sqlite_transfers", "csv_versioned"])
def test_the_demo_reads_back_from_a_file_layout(
    layout: str, demo_frames: LedgerFrames, tmp_path: Path
) -> None:
    exported = file_exporters()[layout](demo_frames, tmp_path)
    frames, _ = assert_reads_back(exported)
    assert frames.transactions.height == demo_frames.transactions.height
    assert frames.entries.height == demo_frames.entries.height


def test_the_versioned_csv_layout_is_the_demo_exactly_chain_included(
    demo_frames: LedgerFrames, tmp_path: Path
) -> None:
    exported = file_exporters()["csv_versioned"](demo_frames, tmp_path)
    frames, _ = load_ledger(exported.source, mapping=exported.mapping)
    for table in ("assets", "accounts", "transactions", "entries", "balances"):
        assert frames.table(table).equals(demo_frames.table(table), null_equal=True), table


def test_the_demo_reads_back_from_a_status_history(
    demo_frames: LedgerFrames, tmp_path: Path
) -> None:
    fixed = with_fixed_entries(demo_frames)
    assert fixed.transactions["version"].max() == 1  # holds that were captured or voided
    exported = file_exporters()["csv_history"](fixed, tmp_path)
    assert_reads_back(exported)


def test_the_demo_reads_back_from_postgresql(
    demo_frames: LedgerFrames, pg_url: str, tmp_path: Path
) -> None:
    exported = export_pg_entries(demo_frames, pg_url, tmp_path)
    frames, _ = assert_reads_back(exported)
    assert frames.balances.height == demo_frames.balances.height
