"""The SQL path's exact sums: halves of int64 amounts, summed and compared without overflow."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.checks.invariant_rules import violations_from_rows
from ledger_audit.sources.invariant_sql import ExactSum

INT64 = st.integers(-(2**63) + 1, 2**63 - 1)
EDGES = st.sampled_from([2**63 - 1, -(2**63) + 1, 2**32, 2**32 - 1, -(2**32), 0, 1, -1])
AMOUNTS = st.lists(
    st.tuples(st.sampled_from("ab"), st.one_of(INT64, EDGES)), min_size=1, max_size=12
)

_ENGINE = sa.create_engine("sqlite://")
_ROWS = sa.table("t", sa.column("side", sa.Text), sa.column("amount", sa.BigInteger))


def _query(rows: list[tuple[str, int]]) -> dict[str, Any]:
    with _ENGINE.begin() as connection:
        connection.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS t (side TEXT, amount INTEGER)")
        connection.exec_driver_sql("DELETE FROM t")
        if rows:
            connection.execute(sa.insert(_ROWS), [{"side": s, "amount": a} for s, a in rows])
        amount, side = _ROWS.c.amount, _ROWS.c.side
        a = ExactSum.of(amount).when(side == "a").total()
        b = ExactSum.of(amount).when(side == "b").total()
        query = sa.select(
            a.text().label("a"),
            b.text().label("b"),
            (a - b).text().label("gap"),
            a.differs(b).label("differs"),
            a.equals(b).label("equals"),
            a.greater(b).label("greater"),
            (a - b).negative().label("negative"),
        ).select_from(_ROWS)
        return dict(connection.execute(query).one()._mapping)


@settings(max_examples=300, deadline=None)
@given(AMOUNTS)
def test_sums_and_comparisons_are_exact_past_int64(rows: list[tuple[str, int]]) -> None:
    a = sum(amount for side, amount in rows if side == "a")
    b = sum(amount for side, amount in rows if side == "b")
    got = _query(rows)
    assert bool(got["differs"]) == (a != b)
    assert bool(got["equals"]) == (a == b)
    assert bool(got["greater"]) == (a > b)
    assert bool(got["negative"]) == (a - b < 0)
    exact = violations_from_rows(
        [{"expected": got["a"], "actual": got["gap"]}, {"expected": got["b"]}]
    )
    assert exact["expected"].to_list() == [Decimal(a), Decimal(b)]
    assert exact["actual"].to_list()[0] == Decimal(a - b)
