"""The pgledger adapter on the demo written in pgledger's layout, on a real PostgreSQL.

Account ids differ (pgledger's ``pgla_...`` per account and currency): the comparisons with
the canonical demo go through the pgledger account's ``name`` (the canonical account id) and
its asset. pgledger holds only the posted state, so only posted cells are compared.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import psycopg
import pytest

from ledger_audit.checks.runner import AuditResult, audit
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.demo.vendors.pgledger import DDL, libpq, write_pgledger
from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.replay.balances import balances_as_of
from ledger_audit.reports.trial_balance import build_trial_balance
from ledger_audit.sources import LedgerFrames, load_ledger
from ledger_audit.sources.adapters import check_adapted, load_adapted
from ledger_audit.sources.adapters.adapted import Adapted
from ledger_audit.sources.adapters.pgledger import load
from ledger_audit.sources.reading import read_ledger
from ledger_audit.spec import Period, VerifySpec

DemoFactory = Callable[..., DemoSummary]
END = 2**62


@pytest.fixture(scope="module")
def demo_frames(demo_factory: DemoFactory) -> LedgerFrames:
    frames, _ = load_ledger(str(demo_factory(clean=True).ledger_path))
    return frames


@pytest.fixture
def written(pg_url: str, demo_frames: LedgerFrames) -> dict[str, pl.DataFrame]:
    return write_pgledger(demo_frames, pg_url)


def _sql(url: str, *statements: str) -> None:
    with psycopg.connect(libpq(url)) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.commit()


def _audit(adapted: Adapted) -> AuditResult:
    return audit(
        adapted.frames,
        adapted.report,
        VerifySpec(source="pgledger"),
        native=adapted.native,
    )


def _by_name(frames: LedgerFrames, rows: pl.DataFrame) -> pl.DataFrame:
    names = frames.accounts.select("ledger_id", "account_id", "name")
    return rows.join(names, on=["ledger_id", "account_id"], how="left").with_columns(
        pl.col("name").alias("account_id")
    )


def _posted(frames: LedgerFrames) -> pl.DataFrame:
    cells = balances_as_of(frames, END, "recorded").collect()
    return cells.select(
        "account_id", "asset_id", pl.col("posted_debits"), pl.col("posted_credits")
    ).filter((pl.col("posted_debits") != 0) | (pl.col("posted_credits") != 0))


def test_the_demo_reads_back_with_the_same_balances_and_trial_balance(
    pg_url: str, written: dict[str, pl.DataFrame], demo_frames: LedgerFrames
) -> None:
    adapted = load_adapted(pg_url, "pgledger")
    assert adapted.report.rejected == 0
    ours = _posted(adapted.frames)
    ours = _by_name(adapted.frames, ours.with_columns(pl.lit("pgledger").alias("ledger_id")))
    key = ["account_id", "asset_id"]
    expected = _posted(demo_frames).sort(key)
    assert ours.select(expected.columns).sort(key).equals(expected)

    january = Period.month("2025-01")
    columns = ["account_id", "asset_id", "debits", "credits"]
    theirs = build_trial_balance(demo_frames, january).rows.select(columns)
    mine = _by_name(adapted.frames, build_trial_balance(adapted.frames, january).rows)
    moved = (pl.col("debits") != 0) | (pl.col("credits") != 0)
    assert mine.select(columns).filter(moved).sort(key).equals(theirs.filter(moved).sort(key))
    assert written["pgledger_transfers"].height == adapted.frames.transactions.height


def test_a_clean_copy_has_no_finding_and_says_what_pgledger_cannot_prove(
    pg_url: str, written: dict[str, pl.DataFrame]
) -> None:
    adapted = load_adapted(pg_url, "pgledger")
    result = _audit(adapted)
    assert result.findings.height == 0
    summary = {row["rule"]: row["status"] for row in result.summary().iter_rows(named=True)}
    assert summary[RuleId.BALANCE_RUNNING_BROKEN] == "passed"
    assert summary[RuleId.BALANCE_DRIFT] == "passed"
    assert summary[RuleId.SOURCE_INCONSISTENT] == "passed"
    # no vendor chain: what only a chain proves is not passed (chain.deleted is also covered
    # by the invariants' sequence check, which has rows to look at)
    unchained = ("tampered", "resealed", "inserted", "reordered", "truncated", "rewritten")
    assert all(summary[f"chain.{name}"] != "passed" for name in unchained)
    notes = " ".join(adapted.report.notes)
    for missing in ("no hash chain", "no pending state", "no idempotency key"):
        assert missing in notes
    running = next(n.result for n in adapted.native if n.result.check == "pgledger_running")
    assert running.coverage.checked == written["pgledger_entries"].height


def test_frames_without_the_checks_are_the_same_and_the_checks_not_proven(
    pg_url: str, written: dict[str, pl.DataFrame]
) -> None:
    entry = _first(written, "pgledger_entries", pl.col("account_version") == 2)
    _sql(pg_url, f"UPDATE pgledger_entries SET amount = amount + 1 WHERE id = '{entry['id']}'")
    full, frames_only = load(pg_url), load(pg_url, vendor_checks=False)
    for table in ("ledgers", "assets", "accounts", "transactions", "entries", "balances"):
        assert getattr(full.frames, table).equals(getattr(frames_only.frames, table)), table
    assert full.report.source_counts == frames_only.report.source_counts
    assert full.report.notes == frames_only.report.notes
    assert sum(n.result.findings.height for n in full.native) > 0  # the edit is there
    for native in frames_only.native:
        assert native.result.status == "no data"
        assert native.result.coverage.unproven_rules == native.rules
    assert [n.result.check for n in frames_only.native] == [n.result.check for n in full.native]
    summary = _audit(frames_only).summary()
    running = summary.filter(pl.col("rule") == RuleId.BALANCE_RUNNING_BROKEN)
    assert running.get_column("status").to_list() == ["no data"]


def test_commands_that_read_frames_only_skip_the_vendor_checks(
    pg_url: str,
    written: dict[str, pl.DataFrame],  # noqa: ARG001 - the demo written into pg_url
) -> None:
    """``jet``, ``reconcile`` and ``flux`` read through ``vendor_checks=False``."""
    for vendor_checks in (True, False):
        read = read_ledger(pg_url, adapter="pgledger", vendor_checks=vendor_checks)
        pgledger = [n.result for n in read.native if n.result.check.startswith("pgledger")]
        assert pgledger  # the checks are listed either way, never silently dropped
        statuses = {r.status for r in pgledger}
        assert (statuses == {"no data"}) is not vendor_checks
        assert [n.result.check for n in read.native][-1] == "mirror_seal"  # still sealed


def _first(written: dict[str, pl.DataFrame], table: str, where: pl.Expr) -> dict[str, object]:
    return written[table].filter(where).row(0, named=True)


def _found(result: AuditResult, rule: str) -> set[str]:
    return set(result.findings.filter(pl.col("rule") == rule).get_column("locator").to_list())


def test_an_edited_running_balance_is_found_at_its_entry(
    pg_url: str, written: dict[str, pl.DataFrame]
) -> None:
    entry = _first(written, "pgledger_entries", pl.col("account_version") == 3)
    _sql(
        pg_url,
        "UPDATE pgledger_entries SET account_current_balance = account_current_balance + 0.01 "
        f"WHERE id = '{entry['id']}'",
    )
    result = _audit(load(pg_url))
    assert f"pgledger_entries(id={entry['id']})" in _found(result, RuleId.BALANCE_RUNNING_BROKEN)
    assert set(result.findings.get_column("rule")) == {RuleId.BALANCE_RUNNING_BROKEN}


def test_a_version_gap_is_found_where_it_opens(
    pg_url: str, written: dict[str, pl.DataFrame]
) -> None:
    entry = _first(written, "pgledger_entries", pl.col("account_version") == 4)
    _sql(
        pg_url,
        "UPDATE pgledger_entries SET account_version = account_version + 1 "
        f"WHERE account_id = '{entry['account_id']}' AND account_version >= 4",
    )
    result = _audit(load(pg_url))
    found = result.findings.filter(pl.col("rule") == RuleId.BALANCE_RUNNING_BROKEN)
    gap = found.filter(pl.col("locator") == f"pgledger_entries(id={entry['id']})")
    assert gap.height == 1
    assert "not contiguous" in gap.item(0, "message")
    assert set(result.findings.get_column("rule")) == {RuleId.BALANCE_RUNNING_BROKEN}


def test_a_drifted_cached_balance_is_drift_and_a_broken_running_end(
    pg_url: str, written: dict[str, pl.DataFrame]
) -> None:
    account = _first(written, "pgledger_accounts", pl.col("version") > 2)
    _sql(pg_url, f"UPDATE pgledger_accounts SET balance = balance + 1 WHERE id = '{account['id']}'")
    result = _audit(load(pg_url))
    drift = result.findings.filter(pl.col("rule") == RuleId.BALANCE_DRIFT)
    assert drift.get_column("account_id").to_list() == [account["id"]]
    running = result.findings.filter(pl.col("rule") == RuleId.BALANCE_RUNNING_BROKEN)
    assert running.get_column("account_id").to_list() == [account["id"]]
    assert "caches" in running.item(0, "message")


def test_an_amount_finer_than_the_currency_is_a_rejected_row_never_rounded(
    pg_url: str, written: dict[str, pl.DataFrame]
) -> None:
    transfer = _first(written, "pgledger_transfers", pl.col("amount") != "")
    _sql(
        pg_url,
        f"UPDATE pgledger_transfers SET amount = amount + 0.001 WHERE id = '{transfer['id']}'",
    )
    adapted = load(pg_url)
    rejected = adapted.report.rejections.filter(
        pl.col("locator").str.contains(str(transfer["id"]), literal=True)
    )
    assert rejected.height >= 1
    first = rejected.row(0, named=True)
    assert (first["column"], first["raw_value"]) == ("entries.amount", f"{transfer['amount']}1")
    assert "scale" in first["reason"] or "decimal" in first["reason"]
    assert transfer["id"] not in adapted.frames.entries.get_column("transaction_id").to_list()
    assert RuleId.SOURCE_REJECTED_ROW in set(_audit(adapted).findings.get_column("rule"))


@pytest.mark.parametrize(
    ("edit", "rule"),
    [
        ("UPDATE pgledger_entries SET amount = amount - 0.01 WHERE id = '{id}'", "amount_mismatch"),
        ("DELETE FROM pgledger_entries WHERE id = '{id}'", "inconsistent"),
    ],
)
def test_an_entry_that_disagrees_with_its_transfer_is_found(
    pg_url: str, written: dict[str, pl.DataFrame], edit: str, rule: str
) -> None:
    entry = _first(written, "pgledger_entries", pl.col("account_version") == 2)
    _sql(pg_url, edit.format(id=entry["id"]))
    result = _audit(load(pg_url))
    rules = set(result.findings.get_column("rule"))
    assert f"source.{rule}" in rules
    assert RuleId.BALANCE_RUNNING_BROKEN in rules  # the account's chain no longer follows
    located = _found(result, f"source.{rule}")
    transfer = f"pgledger_transfers(id={entry['transfer_id']})"
    assert located == (
        {transfer} if rule == "inconsistent" else {f"pgledger_entries(id={entry['id']})"}
    )


_ACCOUNT = (
    "INSERT INTO pgledger_accounts VALUES ('{id}', '{name}', '{currency}', {balance}, {version}, "
    "true, true, NULL, '2025-01-01T00:00:00Z', '2025-01-02T00:00:00Z')"
)


def _tiny(url: str, currency: str, amount: str) -> None:
    """Two accounts in ``currency`` and one transfer of ``amount`` between them."""
    _sql(
        url,
        DDL,
        _ACCOUNT.format(id="pgla_a", name="a", currency=currency, balance=f"-{amount}", version=1),
        _ACCOUNT.format(id="pgla_b", name="b", currency=currency, balance=amount, version=1),
        "INSERT INTO pgledger_transfers VALUES ('pglt_1', 'pgla_a', 'pgla_b', "
        f"{amount}, '2025-01-02T00:00:00Z', '2025-01-01T00:00:00Z', NULL)",
        "INSERT INTO pgledger_entries VALUES ('pgle_1', 'pgla_a', 'pglt_1', "
        f"-{amount}, 0, -{amount}, 1, '2025-01-02T00:00:00Z'), ('pgle_2', 'pgla_b', 'pglt_1', "
        f"{amount}, 0, {amount}, 1, '2025-01-02T00:00:00Z')",
    )


def test_a_currency_without_a_known_scale_is_rejected_unless_given(pg_url: str) -> None:
    _tiny(pg_url, "XBT", "0.00012345")
    unknown = load(pg_url)
    assert unknown.frames.entries.height == 0
    assert unknown.report.rejected > 0
    assert any("'XBT' has no ISO 4217 scale" in note for note in unknown.report.notes)
    given = load(pg_url, scales={"XBT": 8})
    assert given.report.rejected == 0
    assert given.frames.entries.get_column("amount").to_list() == [12345, 12345]
    assert given.frames.entries.get_column("asset_id").unique().to_list() == ["XBT/8"]
    assert given.frames.transactions.get_column("effective_ns").to_list() == [1735689600 * 10**9]
    assert given.frames.transactions.get_column("recorded_ns").to_list() == [1735776000 * 10**9]
    assert _audit(given).findings.height == 0


def test_iso_scales_apply_to_known_codes(pg_url: str) -> None:
    _tiny(pg_url, "JPY", "1500")
    adapted = load(pg_url)
    assert adapted.frames.entries.get_column("amount").to_list() == [1500, 1500]
    assert adapted.frames.entries.get_column("direction").to_list() == ["debit", "credit"]
    assert adapted.frames.accounts.get_column("normal_balance").unique().to_list() == ["credit"]


def test_a_missing_table_names_the_adapter_and_the_table(pg_url: str) -> None:
    _sql(pg_url, DDL, "DROP TABLE pgledger_entries")
    with pytest.raises(InputError) as raised:
        check_adapted(pg_url, "pgledger")
    message = str(raised.value)
    assert "--adapter pgledger" in message
    assert "'pgledger_entries' is missing" in message


def test_an_older_layout_without_a_column_names_the_table_and_column(pg_url: str) -> None:
    _sql(pg_url, DDL, "ALTER TABLE pgledger_entries DROP COLUMN account_version")
    with pytest.raises(InputError) as raised:
        load(pg_url)
    message = str(raised.value)
    assert "--adapter pgledger" in message
    assert "table pgledger_entries" in message
    assert "account_version" in message
