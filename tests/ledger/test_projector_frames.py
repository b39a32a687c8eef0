"""The projector's polars fold gives the SQL fold's keys and cells for any ledger and span.

``project_balances`` folds a long span with ``frame_delta`` and a short one with the SQL
``log_delta``; random histories (posts, holds, captures, voids, reversals, retries, two
assets) are folded both ways over random spans, and the two must be equal, key for key,
including keys whose cells come to zero (each one becomes a stored row), whatever the
number of chunks the entries are read in.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.ledger import projector
from ledger_audit.ledger.log_delta import log_delta
from ledger_audit.ledger.projector import frame_delta
from ledger_audit.ledger.requests import EntrySpec, PostTransaction, Request
from ledger_audit.ledger.writer import LedgerWriter
from tests.ledger.conftest import make_ledger, move
from tests.ledger.test_writer_properties import op, record, to_request


@contextmanager
def _read_chunk(rows: int) -> Iterator[None]:
    """Read the entries a few rows at a time, so a small ledger is folded over many chunks."""
    saved = projector.READ_CHUNK
    projector.READ_CHUNK = rows
    try:
        yield
    finally:
        projector.READ_CHUNK = saved


def _write(writer: LedgerWriter, steps: list[tuple[object, ...]], batch: int) -> None:
    sent: list[Request] = []
    ids: list[str] = []
    legs: dict[str, tuple[tuple[EntrySpec, ...], bool]] = {}
    pending: list[Request] = []
    for i, step in enumerate(steps):
        request = None if step[0] == "project" else to_request(step, i, sent, ids, legs)
        if request is not None:
            pending.append(request)
        if pending and (len(pending) >= batch or i == len(steps) - 1):
            record(pending, writer.submit_many(pending), sent, ids, legs)
            pending = []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(op, min_size=1, max_size=30),
    batch=st.integers(1, 5),
    cut=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    chunk=st.integers(1, 8),
)
def test_the_frame_fold_equals_the_sql_fold(
    steps: list[tuple[object, ...]], batch: int, cut: tuple[float, float], chunk: int
) -> None:
    with tempfile.TemporaryDirectory() as folder, _read_chunk(chunk):
        engine, writer = make_ledger(f"sqlite:///{Path(folder) / 'l.sqlite'}")
        writer.submit(
            PostTransaction("seed", move("assets:bank:usd", "liabilities:wallet:alice", 20_000))
        )
        _write(writer, steps, batch)
        with engine.connect() as conn:
            high = int(conn.exec_driver_sql("SELECT MAX(chain_seq) FROM transactions").scalar_one())
            low, top = sorted(int(c * high) for c in cut)
            db = conn.connection.driver_connection
            for span in ((0, high), (low, top)):
                assert frame_delta(db, "t", *span) == log_delta(conn, "t", *span)  # type: ignore[arg-type]
            assert frame_delta(db, "other", 0, high) == log_delta(conn, "other", 0, high)  # type: ignore[arg-type]
        engine.dispose()
