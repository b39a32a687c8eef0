"""Entry amounts beyond int64 (a PostgreSQL NUMERIC(39, 0) column): the invariant suites give
exact numbers on the frame path and the SQL path, never ``check.crashed``."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ledger_audit.checks.invariants import check_invariants, wide_entry
from ledger_audit.cli import main
from ledger_audit.schema.frames import KEYS, WIDE_AMOUNT
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import VerifySpec
from tests.sources.sample_ledger import write_sample_ledger
from tests.text_ledger import ledger_from_text

BIG = 2**64 + 5
"""An entry amount no int64 holds."""

LEDGER = """
ledger l
account assets:bank debit USD/2
account liabilities:wallet:a credit USD/2 no-negative
tx t1 standard posted at=10
  assets:bank debit 1 USD/2
  liabilities:wallet:a credit 1 USD/2
tx t2 standard posted at=20
  assets:bank debit 2 USD/2
  liabilities:wallet:a credit 3 USD/2
tx t3 standard posted at=30
  liabilities:wallet:a debit 4 USD/2
  assets:bank credit 4 USD/2
"""
"""Written with wide amounts: t1 moves BIG, t2 debits BIG and credits BIG - 1 (unbalanced by
one), t3 takes 2 * BIG out of the wallet (one more than the 2 * BIG - 1 it holds)."""

WIDE = {("t1", 0): BIG, ("t1", 1): BIG, ("t2", 0): BIG, ("t2", 1): BIG - 1}
WIDE |= {("t3", 0): 2 * BIG, ("t3", 1): 2 * BIG}


KEY = list(KEYS["entries"])


def _wide_frames() -> LedgerFrames:
    frames = ledger_from_text(LEDGER)
    amounts = pl.DataFrame(
        [(tx, i, amount) for (tx, i), amount in WIDE.items()],
        schema={"transaction_id": pl.String(), "entry_index": pl.Int32(), "_wide": WIDE_AMOUNT},
        orient="row",
    )
    entries = (
        frames.entries.join(
            amounts.cast({"entry_index": frames.entries.schema["entry_index"]}),
            on=["transaction_id", "entry_index"],
        )
        .with_columns(pl.col("_wide").alias("amount"))
        .drop("_wide")
    )
    return LedgerFrames.from_tables({**dict(frames.items()), "entries": entries.sort(KEY)})


def test_the_frame_path_sums_wide_amounts_exactly() -> None:
    frames = _wide_frames()
    assert wide_entry(frames) == "entry ledger_id=l, transaction_id=t1, version=0, entry_index=0"
    assert wide_entry(ledger_from_text(LEDGER)) is None
    result = check_invariants(frames, VerifySpec())
    found = result.findings.select("rule", "transaction_id", "actual").sort("rule")
    assert "check.crashed" not in found["rule"].to_list(), result.findings["message"].to_list()
    assert found.rows() == [
        ("balance.negative_not_allowed", "t3", "-1 USD/2"),
        ("entry.unbalanced", "t2", f"debits {BIG} USD/2, credits {BIG - 1} USD/2"),
        (
            "ledger.unbalanced",
            None,
            f"posted debits {4 * BIG} USD/2, posted credits {4 * BIG - 1} USD/2",
        ),
    ]
    assert result.coverage.checked == 3


def _write(url: str) -> None:
    engine = sa.create_engine(url, poolclass=NullPool)
    rows = {table: frame.to_dicts() for table, frame in ledger_from_text(LEDGER).items()}
    entries = rows.pop("entries")
    write_sample_ledger(engine, {**rows, "entries": []})
    for row in entries:
        row["amount"] = WIDE[(row["transaction_id"], row["entry_index"])]
    columns = ", ".join(entries[0])
    values = ", ".join(f":{name}" for name in entries[0])
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE entries ALTER COLUMN amount TYPE NUMERIC(39, 0)")
        conn.execute(sa.text(f"INSERT INTO entries ({columns}) VALUES ({values})"), entries)
    engine.dispose()


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


@pytest.mark.postgres
def test_entry_amounts_past_int64_are_exact_on_both_paths(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(pg_url)
    found = {}
    for suites in ("frame", "sql"):
        out = tmp_path / suites
        assert main(["verify", pg_url, "--out", str(out), "--suites", suites]) == 1
        found[suites] = _money_findings(out)
    capsys.readouterr()
    summary = pl.read_parquet(tmp_path / "sql" / "summary.parquet")
    coverage = summary.filter(pl.col("rule") == "entry.unbalanced")["coverage"].item()
    assert "the loaded frames" in coverage
    assert "transaction_id=t1, version=0, entry_index=0 has an amount beyond int64" in coverage
    assert found["frame"].equals(found["sql"])
    rows = {(r["rule"], r["transaction_id"]): r for r in found["sql"].iter_rows(named=True)}
    entry = rows[("entry.unbalanced", "t2")]
    assert f"debits {BIG} USD/2, credits {BIG - 1} USD/2" in entry["actual"]
    ledger = rows[("ledger.unbalanced", None)]
    debits, credit_total = 4 * BIG, 4 * BIG - 1
    assert ledger["actual"] == f"posted debits {debits} USD/2, posted credits {credit_total} USD/2"
    assert rows[("balance.negative_not_allowed", "t3")]["actual"] == "-1 USD/2"
    assert set(rows) == {
        ("entry.unbalanced", "t2"),
        ("ledger.unbalanced", None),
        ("balance.negative_not_allowed", "t3"),
    }


def test_sqlite_real_amounts_past_int64_stay_off_the_sql_path(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLite keeps 1e30 as a REAL, whose BIGINT cast is 2^63 - 1: the SQL path would have
    summed a number no one wrote. Both paths reject the row and agree."""
    engine = sa.create_engine(sqlite_url, poolclass=NullPool)
    rows = {table: frame.to_dicts() for table, frame in ledger_from_text(LEDGER).items()}
    for row in rows["entries"]:
        if row["transaction_id"] == "t1":
            row["amount"] = 1e30
    write_sample_ledger(engine, rows)
    engine.dispose()
    found = {}
    for suites in ("frame", "sql"):
        out = tmp_path / suites
        assert main(["verify", sqlite_url, "--out", str(out), "--suites", suites]) == 1
        found[suites] = pl.read_parquet(out / "findings.parquet").select(
            "rule", "locator", "expected", "actual"
        )
    capsys.readouterr()
    assert found["frame"].equals(found["sql"])
    assert "check.crashed" not in found["sql"]["rule"].to_list()
    assert found["sql"]["rule"].to_list().count("source.rejected_row") == 2
    summary = pl.read_parquet(tmp_path / "sql" / "summary.parquet")
    coverage = summary.filter(pl.col("rule") == "entry.unbalanced")["coverage"].item()
    assert "transaction_id=t1, version=0, entry_index=0 has an amount beyond int64" in coverage
