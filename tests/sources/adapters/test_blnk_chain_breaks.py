"""Blnk's chain verifier as a property: one break of a class anywhere gives exactly that class,
at that seq; several breaks give every one of them (Blnk's own VerifyChain stops at the first).

Chains are built in memory with the one-row reference hash, so hundreds of cases run without
a database (tests/sources/adapters/test_blnk.py reads the same layout from PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import pairwise

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.sources.adapters.blnk.chain_hash import GENESIS, ChainRow, chain_hash
from ledger_audit.sources.adapters.blnk.chain_verify import verify_blnk_chain
from ledger_audit.sources.adapters.blnk.read import BlnkRows, ChainState

T0 = datetime.fromisoformat("2026-01-02T03:04:05")
_EMPTY = pl.DataFrame()


def _row(i: int) -> ChainRow:
    return ChainRow(
        f"txn_{i}",
        "bln_a",
        "bln_b",
        f"{i}.5",
        f"{i * 100 + 50}",
        "USD",
        "APPLIED",
        None if i % 4 == 0 else f"ref_{i}",
        T0 + timedelta(microseconds=i * 1_001),
    )


def sealed(n: int) -> pl.DataFrame:
    """A chain of ``n`` rows sealed as Blnk's chainer does."""
    head, records = GENESIS, []
    for i in range(1, n + 1):
        row = _row(i)
        new = chain_hash(head, row)
        records.append(
            {
                "id": i,
                "transaction_id": row.transaction_id,
                "source": row.source,
                "destination": row.destination,
                "amount_text": row.amount,
                "precise_text": row.precise_amount,
                "currency": row.currency,
                "status": row.status,
                "reference": row.reference,
                "created_at": row.created_at,
                "chain_seq": i,
                "chain_prev_hash": head,
                "chain_hash": new,
            }
        )
        head = new
    return pl.DataFrame(records, schema_overrides={"created_at": pl.Datetime("us")})


def verify(rows: pl.DataFrame, last_seq: int, head: str, genesis: str = GENESIS) -> pl.DataFrame:
    blnk = BlnkRows(
        label="memory",
        ledgers=_EMPTY,
        balances=_EMPTY,
        transactions=rows,
        chained=True,
        has_effective=True,
        state=ChainState(last_seq, head, genesis),
    )
    return verify_blnk_chain(blnk).result.findings


def counts(findings: pl.DataFrame) -> dict[str, int]:
    return dict(findings.group_by("rule").len().iter_rows())


def _set(rows: pl.DataFrame, seq: int, **values: object) -> pl.DataFrame:
    at = pl.col("chain_seq") == seq
    return rows.with_columns(
        pl.when(at).then(pl.lit(value)).otherwise(pl.col(name)).alias(name)
        for name, value in values.items()
    )


def _rehash(rows: pl.DataFrame, seq: int) -> pl.DataFrame:
    record = rows.filter(pl.col("chain_seq") == seq).row(0, named=True)
    row = ChainRow(
        record["transaction_id"],
        record["source"],
        record["destination"],
        record["amount_text"],
        record["precise_text"],
        record["currency"],
        record["status"],
        record["reference"],
        record["created_at"],
    )
    return _set(rows, seq, chain_hash=chain_hash(record["chain_prev_hash"], row))


Break = Callable[[pl.DataFrame, int], pl.DataFrame]
BREAKS: dict[str, tuple[Break, dict[str, int]]] = {
    "tampered": (lambda r, k: _set(r, k, amount_text="999"), {"chain.tampered": 1}),
    "deleted": (lambda r, k: r.filter(pl.col("chain_seq").ne_missing(k)), {"chain.deleted": 1}),
    "resealed": (
        lambda r, k: _rehash(_set(r, k, precise_text="1"), k),
        {"chain.resealed": 1},
    ),
    "reordered": (
        lambda r, k: r.with_columns(
            pl.when(pl.col("chain_seq") == k)
            .then(k + 1)
            .when(pl.col("chain_seq") == k + 1)
            .then(k)
            .otherwise(pl.col("chain_seq"))
            .alias("chain_seq")
        ),
        {"chain.reordered": 2},
    ),
    "hash_column_edited": (lambda r, k: _set(r, k, chain_hash="e" * 64), {"chain.tampered": 1}),
    "unchained": (
        lambda r, k: _set(r, k, chain_seq=None, chain_prev_hash=None, chain_hash=None),
        {"chain.unchained": 1, "chain.deleted": 1},
    ),
}


@settings(max_examples=40, deadline=None)
@given(n=st.integers(6, 30), data=st.data())
def test_a_clean_chain_has_no_finding_and_one_break_is_classified(
    n: int, data: st.DataObject
) -> None:
    rows = sealed(n)
    head = rows["chain_hash"][-1]
    assert verify(rows, n, head).height == 0
    name = data.draw(st.sampled_from(sorted(BREAKS)))
    k = data.draw(st.integers(2, n - 2))
    damage, expected = BREAKS[name]
    findings = verify(damage(rows, k), n, head)
    assert counts(findings) == expected, name
    assert set(findings["chain_seq"].drop_nulls().to_list()) <= {k, k + 1}


@settings(max_examples=30, deadline=None)
@given(n=st.integers(16, 40), data=st.data())
def test_every_break_is_reported_not_only_the_first(n: int, data: st.DataObject) -> None:
    rows = sealed(n)
    head = rows["chain_hash"][-1]
    names = data.draw(st.lists(st.sampled_from(sorted(BREAKS)), min_size=2, max_size=3))
    places = sorted(
        data.draw(st.sets(st.integers(2, n - 2), min_size=len(names), max_size=len(names)))
    )
    if any(b - a < 4 for a, b in pairwise(places)):
        return  # breaks next to each other explain each other; tested one at a time above
    expected: dict[str, int] = {}
    for name, k in zip(names, places, strict=True):
        damage, adds = BREAKS[name]
        rows = damage(rows, k)
        for rule, count in adds.items():
            expected[rule] = expected.get(rule, 0) + count
    assert counts(verify(rows, n, head)) == expected


def test_the_ends_of_the_chain_are_judged_against_chain_state() -> None:
    rows = sealed(10)
    head = rows["chain_hash"][-1]
    assert counts(verify(rows.head(9), 10, head)) == {"chain.truncated": 1}
    assert counts(verify(rows, 10, "a" * 64)) == {"chain.rewritten": 1}
    assert counts(verify(rows, 9, rows["chain_hash"][-2])) == {"chain.inserted": 1}
    assert counts(verify(_rehash(_set(rows, 10, amount_text="1"), 10), 10, head)) == {
        "chain.rewritten": 1
    }
    first = _set(rows, 1, chain_prev_hash="1" * 64)
    assert counts(verify(_rehash(first, 1), 10, head)) == {
        "chain.genesis_mismatch": 1,
        "chain.resealed": 1,
    }
    assert counts(verify(rows, 10, head, genesis="f" * 64)) == {"chain.genesis_mismatch": 1}


def test_a_duplicate_seq_is_inserted_and_the_linked_row_stays() -> None:
    rows = sealed(10)
    head = rows["chain_hash"][-1]
    extra = _rehash(
        _set(rows.filter(pl.col("chain_seq") == 5), 5, id=99, transaction_id="txn_x"), 5
    )
    findings = verify(pl.concat([rows, extra]), 10, head)
    assert counts(findings) == {"chain.inserted": 1}
    assert "txn_x" in findings["locator"][0]
