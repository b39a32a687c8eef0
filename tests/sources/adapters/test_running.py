"""The shared running-balance check: one edit anywhere in the chain is found at its row."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.findings import RuleId
from ledger_audit.sources.adapters.running import (
    CACHED_SCHEMA,
    ROWS_SCHEMA,
    RunningLayout,
    _sorted,
    _staged_minor_units,
    minor_units,
    running_check,
    running_findings,
)

LAYOUT = RunningLayout(check="vendor_running", rows="vendor_entries", accounts="vendor_accounts")


def chain(deltas: dict[str, list[int]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A consistent running chain per account: versions 1.., balances from zero."""
    rows: list[dict[str, object]] = []
    cached: list[dict[str, object]] = []
    serial = 0
    for account, changes in sorted(deltas.items()):
        balance = 0
        for version, delta in enumerate(changes, start=1):
            serial += 1
            rows.append(
                {
                    "row_id": f"e{serial:04d}",
                    "ledger_id": "l",
                    "account": account,
                    "asset_id": "USD/2",
                    "version_before": None,
                    "version": version,
                    "delta": delta,
                    "before": balance,
                    "after": balance + delta,
                    "problem": None,
                }
            )
            balance += delta
        cached.append(
            {
                "ledger_id": "l",
                "account": account,
                "asset_id": "USD/2",
                "balance": balance,
                "version": len(changes),
                "problem": None,
            }
        )
    return pl.DataFrame(rows, schema=ROWS_SCHEMA), pl.DataFrame(cached, schema=CACHED_SCHEMA)


amounts = st.integers(-(10**9), 10**9).filter(lambda n: n != 0)
ledgers = st.dictionaries(
    st.sampled_from(["a", "b", "c"]), st.lists(amounts, min_size=1, max_size=8), min_size=1
)


@settings(max_examples=150, deadline=None)
@given(ledgers)
def test_a_consistent_chain_has_no_finding(deltas: dict[str, list[int]]) -> None:
    rows, cached = chain(deltas)
    assert running_findings(rows, cached, LAYOUT).height == 0


@settings(max_examples=300, deadline=None)
@given(ledgers, st.data())
def test_any_single_edit_is_found_at_its_row(
    deltas: dict[str, list[int]], data: st.DataObject
) -> None:
    rows, cached = chain(deltas)
    index = data.draw(st.integers(0, rows.height - 1))
    column = data.draw(st.sampled_from(["before", "after", "version"]))
    old = rows.item(index, column)
    new = data.draw(st.integers(-(10**9), 10**9).filter(lambda n: n != old))
    edited = rows.with_columns(
        pl.when(pl.int_range(pl.len()) == index)
        .then(pl.lit(new, pl.Int64))
        .otherwise(pl.col(column))
        .alias(column)
    )
    findings = running_findings(edited, cached, LAYOUT)
    row_id = rows.item(index, "row_id")
    assert f"vendor_entries(id={row_id})" in findings.get_column("locator").to_list()
    assert set(findings.get_column("rule")) == {RuleId.BALANCE_RUNNING_BROKEN}


def test_each_break_has_its_own_message() -> None:
    rows, cached = chain({"a": [5, -2, 7]})
    rows = rows.with_columns(
        pl.when(pl.col("row_id") == "e0002")
        .then(pl.lit(99))
        .otherwise(pl.col("after"))
        .alias("after")
    )
    cached = cached.with_columns(pl.lit(4, pl.Int64).alias("version"))
    findings = running_findings(rows, cached, LAYOUT)
    messages = dict(zip(findings["locator"], findings["message"], strict=False))
    found = findings.select("locator", "message").rows()
    assert (
        "vendor_entries(id=e0002)",
        (
            "the balance after this row is not the balance before it plus its amount "
            "(5 + -2 should be 3)"
        ),
    ) in found
    assert (
        "vendor_entries(id=e0003)",
        "this row's balance before (3) is not where the account's previous version (2) ended",
    ) in found
    assert (
        "vendor_entries(id=e0003)",
        "the account's last row is version 3 but vendor_accounts caches version 4",
    ) in found
    assert messages


