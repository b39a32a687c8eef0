"""The vectorised LACH-1 payloads take shortcuts; each one stays byte-equal to ``lach1``.

Shortcuts: entries stored in the versions' key order are sliced instead of joined; rows are
built in chunks on several threads; a text column without nulls in a chunk is written
between literal quotes instead of as a token. Every layout below (sorted or not, versions
without entries, orphan entries, duplicate keys, any chunk size) must give the reference's
bytes, over adversarial text and over the whole Int64 range of times.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger_audit.checks.chain_hashes import (
    _row_entries,
    content_hash_chunks,
    payload_chunks,
    reference_content_hashes,
    reference_payloads,
)
from ledger_audit.schema import lach1
from ledger_audit.schema.frames import ENTRIES, TRANSACTIONS
from ledger_audit.schema.times import iso_expr, ns_to_iso
from tests.checks.chains import Row, version_row
from tests.checks.test_chain import INT64, TEXT, versions

_KEY = ["ledger_id", "transaction_id", "version"]


def _frames(
    rows: list[lach1.SealedVersion], *, sort_versions: bool, sort_entries: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    tx: list[Row] = []
    legs: list[Row] = []
    for n, version in enumerate(rows):
        keyed = dataclasses.replace(version, transaction_id=f"{version.transaction_id}#{n}")
        row, entries = version_row(keyed, "p" * 64, "c" * 64, "h" * 64)
        tx.append(row)
        legs.extend(reversed(entries))
    transactions = pl.DataFrame(tx, schema=TRANSACTIONS, orient="row")
    entries_frame = pl.DataFrame(legs, schema=ENTRIES, orient="row")
    if sort_versions:
        transactions = transactions.sort(_KEY)
    if sort_entries:
        entries_frame = entries_frame.sort([*_KEY, "entry_index"])
    return transactions, entries_frame


def _chunks_equal_reference(
    transactions: pl.DataFrame, entries: pl.DataFrame, chunk_rows: int
) -> None:
    built = list(payload_chunks(transactions, entries, chunk_rows=chunk_rows))
    assert sum(chunk.len() for chunk in built) == transactions.height
    text = pl.concat(built).to_list() if built else []
    assert text == reference_payloads(transactions, entries)
    hashed = list(content_hash_chunks(transactions, entries, chunk_rows=chunk_rows))
    content = pl.concat(hashed).to_list() if hashed else []
    assert content == reference_content_hashes(transactions, entries).to_list()


LAYOUT = st.fixed_dictionaries(
    {
        "sort_versions": st.booleans(),
        "sort_entries": st.booleans(),
        "drop_entries_of": st.none() | st.integers(0, 7),
        "orphan": st.booleans(),
        "duplicate": st.none() | st.integers(0, 7),
        "chunk_rows": st.sampled_from([1, 2, 3, 250_000]),
    }
)


def laid_out(
    rows: list[lach1.SealedVersion], layout: dict[str, object]
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """``rows`` as frames in one of LAYOUT's arrangements, and its chunk size."""
    transactions, entries = _frames(
        rows, sort_versions=bool(layout["sort_versions"]), sort_entries=bool(layout["sort_entries"])
    )
    dropped = layout["drop_entries_of"]
    if isinstance(dropped, int) and dropped < transactions.height:
        key = transactions.select(_KEY).slice(dropped, 1)
        entries = entries.join(key, on=_KEY, how="anti", maintain_order="left")
    if layout["orphan"] and entries.height:
        stray = entries.head(1).with_columns(pl.lit("no such transaction").alias("transaction_id"))
        entries = pl.concat([entries, stray])
    twice = layout["duplicate"]
    if isinstance(twice, int) and twice < transactions.height:
        transactions = pl.concat([transactions, transactions.slice(twice, 1)])
    chunk_rows = layout["chunk_rows"]
    assert isinstance(chunk_rows, int)
    return transactions, entries, chunk_rows


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(versions(wide=False), min_size=1, max_size=8), LAYOUT)
def test_every_layout_and_chunk_size_gives_the_reference_bytes(
    rows: list[lach1.SealedVersion], layout: dict[str, object]
) -> None:
    transactions, entries, chunk_rows = laid_out(rows, layout)
    _chunks_equal_reference(transactions, entries, chunk_rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(versions(wide=False), min_size=1, max_size=8), st.sampled_from([1, 3, 250_000]))
def test_entries_in_key_order_are_sliced_and_give_the_reference_bytes(
    rows: list[lach1.SealedVersion], chunk_rows: int
) -> None:
    """The layout sources read (both tables in key order) takes the no-join path."""
    transactions, entries = _frames(rows, sort_versions=True, sort_entries=True)
    every_row_has_entries = all(row.entries for row in rows)
    assert (_row_entries(transactions, entries).at is None) == every_row_has_entries
    _chunks_equal_reference(transactions, entries, chunk_rows)


def test_entries_out_of_index_order_in_key_order_are_sorted() -> None:
    """Key order alone is not enough: within a version the entries are sorted by index."""
    debit, credit = (
        lach1.SealedEntry(0, "a", "U", "debit", 5),
        lach1.SealedEntry(1, "b", "U", "credit", 5),
    )
    one = lach1.SealedVersion(
        "L", 1, "tx", 0, "standard", "posted", None, None, 0, 0, None, None,
        (debit, credit),
    )  # fmt: skip
    transactions, entries = _frames([one], sort_versions=True, sort_entries=False)  # reversed
    assert entries["entry_index"].to_list() == [1, 0]
    assert _row_entries(transactions, entries).at is not None
    _chunks_equal_reference(transactions, entries, 250_000)


