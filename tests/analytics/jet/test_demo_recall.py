"""The demo's planted JET red flags are all found by ``ledger-audit jet`` (recall 1.0),
over several seeds and sizes; a clean demo plants none and its key is ``[]``."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.cli import main
from ledger_audit.demo.jet_plant import JET_KEY_FILE
from tests.conftest import DemoFactory

RULES = Path(__file__).parents[3] / "rules" / "jet.toml"
EXPECTED_RULES = {
    "jet.post_close",
    "jet.split_below_threshold",
    "jet.weekend",
    "jet.unusual_account_pair",
    "jet.reversal_after_period_end",
}


@pytest.mark.parametrize(("transactions", "seed"), [(600, 7), (600, 11), (1_500, 23)])
def test_jet_finds_every_planted_red_flag(
    demo_factory: DemoFactory, tmp_path: Path, transactions: int, seed: int
) -> None:
    demo = demo_factory(transactions=transactions, seed=seed)
    key = json.loads((demo.out_dir / JET_KEY_FILE).read_text(encoding="utf-8"))
    assert {k["rule"] for k in key} == EXPECTED_RULES
    assert len(key) == 6  # the split is two transactions
    out = tmp_path / "jet"
    argv = ["jet", str(demo.ledger_path), "--period", "2025-01", "--out", str(out)]
    assert main([*argv, "--rules", str(RULES)]) == 0
    findings = pl.read_parquet(out / "findings.parquet")
    found = {(r["rule"], r["transaction_id"], r["chain_seq"]) for r in findings.to_dicts()}
    missed = [k for k in key if (k["rule"], k["transaction_id"], k["chain_seq"]) not in found]
    assert not missed, missed


def test_a_clean_demo_has_an_empty_jet_key(demo_factory: DemoFactory) -> None:
    demo = demo_factory(clean=True)
    assert (demo.out_dir / JET_KEY_FILE).read_text(encoding="utf-8") == "[]\n"
