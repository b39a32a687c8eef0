"""LACH-1 verification over batches in chain order, holding one batch at a time.

Why: at 10M versions the frames alone take 7.3 GiB; a verifier that only needs each row's
predecessor can read the versions in (ledger, chain_seq) order, a batch at a time, and carry
the last row's hash across batches (DESIGN.md section 4: each link depends only on stored
fields). Each batch's payloads are built and hashed by ``chain_hashes`` (the compiled
kernel from ``chain_json.JIT_MIN_ROWS`` rows), so the bytes are the frame path's.

The stream proves a chain intact or hands over: classifying a break (tampered, re-sealed,
inserted, reordered, ...) needs hash look-ups across the whole chain (``checks.chain``).
So every row is checked as it passes (content, self-link, its link to the row before,
contiguous seqs from 1, meta_hash, the checkpoints, every entry read belonging to a version
of its batch, no version key twice); at the first doubt the stream stops and the caller's
``load`` gives the frames for :func:`verify_chain`. A batch reader stops it the same way
(``sources.chain_batches.HandOver``: a row the loader would reject, ...). Either way the
report is the one ``verify_chain`` gives for the same rows; ``StreamedChain.streamed`` says
which way it went and ``reason`` why the stream stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from ledger_audit.checks.chain import (
    ChainReport,
    LedgerChain,
    algorithms_of,
    ledger_unproven,
    skipped_ledgers,
    unproven_rules,
    verify_chain,
)
from ledger_audit.checks.chain_hashes import (
    META_COLUMNS,
    SEALED_COLUMNS,
    VERSION_KEY,
    content_hashes,
    link_hashes,
    meta_hashes,
)
from ledger_audit.findings import RuleId, empty_findings
from ledger_audit.schema.frames import ENTRIES
from ledger_audit.schema.lach1 import ALGORITHM, Checkpoint, genesis
from ledger_audit.sources.chain_batches import HandOver

_L = "ledger_id"
_CHAIN = ("chain_seq", "chain_prev_hash", "content_hash", "chain_hash")
_SCAN_LIMIT = 4_000_000
"""Buffered entries past which a batch's last version is taken to have none (and the
member-by-member path runs): a bound on what one batch can read ahead."""
STREAM_COLUMNS = (*SEALED_COLUMNS, *_CHAIN[1:], "meta_hash", *META_COLUMNS)
"""The transaction columns a batch must hold."""


@dataclass(frozen=True, slots=True)
class StreamedChain:
    """A verification that tried the stream first.

    Attributes:
        report: what :func:`verify_chain` reports for the same rows.
        streamed: True when the stream proved every chain intact on its own; False when it
            stopped and the frames were loaded and classified instead.
        reason: why the stream stopped (None when it did not).
        batches: version batches the stream read (before it stopped, if it did).
        unproven_rules: the rules no row let the verification test (``chain.unproven_rules``:
            ``chain.meta_tampered`` when a verified row has no meta_hash, or there is none).
    """

    report: ChainReport
    streamed: bool
    reason: str | None
    batches: int
    unproven_rules: tuple[RuleId, ...] = ()


class _Doubt(Exception):
    """The stream cannot prove the chain intact: hand over to the frame verifier."""


@dataclass(slots=True)
class _Ledger:
    """What the stream has seen of one chained ledger."""

    rows: int = 0
    metas: int = 0
    head: tuple[int, str, str, str] | None = None  # seq, chain_hash, prev, recomputed link


@dataclass(slots=True)
class _Carry:
    """The last row read (ledger, seq, chain_hash) and what is known across batches."""

    ledger: str | None = None
    seq: int | None = None
    chain: str | None = None
    started: set[str] = field(default_factory=set)
    ledgers: dict[str, _Ledger] = field(default_factory=dict)
    counts: dict[str | None, int] = field(default_factory=dict)
    keys: list[pl.Series] = field(default_factory=list)
    seen_checkpoints: set[tuple[str, int]] = field(default_factory=set)
    batches: int = 0


class _EntryFeed:
    """Entries batches handed out a version batch at a time, in the versions' order.

    A batch takes the leading entries whose version key is one of its versions'; an entry
    that belongs to no version of the batch it reaches stays at the front, and is found at
    the end (``left``): the frame verifier then decides.
    """

    def __init__(self, batches: Iterable[pl.DataFrame], ledger_ids: list[str]) -> None:
        self._batches = iter(batches)
        self._ledgers = pl.Series(ledger_ids, dtype=pl.String()).implode()
        self._buffer: pl.DataFrame | None = None
        self._done = False

    def _next(self) -> pl.DataFrame | None:
        for batch in self._batches:
            mine = batch.filter(pl.col(_L).is_in(self._ledgers))
            if mine.height:
                return mine
        self._done = True
        return None

    def take(self, keys: pl.DataFrame) -> pl.DataFrame:
        """The leading entries of the versions ``keys`` (in stream order).

        The common layout (entries in the versions' order) cuts after the last entry of the
        batch's last version: one comparison per buffered entry. Entries in that slice that
        belong to no version of the batch are left out of every payload, as the frame
        verifier leaves out orphans; an entry of another batch's version left out makes
        that version's content differ, and the stream hands over.
        """
        cut = self._after_last(keys.row(keys.height - 1))
        if cut is not None:
            assert self._buffer is not None  # noqa: S101 - set by _after_last
            taken, self._buffer = self._buffer.slice(0, cut), self._buffer.slice(cut)
            return taken.rechunk()  # one chunk: the payload kernel reads contiguous columns
        while True:
            buffer = self._buffer
            if buffer is not None and buffer.height:
                lead = _leading_members(buffer, keys)
                if lead < buffer.height or self._done:
                    self._buffer = buffer.slice(lead)
                    return buffer.slice(0, lead)
            more = None if self._done else self._next()
            if more is None:
                if buffer is None:
                    return pl.DataFrame()
                self._buffer = buffer.clear()
                return buffer
            self._buffer = more if buffer is None else pl.concat([buffer, more])

    def _after_last(self, key: tuple[object, ...]) -> int | None:
        """The position after the last buffered entry of ``key``, once its run has ended.

        None when no entry of ``key`` is found before the stream ends (a version without
        entries, or another order): the member-by-member path decides then. Each buffered
        entry is compared once, however many batches are appended while looking.
        """
        match = pl.all_horizontal(pl.col(c) == v for c, v in zip(VERSION_KEY, key, strict=True))
        last: int | None = None
        scanned = 0
        while True:
            buffer = self._buffer
            height = 0 if buffer is None else buffer.height
            if buffer is not None and height > scanned:
                part = buffer.slice(scanned).select(match.fill_null(value=False))
                hits = part.to_series().arg_true()
                if hits.len():
                    last = scanned + int(hits[-1])
                scanned = height
            if last is not None and (last + 1 < height or self._done):
                return last + 1
            if last is None and (self._done or height > _SCAN_LIMIT):
                return None
            more = self._next()
            if more is not None:
                self._buffer = more if buffer is None else pl.concat([buffer, more])

    def left(self) -> int:
        """Entries of chained ledgers that no version batch took."""
        rest = 0 if self._buffer is None else self._buffer.height
        while (more := self._next()) is not None:
            rest += more.height
        return rest


def _leading_members(buffer: pl.DataFrame, keys: pl.DataFrame) -> int:
    """How many leading rows of ``buffer`` have a version key in ``keys``."""
    hits = (
        buffer.select(VERSION_KEY)
        .with_row_index("_e")
        .join(keys.select(VERSION_KEY).unique(), on=list(VERSION_KEY), how="semi")
        .get_column("_e")
        .to_numpy()
    )
    member = np.zeros(buffer.height, np.bool_)
    member[hits] = True
    if member.all():
        return buffer.height
    return int(np.argmin(member))


def _check_links(rows: pl.DataFrame, carry: _Carry) -> None:
    """Each row links to the row before it (same ledger, seq + 1) or starts its ledger."""
    before = pl.DataFrame(
        {"_pl": [carry.ledger], "_ps": [carry.seq], "_pc": [carry.chain]},
        schema={"_pl": pl.String(), "_ps": pl.Int64(), "_pc": pl.String()},
    )
    shifted = pl.concat(
        [
            before,
            rows.select(
                pl.col(_L).alias("_pl"),
                pl.col("chain_seq").cast(pl.Int64()).alias("_ps"),
                pl.col("chain_hash").alias("_pc"),
            ).slice(0, rows.height - 1),
        ]
    )
    both = pl.concat([rows.select(_L, "chain_seq", "chain_prev_hash"), shifted], how="horizontal")
    same = (pl.col(_L) == pl.col("_pl")).fill_null(value=False)
    starts = both.filter(~same)
    for lid in starts.get_column(_L).to_list():
        if lid in carry.started:
            raise _Doubt(f"ledger {lid}'s rows are not contiguous in chain order")
        carry.started.add(lid)
    geneses = {lid: genesis(lid) for lid in starts.get_column(_L).unique().to_list()}
    start_ok = starts.select(
        (
            (pl.col("chain_seq") == 1)
            & (
                pl.col("chain_prev_hash")
                == pl.col(_L).replace_strict(geneses, return_dtype=pl.String())
            )
        ).all()
    ).item()
    if starts.height and not start_ok:
        raise _Doubt("a ledger's first row is not seq 1 linked to its genesis")
    linked = both.filter(same).select(
        ((pl.col("chain_seq") == pl.col("_ps") + 1) & (pl.col("chain_prev_hash") == pl.col("_pc")))
        .fill_null(value=False)
        .all()
    )
    if not linked.item():
        raise _Doubt("a row does not link to the row before it (seq + 1, chain_hash)")
    last = rows.row(rows.height - 1, named=True)
    carry.ledger, carry.seq, carry.chain = last[_L], last["chain_seq"], last["chain_hash"]


def _check_batch(
    rows: pl.DataFrame,
    legs: pl.DataFrame,
    carry: _Carry,
    checkpoints: pl.DataFrame,
) -> None:
    """Every signal the frame verifier reads, for one batch of chained rows."""
    if rows.select(pl.any_horizontal(pl.col(c).is_null() for c in _CHAIN).any()).item():
        raise _Doubt("a row of a lach/1 ledger has a null chain field")
    calc = content_hashes(rows, legs)
    own = link_hashes(rows.get_column("chain_prev_hash"), rows.get_column("content_hash"))
    signals = pl.DataFrame(
        {
            "cok": (calc == rows.get_column("content_hash")).fill_null(value=False),
            "lok": (own == rows.get_column("chain_hash")).fill_null(value=False),
        }
    )
    if not signals.select(pl.col("cok").all() & pl.col("lok").all()).item():
        raise _Doubt("a row's content or self-link differs from its stored hashes")
    _check_links(rows, carry)
    with_meta = rows.filter(pl.col("meta_hash").is_not_null())
    if with_meta.height and not (meta_hashes(with_meta) == with_meta["meta_hash"]).all():
        raise _Doubt("a row's description or metadata no longer hash to its meta_hash")
    tally = rows.group_by(_L).agg(
        pl.len().alias("n"), pl.col("meta_hash").is_not_null().sum().alias("m")
    )
    for lid, n, m in tally.iter_rows():
        state = carry.ledgers.setdefault(lid, _Ledger())
        state.rows += n
        state.metas += m
    heads = (
        rows.with_columns(_own=own)
        .group_by(_L, maintain_order=True)
        .last()
        .select(_L, "chain_seq", "chain_hash", "chain_prev_hash", "_own")
    )
    for lid, seq, chain, prev, link in heads.iter_rows():
        carry.ledgers[lid].head = (seq, chain, prev, link)
    if checkpoints.height:
        at = rows.join(checkpoints, left_on=[_L, "chain_seq"], right_on=[_L, "cp_seq"])
        if not (at.get_column("chain_hash") == at.get_column("cp_hash")).all():
            raise _Doubt("the row at a checkpoint's seq has another chain_hash")
        carry.seen_checkpoints.update(at.select(_L, "chain_seq").iter_rows())
    carry.keys.append(rows.select(pl.struct(VERSION_KEY).hash(seed=16)).to_series())


def _stream(
    versions: Iterable[pl.DataFrame],
    entries: _EntryFeed,
    chained: list[str],
    checkpoints: tuple[Checkpoint, ...],
    carry: _Carry,
) -> None:
    """Read every batch; raises ``_Doubt`` at the first signal the stream cannot clear."""
    cps = pl.DataFrame(
        [(c.ledger_id, c.seq, c.head_hash) for c in checkpoints],
        schema={_L: pl.String(), "cp_seq": pl.Int64(), "cp_hash": pl.String()},
        orient="row",
    )
    wanted = pl.Series(chained, dtype=pl.String()).implode()
    for batch in versions:
        carry.batches += 1
        for lid, n in batch.group_by(_L).len().iter_rows():
            carry.counts[lid] = carry.counts.get(lid, 0) + n
        rows = batch.filter(pl.col(_L).is_in(wanted)).select(STREAM_COLUMNS)
        if rows.height == 0:
            continue
        legs = entries.take(rows.select(VERSION_KEY))
        if legs.width == 0:
            legs = pl.DataFrame(schema=ENTRIES)
        _check_batch(rows, legs, carry, cps)
    if entries.left():
        raise _Doubt("some entries belong to no version of the batch they were read with")
    if carry.keys and pl.concat(carry.keys).n_unique() != sum(k.len() for k in carry.keys):
        raise _Doubt("a version key occurs twice (or two keys share a hash)")
    for cp in checkpoints:
        if (cp.ledger_id, cp.seq) not in carry.seen_checkpoints:
            raise _Doubt(f"ledger {cp.ledger_id} has no row at checkpoint seq {cp.seq}")


def _report(
    chained: list[str],
    algorithms: dict[str, str | None],
    checkpoints: tuple[Checkpoint, ...],
    carry: _Carry,
) -> ChainReport:
    """The report of an intact stream: what ``verify_chain`` gives when nothing is found."""
    findings = empty_findings()
    summaries = []
    for lid in chained:
        state = carry.ledgers.get(lid, _Ledger())
        stored = recomputed = checkpoint = None
        if state.head is not None:
            seq, chain, _, link = state.head
            stored, recomputed = (seq, chain), (seq, link)
            checkpoint = Checkpoint(lid, seq, chain, state.rows)
        mine = tuple(c for c in checkpoints if c.ledger_id == lid)
        summaries.append(
            LedgerChain(
                ledger_id=lid,
                rows_checked=state.rows,
                first_broken_seq=None,
                counts=(),
                recomputed_head=recomputed,
                stored_head=stored,
                checkpoint=checkpoint,
                unproven=ledger_unproven(
                    lid, stored[0] if stored else 0, mine, findings, (state.rows, state.metas)
                ),
            )
        )
    return ChainReport(
        ledgers=tuple(summaries),
        findings=findings,
        rows_checked=sum(carry.ledgers[lid].rows for lid in chained if lid in carry.ledgers),
        unproven=skipped_ledgers(carry.counts, algorithms),
    )


def verify_chain_streamed(
    versions: Iterable[pl.DataFrame],
    entries: Iterable[pl.DataFrame],
    ledgers: pl.DataFrame,
    load: Callable[[], tuple[pl.DataFrame, pl.DataFrame]],
    checkpoints: tuple[Checkpoint, ...] = (),
) -> StreamedChain:
    """Verify every lach/1 chain from batches, one batch in memory at a time.

    Args:
        versions: TRANSACTIONS batches (at least ``STREAM_COLUMNS``), each ledger's rows
            together and in chain_seq order (batches may cut anywhere).
        entries: ENTRIES batches in the versions' order (each version's entries together,
            in any index order).
        ledgers: LEDGERS frame: which ledgers are chained.
        load: the whole (transactions, entries) frames, called only when the stream stops.
        checkpoints: earlier audits' positions the chains must extend.
    """
    algorithms = algorithms_of(ledgers)
    chained = sorted(lid for lid, algorithm in algorithms.items() if algorithm == ALGORITHM)
    carry = _Carry()
    feed = _EntryFeed(entries, chained)
    stream: Iterator[pl.DataFrame] = iter(versions)
    try:
        _stream(stream, feed, chained, checkpoints, carry)
    except (_Doubt, HandOver) as doubt:
        read = carry.batches
        del carry, feed, stream  # nothing of the stream is held while the frames load
        transactions, all_entries = load()
        report = verify_chain(transactions, all_entries, ledgers, checkpoints)
        rules = unproven_rules(transactions, report)
        return StreamedChain(
            report, streamed=False, reason=str(doubt), batches=read, unproven_rules=rules
        )
    states = [carry.ledgers.get(lid, _Ledger()) for lid in chained]
    no_meta = sum(s.rows for s in states) == 0 or any(s.metas < s.rows for s in states)
    return StreamedChain(
        _report(chained, algorithms, checkpoints, carry),
        streamed=True,
        reason=None,
        batches=carry.batches,
        unproven_rules=(RuleId.CHAIN_META_TAMPERED,) if no_meta else (),
    )