def test_null_text_in_one_chunk_only() -> None:
    """A chunk with a null writes ``null``; the next, without nulls, writes quotes."""
    base = lach1.SealedVersion(
        "L", 1, "tx", 0, "standard", "posted", None, None, 0, 0, None, None,
        (lach1.SealedEntry(0, "a", "USD/2", "debit", 5),),
    )  # fmt: skip
    rows = [
        base,
        dataclasses.replace(base, seq=2, idempotency_key="", external_id='"x"'),
        dataclasses.replace(base, seq=3, idempotency_key=None, pending_transaction_id="p\\"),
    ]
    transactions, entries = _frames(rows, sort_versions=False, sort_entries=False)
    for chunk_rows in (1, 2, 3):
        _chunks_equal_reference(transactions, entries, chunk_rows)


def test_no_rows() -> None:
    transactions, entries = _frames([], sort_versions=True, sort_entries=True)
    _chunks_equal_reference(transactions, entries, 250_000)


# --- times: the polars ISO form equals lach1's over every Int64 -----------------------------

_DAY = 86_400 * 10**9
_EDGES = [
    -(2**63),
    2**63 - 1,
    -1,
    0,
    1,
    -_DAY,
    _DAY - 1,
    # leap days and year boundaries, either side of the epoch
    int(datetime(2024, 2, 29, tzinfo=UTC).timestamp()) * 10**9,
    int(datetime(2000, 2, 29, 23, 59, 59, tzinfo=UTC).timestamp()) * 10**9 + 999_999_999,
    int(datetime(1900, 3, 1, tzinfo=UTC).timestamp()) * 10**9 - 1,
    int(datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()) * 10**9 + 1,
    int(datetime(2100, 1, 1, tzinfo=UTC).timestamp()) * 10**9 - 1,
]


@settings(max_examples=300, deadline=None)
@given(st.lists(INT64, min_size=1, max_size=20))
@example(_EDGES)
def test_iso_times_equal_lach1_over_the_int64_range(instants: list[int]) -> None:
    frame = pl.DataFrame({"ns": instants}, schema={"ns": pl.Int64()})
    fast = frame.select(iso_expr(pl.col("ns"))).to_series().to_list()
    assert fast == [ns_to_iso(ns) for ns in instants]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_EDGES) | INT64, min_size=1, max_size=6), TEXT)
def test_payloads_at_extreme_times_equal_lach1(instants: list[int], text: str) -> None:
    base = lach1.SealedVersion(
        text, 1, text, 0, text, text, text, None, 0, 0, None, text,
        (lach1.SealedEntry(0, text, text, text, 1),),
    )  # fmt: skip
    rows = [
        dataclasses.replace(base, seq=n + 1, effective_ns=ns, recorded_ns=instants[-1 - n])
        for n, ns in enumerate(instants)
    ]
    transactions, entries = _frames(rows, sort_versions=True, sort_entries=True)
    _chunks_equal_reference(transactions, entries, 2)


def _two_legs(seq: int, tx: str) -> lach1.SealedVersion:
    debit, credit = (
        lach1.SealedEntry(0, "a", "U", "debit", 5),
        lach1.SealedEntry(1, "b", "U", "credit", 5),
    )
    return lach1.SealedVersion(
        "L", seq, tx, 0, "standard", "posted", None, None, 0, 0, None, None, (debit, credit),
    )  # fmt: skip


def test_a_missing_run_and_an_orphan_run_are_not_taken_for_each_other() -> None:
    """As many entry runs as versions, but one run is an orphan's: the keys must be compared."""
    rows = [_two_legs(1, "a"), _two_legs(2, "b"), _two_legs(3, "c")]
    transactions, entries = _frames(rows, sort_versions=True, sort_entries=True)
    entries = entries.filter(pl.col("transaction_id") != "b#1")
    orphan = entries.filter(pl.col("transaction_id") == "c#2").with_columns(
        transaction_id=pl.lit("d#9")
    )
    entries = pl.concat([entries, orphan])
    assert _row_entries(transactions, entries).at is not None
    _chunks_equal_reference(transactions, entries, 250_000)


def test_a_key_stored_twice_gets_every_run_of_its_entries() -> None:
    """Versions A, B, A over entry runs A, B, A: each A row has both runs (as the join gives)."""
    transactions, entries = _frames(
        [_two_legs(1, "a"), _two_legs(2, "b")], sort_versions=True, sort_entries=True
    )
    transactions = pl.concat([transactions, transactions.head(1)])
    entries = pl.concat([entries, entries.head(2)])
    assert _row_entries(transactions, entries).at is not None
    _chunks_equal_reference(transactions, entries, 250_000)


def test_an_entry_without_amount_leaves_its_row_without_payload() -> None:
    rows = [_two_legs(1, "a"), _two_legs(2, "b")]
    for sort in (True, False):
        transactions, entries = _frames(rows, sort_versions=sort, sort_entries=sort)
        entries = entries.with_columns(
            amount=pl.when(pl.col("transaction_id") == "a#0").then(None).otherwise("amount")
        )
        assert None in reference_payloads(transactions, entries)
        _chunks_equal_reference(transactions, entries, 250_000)