def test_an_idle_account_with_a_cached_balance_is_found() -> None:
    rows, cached = chain({"a": [5]})
    cached = pl.concat(
        [
            cached,
            pl.DataFrame(
                [
                    {
                        "ledger_id": "l",
                        "account": "z",
                        "asset_id": "USD/2",
                        "balance": 7,
                        "version": 0,
                        "problem": None,
                    }
                ],
                schema=CACHED_SCHEMA,
            ),
        ]
    )
    findings = running_findings(rows, cached, LAYOUT)
    assert findings.get_column("locator").to_list() == ["vendor_accounts(id=z)"]


def test_the_coverage_counts_the_rows_examined() -> None:
    rows, cached = chain({"a": [5, 6], "b": [1]})
    result = running_check(rows, cached, LAYOUT).result
    assert (result.check, result.coverage.checked, result.status) == ("vendor_running", 3, "passed")


def test_minor_units_are_exact_or_say_why_not() -> None:
    frame = pl.DataFrame(
        {
            "text": [
                "12.34",
                "-0.50",
                "12.340",
                "12.345",
                "7",
                "abc",
                "99999999999999999999",
                None,
            ],
            "scale": [2, 2, 2, 2, 0, 2, 2, 2],
        }
    )
    out = minor_units(frame.lazy(), {"value": "text"}, "scale").collect()
    out = out.rename({"value_problem": "problem"})
    assert out.get_column("value").to_list() == [1234, -50, 1234, None, 7, None, None, None]
    assert out.get_column("problem").to_list() == [
        None,
        None,
        None,
        "more decimals than the asset's scale 2",
        None,
        "not a decimal number",
        "too large for 64-bit minor units",
        "no value",
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(min_value=-(10**14), max_value=10**14, places=6, allow_nan=False),
    st.integers(0, 6),
)
def test_minor_units_equal_exact_decimal_arithmetic(number: Decimal, scale: int) -> None:
    text = format(number, "f")
    out = minor_units(pl.DataFrame({"t": [text], "s": [scale]}).lazy(), {"v": "t"}, "s").collect()
    shifted = number.scaleb(scale)
    if shifted == shifted.to_integral_value() and -(2**63) <= shifted <= 2**63 - 1:
        assert (out.item(0, "v"), out.item(0, "v_problem")) == (int(shifted), None)
    elif shifted == shifted.to_integral_value():
        assert (out.item(0, "v"), out.item(0, "v_problem")) == (
            None,
            "too large for 64-bit minor units",
        )
    else:
        assert out.item(0, "v") is None
        assert out.item(0, "v_problem") == f"more decimals than the asset's scale {scale}"


@pytest.mark.parametrize(
    ("text", "scale", "value"),
    [
        ("9223372036854775807", 0, 2**63 - 1),
        ("-9223372036854775808", 0, -(2**63)),
        ("92233720368547758.07", 2, 2**63 - 1),
        ("1000000000000.000000", 6, 10**18),
        ("9223372036854775808", 0, None),
        ("92233720368547758.08", 2, None),
        ("-9223372036854775809", 0, None),
    ],
)
def test_minor_units_hold_the_int64_range_to_the_last_unit(
    text: str, scale: int, value: int | None
) -> None:
    out = minor_units(pl.DataFrame({"t": [text], "s": [scale]}).lazy(), {"v": "t"}, "s").collect()
    problem = None if value is not None else "too large for 64-bit minor units"
    assert (out.item(0, "v"), out.item(0, "v_problem")) == (value, problem)


_TEXT = st.one_of(
    st.from_regex(r"\A[ +-]{0,2}[0-9]{0,22}\.?[+-]?[0-9]{0,22}\.?[0-9]{0,2} ?\Z"),
    st.text(alphabet="0123456789.+- e", max_size=12),
    st.none(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_TEXT, st.one_of(st.integers(0, 24), st.none())), max_size=6))
