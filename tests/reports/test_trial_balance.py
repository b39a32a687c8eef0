"""Trial balance: signed debit-minus-credit balances per account x asset, totals zero."""

from __future__ import annotations

import polars as pl

from ledger_audit.reports.trial_balance import (
    TRIAL_BALANCE_COLUMNS,
    build_trial_balance,
    by_gl_account,
)
from ledger_audit.sources import load_ledger
from ledger_audit.sources.gl_mapping import read_gl_mapping
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period
from tests.conftest import PROJECT_ROOT, DemoFactory
from tests.text_ledger import at, ledger_from_text

PERIOD = Period("p", at(100), at(200))

LEDGER = """
ledger l
account assets:bank debit USD/2
account assets:cash:jpy debit JPY/0
account liabilities:wallet:a credit USD/2
account revenue:fees credit USD/2
account equity:conversion credit *
tx t0 opening posted at=10
  assets:bank debit 1000 USD/2
  liabilities:wallet:a credit 1000 USD/2
tx t4 standard posted at=50
  assets:bank debit 7 USD/2
  liabilities:wallet:a credit 7 USD/2
tx t1 standard posted at=120
  liabilities:wallet:a debit 30 USD/2
  revenue:fees credit 30 USD/2
tx t5 standard posted at=110
  assets:cash:jpy debit 500 JPY/0
  equity:conversion credit 500 JPY/0
  equity:conversion debit 300 USD/2
  assets:bank credit 300 USD/2
tx t2 pending pending at=130
  liabilities:wallet:a debit 200 USD/2
  assets:bank credit 200 USD/2
tx t4/1 standard archived at=150
  assets:bank debit 7 USD/2
  liabilities:wallet:a credit 7 USD/2
tx t3 standard posted at=250
  assets:bank debit 5 USD/2
  liabilities:wallet:a credit 5 USD/2
"""


def test_rows_are_signed_and_roll_forward() -> None:
    tb = build_trial_balance(ledger_from_text(LEDGER), PERIOD)
    assert tb.rows.columns == list(TRIAL_BALANCE_COLUMNS)
    rows = tb.rows.select(
        "account_id", "asset_id", "scale", "opening", "debits", "credits", "closing", "difference"
    ).rows()
    assert rows == [
        # the pending t2 and the later t3 are not there; t4 posted before, superseded within
        ("assets:bank", "USD/2", 2, 1007, -7, 300, 700, 0),
        ("assets:cash:jpy", "JPY/0", 0, 0, 500, 0, 500, 0),
        ("equity:conversion", "JPY/0", 0, 0, 0, 500, -500, 0),
        ("equity:conversion", "USD/2", 2, 0, 300, 0, 300, 0),
        ("liabilities:wallet:a", "USD/2", 2, -1007, 30, -7, -970, 0),
        ("revenue:fees", "USD/2", 2, 0, 0, 30, -30, 0),
    ]


def test_totals_are_zero_per_ledger_and_asset() -> None:
    tb = build_trial_balance(ledger_from_text(LEDGER), PERIOD)
    assert tb.totals.select("ledger_id", "asset_id", "opening", "closing", "movement").rows() == [
        ("l", "JPY/0", 0, 0, 0),
        ("l", "USD/2", 0, 0, 0),
    ]
    assert tb.totals.select("debits", "credits").rows() == [(500, 500), (323, 323)]
    assert tb.balanced


def test_basis_decides_what_is_opening() -> None:
    frames = ledger_from_text(
        """
account a debit USD/2
account b credit USD/2
tx t1 standard posted at=150 eff=50
  a debit 9 USD/2
  b credit 9 USD/2
"""
    )
    effective = build_trial_balance(frames, PERIOD)
    recorded = build_trial_balance(frames, PERIOD, "recorded")
    assert effective.rows.select("account_id", "opening", "debits", "credits").rows() == [
        ("a", 9, 0, 0),
        ("b", -9, 0, 0),
    ]
    assert recorded.rows.select("account_id", "opening", "debits", "credits").rows() == [
        ("a", 0, 9, 0),
        ("b", 0, 0, 9),
    ]
    assert effective.balanced
    assert recorded.balanced


def test_unbalanced_ledger_is_not_balanced() -> None:
    frames = ledger_from_text(
        """
account a debit USD/2
account b credit USD/2
tx t1 standard posted at=150
  a debit 9 USD/2
  b credit 8 USD/2
"""
    )
    tb = build_trial_balance(frames, PERIOD)
    assert tb.totals.select("debits", "credits", "closing", "movement").rows() == [(9, 8, 1, 1)]
    assert not tb.balanced


def test_empty_ledger() -> None:
    tb = build_trial_balance(LedgerFrames.empty(), PERIOD)
    assert tb.rows.height == 0
    assert tb.totals.height == 0
    assert tb.balanced


def test_demo_totals_zero(demo_factory: DemoFactory) -> None:
    frames, _ = load_ledger(demo_factory(clean=True).ledger_path)
    tb = build_trial_balance(frames, Period.month("2025-01"))
    assert tb.balanced
    assert tb.rows.height > 0
    assert set(tb.totals["asset_id"]) == {"USD/2", "EUR/2"}
    assert (tb.rows["difference"] == 0).all()


def test_the_rollup_by_gl_account_keeps_every_amount_per_asset(demo_factory: DemoFactory) -> None:
    frames, _ = load_ledger(demo_factory().ledger_path)
    tb = build_trial_balance(frames, Period.month("2025-01"))
    rollup = by_gl_account(tb, read_gl_mapping(PROJECT_ROOT / "mappings" / "demo.toml"))
    assert 1 < rollup.height < tb.rows.height
    assert int(rollup["accounts"].sum()) == tb.rows.height  # every account in one GL row
    amounts = ["opening", "debits", "credits", "closing"]
    by_asset = rollup.group_by("asset_id").agg(pl.col(amounts).sum()).sort("asset_id")
    expected = tb.rows.group_by("asset_id").agg(pl.col(amounts).sum()).sort("asset_id")
    assert by_asset.with_columns(pl.col(amounts).cast(pl.Int64())).equals(
        expected.with_columns(pl.col(amounts).cast(pl.Int64()))
    )
    assert (by_asset["closing"] == 0).all()  # still in balance per asset
