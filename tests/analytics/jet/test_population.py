"""The population's legs, found by position, equal the join on the text keys they replace."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ledger_audit.analytics.jet.amount_rules import _ending_counts, _nets
from ledger_audit.analytics.jet.engine import run_jet
from ledger_audit.analytics.jet.population import TX_KEY, build_population, code, distinct_in_tx
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.sources.spill import spill_area
from tests.analytics.jet.ledger import PARAMS, PERIOD, Tx, clean, frames, move, ns


def _joined(ledger: LedgerFrames) -> pl.DataFrame:
    """The definition: each entry of its transaction's latest version, by a key join."""
    latest = ledger.transactions.group_by(TX_KEY).agg(pl.col("version").max())
    return (
        ledger.entries.join(latest, on=[*TX_KEY, "version"], how="inner")
        .sort(*TX_KEY, "entry_index")
        .select(*TX_KEY, "version", "entry_index", "account_id", "amount")
    )


def _found(ledger: LedgerFrames) -> pl.DataFrame:
    pop = build_population(ledger, PERIOD, PARAMS)
    legs = pop.history_legs.collect()
    keys = pop.history.select("tx", *TX_KEY).collect()
    # ``tx`` names the leg's own transaction
    assert legs.join(keys, on="tx", how="left").select(
        (pl.col("transaction_id") == pl.col("transaction_id_right")).all()
    ).item() in (True, None)
    return legs.sort(*TX_KEY, "entry_index").select(
        *TX_KEY, "version", "entry_index", "account_id", "amount"
    )


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(1, 10**6), min_size=1, max_size=8),
    st.sets(st.integers(0, 7)),
    st.sets(st.integers(0, 7)),
)
def test_legs_by_position_equal_the_key_join(
    amounts: list[int], no_entries: set[int], revised: set[int]
) -> None:
    """Transactions without entries, with a later version and entries of unknown
    transactions all leave the legs as the join defines them."""
    txs = [
        Tx(f"t{i:02d}", ns(5 + i), move("assets:bank", "revenue:r0", amount))
        for i, amount in enumerate(amounts)
    ]
    ledger = frames(txs)
    entries = ledger.entries
    drop = [f"t{i:02d}" for i in no_entries]
    entries = entries.filter(~pl.col("transaction_id").is_in(drop))
    orphan = entries.head(1).with_columns(pl.lit("zz-orphan").alias("transaction_id"))
    versions = ledger.transactions
    later = [f"t{i:02d}" for i in revised if i < len(amounts)]
    second = versions.filter(pl.col("transaction_id").is_in(later)).with_columns(
        pl.col("version") + 1
    )
    second_legs = entries.filter(pl.col("transaction_id").is_in(later)).with_columns(
        pl.col("version") + 1, pl.col("amount") * 2
    )
    ledger = replace(
        ledger,
        transactions=pl.concat([versions, second]).sort(*TX_KEY, "version"),
        entries=pl.concat([entries, second_legs, orphan]).sort(*TX_KEY, "version", "entry_index"),
    )
    assert_frame_equal(_found(ledger), _joined(ledger))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 2), st.integers(0, 2)), max_size=30))
def test_distinct_in_tx_equals_unique(rows: list[tuple[int, int, int]]) -> None:
    """Deduplicating only the transactions with several rows removes the same repeats."""
    frame = pl.DataFrame(rows, schema=["tx", "a", "b"], orient="row").sort("tx")
    keys = ["tx", "a", "b"]
    got = distinct_in_tx(frame, keys).sort(keys)
    assert_frame_equal(got, frame.unique(keys).sort(keys))


