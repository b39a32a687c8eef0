"""The streamed verifier reports exactly what ``verify_chain`` reports over the same rows.

An intact chain is proven by the stream itself (one batch at a time, any batch sizes); any
break, moved entry, orphan, duplicate key, interleaved ledger, meta edit or failed
checkpoint hands over to the frame verifier. Either way the report (summaries, findings,
rows checked, what was not proven) equals the frame verifier's.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.checks.chain import ChainReport, unproven_rules, verify_chain
from ledger_audit.checks.chain_stream import StreamedChain, verify_chain_streamed
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.schema import lach1
from ledger_audit.sources import load_ledger
from tests.checks.chains import Chain, random_chain, random_versions, sealed_of
from tests.checks.demo_tampering import KINDS, tamper
from tests.checks.test_chain_campaign import LEDGERS, _trial
from tests.conftest import DemoFactory

_KEY = ["ledger_id", "transaction_id", "version"]


def _batches(frame: pl.DataFrame, size: int) -> Iterator[pl.DataFrame]:
    yield from frame.iter_slices(size)


def in_stream_order(
    transactions: pl.DataFrame, entries: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Versions by (ledger, seq), entries in their versions' order (index order inside)."""
    versions = transactions.sort("ledger_id", "chain_seq", *_KEY[1:], nulls_last=True)
    order = versions.select(_KEY).with_row_index("_v")
    legs = (
        entries.join(order, on=_KEY, how="left", maintain_order="left")
        .sort("_v", "entry_index", nulls_last=True, maintain_order=True)
        .drop("_v")
    )
    return versions, legs


def streamed(
    transactions: pl.DataFrame,
    entries: pl.DataFrame,
    ledgers: pl.DataFrame,
    checkpoints: tuple[lach1.Checkpoint, ...] = (),
    sizes: tuple[int, int] = (7, 5),
) -> tuple[StreamedChain, ChainReport]:
    """The streamed verification and the frame verification of the same rows."""
    loads: list[int] = []

    def load() -> tuple[pl.DataFrame, pl.DataFrame]:
        loads.append(1)
        return transactions, entries

    result = verify_chain_streamed(
        _batches(transactions, sizes[0]), _batches(entries, sizes[1]), ledgers, load, checkpoints
    )
    assert len(loads) == (0 if result.streamed else 1)
    frames = verify_chain(transactions, entries, ledgers, checkpoints)
    # what the chain check's summary calls "not proven", counted by the stream as rows pass
    assert result.unproven_rules == unproven_rules(transactions, frames)
    return result, frames


def assert_same(result: StreamedChain, frames: ChainReport) -> None:
    report = result.report
    assert report.ledgers == frames.ledgers
    assert report.rows_checked == frames.rows_checked
    assert report.unproven == frames.unproven
    assert report.findings.equals(frames.findings)


