"""Acceptance: on demos of several seeds the reconciliation (bank statements and the
processor report, over the month as the close runs it) finds every planted break under its
rule id, makes no automatic match the demo's truth contradicts, and a clean demo reconciles
with no break at all and every payout tied three ways. Recall, precision and match rates
per stage are printed."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.cli import default_rules_path
from ledger_audit.demo.answer_key import PlantedAnomaly, read_answer_key
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.reconcile.internal import internal_items
from ledger_audit.reconcile.match import Reconciliation, reconcile
from ledger_audit.reconcile.normalise import Window
from ledger_audit.sources import load_ledger
from ledger_audit.sources.bank.load import load_statements
from ledger_audit.sources.match_rules import read_match_rules
from tests.conftest import DemoFactory

SEEDS = [7, 11, 23]
TRANSACTIONS = 600


@dataclass(frozen=True)
class Run:
    result: Reconciliation
    records: pl.DataFrame
    truth: dict[tuple[str, str], frozenset[str]]


def run(demo: DemoSummary) -> Run:
    assert demo.statements is not None
    rules = read_match_rules(default_rules_path())
    frames, _ = load_ledger(demo.ledger_path)
    parsed = load_statements(demo.statements.statements)
    assert parsed.findings.is_empty()
    first = dt.date.fromisoformat(f"{demo.month}-01")
    last = (first + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
    result = reconcile(
        internal_items(frames, rules),
        parsed.records,
        rules,
        as_of=last + dt.timedelta(days=1),
        window=Window(first, last, rules.lookback_days),
    )
    truth_rows = json.loads(demo.statements.truth_path.read_text(encoding="utf-8"))
    truth = {
        (Path(t["file"]).name, t["bank_ref"]): frozenset(t["items"])
        for t in truth_rows
        if t["file"] is not None
    }
    return Run(result, parsed.records, truth)


def bank_refs(run_: Run) -> pl.DataFrame:
    """(file name, record_id, bank_ref) of every record."""
    return run_.records.select(
        pl.col("file").map_elements(lambda f: Path(f).name, return_dtype=pl.String()),
        "record_id",
        "bank_ref",
    )


def false_auto_matches(run_: Run) -> list[str]:
    """Automatic matches whose ledger items are not the items the truth gives their lines."""
    links = run_.result.links.join(
        run_.result.matches.filter(pl.col("status") == "auto").select("match_id"), on="match_id"
    )
    refs = {(r["file"], r["record_id"]): r["bank_ref"] for r in bank_refs(run_).to_dicts()}
    wrong: list[str] = []
    for (match_id,), members in links.group_by("match_id"):
        internal = set(members.filter(pl.col("side") == "internal")["item_id"].to_list())
        expected: set[str] = set()
        for row in members.filter(pl.col("side") == "external").to_dicts():
            key = (Path(row["file"]).name, refs[(Path(row["file"]).name, row["item_id"])])
            expected |= run_.truth[key]
        if internal != expected:
            wrong.append(str(match_id))
    return wrong


def absorbed_by(run_: Run, anomaly: PlantedAnomaly, brk: dict[str, object]) -> bool:
    """The break is an open record or the ledger payout item of the anomaly's untied payout."""
    if anomaly.rule != "recon.payout_untied":
        return False
    payout = run_.result.payouts.filter(
        (pl.col("status") == "untied") & (pl.col("ledger_payout_item") == anomaly.item_id)
    )
    if payout.height != 1:
        return False
    if brk["side"] == "internal":
        return brk["item_id"] == anomaly.item_id
    member = run_.records.filter(
        (pl.col("record_id") == brk["item_id"]) & (pl.col("file") == brk["file"])
    )
    return member["payout_id"].to_list() == payout["payout_id"].to_list()


def explains(
    anomaly: PlantedAnomaly, brk: dict[str, object], refs: dict[tuple[str, str], str]
) -> bool:
    if brk["rule"] != anomaly.rule:
        return False
    if brk["side"] == "internal":
        return anomaly.item_id is not None and brk["item_id"] in anomaly.item_id.split(";")
    file = Path(str(brk["file"])).name
    return (
        anomaly.file is not None
        and Path(anomaly.file).name == file
        and refs[(file, str(brk["item_id"]))] == anomaly.bank_ref
    )


def untied(anomaly: PlantedAnomaly, findings: list[dict[str, object]], run_: Run) -> bool:
    """A payout finding located at the payout record the anomaly names."""
    if anomaly.rule != "recon.payout_untied":
        return False
    lines = run_.records.filter(
        (pl.col("bank_ref") == anomaly.bank_ref) & (pl.col("type_code") == "payout")
    )
    where = {f"{r['file']}:{r['line']}" for r in lines.to_dicts()}
    return any(f["rule"] == anomaly.rule and f["locator"] in where for f in findings)


