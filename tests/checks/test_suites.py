"""The suite files, GX kept lazy, crashes as findings, the read-only SQL path, the frame and
SQL paths agreeing (SQLite and PostgreSQL), and the demos' answer key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ledger_audit.checks.catalogue import CATALOGUE, RULES
from ledger_audit.checks.invariants import check_invariants, check_invariants_sql
from ledger_audit.checks.suite_files import ExpectationSpec, SuiteSpec, read_suites
from ledger_audit.demo.answer_key import read_answer_key
from ledger_audit.findings import RuleId, Severity
from ledger_audit.sources import load_ledger
from ledger_audit.sources.invariant_sql import read_only_url
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import VerifySpec
from tests.conftest import DemoFactory
from tests.sources.sample_ledger import write_sample_ledger
from tests.text_ledger import ledger_from_text

SPEC = VerifySpec()
MINE = {
    RuleId.IDEMPOTENCY_CONFLICT,
    RuleId.REVERSAL_NOT_INVERSE,
    RuleId.BALANCE_NEGATIVE,
    RuleId.PAYMENT_DUPLICATE_SUSPECTED,
    RuleId.CHAIN_DELETED,
}

DAMAGED = """
ledger l
account assets:bank debit USD/2
account liabilities:wallet:a credit USD/2 no-negative
account liabilities:wallet:b credit USD/2 no-negative
account equity:fx credit *
tx t1 standard posted at=10 key=k1 ext=e1
  assets:bank debit 500 USD/2
  liabilities:wallet:a credit 500 USD/2
tx t2 standard posted at=20 key=k1 ext=e1
  assets:bank debit 600 USD/2
  liabilities:wallet:a credit 600 USD/2
tx t3 pending pending at=30 key=k3 ext=e3
  liabilities:wallet:a debit 200 USD/2
  liabilities:wallet:b credit 200 USD/2
tx t3/1 post_pending posted at=40 key=k4
  liabilities:wallet:a debit 300 USD/2
  liabilities:wallet:b credit 300 USD/2
tx t3/2 void_pending archived at=45 key=k5
  liabilities:wallet:a debit 300 USD/2
  liabilities:wallet:b credit 300 USD/2
tx t4 post_pending posted at=46 pending=t3 ext=e3
  liabilities:wallet:a debit 1 USD/2
  liabilities:wallet:b credit 1 USD/2
tx r1 reversal posted at=50 reverses=t1
  assets:bank credit 400 USD/2
  liabilities:wallet:a debit 400 USD/2
tx r2 reversal posted at=60 reverses=t1
  assets:bank credit 500 USD/2
  liabilities:wallet:a debit 500 USD/2
tx t5 standard posted at=70
  assets:bank debit 0 USD/2
  equity:fx credit 7 EUR/2
  liabilities:wallet:b credit 5 EUR/2
tx t6 standard posted at=80
  liabilities:wallet:b debit 900 USD/2
  assets:safe credit 900 USD/2
