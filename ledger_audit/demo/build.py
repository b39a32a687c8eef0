"""Build the demo ledger: set up, stream the month through the writer, plant, write the key.

``DIR/ledger.sqlite`` is recreated from nothing on every run, so the same seed, transaction
count and month give the same rows (every instant comes from the simulated clock).
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal, Protocol, TypeVar

import sqlalchemy as sa

from ledger_audit.demo.answer_key import (
    PlantedAnomaly,
    dump_json,
    sorted_anomalies,
    write_answer_key,
)
from ledger_audit.demo.jet_plant import JET_KEY_FILE, JetPlant, write_jet_key
from ledger_audit.demo.plant import plant_anomalies
from ledger_audit.demo.scenario import (
    ASSET,
    CURRENCIES,
    LEDGER_ID,
    Scenario,
    StreamCounts,
    Timed,
    parse_month,
    streamed_scenario,
)
from ledger_audit.demo.statements import RECON_KEY_FILE, STATEMENTS_DIR, write_statements
from ledger_audit.demo.summary import DemoSummary, read_ledger_counts
from ledger_audit.errors import InputError, LedgerAuditError, PostRejected
from ledger_audit.ledger import admin
from ledger_audit.ledger.bulk import BulkWriter, BulkWriterError
from ledger_audit.ledger.bulk_feed import ChildFeed, hashed
from ledger_audit.ledger.engine import open_writer_engine, sqlite_url
from ledger_audit.ledger.projector import HeldVersions, project_balances
from ledger_audit.ledger.requests import PostResult, Request
from ledger_audit.ledger.writer import LedgerWriter

LEDGER_FILE = "ledger.sqlite"
ANSWER_KEY_FILE = "answer_key.json"
DEMO_JSON_FILE = "demo.json"
BATCH_SIZE = 4_000
"""Requests per ``submit_many`` call (one database transaction)."""

_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")

WriterChoice = Literal["auto", "bulk", "reference"]
WRITERS: tuple[WriterChoice, ...] = ("auto", "bulk", "reference")
BULK_FROM = 50_000
"""``auto`` posts the month through the bulk writer from this many transactions on.

Both writers leave the same bytes (tests/demo/test_bulk_build.py); below this size the
demo keeps going through the single-request reference writer, so every small demo and
the tests that build one keep exercising it.
"""


_T = TypeVar("_T")


class BatchSubmitter(Protocol):
    """What ``submit_stream`` needs of a writer: ``LedgerWriter`` and ``BulkWriter`` both."""

    def submit_many(self, requests: Sequence[Request]) -> list[PostResult | PostRejected]:
        """Apply requests in order in one database transaction; each succeeds or fails alone."""
        ...


class StreamClock:
    """The simulated clock: the writer reads the time of each version as it seals it.

    Before a batch, :meth:`expect` queues the event time of every request that will seal a
    version, in order; each call pops the next one. Client retries seal nothing, so they
    queue nothing. If the queue runs dry (a refused request), the clock repeats its last
    time and the writer moves it on by a nanosecond.
    """

    def __init__(self, start_ns: int) -> None:
        self._queue: deque[int] = deque()
        self._last = start_ns

    def expect(self, time_ns: int) -> None:
        """Queue the time of the next version to be sealed."""
        self._queue.append(time_ns)

    def clear(self) -> None:
        """Forget queued times (after a batch)."""
        self._queue.clear()

    def __call__(self) -> int:
        """The time of the version being sealed now."""
        if self._queue:
            self._last = self._queue.popleft()
        return self._last


@dataclass(slots=True)
class WriteTally:
    """What the writer answered over a build."""

    rejections: int = 0
    replays: int = 0

    def count(self, outcomes: Iterable[object]) -> None:
        """Add a batch's outcomes."""
        for outcome in outcomes:
            if isinstance(outcome, PostRejected):
                self.rejections += 1
            elif getattr(outcome, "replayed", False):
                self.replays += 1


def submit_stream(
    writer: BatchSubmitter, clock: StreamClock, stream: Iterable[Timed], tally: WriteTally
) -> None:
    """Submit a lazy stream of requests in batches, the clock showing each event's time."""
    for batch in _in_batches(stream):
        _submit_batch(writer.submit_many, clock, batch, tally)


def _in_batches(stream: Iterable[_T]) -> Iterator[list[_T]]:
    """``stream`` in lists of :data:`BATCH_SIZE` items (the last one shorter)."""
    batch: list[_T] = []
    for item in stream:
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _submit_batch(
    submit: Callable[[list[Request]], list[PostResult | PostRejected]],
    clock: StreamClock,
    batch: list[Timed],
    tally: WriteTally,
) -> None:
    for item in batch:
        if not item.retry:
            clock.expect(item.time_ns)
    outcomes = submit([item.request for item in batch])
    clock.clear()
    tally.count(outcomes)