def suggested(anomaly: PlantedAnomaly, run_: Run, refs: dict[tuple[str, str], str]) -> bool:
    """A suggested match of exactly the anomaly's items and bank line."""
    for match_id in run_.result.matches.filter(pl.col("status") == "suggested")["match_id"]:
        members = run_.result.links.filter(pl.col("match_id") == match_id)
        internal = set(members.filter(pl.col("side") == "internal")["item_id"].to_list())
        lines = {
            refs[(Path(r["file"]).name, r["item_id"])]
            for r in members.filter(pl.col("side") == "external").to_dicts()
        }
        if internal == set(str(anomaly.item_id).split(";")) and lines == {anomaly.bank_ref}:
            return True
    return False


@pytest.mark.parametrize("seed", SEEDS)
def test_every_planted_break_is_found_with_no_false_automatic_match(
    demo_factory: DemoFactory, seed: int, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory(transactions=TRANSACTIONS, seed=seed)
    assert demo.statements is not None
    key = read_answer_key(demo.statements.recon_key_path)
    assert len(key) == 8
    run_ = run(demo)
    refs = {(r["file"], r["record_id"]): r["bank_ref"] for r in bank_refs(run_).to_dicts()}
    breaks = run_.result.breaks.to_dicts()
    findings = run_.result.findings.to_dicts()
    found = [
        a
        for a in key
        if any(explains(a, b, refs) for b in breaks)
        or suggested(a, run_, refs)
        or untied(a, findings, run_)
    ]
    explained = [
        b for b in breaks if any(explains(a, b, refs) or absorbed_by(run_, a, b) for a in key)
    ]
    wrong = false_auto_matches(run_)
    auto = run_.result.matches.filter(pl.col("status") == "auto").height
    recall = len(found) / len(key)
    precision = len(explained) / len(breaks) if breaks else 1.0
    with capsys.disabled():  # the figures belong in the CI log, passing or not
        print(  # noqa: T201 - the acceptance criteria ask for these figures printed
            f"\nrecon demo {TRANSACTIONS} tx seed {seed}: recall {recall:.3f}, break precision "
            f"{precision:.3f} ({len(key)} planted, {len(breaks)} breaks), "
            f"{auto - len(wrong)}/{auto} automatic matches true"
        )
        for r in run_.result.rates.filter(pl.col("matches") > 0).iter_rows(named=True):
            print(  # noqa: T201
                f"  stage {r['stage']} {r['stage_name']:<6} {r['status']:<9} "
                f"{r['matches']:>4} matches, ledger items {r['internal_share']:.1%}, "
                f"bank records {r['external_share']:.1%}"
            )
    assert [a for a in key if a not in found] == []
    assert [b for b in breaks if b not in explained] == []
    assert wrong == []
    assert run_.result.findings.filter(pl.col("rule") == "recon.ambiguous_batch").is_empty()
    assert run_.result.breaks.filter(pl.col("class") == "unmapped_account").is_empty()
    # the planted netted fee is the one payout that does not tie: its fee is not booked and
    # the ledger's payout is short by it, while its net ties to the bank line
    untied_payouts = run_.result.payouts.filter(pl.col("status") == "untied")
    assert untied_payouts["untied"].to_list() == ["fees,payout"]
    row = untied_payouts.row(0, named=True)
    assert row["fees"] < 0 == row["ledger_fees"]
    assert row["ledger_payout"] == row["payout"] + row["fees"]
    assert row["bank_amount"] == -row["payout"]


@pytest.mark.parametrize("seed", [7, 11])
def test_a_clean_demo_reconciles_with_no_break(demo_factory: DemoFactory, seed: int) -> None:
    demo = demo_factory(transactions=TRANSACTIONS, seed=seed, clean=True)
    run_ = run(demo)
    assert run_.result.breaks.is_empty(), run_.result.breaks.to_dicts()
    assert run_.result.findings.is_empty()
    # the processor report is reconciled: every payout ties three ways
    payouts = run_.result.payouts
    assert payouts.height > 0
    assert set(payouts["status"]) == {"tied"}
    assert (payouts["bank_amount"] == -payouts["payout"]).all()
    assert (payouts["ledger_gross"] == payouts["gross"]).all()
    assert set(run_.result.matches["status"].to_list()) == {"auto"}
    assert false_auto_matches(run_) == []
    items = run_.result.links.filter(pl.col("side") == "internal").height
    assert items == run_.result.rates["internal_items"].sum() > 0
