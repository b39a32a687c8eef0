"""Flux: the four threshold modes, overrides, new activity, trends, drivers, one asset each."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.analytics.flux import MODES, FluxSpec, Mode, Threshold, build_flux
from ledger_audit.sources.gl_mapping import GlMapping, GlRule
from ledger_audit.spec import Period
from tests.analytics.jet.ledger import BANK, Tx, frames, move, ns

MAPPING = GlMapping(
    version="t",
    suspense_account="9990",
    clearing_account="9995",
    rules=(GlRule("assets:bank", "1010"), GlRule("revenue:*", "4010"), GlRule("equity:*", "3000")),
)
JAN, FEB = Period.month("2025-01"), Period.month("2025-02")


def month_of_sales(amounts: dict[int, int]) -> list[Tx]:
    """One sale per month (month number -> minor units), each on the 10th."""
    return [
        Tx(f"s{m}", ns(10, month=m), move(BANK, "revenue:r0", amount))
        for m, amount in sorted(amounts.items())
    ]


def row(report: pl.DataFrame, gl: str) -> dict[str, object]:
    (found,) = report.filter(pl.col("gl_account") == gl).to_dicts()
    return found


@pytest.mark.parametrize(
    ("mode", "amount", "explain"),
    [
        ("and", 10, True),
        ("and", 20, False),
        ("or", 20, True),
        ("amount_only", 20, False),
        ("amount_only", 10, True),
        ("percent_only", 20, True),
    ],
)
def test_the_four_modes(mode: Mode, amount: int, explain: bool) -> None:
    # January's movement 100.00, February's 115.00: delta 15.00 = 15 % of 100.00
    spec = FluxSpec(FEB, JAN, Threshold(mode, amount, 1_000), measure="movement")
    report = build_flux(frames(month_of_sales({1: 10_000, 2: 11_500})), MAPPING, spec)
    revenue = row(report.variances, "4010")
    assert (revenue["current"], revenue["comparison"], revenue["delta"]) == (
        Decimal(11_500),
        Decimal(10_000),
        Decimal(1_500),
    )
    assert revenue["explain"] is explain
    assert revenue["percent"] == pytest.approx(15.0)


def test_an_override_wins_and_new_activity_uses_the_amount_test() -> None:
    txs = [
        *month_of_sales({1: 10_000, 2: 11_500}),
        Tx("n", ns(12, month=2), move(BANK, "equity:new", 5_000)),
    ]
    spec = FluxSpec(
        FEB,
        JAN,
        Threshold("and", 10, 1_000),
        overrides=(("4010", Threshold("percent_only", 0, 2_000)),),
        measure="movement",
    )
    report = build_flux(frames(txs), MAPPING, spec)
    revenue = row(report.variances, "4010")
    assert (revenue["override"], revenue["mode"], revenue["explain"]) == (
        True,
        "percent_only",
        False,
    )
    equity = row(report.variances, "3000")
    assert (equity["new_activity"], equity["percent"], equity["explain"]) == (True, None, True)
    assert equity["amount_minor"] == Decimal(1_000)


def test_trend_and_drivers() -> None:
    txs = [
        *month_of_sales({1: 10_000, 2: 12_000, 3: 14_000, 4: 16_000}),
        Tx("big", ns(20, month=4), move(BANK, "revenue:r0", 50_000)),
        Tx("tiny", ns(21, month=4), move(BANK, "revenue:r0", 100)),
    ]
    months = [Period.month(f"2025-0{m}") for m in (1, 2, 3, 4)]
    spec = FluxSpec(
        months[3],
        months[2],
        Threshold("or", 10, 1_000),
        history=tuple(months[:3]),
        measure="movement",
    )
    report = build_flux(frames(txs), MAPPING, spec)
    revenue = row(report.variances, "4010")
    assert revenue["trend"] is True
    assert revenue["delta"] == Decimal(16_000 + 50_000 + 100 - 14_000)
    drivers = report.drivers.filter(pl.col("gl_account") == "4010")
    assert drivers["transaction_id"].to_list() == ["big", "s4"]


def test_assets_are_never_added() -> None:
    txs = month_of_sales({1: 10_000, 2: 11_500})
    eur = Tx("e", ns(11, month=2), move(BANK, "revenue:r0", 7_000))
    table = frames([*txs, eur])
    entries = table.entries.with_columns(
        pl.when(pl.col("transaction_id") == "e")
        .then(pl.lit("EUR/2"))
        .otherwise(pl.col("asset_id"))
        .alias("asset_id")
    )
    assets = pl.concat(
        [
            table.assets,
            table.assets.with_columns(
                pl.lit("EUR/2").alias("asset_id"), pl.lit("EUR").alias("code")
            ),
        ]
    )
    accounts = table.accounts.with_columns(pl.lit(None, dtype=pl.String()).alias("asset_id"))
    mixed = type(table)(
        table.ledgers,
        assets.sort("asset_id"),
        accounts,
        table.transactions,
        entries,
        table.balances,
    )
    report = build_flux(mixed, MAPPING, FluxSpec(FEB, JAN, measure="movement"))
    revenue = report.variances.filter(pl.col("gl_account") == "4010").sort("asset_id")
    assert revenue.select("asset_id", "current", "comparison").rows() == [
        ("EUR/2", Decimal(7_000), Decimal(0)),
        ("USD/2", Decimal(11_500), Decimal(10_000)),
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 10**9),
    st.integers(1, 10**9),
    st.sampled_from(MODES),
    st.integers(0, 10**6),
    st.integers(0, 20_000),
)
def test_explain_matches_the_definition(
    january: int, february: int, mode: Mode, amount: int, percent_bp: int
) -> None:
    spec = FluxSpec(FEB, JAN, Threshold(mode, amount, percent_bp), measure="movement")
    report = build_flux(frames(month_of_sales({1: january, 2: february})), MAPPING, spec)
    delta = abs(february - january)
    amount_met = delta >= amount * 100
    percent_met = delta * 10_000 >= percent_bp * january
    expected = {
        "and": amount_met and percent_met,
        "or": amount_met or percent_met,
        "amount_only": amount_met,
        "percent_only": percent_met,
    }[mode]
    assert row(report.variances, "4010")["explain"] is expected