"""


def test_every_suite_names_catalogued_rules_with_their_severity() -> None:
    suites = read_suites()
    invariants = next(c for c in CATALOGUE if c.name == "invariants")
    assert invariants.target == "ledger_audit.checks.invariants:check_invariant_suites"
    seen = {spec.rule for suite in suites for spec in suite.expectations}
    assert seen == set(invariants.rules)
    for suite in suites:
        for spec in suite.expectations:
            assert spec.severity == RULES[spec.rule].severity, spec
            assert spec.doc
            assert "\n" not in spec.doc


def test_import_ledger_audit_does_not_import_great_expectations() -> None:
    code = (
        "import sys, ledger_audit, ledger_audit.checks, ledger_audit.checks.catalogue, "
        "ledger_audit.checks.runner, ledger_audit.checks.invariants; "
        "print('great_expectations' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"


MISSING_COLUMN = ExpectationSpec(
    type="expect_column_values_to_be_between",
    kwargs_json=json.dumps({"column": "no_such_column", "min_value": 1}),
    rule=RuleId.ENTRY_INVALID_AMOUNT,
    severity=Severity.CRITICAL,
    doc="a column the legs do not have",
)
"""An expectation on a column the legs lack: every engine must report it as a crash."""


def test_a_crashing_expectation_is_a_crashed_check_not_a_data_finding() -> None:
    broken = SuiteSpec(
        "broken",
        (
            MISSING_COLUMN,
            *next(s for s in read_suites() if s.name.endswith("entries")).expectations[:1],
        ),
    )
    frames = ledger_from_text(DAMAGED)
    result = check_invariants(frames, SPEC, suites=[broken])
    crashed = result.findings.filter(pl.col("rule") == "check.crashed").to_dicts()
    assert len(crashed) == 1
    assert crashed[0]["severity"] == "critical"
    assert crashed[0]["locator"] == "expectation expect_column_values_to_be_between (suite broken)"
    assert "no_such_column" in str(crashed[0]["message"])
    assert str(crashed[0]["message"]).endswith("entry.invalid_amount is unproven")
    assert result.findings.filter(pl.col("rule") == "entry.invalid_amount").is_empty()
    assert not result.findings.filter(pl.col("rule") == "entry.unbalanced").is_empty()
    assert result.coverage.unproven
    assert not result.crashed  # the other expectation ran


def write(frames: LedgerFrames, url: str) -> str:
    engine = sa.create_engine(url, poolclass=NullPool)
    write_sample_ledger(engine, {table: frame.to_dicts() for table, frame in frames.items()})
    engine.dispose()
    return url


def agree(url: str) -> pl.DataFrame:
    """Both paths give the same findings (a crash's message quotes its engine's error)."""
    frames, _ = load_ledger(url)
    on_frames = check_invariants(frames, SPEC)
    in_database = check_invariants_sql(VerifySpec(source=url, suites="sql"))
    same = [c for c in on_frames.findings.columns if c != "check"]
    assert (
        on_frames.findings.with_columns(
            pl.when(pl.col("rule") == "check.crashed")
            .then(None)
            .otherwise(pl.col("message"))
            .alias("message")
        )
        .select(same)
        .equals(
            in_database.findings.with_columns(
                pl.when(pl.col("rule") == "check.crashed")
                .then(None)
                .otherwise(pl.col("message"))
                .alias("message")
            ).select(same)
        )
    )
    assert on_frames.coverage.checked == in_database.coverage.checked
    return on_frames.findings


def test_frame_and_sql_paths_agree_on_sqlite(sqlite_url: str) -> None:
    findings = agree(write(ledger_from_text(DAMAGED), sqlite_url))
    assert set(findings["rule"]) == {
        "entry.unbalanced",
        "entry.invalid_amount",
        "entry.asset_mismatch",
        "entry.unknown_account",
        "ledger.unbalanced",
        "status.invalid_move",
        "pending.overposted",
        "idempotency.conflict",
        "payment.duplicate_suspected",
        "reversal.not_inverse",
        "reversal.duplicate",
        "balance.negative_not_allowed",
    }
    # t4 captures t3 and so shares its external id e3 by design; t2 reuses e1 of t1.
    dupes = findings.filter(pl.col("rule") == "payment.duplicate_suspected")
    assert dupes["transaction_id"].to_list() == ["t2"]


def test_frame_and_sql_paths_agree_on_the_source_sample_ledger(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url, poolclass=NullPool)
    write_sample_ledger(engine)
    engine.dispose()
    assert not agree(sqlite_url).is_empty()


def test_frame_and_sql_paths_agree_on_postgres(pg_url: str) -> None:
    agree(write(ledger_from_text(DAMAGED), pg_url))


def test_the_sql_path_cannot_write(sqlite_url: str, pg_url: str) -> None:
    for url in (
        write(ledger_from_text(DAMAGED), sqlite_url),
        write(ledger_from_text(DAMAGED), pg_url),
    ):
        engine = sa.create_engine(read_only_url(url), poolclass=NullPool)
        with pytest.raises(sa.exc.DBAPIError, match=r"(?i)read.?only"), engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM balances"))
        engine.dispose()


def test_a_sqlite_path_source_and_a_missing_source() -> None:
    from ledger_audit.checks.invariants import sql_url
    from ledger_audit.errors import InputError

    assert sql_url("x/ledger.sqlite") == f"sqlite:///{Path('x/ledger.sqlite').resolve()}"
    with pytest.raises(InputError):
        sql_url(None)
    with pytest.raises(InputError):
        sql_url("some/folder")


@pytest.mark.parametrize("suites", ["frame", "sql"])
def test_planted_demo_gives_exactly_the_answer_key(demo_factory: DemoFactory, suites: str) -> None:
    demo = demo_factory()
    key = {
        (str(a.rule), a.transaction_id if a.rule != RuleId.CHAIN_DELETED else None, a.chain_seq)
        for a in read_answer_key(demo.answer_key_path)
        if a.rule in MINE
    }
    frames, _ = load_ledger(demo.ledger_path)
    url = f"sqlite:///{demo.ledger_path}"
    result = (
        check_invariants(frames, SPEC)
        if suites == "frame"
        else check_invariants_sql(VerifySpec(source=url, suites="sql"))
    )
    found = set(result.findings.select("rule", "transaction_id", "chain_seq").iter_rows())
    assert found == key
    assert result.status == "failed"


@pytest.mark.parametrize("suites", ["frame", "sql"])
def test_clean_demo_gives_nothing(demo_factory: DemoFactory, suites: str) -> None:
    demo = demo_factory(clean=True)
    frames, _ = load_ledger(demo.ledger_path)
    url = f"sqlite:///{demo.ledger_path}"
    result = (
        check_invariants(frames, SPEC)
        if suites == "frame"
        else check_invariants_sql(VerifySpec(source=url, suites="sql"))
    )
    assert result.findings.is_empty(), result.findings.to_dicts()
    assert result.status == "passed"
    assert result.coverage.checked == frames.transactions.height
