"""The bulk build projects the month from the writer's own frames, to the reference's bytes.

``_write_month`` hands the projector the versions the bulk writer sealed; the month is not
read back (``projector._delta`` is never called), and the ledger is still the reference
build's, byte for byte (``test_bulk_build.py`` holds that for the whole build; here the
projection is known to have taken the writer's frames while it does).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from ledger_audit.demo.build import LEDGER_FILE, WriterChoice, build_demo
from ledger_audit.ledger import projector
from ledger_audit.ledger.effects import BalanceCells, BalanceKey


@contextmanager
def _read_backs() -> Iterator[list[tuple[int, int]]]:
    """The spans the projector read back from the database while inside."""
    spans: list[tuple[int, int]] = []
    delta = projector._delta

    def spy(
        conn: sa.Connection, ledger_id: str, low: int, high: int
    ) -> dict[BalanceKey, BalanceCells]:
        spans.append((low, high))
        return delta(conn, ledger_id, low, high)

    projector._delta = spy
    try:
        yield spans
    finally:
        projector._delta = delta


def _build(folder: Path, writer: WriterChoice) -> tuple[str, list[tuple[int, int]]]:
    with _read_backs() as spans:
        build_demo(folder, transactions=300, seed=11, clean=True, writer=writer)
    return hashlib.sha256((folder / LEDGER_FILE).read_bytes()).hexdigest(), spans


def test_the_bulk_month_is_projected_without_reading_it_back(tmp_path: Path) -> None:
    reference, read_by_reference = _build(tmp_path / "reference", "reference")
    bulk, read_by_bulk = _build(tmp_path / "bulk", "bulk")
    assert read_by_reference
    assert read_by_reference[0][0] == 0
    assert read_by_bulk == []
    assert bulk == reference
