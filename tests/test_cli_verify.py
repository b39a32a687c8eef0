"""``ledger-audit verify``: summary table, findings files, exit codes, one-line errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ledger_audit.cli import main
from ledger_audit.demo.answer_key import read_answer_key
from ledger_audit.exports.snapshot import write_ledger_snapshot
from ledger_audit.findings import FINDINGS_SCHEMA
from ledger_audit.sources import load_ledger
from tests.demo.conftest import DemoFactory
from tests.sources.sample_ledger import write_sample_ledger
from tests.text_ledger import ledger_from_text


def test_a_planted_demo_exits_1_and_writes_the_findings(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory()
    code = main(["verify", str(demo.ledger_path), "--out", str(tmp_path)])
    printed = capsys.readouterr()
    assert code == 1  # the chain is broken: critical
    assert printed.err == ""
    header = printed.out.splitlines()[0].split()
    assert header == ["rule", "severity", "count", "status", "coverage"]
    findings = pl.read_parquet(tmp_path / "findings.parquet")
    assert findings.schema == pl.Schema(FINDINGS_SCHEMA)
    assert findings.equals(pl.read_csv(tmp_path / "findings.csv", schema=FINDINGS_SCHEMA))
    key = read_answer_key(demo.answer_key_path)
    assert sorted(findings["rule"].to_list()) == sorted(a.rule.value for a in key)
    assert f"{findings.height} finding(s), " in printed.out
    first = min(a.chain_seq for a in key if a.rule.startswith("chain.") and a.chain_seq)
    assert f"first broken link at seq {first}," in printed.out
    assert "\nNot proven:\n" in printed.out
    assert "\n- ledger demo: no checkpoint from an earlier audit" in printed.out
    assert (tmp_path / "checkpoints.json").is_file()


def test_a_clean_demo_exits_0_from_a_parquet_copy(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory(clean=True)
    frames, _ = load_ledger(demo.ledger_path)
    write_ledger_snapshot(frames, tmp_path / "snapshot", "parquet")
    code = main(["verify", str(tmp_path / "snapshot"), "--out", str(tmp_path / "out")])
    printed = capsys.readouterr()
    assert code == 0, printed.out
    assert "0 finding(s), 0 critical" in printed.out
    assert "failed" not in printed.out
    assert pl.read_parquet(tmp_path / "out" / "findings.parquet").is_empty()


def test_a_later_audit_extends_the_earlier_checkpoint(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory(clean=True)
    assert main(["verify", str(demo.ledger_path), "--out", str(tmp_path / "first")]) == 0
    checkpoint = tmp_path / "first" / "checkpoints.json"
    argv = ["verify", str(demo.ledger_path), "--out", str(tmp_path / "second")]
    assert main([*argv, "--checkpoint", str(checkpoint)]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "no/such/ledger.sqlite", "--out", "x"], "no/such/ledger.sqlite"),
        (["verify", "ledger.sqlite"], "--out"),
        (["verify", "ledger.sqlite", "--out", "x", "--suites", "gx"], "invalid choice"),
    ],
)
def test_bad_verify_arguments_give_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    (line,) = printed.err.splitlines()
    assert message in line


INT64_MAX = 2**63 - 1
PAST_INT64 = f"""
ledger l
account assets:bank debit USD/2
account liabilities:wallet:a credit USD/2 no-negative
tx t1 standard posted at=10
  assets:bank debit {INT64_MAX} USD/2
  liabilities:wallet:a credit {INT64_MAX} USD/2
tx t2 standard posted at=20
  assets:bank debit {INT64_MAX} USD/2
  liabilities:wallet:a credit {INT64_MAX - 1} USD/2
tx t3 standard posted at=30
  liabilities:wallet:a debit {INT64_MAX} USD/2
  assets:bank credit {INT64_MAX} USD/2
tx t4 standard posted at=40
  liabilities:wallet:a debit {INT64_MAX} USD/2
  assets:bank credit {INT64_MAX} USD/2
"""
"""Every amount fits int64; the ledger's debits, the wallet's running balance and t2's
imbalance do not, or pass through values that do not."""


def _money_findings(out: Path) -> pl.DataFrame:
    findings = pl.read_parquet(out / "findings.parquet")
    assert "check.crashed" not in findings["rule"].to_list(), findings["message"].to_list()
    return (
        findings.filter(
            pl.col("rule").is_in(["entry.unbalanced", "ledger.unbalanced"])
            | pl.col("rule").str.starts_with("balance.")
        )
        .select("rule", "transaction_id", "expected", "actual", "difference")
        .sort("rule", "transaction_id")
    )


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_sums_past_int64_are_exact_numbers_on_every_path(
    database: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'ledger.sqlite'}"
        if database == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    engine = sa.create_engine(url, poolclass=NullPool)
    frames = ledger_from_text(PAST_INT64)
    write_sample_ledger(engine, {table: frame.to_dicts() for table, frame in frames.items()})
    engine.dispose()
    found = {}
    for suites in ("frame", "sql"):
        out = tmp_path / suites
        assert main(["verify", url, "--out", str(out), "--suites", suites]) == 1
        found[suites] = _money_findings(out)
    capsys.readouterr()
    assert found["frame"].equals(found["sql"])
    rows = {(r["rule"], r["transaction_id"]): r for r in found["sql"].iter_rows(named=True)}
    ledger = rows[("ledger.unbalanced", None)]
    debits, credit_total = 4 * INT64_MAX, 4 * INT64_MAX - 1  # all four transactions' legs
    assert ledger["actual"] == f"posted debits {debits} USD/2, posted credits {credit_total} USD/2"
    assert ledger["difference"] == "1 USD/2"
    entry = rows[("entry.unbalanced", "t2")]
    assert f"debits {INT64_MAX} USD/2, credits {INT64_MAX - 1} USD/2" in entry["actual"]
    negative = rows[("balance.negative_not_allowed", "t4")]
    assert negative["actual"] == "-1 USD/2"
    assert set(rows) == {
        ("ledger.unbalanced", None),
        ("entry.unbalanced", "t2"),
        ("balance.negative_not_allowed", "t4"),
    }
