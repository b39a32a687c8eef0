"""Invariants of the JET rules, held against plain Python over generated transactions."""

from __future__ import annotations

import itertools
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.analytics.jet.catalogue import JetRule
from ledger_audit.analytics.jet.engine import run_jet
from tests.analytics.jet.ledger import BANK, PARAMS, PERIOD, Tx, clean, frames, move, ns

HOUR_NS = 3_600 * 10**9
LIMIT = 500_000  # 5,000.00 USD, the lowest threshold


def _flagged(txs: list[Tx], rule: JetRule, **changes: object) -> set[str]:
    params = replace(PARAMS, **changes)  # type: ignore[arg-type]
    result = run_jet(frames(txs), PERIOD, params, rules=(rule,), completeness=False)
    return set(result.findings["transaction_id"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 96), st.integers(1, LIMIT - 1)), min_size=1, max_size=12))
def test_split_sets_match_a_brute_force_window(parts: list[tuple[int, int]]) -> None:
    """A leg is flagged iff the 24 h window ending or starting at it has >= 2 legs summing
    to at least the threshold (one account, all below it)."""
    txs = [
        Tx(
            f"s{i:02d}",
            ns(6) + hours * HOUR_NS + i,
            move("expenses:adj", "revenue:r0", amount),
            kind="adjustment",
        )
        for i, (hours, amount) in enumerate(parts)
    ]
    times = [(tx.created, tx.legs[0][2], tx.transaction_id) for tx in txs]
    window = 24 * HOUR_NS
    expected = set()
    for at, _, tx_id in times:
        back = [a for t, a, _ in times if at - window < t <= at]
        ahead = [a for t, a, _ in times if at <= t < at + window]
        if any(len(w) >= 2 and sum(w) >= LIMIT for w in (back, ahead)):
            expected.add(tx_id)
    assert _flagged(clean() + txs, JetRule.SPLIT_BELOW, thresholds=(5_000,)) == expected


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 10**12), st.integers(1, 10**12))
def test_unbalanced_iff_debits_differ_from_credits(debit: int, credit: int) -> None:
    tx = Tx("p", ns(16), ((BANK, "debit", debit), ("revenue:r0", "credit", credit)))
    assert _flagged([*clean(), tx], JetRule.UNBALANCED) == ({"p"} if debit != credit else set())


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10**13))
def test_round_amount_is_integer_divisibility(amount: int) -> None:
    tx = Tx("p", ns(16), move(BANK, "revenue:r0", amount))
    unit = 100  # USD/2
    round_ = amount >= 10_000 * unit and amount % (1_000 * unit) == 0
    assert _flagged([*clean(), tx], JetRule.ROUND_AMOUNT) == ({"p"} if round_ else set())


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 10**13))
def test_just_below_is_exact_at_the_band_edges(amount: int) -> None:
    tx = Tx("p", ns(16), move(BANK, "revenue:r0", amount))
    limits = [t * 100 for t in PARAMS.thresholds]
    hit = any(t * 9_500 <= amount * 10_000 and amount < t for t in limits)
    assert _flagged([*clean(), tx], JetRule.JUST_BELOW) == ({"p"} if hit else set())


_TEXT = st.text(st.characters(codec="utf-8"), max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["actor", "approved_by", "event", "actor2", "clé"]),
        st.one_of(_TEXT, st.integers(-5, 5), st.dictionaries(st.just("actor"), _TEXT)),
        max_size=4,
    )
)
def test_metadata_fields_read_like_the_json_parser(meta: dict[str, object]) -> None:
    import json

    import polars as pl

    from ledger_audit.analytics.jet.population import metadata_values

    texts = [
        json.dumps(meta),
        json.dumps(meta, ensure_ascii=False),
        json.dumps(meta, separators=(",", ":")),
        json.dumps(meta, indent="\t"),
        # the key's text first seen as a value, then as the key
        json.dumps({"event": "actor", **meta}),
        json.dumps({"é": "actor", **meta}, ensure_ascii=False),
        '{"other": 1}',
        "{}",
    ]
    frame = pl.DataFrame({"metadata": texts})
    for key in ("actor", "clé"):
        got = metadata_values(frame.get_column("metadata"), key)
        parsed = frame.get_column("metadata").str.json_path_match(f"$.{key}")
        assert got.to_list() == parsed.to_list(), key