def _chain_frames(chain: Chain) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    transactions, entries, ledgers = chain.frames()
    versions, legs = in_stream_order(transactions, entries)
    return versions, legs, ledgers


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.integers(1, 40), st.integers(1, 90), st.booleans())
def test_a_clean_chain_is_proven_by_the_stream_alone(
    seed: int, rows: int, legs: int, with_checkpoints: bool
) -> None:
    """Any batch sizes; with the chain's own checkpoints or none."""
    chain = random_chain(random.Random(seed), LEDGERS, wide=seed % 4 == 0)
    transactions, entries, ledgers = _chain_frames(chain)
    checkpoints = tuple(chain.checkpoint(lid) for lid in LEDGERS) if with_checkpoints else ()
    result, frames = streamed(transactions, entries, ledgers, checkpoints, (rows, legs))
    assert result.streamed, result.reason
    assert result.batches == -(-transactions.height // rows)
    assert not frames.findings.height
    assert_same(result, frames)


@pytest.mark.parametrize("block", range(4))
def test_every_single_edit_hands_over_and_reports_as_the_frames(block: int) -> None:
    """The campaign's edits (tampered, deleted, re-sealed, swapped, inserted, unchained, ...)."""
    for seed in range(block * 15, block * 15 + 15):
        chain, expected, name = _trial(seed)
        transactions, entries, ledgers = _chain_frames(chain)
        result, frames = streamed(transactions, entries, ledgers, sizes=(seed % 9 + 1, 4))
        assert expected, (seed, name)
        assert not result.streamed, (seed, name)
        assert_same(result, frames)


def test_checkpoints_the_chain_does_not_extend_hand_over() -> None:
    chain = random_chain(random.Random(3), LEDGERS)
    checkpoints = tuple(chain.checkpoint(lid) for lid in LEDGERS)
    head = chain.head_row("alpha")
    assert head is not None
    chain.delete(head)  # truncated behind the checkpoint
    transactions, entries, ledgers = _chain_frames(chain)
    result, frames = streamed(transactions, entries, ledgers, checkpoints)
    assert not result.streamed
    assert {"chain.truncated"} <= set(frames.findings["rule"].to_list())
    assert_same(result, frames)
    rewritten = (lach1.Checkpoint("beta", 3, "0" * 64, 3),)
    transactions, entries, ledgers = _chain_frames(random_chain(random.Random(3), LEDGERS))
    result, frames = streamed(transactions, entries, ledgers, rewritten)
    assert not result.streamed
    assert "chain.rewritten" in frames.findings["rule"].to_list()
    assert_same(result, frames)


LAYOUTS = ("entries_reversed", "orphan_entry", "entry_moved", "duplicate_row", "interleaved")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_layout_the_stream_cannot_clear_hands_over(layout: str) -> None:
    """Entries out of the versions' order, a duplicate key, interleaved ledgers; an orphan."""
    chain = random_chain(random.Random(11), LEDGERS)
    transactions, entries, ledgers = _chain_frames(chain)
    if layout == "entries_reversed":
        entries = entries.reverse()
    elif layout == "orphan_entry":
        stray = entries.head(1).with_columns(transaction_id=pl.lit("no such transaction"))
        entries = pl.concat([entries.head(9), stray, entries.slice(9)])
    elif layout == "entry_moved":
        entries = pl.concat([entries.slice(1), entries.head(1)])
    elif layout == "duplicate_row":
        transactions = pl.concat([transactions.head(1), transactions])
    else:
        transactions = pl.concat([transactions.slice(5), transactions.head(5)])
    result, frames = streamed(transactions, entries, ledgers, sizes=(6, 8))
    # an orphan inside a batch's entries is left out, as the frame verifier leaves it out
    assert result.streamed == (layout == "orphan_entry"), layout
    assert_same(result, frames)


def test_an_entry_copied_after_every_version_hands_over() -> None:
    """A copy of an entry stored last: no batch takes it, the frames give it to its version."""
    chain = random_chain(random.Random(12), LEDGERS)
    transactions, entries, ledgers = _chain_frames(chain)
    entries = pl.concat([entries, entries.head(1)])
    result, frames = streamed(transactions, entries, ledgers, sizes=(6, 8))
    assert not result.streamed
    assert result.reason is not None
    assert "belong to no version" in result.reason
    assert "chain.tampered" in frames.findings["rule"].to_list()
    assert_same(result, frames)


def test_a_version_key_sealed_twice_hands_over() -> None:
    """The second row of a key, sealed without entries, gets the first's from the frames."""
    chain = random_chain(random.Random(13), LEDGERS)
    first = chain.at("alpha", 1)
    again = dataclasses.replace(sealed_of(first, chain.legs_of(first)), seq=19, entries=())
    chain.append([again])
    transactions, entries, ledgers = _chain_frames(chain)
    entries = entries.unique(maintain_order=True)  # the first row's entries, stored once
    result, frames = streamed(transactions, entries, ledgers, sizes=(6, 8))
    assert not result.streamed
    assert result.reason is not None
    assert "occurs twice" in result.reason
    assert frames.findings.height
    assert_same(result, frames)


def test_a_second_chain_from_genesis_in_its_own_block_hands_over() -> None:
    """A ledger's rows in two blocks, each a valid chain from genesis: a fork."""
    chain = random_chain(random.Random(14), LEDGERS)
    fork = Chain()
    fork.add_ledger("alpha")
    versions = random_versions(random.Random(99), "alpha", 4)
    fork.append(
        [dataclasses.replace(v, transaction_id=f"fork-{v.transaction_id}") for v in versions]
    )
    transactions, entries, ledgers = _chain_frames(chain)
    extra, extra_legs, _ = _chain_frames(fork)
    transactions = pl.concat([transactions, extra])
    entries = pl.concat([entries, extra_legs])
    result, frames = streamed(transactions, entries, ledgers, sizes=(6, 8))
    assert not result.streamed
    assert result.reason is not None
    assert "not contiguous" in result.reason
    assert "chain.inserted" in frames.findings["rule"].to_list()
    assert_same(result, frames)


def test_an_unchained_row_hands_over_and_says_why() -> None:
    chain = random_chain(random.Random(15), LEDGERS)
    chain.at("beta", 4)["content_hash"] = None
    transactions, entries, ledgers = _chain_frames(chain)
    result, frames = streamed(transactions, entries, ledgers)
    assert not result.streamed
    assert result.reason is not None
    assert "null chain field" in result.reason
    assert "chain.unchained" in frames.findings["rule"].to_list()
    assert_same(result, frames)


def test_a_ledger_of_another_algorithm_and_unknown_ledgers_are_reported_as_skipped() -> None:
    chain = random_chain(random.Random(5), LEDGERS)
    chain.add_ledger("plain", algorithm=None)
    transactions, entries, ledgers = _chain_frames(chain)
    extra = transactions.head(2).with_columns(ledger_id=pl.lit("plain"))
    stranger = transactions.head(1).with_columns(ledger_id=pl.lit("stranger"))
    transactions = pl.concat([transactions, extra, stranger])
    result, frames = streamed(transactions, entries, ledgers)
    assert result.streamed, result.reason
    assert len(frames.unproven) == 2
    assert_same(result, frames)


def test_a_meta_edit_hands_over() -> None:
    chain = random_chain(random.Random(8), LEDGERS)
    transactions, entries, ledgers = _chain_frames(chain)
    transactions = transactions.with_columns(
        meta_hash=pl.when(pl.int_range(pl.len()) == 4)
        .then(pl.lit("f" * 64))
        .otherwise(pl.col("meta_hash"))
    )
    result, frames = streamed(transactions, entries, ledgers)
    assert not result.streamed
    assert "chain.meta_tampered" in frames.findings["rule"].to_list()
    assert_same(result, frames)


def test_no_rows_at_all() -> None:
    chain = Chain()
    chain.add_ledger("empty")
    transactions, entries, ledgers = _chain_frames(chain)
    result, frames = streamed(transactions, entries, ledgers)
    assert result.streamed
    assert_same(result, frames)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_demo_tamperings_report_as_the_frames(
    demo_factory: DemoFactory, tmp_path: Path, kind: str
) -> None:
    """Real demo ledgers (reference writer, SQLite), each kind of edit, two seeds."""
    demo: DemoSummary = demo_factory(transactions=120, seed=5, clean=True)
    for seed in range(2):
        path = tmp_path / f"{kind}-{seed}.sqlite"
        shutil.copy(demo.ledger_path, path)
        tampering = tamper(path, kind, seed)
        frames, _ = load_ledger(path)
        transactions, entries = in_stream_order(frames.transactions, frames.entries)
        result, report = streamed(
            transactions, entries, frames.ledgers, tampering.checkpoints, (50, 64)
        )
        assert not result.streamed, (kind, seed)
        assert_same(result, report)


def test_a_clean_demo_is_proven_by_the_stream(demo_factory: DemoFactory) -> None:
    demo: DemoSummary = demo_factory(transactions=120, seed=5, clean=True)
    frames, _ = load_ledger(demo.ledger_path)
    transactions, entries = in_stream_order(frames.transactions, frames.entries)
    result, report = streamed(transactions, entries, frames.ledgers, sizes=(33, 50))
    assert result.streamed, result.reason
    assert_same(result, report)
