"""Blnk's chain hash: golden vectors from Blnk's own ``model.ComputeChainHash``, and the
vectorised recomputation held to the one-row reference.

The vectors were produced by compiling Blnk's ``model/chain.go`` (blnkfinance/blnk) unchanged
with a small driver calling ``ComputeChainHash`` (Go 1.19); docs/adapters/blnk.md lists them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.sources.adapters.blnk.chain_hash import (
    GENESIS,
    ChainRow,
    chain_hash,
    chain_hashes,
    chain_text,
    rfc3339_nano,
    rfc3339_nano_expr,
)


def _naive(text: str) -> datetime:
    """A zone-less UTC timestamp, as Blnk's TIMESTAMP columns hold them."""
    return datetime.fromisoformat(text)


ROW_1 = ChainRow(
    "txn_1",
    "bln_a",
    "bln_b",
    "100",
    "10000",
    "USD",
    "APPLIED",
    "ref_1",
    _naive("2026-01-02T03:04:05"),
)
HASH_1 = "52d9d82497b0850917fc358c57edef9c6aef97ce749e3f093404ebe6e855cd8e"
ROW_2 = ChainRow(
    "txn_2",
    "bln_b",
    "bln_c",
    "12.50",
    "1250",
    "USD",
    "INFLIGHT",
    None,
    _naive("2026-01-02T03:04:05.123000"),
)
HASH_2 = "955bb42a047eb598df2d0621a3ed405a979ec7ac16bb4eb6a103cdb777254f30"
ROW_3 = ChainRow(
    "txn_3",
    "bln_b",
    "bln_c",
    "7.5",
    "750",
    "EUR",
    "COMMIT",
    "ref_3",
    _naive("2026-01-02T03:04:05.000001"),
)
HASH_3 = "a4354977a34ca3f62b3f06fced4a9a86fe239e8e169a483fbb456147ac2bf98d"
HASH_1_AMOUNT_101 = "9898803e8ac78fafb0b137541373edfdd363bdd3eb3b62c643969b725b3217e7"


def test_golden_vectors_from_blnks_own_code() -> None:
    assert chain_hash(GENESIS, ROW_1) == HASH_1
    assert chain_hash(HASH_1, ROW_2) == HASH_2
    assert chain_hash(HASH_2, ROW_3) == HASH_3


def test_golden_text_is_pipe_joined_with_null_as_empty_and_trimmed_fraction() -> None:
    assert chain_text(HASH_1, ROW_2) == (
        f"{HASH_1}|txn_2|bln_b|bln_c|12.50|1250|USD|INFLIGHT||2026-01-02T03:04:05.123Z"
    )
    assert chain_text(HASH_2, ROW_3).endswith("|ref_3|2026-01-02T03:04:05.000001Z")
    assert chain_text(GENESIS, ROW_1).endswith("|ref_1|2026-01-02T03:04:05Z")


def test_an_edited_amount_changes_the_hash_as_blnk_computes_it() -> None:
    edited = replace(ROW_1, amount="101")
    assert chain_hash(GENESIS, edited) == HASH_1_AMOUNT_101


def test_the_same_instant_in_another_zone_hashes_the_same() -> None:
    lagos = ROW_1.created_at.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=1)))
    moved = replace(ROW_1, created_at=lagos)
    assert chain_hash(GENESIS, moved) == HASH_1


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
_MAYBE = st.none() | _TEXT
_TIMES = st.datetimes(
    min_value=_naive("1970-01-01T00:00:00"), max_value=_naive("2200-01-01T00:00:00")
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(_TEXT, _MAYBE, _MAYBE, _MAYBE, _MAYBE, _MAYBE, _MAYBE, _MAYBE, _TIMES),
        min_size=1,
        max_size=8,
    ),
    prevs=st.lists(st.sampled_from([GENESIS, HASH_1, "", "x|y"]), min_size=8, max_size=8),
)
def test_vectorised_hashes_equal_the_reference(
    rows: list[tuple[Any, ...]],
    prevs: list[str],
) -> None:
    records = [ChainRow(*row) for row in rows]
    frame = pl.DataFrame(
        {
            "prev": prevs[: len(rows)],
            "transaction_id": [r.transaction_id for r in records],
            "source": [r.source for r in records],
            "destination": [r.destination for r in records],
            "amount_text": [r.amount for r in records],
            "precise_text": [r.precise_amount for r in records],
            "currency": [r.currency for r in records],
            "status": [r.status for r in records],
            "reference": [r.reference for r in records],
            "created_at": [r.created_at for r in records],
        },
        schema_overrides={"created_at": pl.Datetime("us"), "prev": pl.String},
    )
    frame = frame.with_columns(rfc3339_nano_expr(pl.col("created_at")).alias("created_text"))
    assert frame["created_text"].to_list() == [rfc3339_nano(r.created_at) for r in records]
    expected = [chain_hash(prev, row) for prev, row in zip(prevs, records, strict=False)]
    assert chain_hashes(frame).to_list() == expected