def test_code_tells_ledgers_apart() -> None:
    """The same text in two ledgers gets two codes; the same pair always the same code."""
    frame = pl.DataFrame({"ledger": ["a", "b", "a"], "account": ["x", "x", "x"]})
    codes = frame.select(code(pl.col("ledger"), pl.col("account"))).to_series().to_list()
    assert codes[0] == codes[2] != codes[1]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 4), st.integers(0, 1), st.integers(0, 9)),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 3),
    st.sampled_from([10, 10**18]),
)
def test_ending_counts_equal_a_group_by(
    rows: list[tuple[int, int, int, int]], least: int, modulus: int
) -> None:
    """Packed and sorted (modulus 10) or grouped (10**18: the packed number would overflow),
    the counts are those of a plain group-by."""
    codes = ["_ledger", "_account", "_asset"]
    legs = pl.DataFrame(rows, schema=[*codes, "ending"], orient="row")
    got = _ending_counts(legs, modulus, least).sort(*codes, "ending")
    totals = legs.group_by(codes).agg(pl.len().alias("n"))
    expected = (
        legs.group_by(*codes, "ending")
        .agg(pl.len().cast(pl.UInt32()).alias("seen"))
        .filter(pl.col("seen") >= least)
        .join(totals, on=codes, how="left")
        .sort(*codes, "ending")
    )
    assert_frame_equal(got, expected, check_dtypes=False)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 6), st.sampled_from(["USD/2", "EUR/2"]), st.integers(-(2**62), 2**62)
        ),
        min_size=1,
        max_size=30,
    ),
    st.booleans(),
)
def test_nets_equal_a_group_by(rows: list[tuple[int, str, int]], in_order: bool) -> None:
    """Running totals (one asset per transaction), the group-by (several assets, or legs
    out of tx order): the same net per transaction and asset, exact in 128 bits."""
    legs = pl.DataFrame(rows, schema=["tx", "asset_id", "signed"], orient="row").with_columns(
        pl.col("tx").cast(pl.UInt32()), pl.col("signed").cast(pl.Int128())
    )
    if in_order:
        legs = legs.sort("tx", maintain_order=True)
    expected = legs.group_by("tx", "asset_id").agg(pl.col("signed").sum().alias("net"))
    keys = ["tx", "asset_id"]
    assert_frame_equal(_nets(legs).sort(keys), expected.sort(keys))


def test_who_is_read_for_the_period_only() -> None:
    """In-period transactions carry actor and approver; earlier ones are not read."""
    txs = [
        Tx("old", ns(10, month=12) - 366 * 86_400 * 10**9, move("assets:bank", "revenue:r0", 5)),
        Tx("now", ns(10), move("assets:bank", "revenue:r0", 5), actor="carol", approver="dan"),
    ]
    pop = build_population(frames(txs), PERIOD, PARAMS)
    history = pop.history.collect().select("transaction_id", "in_period", "actor", "approver")
    assert history.sort("transaction_id").rows() == [
        ("now", True, "carol", "dan"),
        ("old", False, None, None),
    ]
    legs = pop.legs.collect()
    assert set(legs.get_column("actor")) == {"carol"}


def test_inside_a_spill_area_the_history_leaves_the_heap_and_the_pack_is_the_same(
    tmp_path: Path,
) -> None:
    """In a close the history and its legs are moved to mapped files (their 0.7 GiB at 1M
    set the pack's peak); the rules then read them there and flag the same rows."""
    txs = [*clean(), Tx("late", ns(31, hour=23), move("assets:bank", "revenue:r0", 10_000))]
    ledger = frames(txs)
    outside = run_jet(ledger, PERIOD, PARAMS, completeness=False)
    with spill_area(tmp_path, min_bytes=0) as spill:
        assert spill is not None
        assert build_population(ledger, PERIOD, PARAMS).size == outside.population
        assert spill.frames == 2
        inside = run_jet(ledger, PERIOD, PARAMS, completeness=False)
    assert outside.findings.height > 0
    assert_frame_equal(inside.findings, outside.findings)
    assert_frame_equal(inside.scores, outside.scores)
    assert_frame_equal(inside.coverage, outside.coverage)
