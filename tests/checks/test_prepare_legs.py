"""``prepare_legs`` gathers by row numbers what one join of the whole rows gives, row for row.

The reference below is the plain formulation (the whole rows joined, then sorted); the
property draws ledgers with what a damaged source holds: orphan entries, versions without
entries, unknown accounts and assets, rows without a chain seq, several ledgers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger_audit.checks.invariant_rules import (
    TX,
    VERSION,
    _pairs_in_key_order,
    _pairs_joined,
    legs_schema,
    prepare_legs,
)
from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.sources.ledger_frames import LedgerFrames
from tests.checks.test_suites import DAMAGED
from tests.checks.test_wide_amounts import _wide_frames
from tests.text_ledger import ledger_from_text


def joined_whole(frames: LedgerFrames) -> pl.DataFrame:
    """The legs by joining whole rows (the formulation ``prepare_legs`` must equal)."""
    schema = legs_schema(frames.entries.schema["amount"])
    versions = frames.transactions.select(
        *TX,
        pl.col("version").cast(pl.Int64()),
        pl.lit(1, dtype=pl.Int64()).alias("has_version"),
        "kind",
        "status",
        "pending_transaction_id",
        "reverses_transaction_id",
        "idempotency_key",
        "external_id",
        "chain_seq",
        "recorded_ns",
    )
    entries = frames.entries.select(
        *TX,
        pl.col("version").cast(pl.Int64()),
        pl.col("entry_index").cast(pl.Int64()),
        "account_id",
        "asset_id",
        "direction",
        pl.col("amount").cast(schema["amount"]),
    )
    accounts = frames.accounts.select(
        "ledger_id",
        "account_id",
        pl.col("asset_id").alias("account_asset_id"),
        pl.col("normal_balance"),
        pl.col("allow_negative").cast(pl.Int64()),
        pl.lit(value=True).alias("_account"),
    )
    assets = frames.assets.select(
        "asset_id", pl.col("scale").cast(pl.Int64()).alias("_scale"), pl.lit(value=True).alias("_a")
    )
    entry = pl.col("entry_index").is_not_null()
    return (
        versions.join(entries, on=list(VERSION), how="full", coalesce=True)
        .join(accounts, on=["ledger_id", "account_id"], how="left")
        .join(assets, on="asset_id", how="left")
        .with_columns(
            pl.col("has_version").fill_null(0),
            pl.when(~entry)
            .then(None)
            .when(pl.col("_account").is_null())
            .then(pl.lit("unknown"))
            .otherwise(pl.col("normal_balance"))
            .alias("account_check"),
            pl.when(~entry)
            .then(None)
            .when(pl.col("_a").is_null())
            .then(pl.lit(-1))
            .otherwise(pl.col("_scale"))
            .alias("asset_check"),
        )
        .select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
        .sort("ledger_id", "chain_seq", "transaction_id", "version", "entry_index", nulls_last=True)
    )


def _frame(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = FRAME_SCHEMAS[table]
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)


LEDGERS = ("l", "m")
TRANSACTIONS = ("t1", "t2", "t3", "t4")
ACCOUNTS = ("a:bank", "a:wallet", "a:fees")
ASSETS = ("USD/2", "EUR/2")


@st.composite
def sound_frames(draw: st.DrawFn) -> LedgerFrames:
    """Every version with entries and every entry with a version, all in key order."""
    drawn = draw(damaged_frames())
    keys = drawn.transactions.select(VERSION).unique()
    entries = drawn.entries.join(keys, on=list(VERSION), how="semi")
    versions = drawn.transactions.join(entries.select(VERSION), on=list(VERSION), how="semi")
    # or each version's entries backwards: not the key order, so not the run path
    backwards = draw(st.booleans())
    return replace(
        drawn,
        transactions=versions.sort(VERSION),
        entries=entries.sort(*VERSION, "entry_index", descending=[False] * 3 + [backwards]),
    )


@st.composite
def damaged_frames(draw: st.DrawFn) -> LedgerFrames:
    """Unique keys (as every source loads them), anything else as a damaged ledger has it."""
    keys = st.tuples(st.sampled_from(LEDGERS), st.sampled_from(TRANSACTIONS), st.integers(0, 2))
    versions = draw(st.lists(keys, unique=True, max_size=8))
    seqs = draw(st.lists(st.none() | st.integers(1, 6), min_size=len(versions)))
    stored = [
        {
            "ledger_id": ledger,
            "transaction_id": tx,
            "version": version,
            "kind": draw(st.sampled_from(["standard", "pending"])),
            "status": draw(st.sampled_from(["pending", "posted"])),
            "idempotency_key": draw(st.none() | st.sampled_from(["k1", "k2"])),
            "chain_seq": seq,
            "recorded_ns": draw(st.integers(0, 3)),
        }
        for (ledger, tx, version), seq in zip(versions, seqs, strict=False)
    ]
    entry_keys = st.tuples(keys, st.integers(0, 3))
    entries = [
        {
            "ledger_id": ledger,
            "transaction_id": tx,
            "version": version,
            "entry_index": index,
            "account_id": draw(st.sampled_from([*ACCOUNTS, "a:ghost"])),
            "asset_id": draw(st.sampled_from([*ASSETS, "XXX/9"])),
            "direction": draw(st.sampled_from(["debit", "credit"])),
            "amount": draw(st.integers(-2, 900)),
        }
        for (ledger, tx, version), index in draw(st.lists(entry_keys, unique=True, max_size=14))
    ]
    accounts = [
        {
            "ledger_id": ledger,
            "account_id": account,
            "name": account,
            "normal_balance": draw(st.sampled_from(["debit", "credit"])),
            "asset_id": draw(st.none() | st.sampled_from(ASSETS)),
            "allow_negative": draw(st.booleans()),
        }
        for ledger, account in draw(
            st.lists(st.tuples(st.sampled_from(LEDGERS), st.sampled_from(ACCOUNTS)), unique=True)
        )
    ]
    assets = [
        {"asset_id": a, "code": a[:3], "scale": 2}
        for a in draw(st.lists(st.sampled_from(ASSETS), unique=True))
    ]
    # loaders give rows in key order (the fast path); other sources need not, and a key
    # order may hold all but the last key (entries of a version backwards)
    order = st.sampled_from(["sorted", "last key backwards", "drawn", "reversed"])

    def placed(frame: pl.DataFrame, keys: tuple[str, ...]) -> pl.DataFrame:
        how = draw(order)
        if how == "sorted":
            return frame.sort(keys)
        if how == "last key backwards":
            return frame.sort(keys, descending=[False] * (len(keys) - 1) + [True])
        return frame.reverse() if how == "reversed" else frame

    empty = LedgerFrames.empty()
    return LedgerFrames.from_tables(
        {
            **dict(empty.items()),
            "transactions": placed(_frame("transactions", stored), VERSION),
            "entries": placed(_frame("entries", entries), (*VERSION, "entry_index")),
            "accounts": placed(_frame("accounts", accounts), ("ledger_id", "account_id")),
            "assets": _frame("assets", assets),
        }
    )


@settings(max_examples=300, deadline=None)
@given(damaged_frames())
def test_gathering_by_row_numbers_equals_joining_whole_rows(frames: LedgerFrames) -> None:
    legs = prepare_legs(frames)
    expected = joined_whole(frames)
    assert legs.schema == expected.schema
    assert legs.equals(expected, null_equal=True)


@settings(max_examples=200, deadline=None)
@given(sound_frames())
def test_pairing_by_runs_equals_the_join(frames: LedgerFrames) -> None:
    """Sound ledgers in key order take the run path, which gives the join's pairs; entries
    out of key order do not take it."""
    assume(frames.entries.height > 0)
    pairs = _pairs_in_key_order(frames.transactions, frames.entries)
    in_key_order = frames.entries.equals(frames.entries.sort(*VERSION, "entry_index"))
    assert (pairs is not None) == in_key_order
    if pairs is not None:
        assert pairs.equals(_pairs_joined(frames.transactions, frames.entries))
    assert prepare_legs(frames).equals(joined_whole(frames), null_equal=True)


def test_the_damaged_and_the_wide_ledgers() -> None:
    for frames in (ledger_from_text(DAMAGED), _wide_frames()):
        legs = prepare_legs(frames)
        assert legs.equals(joined_whole(frames), null_equal=True)
        assert legs.height == joined_whole(frames).height > 0
    damaged = prepare_legs(ledger_from_text(DAMAGED))
    assert "unknown" in damaged["account_check"].to_list()  # the ghost account is there