def test_the_fast_path_agrees_with_the_staged_reading_on_any_text(
    rows: list[tuple[str | None, int | None]],
) -> None:
    """Plain text read in one pass gives what the staged reading gives, row for row (value and
    reason), whatever the text: signs, dots, spaces, leading or trailing zeros, long digits."""
    frame = pl.DataFrame(
        {"t": [t for t, _ in rows], "s": [s for _, s in rows]},
        schema={"t": pl.String, "s": pl.Int64},
    )
    fast = minor_units(frame.lazy(), {"v": "t"}, "s").select("v", "v_problem").collect()
    staged = _staged_minor_units(frame.lazy(), {"v": "t"}, "s").select("v", "v_problem").collect()
    assert fast.equals(staged)


@pytest.mark.parametrize(
    "text",
    [
        ".-5", ".+5", "-.5", "+.5", "5.", ".", "-", "+", "", "1.2.3", " 5", "5 ", "--5",
        "0012.300", "-0.00", "+12.34", "12.345", "1e5", "9223372036854775807",
        "92233720368547758.08", "-92233720368547758.08", "0.000000000000000001",
        "1234567890123456789.5", "123456789012345678.123456789012345678",
    ],
)  # fmt: skip
@pytest.mark.parametrize("scale", [0, 2, 18, 20, None])
def test_the_fast_path_agrees_with_the_staged_reading_at_the_edges(
    text: str, scale: int | None
) -> None:
    frame = pl.DataFrame({"t": [text], "s": [scale]}, schema={"t": pl.String, "s": pl.Int64})
    fast = minor_units(frame.lazy(), {"v": "t"}, "s").select("v", "v_problem").collect()
    staged = _staged_minor_units(frame.lazy(), {"v": "t"}, "s").select("v", "v_problem").collect()
    assert fast.equals(staged)


coded_row = st.fixed_dictionaries(
    {
        "code": st.integers(0, 3),
        "version": st.one_of(st.none(), st.integers(-3, 6), st.sampled_from([2**40, 2**62])),
        "row_id": st.sampled_from(["e1", "e2", "e10", "x"]),
        "after": st.integers(-5, 5),
    }
)


def _sorted_rows(coded: pl.DataFrame) -> pl.DataFrame:
    """``_sorted`` as the check calls it (numbers apart from the row ids), ids put back."""
    numbers = coded.drop("row_id").with_row_index("_row")
    ordered = _sorted(numbers, coded.get_column("row_id"))
    row_id = coded.get_column("row_id").gather(ordered.get_column("_row"))
    return ordered.with_columns(row_id).select(coded.columns)


@settings(max_examples=200, deadline=None)
@given(st.lists(coded_row, max_size=12))
def test_the_packed_sort_gives_the_full_sort_order(rows: list[dict[str, object]]) -> None:
    schema = {"code": pl.UInt32, "version": pl.Int64, "row_id": pl.String, "after": pl.Int64}
    coded = pl.DataFrame(rows, schema=schema)
    fast = _sorted_rows(coded)
    full = coded.sort("code", "version", "row_id", nulls_last=True)
    keys = ["code", "version", "row_id"]
    assert fast.select(keys).equals(full.select(keys))
    if coded.select("code", "version").is_unique().all():
        assert fast.equals(full)  # unique keys: one order for every column


@settings(max_examples=100, deadline=None)
@given(
    st.sets(st.tuples(st.integers(0, 50), st.integers(0, 2**40 - 1)), min_size=2, max_size=30),
    st.randoms(use_true_random=False),
)
def test_the_packed_sort_orders_a_clean_chain(keys: set[tuple[int, int]], rng: object) -> None:
    pairs = sorted(keys)
    shuffled = list(pairs)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    coded = pl.DataFrame(
        {
            "code": [c for c, _ in shuffled],
            "version": [v for _, v in shuffled],
            "row_id": [f"r{c}-{v}" for c, v in shuffled],
        },
        schema={"code": pl.UInt32, "version": pl.Int64, "row_id": pl.String},
    )
    fast = _sorted_rows(coded)
    assert list(zip(fast["code"], fast["version"], strict=True)) == pairs
    assert fast.equals(coded.sort("code", "version", "row_id"))
