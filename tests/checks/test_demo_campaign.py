"""The tamper campaign on real demos: eleven kinds of edit, 20 seeded trials each, on copies of
one small demo written by the reference writer; every edit found and classified exactly.

A trial copies the demo's SQLite file, makes one edit (``demo_tampering``), reads the copy
back through the ordinary loader and verifies it. The chain check alone must report exactly
the expected (rule, ledger, chain_seq, transaction_id); a few trials per kind run the whole
catalogue, where the chain findings must come out the same (no second finding for the same
cause from another check). Clean demos of ten seeds give no finding at all.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.checks.catalogue import CATALOGUE
from ledger_audit.checks.runner import AuditResult, audit, run_checks
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.findings import RuleId
from ledger_audit.sources import load_ledger
from ledger_audit.spec import VerifySpec
from tests.checks.demo_tampering import KINDS, LEDGER, Expected, Tampering, tamper
from tests.conftest import DemoFactory

TRIALS = 20
FULL_TRIALS = 2
CHAIN = tuple(c for c in CATALOGUE if c.name == "chain")


@pytest.fixture(scope="module")
def small_demo(demo_factory: DemoFactory) -> DemoSummary:
    return demo_factory(transactions=120, seed=5, clean=True)


def tampered_copy(demo: DemoSummary, folder: Path, kind: str, seed: int) -> tuple[Path, Tampering]:
    path = folder / f"{kind}-{seed}.sqlite"
    shutil.copy(demo.ledger_path, path)
    return path, tamper(path, kind, seed)


def chain_findings(findings: pl.DataFrame) -> Expected:
    chain = findings.filter(pl.col("rule").str.starts_with("chain."))
    return set(chain.select("rule", "ledger_id", "chain_seq", "transaction_id").iter_rows())


def verify(path: Path, tampering: Tampering, *, everything: bool) -> AuditResult:
    frames, report = load_ledger(path)
    spec = VerifySpec(source=str(path), checkpoints=tampering.checkpoints)
    if everything:
        return audit(frames, report, spec)
    return run_checks(frames, spec, CHAIN)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_of_tampering_is_found_and_classified(
    small_demo: DemoSummary, tmp_path: Path, kind: str
) -> None:
    for seed in range(TRIALS):
        path, tampering = tampered_copy(small_demo, tmp_path, kind, seed)
        assert tampering.expected, (kind, seed)
        result = verify(path, tampering, everything=seed < FULL_TRIALS)
        assert chain_findings(result.findings) == tampering.expected, (kind, seed)
        path.unlink()


def test_ten_clean_demos_give_no_finding(demo_factory: DemoFactory) -> None:
    for seed in range(100, 110):
        demo = demo_factory(transactions=100, seed=seed, clean=True)
        frames, report = load_ledger(demo.ledger_path)
        result = audit(frames, report, VerifySpec(source=str(demo.ledger_path)))
        assert result.findings.is_empty(), (seed, result.findings.to_dicts())


# --- one reproducer per item of the hardening issue ----------------------------------------


def _edit(demo: DemoSummary, folder: Path, *statements: str) -> Path:
    """A copy of the demo with SQL ``statements`` run on it (append-only triggers dropped)."""
    import sqlite3
    from contextlib import closing

    path = folder / "edited.sqlite"
    shutil.copy(demo.ledger_path, path)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DROP TRIGGER transactions_no_update")
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    return path


def _audit(path: Path, suites: str = "frame") -> AuditResult:
    frames, report = load_ledger(path)
    return audit(frames, report, VerifySpec(source=str(path), suites=suites))  # type: ignore[arg-type]


def test_a_description_edit_is_a_critical_meta_finding(
    small_demo: DemoSummary, tmp_path: Path
) -> None:
    path = _edit(
        small_demo, tmp_path, "UPDATE transactions SET description = 'refund' WHERE chain_seq = 40"
    )
    result = _audit(path)
    (finding,) = result.findings.to_dicts()
    assert (finding["rule"], finding["severity"], finding["chain_seq"]) == (
        RuleId.CHAIN_META_TAMPERED.value,
        "critical",
        40,
    )
    assert "description or metadata changed" in str(finding["message"])
    chain = next(r for r in result.results if r.check == "chain")
    assert chain.coverage.unproven_rules == ()
    assert any("meta_hash too goes undetected" in line for line in chain.coverage.unproven)


def test_without_meta_hash_metadata_is_not_proven(small_demo: DemoSummary, tmp_path: Path) -> None:
    path = _edit(small_demo, tmp_path, "UPDATE transactions SET meta_hash = NULL")
    result = _audit(path)
    assert result.findings.is_empty()
    summary = dict(result.summary().select("rule", "status").iter_rows())
    assert summary[RuleId.CHAIN_META_TAMPERED.value] == "not proven"
    assert summary[RuleId.CHAIN_TAMPERED.value] == "passed"
    unproven = [line for r in result.results for line in r.coverage.unproven]
    assert any("no row has a meta_hash" in line and "not proven" in line for line in unproven)


@pytest.mark.parametrize("suites", ["frame", "sql"])
def test_a_seq_moved_far_away_is_one_finding(
    small_demo: DemoSummary, tmp_path: Path, suites: str
) -> None:
    path = _edit(
        small_demo, tmp_path, "UPDATE transactions SET chain_seq = 1000000000 WHERE chain_seq = 50"
    )
    result = _audit(path, suites)
    (finding,) = result.findings.to_dicts()
    assert (finding["rule"], finding["chain_seq"]) == (RuleId.CHAIN_TAMPERED.value, 10**9)
    assert "chain_seq changed from 50 to 1000000000" in str(finding["message"])
    # The contiguity invariant alone never reports a gap larger than the chain.
    frames, _report = load_ledger(path)
    spec = VerifySpec(source=str(path), suites=suites)  # type: ignore[arg-type]
    alone = run_checks(frames, spec, tuple(c for c in CATALOGUE if c.name == "invariants"))
    messages = alone.findings.filter(pl.col("rule") == RuleId.CHAIN_DELETED.value)["message"]
    assert len(messages) == 2
    assert not any("rows): the next row" in m for m in messages)
    assert any("more than its whole chain" in m for m in messages)


def test_a_seq_moved_far_away_and_edited_is_one_finding(
    small_demo: DemoSummary, tmp_path: Path
) -> None:
    """Its content cannot match anywhere, but both its links place it at its old seq."""
    path = _edit(
        small_demo,
        tmp_path,
        "UPDATE transactions SET chain_seq = 1000000000, kind = 'adjustment' WHERE chain_seq = 50",
    )
    result = _audit(path)
    (finding,) = result.findings.filter(pl.col("rule").str.starts_with("chain.")).to_dicts()
    assert (finding["rule"], finding["chain_seq"]) == (RuleId.CHAIN_TAMPERED.value, 10**9)
    assert "chain_seq changed from 50 to 1000000000, and sealed fields changed too" in str(
        finding["message"]
    )


def test_a_copy_appended_after_the_head_is_inserted_only(
    small_demo: DemoSummary, tmp_path: Path
) -> None:
    head = small_demo.ledger.chain_seq
    path = _edit(
        small_demo,
        tmp_path,
        "INSERT INTO transactions SELECT ledger_id, 'tx-forged', version, kind, status, "
        "pending_transaction_id, reverses_transaction_id, effective_ns, recorded_ns, NULL, NULL, "
        f"description, metadata, meta_hash, {head + 1}, chain_prev_hash, content_hash, chain_hash "
        "FROM transactions WHERE chain_seq = 30",
    )
    frames, _report = load_ledger(path)
    result = run_checks(frames, VerifySpec(source=str(path)), CHAIN)
    assert chain_findings(result.findings) == {
        (RuleId.CHAIN_INSERTED.value, LEDGER, head + 1, "tx-forged")
    }
    assert "copied or forged" in result.findings["message"][0]


def test_a_forged_head_says_why_it_cannot_tell(small_demo: DemoSummary, tmp_path: Path) -> None:
    head = small_demo.ledger.chain_seq
    path = _edit(
        small_demo,
        tmp_path,
        f"UPDATE transactions SET kind = 'adjustment' WHERE chain_seq = {head}",
    )
    frames, _report = load_ledger(path)
    result = run_checks(frames, VerifySpec(source=str(path)), CHAIN)
    (finding,) = result.findings.to_dicts()
    assert (finding["rule"], finding["chain_seq"]) == (RuleId.CHAIN_TAMPERED.value, head)
    assert "it may as well be a forged row appended after the last sealed one" in str(
        finding["message"]
    )


def test_a_fork_at_the_head_says_it_cannot_tell_which(
    small_demo: DemoSummary, tmp_path: Path
) -> None:
    """Two rows sealed after seq N-1 at seq N, nothing after them: either could be the forgery."""
    path = tmp_path / "fork.sqlite"
    shutil.copy(small_demo.ledger_path, path)
    head = small_demo.ledger.chain_seq
    import sqlite3
    from contextlib import closing

    from tests.checks.demo_tampering import Ledger

    with closing(sqlite3.connect(path)) as conn:
        ledger = Ledger(conn)
        rows = ledger.rows()
        original = rows[-1]
        forged = {**original, "transaction_id": "tx-0-forged", "kind": "adjustment"}
        legs = [{**leg, "transaction_id": "tx-0-forged"} for leg in ledger.legs(original)]
        ledger.insert(forged, legs)
        ledger.reseal(forged, str(rows[-2]["chain_hash"]))
        conn.commit()
    frames, _ = load_ledger(path)
    result = run_checks(frames, VerifySpec(source=str(path)), CHAIN)
    (finding,) = result.findings.to_dicts()
    assert (finding["rule"], finding["chain_seq"]) == (RuleId.CHAIN_INSERTED.value, head)
    assert finding["transaction_id"] == original["transaction_id"]  # "tx-0-forged" sorts first
    assert "which one was inserted cannot be told" in str(finding["message"])
