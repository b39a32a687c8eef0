"""The population's completeness reads the same whether the chain is verified here or its
verdict comes from the audit's chain check (the close passes it, so it verifies once)."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from ledger_audit.analytics.jet.completeness import population_completeness
from ledger_audit.checks.chain import check_chain
from ledger_audit.findings import CheckResult, Coverage
from ledger_audit.sources import load_ledger
from ledger_audit.spec import Period, VerifySpec
from tests.conftest import DemoFactory

PERIOD = Period.month("2025-01")


@pytest.mark.parametrize("clean", [True, False])
def test_the_chain_verdict_is_the_same_from_either_path(
    demo_factory: DemoFactory, *, clean: bool
) -> None:
    frames, _ = load_ledger(demo_factory(transactions=600, seed=7, clean=clean).ledger_path)
    here = population_completeness(frames, PERIOD)
    passed = population_completeness(frames, PERIOD, check_chain(frames, VerifySpec()))
    assert passed == here
    assert here.chain_intact is clean
    assert all(("BROKEN from seq" in line) is not clean for line in here.chain)


def test_a_crashed_chain_result_is_not_trusted(demo_factory: DemoFactory) -> None:
    frames, _ = load_ledger(demo_factory(transactions=600, seed=7).ledger_path)
    crashed = CheckResult("chain", pl.DataFrame(), Coverage(0, "rows", "x"), crashed=True)
    assert population_completeness(frames, PERIOD, crashed) == population_completeness(
        frames, PERIOD
    )


def test_no_chained_ledger_is_not_intact(demo_factory: DemoFactory) -> None:
    frames, _ = load_ledger(demo_factory(transactions=600, seed=7, clean=True).ledger_path)
    unchained = replace(
        frames,
        ledgers=frames.ledgers.with_columns(pl.lit(None).cast(pl.String).alias("chain_algorithm")),
    )
    result = check_chain(unchained, VerifySpec())
    proof = population_completeness(unchained, PERIOD, result)
    assert proof == population_completeness(unchained, PERIOD)
    assert not proof.chain_intact
    assert any("not proven by a chain" in s for s in proof.statements)