_AMOUNTS = st.sampled_from([1_234, 475_000, 499_999, 950_000, 1_000_000, 7_777_000, 99_999_999])


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(2, 30), st.integers(0, 23), _AMOUNTS, _AMOUNTS, st.booleans()),
        min_size=1,
        max_size=6,
    ),
    st.randoms(use_true_random=False),
)
def test_the_pack_reads_entries_in_any_order(
    planted: list[tuple[int, int, int, int, bool]], shuffler: object
) -> None:
    """Rules that take each transaction's first flag by position (entries in key order)
    give the same findings, scores and coverage as the sort they skip when the entries
    arrive shuffled."""
    txs = [*clean()]
    for i, (day, hour, first, second, manual) in enumerate(planted):
        legs = (
            (BANK, "debit", first + second),
            ("revenue:r0", "credit", first),
            (f"revenue:x{i}", "credit", second),
        )
        kind = "adjustment" if manual else "standard"
        txs.append(Tx(f"p{i}", ns(day, hour), legs, kind=kind))
    ledger = frames(txs)
    rows = list(range(ledger.entries.height))
    shuffler.shuffle(rows)  # type: ignore[attr-defined]
    shuffled = replace(ledger, entries=ledger.entries[rows])
    params = replace(PARAMS, outlier_top_bp=2_000, ending_min_count=2)
    ordered = run_jet(ledger, PERIOD, params, completeness=False)
    unordered = run_jet(shuffled, PERIOD, params, completeness=False)
    assert ordered.findings.height > 0
    assert ordered.findings.equals(unordered.findings)
    assert ordered.scores.equals(unordered.scores)
    assert ordered.coverage.equals(unordered.coverage)


_LEG = st.tuples(
    st.sampled_from(["bank", "revenue:r0", "fees"]),
    st.sampled_from(["USD/2", "EUR/2"]),
    st.sampled_from(["debit", "credit"]),
    st.integers(-(2**63), 2**63 - 1),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_LEG, min_size=1, max_size=4), min_size=1, max_size=8))
def test_leg_signatures_are_equal_exactly_for_equal_multisets_of_legs(
    transactions: list[list[tuple[str, str, str, int]]],
) -> None:
    """JE-17/19's signature: two transactions share one iff their legs are one multiset,
    and T's inverse signature is R's iff R's legs are T's with every direction swapped."""
    import polars as pl

    from ledger_audit.analytics.jet.account_rules import _signature

    rows = [(tx, *leg) for tx, legs in enumerate(transactions) for leg in legs]
    legs = pl.DataFrame(
        rows,
        schema={
            "tx": pl.UInt32(),
            "account_id": pl.String(),
            "asset_id": pl.String(),
            "direction": pl.String(),
            "amount": pl.Int64(),
        },
        orient="row",
    ).lazy()
    signatures = _signature(legs, inverse=False).collect().sort("tx")
    mirrors = _signature(legs, inverse=True).collect().sort("tx")
    same = {
        (a, b)
        for a, b in itertools.combinations(range(len(transactions)), 2)
        if sorted(transactions[a]) == sorted(transactions[b])
    }
    found = {
        (a, b)
        for a, b in itertools.combinations(range(len(transactions)), 2)
        if signatures.row(a)[1] == signatures.row(b)[1]
    }
    assert found == same
    # the inverse signature of T is the signature of T with every direction swapped
    swapped = [
        [(a, s, "credit" if d == "debit" else "debit", x) for a, s, d, x in legs]
        for legs in transactions
    ]
    for a, b in itertools.product(range(len(transactions)), repeat=2):
        inverse_of = sorted(swapped[a]) == sorted(transactions[b])
        assert (mirrors.row(a)[1] == signatures.row(b)[1]) == inverse_of
