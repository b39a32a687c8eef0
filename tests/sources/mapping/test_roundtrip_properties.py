"""Property: any ledger the reference writer produces reads back through any foreign layout.

Random request sequences (posts, holds captured in full or in part, voids, reversals,
two-currency conversions, retries) go through the reference writer with a clock that ticks
by odd nanosecond amounts, with random descriptions, external ids and metadata (commas,
quotes, newlines, non-ASCII, empty text). The canonical frames are exported to a randomly
drawn layout and read back through its mapping: the frames must equal what the layout
carries (``Exported.expected``), with no row rejected. A status history cannot hold
versions that change their entries (partial captures), so it gets the ledger without those.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.errors import PostRejected
from ledger_audit.ledger.requests import PostTransaction, Request
from ledger_audit.ledger.writer import LedgerWriter
from ledger_audit.sources import LedgerFrames, load_ledger
from tests.ledger.conftest import T0, make_ledger, move
from tests.ledger.test_writer_properties import op, to_request
from tests.sources.mapping.foreign import (
    differing_tables,
    export_pg_entries,
    file_exporters,
    libpq_url,
    with_fixed_entries,
)

TEXT = st.text(alphabet=st.sampled_from([*"ab ,\"\n;é€'{}", "\t"]), min_size=0, max_size=12)


class OddClock:
    """Ticks by a drawn number of nanoseconds, so times have digits below the millisecond."""

    def __init__(self, steps: list[int]) -> None:
        self.now = T0
        self.steps = steps
        self.calls = 0

    def __call__(self) -> int:
        self.now += self.steps[self.calls % len(self.steps)]
        self.calls += 1
        return self.now


@st.composite
def written_ledgers(draw: st.DrawFn) -> LedgerFrames:
    """A ledger written by the reference writer, read back from its canonical SQLite file."""
    steps = draw(st.lists(op, min_size=1, max_size=14))
    ticks = draw(st.lists(st.integers(1, 5_000_000_000), min_size=1, max_size=5))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "l.sqlite"
        engine, _ = make_ledger(f"sqlite:///{path}")
        writer = LedgerWriter(engine, "t", clock=OddClock(ticks))
        writer.submit(
            PostTransaction("seed", move("assets:bank:usd", "liabilities:wallet:alice", 20_000))
        )
        sent: list[Request] = []
        ids: list[str] = []
        legs: dict[str, tuple[tuple[object, ...], bool]] = {}
        for i, step in enumerate(steps):
            if step[0] == "project":
                continue
            request = to_request(step, i, sent, ids, legs)  # type: ignore[arg-type]
            if isinstance(request, PostTransaction) and request not in sent:
                request = replace(
                    request,
                    description=draw(TEXT),
                    external_id=None if draw(st.booleans()) else f"x{i}{draw(TEXT)}",
                    metadata=(("note", draw(TEXT)),) if draw(st.booleans()) else (),
                )
            if request is None:
                continue
            (out,) = writer.submit_many([request])
            sent.append(request)
            if not isinstance(out, PostRejected):
                ids.append(out.transaction_id)
                if isinstance(request, PostTransaction):
                    legs[out.transaction_id] = (request.entries, request.pending)
                elif out.status != "pending":
                    legs[out.transaction_id] = (legs.get(out.transaction_id, ((), False))[0], False)
        engine.dispose()
        frames, report = load_ledger(path)
    assert report.rejected == 0
    return frames


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(frames=written_ledgers(), layout=st.sampled_from(sorted(file_exporters())))
def test_a_written_ledger_reads_back_through_any_file_layout(
    frames: LedgerFrames, layout: str
) -> None:
    if layout == "csv_history":
        frames = with_fixed_entries(frames)
    with tempfile.TemporaryDirectory() as folder:
        exported = file_exporters()[layout](frames, Path(folder))
        again, report = load_ledger(exported.source, mapping=exported.mapping)
    assert report.rejected == 0, report.rejections.rows()
    assert not differing_tables(again, exported.expected), layout
    assert again.equals(exported.expected)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
@given(frames=written_ledgers())
def test_a_written_ledger_reads_back_from_postgresql(frames: LedgerFrames, pg_url: str) -> None:
    with psycopg.connect(libpq_url(pg_url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    with tempfile.TemporaryDirectory() as folder:
        exported = export_pg_entries(frames, pg_url, Path(folder))
        again, report = load_ledger(exported.source, mapping=exported.mapping)
    assert report.rejected == 0, report.rejections.rows()
    assert not differing_tables(again, exported.expected)
    assert again.equals(exported.expected)
