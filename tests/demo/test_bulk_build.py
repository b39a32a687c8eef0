"""A demo written by the bulk writer is the demo the reference writer writes, byte for byte.

Both builds run in one process: the schema's DDL creates each table's indexes in
SQLAlchemy's set order, which can differ between processes, so only builds that share
the process can be compared byte for byte.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.demo.build import (
    ANSWER_KEY_FILE,
    BULK_FROM,
    DEMO_JSON_FILE,
    LEDGER_FILE,
    WriterChoice,
    build_demo,
)
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.errors import InputError

_OUTPUTS = (LEDGER_FILE, ANSWER_KEY_FILE, DEMO_JSON_FILE)


def _digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file the build wrote (statements included)."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _build(
    folder: Path, transactions: int, seed: int, *, clean: bool, writer: WriterChoice
) -> DemoSummary | str:
    """The demo's summary, or the one-line error that refused it."""
    try:
        return build_demo(folder, transactions=transactions, seed=seed, clean=clean, writer=writer)
    except InputError as refused:
        return str(refused)


def _chain_head(path: Path) -> tuple[int, str]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        seq, head = db.execute("SELECT seq, head_hash FROM chain_heads").fetchone()
    return int(seq), str(head)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    size=st.one_of(
        st.integers(100, 400).map(lambda n: (True, n)),  # clean
        st.integers(600, 800).map(lambda n: (False, n)),  # planting needs a few hundred
    ),
)
def test_bulk_and_reference_builds_are_byte_identical(seed: int, size: tuple[bool, int]) -> None:
    clean, transactions = size
    with tempfile.TemporaryDirectory() as folder:
        reference, bulk = Path(folder, "reference"), Path(folder, "bulk")
        expected = _build(reference, transactions, seed, clean=clean, writer="reference")
        got = _build(bulk, transactions, seed, clean=clean, writer="bulk")
        if isinstance(expected, str):  # a seed too thin to plant every anomaly: same refusal
            assert got == expected
            return
        assert isinstance(got, DemoSummary)
        assert _digests(bulk) == _digests(reference)
        assert set(_OUTPUTS) <= set(_digests(bulk))
        assert _chain_head(bulk / LEDGER_FILE) == _chain_head(reference / LEDGER_FILE)
        assert got.writer_rejections == expected.writer_rejections == 0
        assert got.replays == expected.replays


def test_several_batches_of_a_larger_month_are_byte_identical(tmp_path: Path) -> None:
    """12,000 transactions: about four writer batches, pages allocated in every table."""
    build_demo(tmp_path / "reference", transactions=12_000, seed=3, writer="reference")
    build_demo(tmp_path / "bulk", transactions=12_000, seed=3, writer="bulk")
    assert _digests(tmp_path / "bulk") == _digests(tmp_path / "reference")


def test_auto_chooses_the_reference_writer_below_the_threshold() -> None:
    assert BULK_FROM > 10_000  # the default demo keeps exercising the reference writer


def test_an_unknown_writer_is_a_one_line_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^writer: expected one of auto, bulk, reference"):
        build_demo(tmp_path, transactions=100, writer="fast")  # type: ignore[arg-type]