def _single_file(path: Path) -> None:
    """Leave the finished ledger as one self-contained file (rollback journal, not WAL).

    The writer's engine switches a database to WAL whenever it opens it; a demo handed to
    readers (or to read-only media) is easier to use without the ``-wal``/``-shm`` files.
    """
    engine = sa.create_engine(sqlite_url(path))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=DELETE")
    finally:
        engine.dispose()


def _fresh_outputs(out_dir: Path) -> None:
    """Remove a previous demo's files, so a failed run never leaves an old key behind."""
    for name in (ANSWER_KEY_FILE, DEMO_JSON_FILE, RECON_KEY_FILE, JET_KEY_FILE):
        (out_dir / name).unlink(missing_ok=True)
    statements = out_dir / STATEMENTS_DIR
    if statements.is_dir():
        for path in statements.iterdir():
            if path.is_file():
                path.unlink()
    for suffix in ("", *_SQLITE_SIDE_FILES):
        (out_dir / (LEDGER_FILE + suffix)).unlink(missing_ok=True)


def build_demo(
    out_dir: Path,
    *,
    transactions: int = 10_000,
    seed: int = 7,
    clean: bool = False,
    month: str = "2025-01",
    writer: WriterChoice = "auto",
) -> DemoSummary:
    """Write the demo ledger, its answer keys, its bank statements and ``demo.json``.

    Args:
        out_dir: output directory (created if missing); an existing demo there is replaced.
        transactions: top-level transactions to post in the month (at least 100).
        seed: every random choice derives from it.
        clean: write the month only, plant nothing (both answer keys are ``[]``).
        month: the simulated month, ``YYYY-MM`` (UTC).
        writer: ``reference`` (the single-request ``LedgerWriter``), ``bulk``
            (``BulkWriter``: the same bytes, much faster), or ``auto``: bulk from
            :data:`BULK_FROM` transactions on. Planting always goes through the reference.

    Raises:
        InputError: a bad parameter, or too few transactions to plant every anomaly.
        OSError: the output directory cannot be written.
        LedgerAuditError: SQLite could not write the ledger (locked, disk full, ...).

    A request the writer refuses is counted in ``writer_rejections`` (0 for a sound
    scenario; the tests hold it there), not raised.
    """
    if isinstance(transactions, bool) or not isinstance(transactions, int):
        raise InputError("transactions", f"expected an integer, got {transactions!r}")
    if writer not in WRITERS:
        raise InputError("writer", f"expected one of {', '.join(WRITERS)}, got {writer!r}")
    bulk = writer == "bulk" or (writer == "auto" and transactions >= BULK_FROM)
    span = parse_month(month)
    scenario = Scenario(seed=seed, transactions=transactions, month=span)
    out_dir.mkdir(parents=True, exist_ok=True)
    ledger_path = out_dir / LEDGER_FILE
    _fresh_outputs(out_dir)
    tally = WriteTally()
    try:
        engine = open_writer_engine(sqlite_url(ledger_path), create=True)
        try:
            _write_month(engine, scenario, tally, bulk=bulk)
            anomalies: tuple[PlantedAnomaly, ...] = ()
            jet: list[JetPlant] = []
            if not clean:
                planted = plant_anomalies(engine, seed=seed, month=span, jet=jet)
                anomalies = sorted_anomalies(planted)
            counts = read_ledger_counts(engine, LEDGER_ID)
            statements = write_statements(engine, out_dir, seed=seed, month=span, clean=clean)
        finally:
            engine.dispose()
        _single_file(ledger_path)
    except sa.exc.OperationalError as exc:
        raise LedgerAuditError(f"{ledger_path}: cannot write the demo ledger: {exc.orig}") from exc
    summary = DemoSummary(
        out_dir=out_dir,
        ledger_path=ledger_path,
        answer_key_path=out_dir / ANSWER_KEY_FILE,
        demo_json_path=out_dir / DEMO_JSON_FILE,
        ledger_id=LEDGER_ID,
        seed=seed,
        transactions=scenario.committed,
        month=span.label,
        clean=clean,
        users=scenario.users,
        events=tuple(sorted(scenario.stats.items())),
        ledger=counts,
        planted=tuple(a.rule.value for a in anomalies),
        writer_rejections=tally.rejections,
        client_retries=scenario.stats["client_retry"],
        replays=tally.replays,
        statements=statements,
    )
    write_answer_key(summary.answer_key_path, anomalies)
    write_jet_key(out_dir / JET_KEY_FILE, jet)
    write_answer_key(statements.recon_key_path, statements.anomalies)
    summary.demo_json_path.write_text(dump_json(summary.to_json()), encoding="utf-8")
    return summary


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk write.

    The bulk writer keeps every transaction's state in memory (millions of objects); the
    collector's full passes over them took a third of the write's CPU. The write path
    makes next to no cycles (a refused request's exception is one), and the collector is
    back on (as it was) after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def scenario_feed(scenario: Scenario) -> ChildFeed[tuple[Timed, str]]:
    """A twin of ``scenario`` streamed by a child process, each request with its digest.

    The scenario is a pure function of its seed, size and month, and needs no answer from
    the writer, so its generation and its requests' hashes (about a third of the caller's
    thread at 1M) run on the other core while the parent writes; the parent reads the same
    requests in the same order, its two sections, then its counts (:func:`adopt_counts`).
    """
    return ChildFeed(
        hashed,
        streamed_scenario,
        scenario.seed,
        scenario.transactions,
        scenario.month,
        what="demo scenario",
    )


def adopt_counts(scenario: Scenario, feed: ChildFeed[tuple[Timed, str]]) -> None:
    """Give ``scenario`` the counts its twin in ``feed`` made while streaming."""
    counts = feed.summary()
    if not isinstance(counts, StreamCounts):  # pragma: no cover - the twin sends its own
        raise BulkWriterError(f"the demo scenario's feed summed up as {type(counts).__name__}")
    scenario.adopt(counts)


def submit_hashed_stream(
    writer: BulkWriter,
    clock: StreamClock,
    stream: Iterable[tuple[Timed, str]],
    tally: WriteTally,
) -> None:
    """:func:`submit_stream` for requests that come with their digests (a feed's)."""
    for pairs in _in_batches(stream):
        submit = partial(writer.submit_many, digests=[digest for _, digest in pairs])
        _submit_batch(submit, clock, [item for item, _ in pairs], tally)


def _post_fed(
    engine: sa.Engine,
    scenario: Scenario,
    writer: BulkWriter,
    clock: StreamClock,
    tally: WriteTally,
    *,
    feed: ChildFeed[tuple[Timed, str]],
) -> None:
    """:func:`_post_streams` with the requests of the scenario's twin in a child process."""
    submit_hashed_stream(writer, clock, feed.section(), tally)
    writer.flush()
    admin.close_period(engine, LEDGER_ID, through_ns=scenario.month.closed_through_ns)
    submit_hashed_stream(writer, clock, feed.section(), tally)
    writer.flush()
    adopt_counts(scenario, feed)


def _post_streams(
    engine: sa.Engine,
    scenario: Scenario,
    writer: BatchSubmitter,
    clock: StreamClock,
    tally: WriteTally,
    *,
    flush: Callable[[], None],
) -> None:
    """The opening balances, the close of the previous month, then the month itself.

    ``flush`` waits for the writer's last batch, so the close comes after it, as it does
    with the reference writer.
    """
    submit_stream(writer, clock, scenario.opening(), tally)
    flush()
    admin.close_period(engine, LEDGER_ID, through_ns=scenario.month.closed_through_ns)
    submit_stream(writer, clock, scenario.month_events(), tally)
    flush()


def _write_month(
    engine: sa.Engine, scenario: Scenario, tally: WriteTally, *, bulk: bool = False
) -> None:
    """Create the ledger, post the opening balances, close the previous month, post the month.

    Then project the balances; the bulk writer hands the projector the versions it sealed,
    which it folds instead of reading the month back when the chain head is still theirs.
    """
    setup_ns = scenario.setup_ns
    admin.create_ledger(
        engine, LEDGER_ID, name=f"Demo wallet ledger {scenario.month.label}", created_ns=setup_ns
    )
    for currency in CURRENCIES:
        admin.register_asset(engine, ASSET[currency], kind="fiat")
    admin.open_accounts(engine, LEDGER_ID, scenario.accounts(), opened_ns=setup_ns)
    clock = StreamClock(setup_ns)
    held: HeldVersions | None = None
    if bulk:
        with (
            _collector_paused(),
            BulkWriter(engine, LEDGER_ID, clock=clock) as writer,
            scenario_feed(scenario) as feed,
        ):
            _post_fed(engine, scenario, writer, clock, tally, feed=feed)
        held = writer.hand_over_versions()  # the month as sealed, so it is not read back
    else:
        reference = LedgerWriter(engine, LEDGER_ID, clock=clock)
        _post_streams(engine, scenario, reference, clock, tally, flush=lambda: None)
    project_balances(engine, LEDGER_ID, held)
