"""The Modern Treasury adapter on the demo written as list-endpoint JSON.

Account ids: a single-asset canonical account keeps its id; a multi-asset one becomes one
ledger account per asset (``equity:conversion@EUR/2``). The comparisons map them back
through the generator's ``accounts`` frame. Modern Treasury's times are microseconds, so the
demo's nanosecond instants are truncated; every comparison is at instants the truncation
cannot move across (the end of time, whole-day statement bounds, the month).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ledger_audit.checks.runner import AuditResult, audit
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.demo.vendors.modern_treasury import (
    ModernTreasuryExport,
    records,
    write_modern_treasury,
)
from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.replay.balances import balances_as_of
from ledger_audit.reports.trial_balance import build_trial_balance
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.sources import LedgerFrames, load_ledger
from ledger_audit.sources.adapters import check_adapted, load_adapted
from ledger_audit.sources.adapters.adapted import Adapted
from ledger_audit.spec import Period, VerifySpec

DemoFactory = Callable[..., DemoSummary]
END = 2**62
NAME = "modern-treasury"


@pytest.fixture(scope="module")
def demo_frames(demo_factory: DemoFactory) -> LedgerFrames:
    frames, _ = load_ledger(str(demo_factory(clean=True).ledger_path))
    return frames


@pytest.fixture
def export(tmp_path: Path, demo_frames: LedgerFrames) -> ModernTreasuryExport:
    return write_modern_treasury(demo_frames, tmp_path / "mt")


def _audit(adapted: Adapted) -> AuditResult:
    return audit(
        adapted.frames,
        adapted.report,
        VerifySpec(source=NAME),
        native=adapted.native,
    )


def _edit(
    export: ModernTreasuryExport, endpoint: str, edit: Callable[[list[dict[str, Any]]], None]
) -> None:
    path = export.folder / f"{endpoint}.json"
    rows = records(path)
    edit(rows)
    path.write_text(json.dumps(rows), encoding="utf-8")


def _rules(result: AuditResult) -> dict[str, int]:
    counts = result.findings.group_by("rule").len()
    return dict(zip(counts["rule"].to_list(), counts["len"].to_list(), strict=True))


def _canonical_ids(export: ModernTreasuryExport, rows: pl.DataFrame) -> pl.DataFrame:
    ids = export.accounts.select(
        pl.col("id").alias("account_id"), pl.col("account_id").alias("name"), "asset_id"
    )
    return rows.join(ids, on=["account_id", "asset_id"], how="left").with_columns(
        pl.col("name").alias("account_id")
    )


def test_the_demo_reads_back_with_the_same_balances_and_trial_balance(
    export: ModernTreasuryExport, demo_frames: LedgerFrames
) -> None:
    adapted = load_adapted(export.folder, NAME)
    assert adapted.report.rejected == 0
    key = ["account_id", "asset_id"]
    cells = ["posted_debits", "posted_credits", "pending_debits", "pending_credits", "posted"]
    nonzero = pl.any_horizontal(pl.col(c) != 0 for c in cells[:4])
    for basis in ("recorded", "effective"):
        ours = _canonical_ids(export, balances_as_of(adapted.frames, END, basis).collect())
        theirs = balances_as_of(demo_frames, END, basis).collect()
        assert (
            ours.filter(nonzero)
            .select(*key, *cells)
            .sort(key)
            .equals(theirs.filter(nonzero).select(*key, *cells).sort(key))
        )
    january = Period.month("2025-01")
    columns = [*key, "normal_balance", "opening", "debits", "credits", "closing"]
    mine = _canonical_ids(export, build_trial_balance(adapted.frames, january).rows)
    expected = build_trial_balance(demo_frames, january).rows
    moved = pl.any_horizontal(pl.col(c) != 0 for c in ("opening", "debits", "credits", "closing"))
    assert (
        mine.filter(moved)
        .select(columns)
        .sort(key)
        .equals(expected.filter(moved).select(columns).sort(key))
    )
    # One canonical version per LedgerTransactionVersion, less the archives partial posts made.
    assert adapted.frames.transactions.height == export.versions - export.partial_posts
    assert export.partial_posts > 0


def test_a_clean_copy_has_no_finding_and_says_what_modern_treasury_cannot_prove(
    export: ModernTreasuryExport,
) -> None:
    check_adapted(export.folder, NAME)
    adapted = load_adapted(export.folder, NAME)
    result = _audit(adapted)
    assert result.findings.height == 0
    summary = {row["rule"]: row["status"] for row in result.summary().iter_rows(named=True)}
    for rule in (
        RuleId.BALANCE_DRIFT,
        RuleId.BALANCE_ASSERTION_FAILED,
        RuleId.SOURCE_INCONSISTENT,
        RuleId.PENDING_OVERPOSTED,
        RuleId.REVERSAL_NOT_INVERSE,
    ):
        assert summary[rule] == "passed", rule
    # No vendor chain: what a chain would prove is not passed (the seal alone is no history).
    for rule in (RuleId.CHAIN_TAMPERED, RuleId.CHAIN_RESEALED, RuleId.CHAIN_TRUNCATED):
        assert summary[rule] != "passed", rule
    notes = " ".join(adapted.report.notes)
    for missing in ("no hash chain", "idempotency keys are not part", "no no-negative flag"):
        assert missing in notes
    statements = next(
        n.result for n in adapted.native if n.result.check == "modern_treasury_statements"
    )
    assert statements.coverage.checked == 2 * export.statements


def test_versions_statuses_and_links_are_carried(export: ModernTreasuryExport) -> None:
    tx = load_adapted(export.folder, NAME).frames.transactions
    kinds = dict(
        tx.group_by("kind", "status")
        .len()
        .select(pl.format("{}/{}", "kind", "status"), "len")
        .rows()
    )
    assert kinds["pending/pending"] > 0
    assert kinds["post_pending/posted"] > 0
    assert kinds["void_pending/archived"] > 0
    assert kinds["reversal/posted"] > 0
    partial = tx.filter(pl.col("pending_transaction_id").is_not_null())
    assert partial.height == export.partial_posts
    assert (partial["transaction_id"] == partial["pending_transaction_id"] + "-partial").all()
    assert (
        tx.filter(pl.col("reverses_transaction_id").is_not_null()).height
        == kinds["reversal/posted"]
    )


def test_effective_and_created_times_are_kept_apart(export: ModernTreasuryExport) -> None:
    def backdate(rows: list[dict[str, Any]]) -> None:
        rows[0]["effective_at"] = "2024-12-15T08:00:00.000001Z"

    _edit(export, "ledger_transaction_versions", backdate)
    first = records(export.folder / "ledger_transaction_versions.json")[0]
    tx = load_adapted(export.folder, NAME).frames.transactions.filter(
        pl.col("transaction_id") == first["ledger_transaction_id"]
    )
    row = tx.filter(pl.col("version") == 0).row(0, named=True)
    assert row["effective_ns"] == 1734249600000001000
    assert row["recorded_ns"] != row["effective_ns"]


def test_a_drifted_account_balance_is_drift_at_that_account(export: ModernTreasuryExport) -> None:
    def bump(rows: list[dict[str, Any]]) -> None:
        posted = rows[5]["balances"]["posted_balance"]
        posted["debits"] += 11
        rows[5]["balances"]["pending_balance"]["debits"] += 11

    _edit(export, "ledger_accounts", bump)
    account = records(export.folder / "ledger_accounts.json")[5]["id"]
    result = _audit(load_adapted(export.folder, NAME))
    drift = result.findings.filter(pl.col("rule") == RuleId.BALANCE_DRIFT)
    assert drift["account_id"].to_list() == [account]
    assert _rules(result) == {RuleId.BALANCE_DRIFT: 1}


def test_a_statement_that_disagrees_with_the_replay_fails_its_assertion(
    export: ModernTreasuryExport,
) -> None:
    def bump(rows: list[dict[str, Any]]) -> None:
        rows[3]["ending_balance"]["posted_balance"]["credits"] += 1

    _edit(export, "ledger_account_statements", bump)
    statement = records(export.folder / "ledger_account_statements.json")[3]
    result = _audit(load_adapted(export.folder, NAME))
    failed = result.findings.filter(pl.col("rule") == RuleId.BALANCE_ASSERTION_FAILED)
    assert failed.height == 1
    row = failed.row(0, named=True)
    assert row["locator"].endswith(f"#3 (statement {statement['id']}) end")
    assert row["account_id"] == statement["ledger_account_id"]
    assert _rules(result) == {RuleId.BALANCE_ASSERTION_FAILED: 1}


def test_statement_bounds_are_lower_inclusive_and_upper_exclusive(
    export: ModernTreasuryExport,
) -> None:
    statements = records(export.folder / "ledger_account_statements.json")
    middle = max(s["effective_at_lower_bound"] for s in statements)  # the second window's start
    versions = records(export.folder / "ledger_transaction_versions.json")
    moved = next(
        v
        for v in versions
        if v["status"] == "posted"
        and v["version"] == 1
        and v["reverses_ledger_transaction_id"] is None
        and v["effective_at"] < middle
        and v["partially_posts_ledger_transaction_id"] is None
    )

    def shift(at: str) -> Callable[[list[dict[str, Any]]], None]:
        def edit(rows: list[dict[str, Any]]) -> None:
            for row in rows:
                if row.get("ledger_transaction_id", row["id"]) == moved["ledger_transaction_id"]:
                    row["effective_at"] = at

        return edit

    # One microsecond before the bound: still in the first window, every statement holds.
    bound = datetime.fromisoformat(middle)
    before = (bound - timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for endpoint in ("ledger_transaction_versions", "ledger_transactions"):
        _edit(export, endpoint, shift(before))
    assert _rules(_audit(load_adapted(export.folder, NAME))) == {}
    # Exactly at the bound: out of the first window's ending balance (upper exclusive) and
    # out of the second window's starting balance (its lower bound is inside its period).
    for endpoint in ("ledger_transaction_versions", "ledger_transactions"):
        _edit(export, endpoint, shift(middle))
    result = _audit(load_adapted(export.folder, NAME))
    failed = result.findings.filter(pl.col("rule") == RuleId.BALANCE_ASSERTION_FAILED)
    accounts = {leg["ledger_account_id"] for leg in moved["ledger_entries"]}
    sides = sorted(
        (row["account_id"], row["locator"].rsplit(" ", 1)[1])
        for row in failed.iter_rows(named=True)
    )
    assert sides == sorted((a, side) for a in accounts for side in ("end", "start"))


def test_a_current_state_that_is_not_its_latest_version_is_inconsistent(
    export: ModernTreasuryExport,
) -> None:
    def flip(rows: list[dict[str, Any]]) -> None:
        target = next(r for r in rows if r["status"] == "posted")
        target["status"] = "archived"

    _edit(export, "ledger_transactions", flip)
    result = _audit(load_adapted(export.folder, NAME))
    found = result.findings.filter(pl.col("rule") == RuleId.SOURCE_INCONSISTENT)
    assert found.height == 1
    assert "is archived but its latest version" in found["message"][0]


def test_a_partial_post_beyond_its_pending_amount_is_overposted(
    export: ModernTreasuryExport,
) -> None:
    def over(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if row.get("partially_posts_ledger_transaction_id"):
                for leg in row["ledger_entries"]:
                    leg["amount"] += 10**6
                    leg["amount_string"] = str(leg["amount"])
                return

    for endpoint in ("ledger_transaction_versions", "ledger_transactions"):
        _edit(export, endpoint, over)
    result = _audit(load_adapted(export.folder, NAME))
    over_found = result.findings.filter(pl.col("rule") == RuleId.PENDING_OVERPOSTED)
    assert over_found.height == 1
    assert over_found["transaction_id"][0].endswith("-partial")


def test_an_amount_beyond_int64_is_wide_and_beyond_38_digits_is_rejected(
    export: ModernTreasuryExport,
) -> None:
    def widen(amount: int) -> Callable[[list[dict[str, Any]]], None]:
        def edit(rows: list[dict[str, Any]]) -> None:
            for leg in rows[0]["ledger_entries"]:
                leg["amount"] = amount

        return edit

    _edit(export, "ledger_transaction_versions", widen(2**70))
    adapted = load_adapted(export.folder, NAME)
    assert adapted.report.rejected == 0
    assert adapted.frames.entries.schema["amount"] == WIDE_AMOUNT
    _edit(export, "ledger_transaction_versions", widen(10**38))
    adapted = load_adapted(export.folder, NAME)
    rejected = adapted.report.rejections.row(0, named=True)
    assert rejected["locator"].startswith("record 0 (id ")
    assert (rejected["column"], rejected["reason"]) == (
        "ledger_entries.0.amount",
        "amount_beyond_38_digits",
    )


# --- bad input ----------------------------------------------------------------------------


def test_a_missing_endpoint_names_the_adapter_and_the_table(export: ModernTreasuryExport) -> None:
    (export.folder / "ledger_transactions.json").unlink()
    with pytest.raises(InputError) as raised:
        check_adapted(export.folder, NAME)
    text = str(raised.value)
    assert text.startswith(f"--adapter modern-treasury: {export.folder}")
    assert "table 'ledger_transactions' is missing" in text
    assert "JSON array of LedgerTransaction objects" in text


def test_malformed_json_names_the_file_and_line(export: ModernTreasuryExport) -> None:
    path = export.folder / "ledger_accounts.json"
    path.write_text('[\n{"id": "a",\n "name": }\n]\n', encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_adapted(export.folder, NAME)
    assert str(raised.value).startswith(f"--adapter modern-treasury: {path}:3: malformed JSON")


def test_a_record_the_sdk_model_refuses_is_rejected_with_its_field(
    export: ModernTreasuryExport,
) -> None:
    _edit(export, "ledger_transactions", lambda rows: rows[2].update(status="settled"))
    _edit(export, "ledger_accounts", lambda rows: rows[4].pop("normal_balance"))
    adapted = load_adapted(export.folder, NAME)
    rejected = adapted.report.rejections.select("table", "locator", "column", "reason").rows()
    assert [(t, loc.split(" (")[0], c, r.split(":")[0]) for t, loc, c, r in rejected] == [
        ("ledger_accounts", "record 4", "normal_balance", "missing"),
        ("ledger_transactions", "record 2", "status", "literal_error"),
    ]
    counts = {c.table: c for c in adapted.report.source_counts}
    assert counts["modern-treasury.ledger_transactions"].rejected == 1
    assert _rules(_audit(adapted))[RuleId.SOURCE_REJECTED_ROW] == 2


def test_pages_in_a_folder_read_as_one_endpoint(export: ModernTreasuryExport) -> None:
    path = export.folder / "ledger_transactions.json"
    rows = records(path)
    path.unlink()
    pages = export.folder / "ledger_transactions"
    pages.mkdir()
    for number, start in enumerate(range(0, len(rows), 100)):
        (pages / f"page-{number:03d}.json").write_text(json.dumps(rows[start : start + 100]))
    adapted = load_adapted(export.folder, NAME)
    assert _audit(adapted).findings.height == 0
    counts = {c.table: c for c in adapted.report.source_counts}
    assert counts["modern-treasury.ledger_transactions"].read == len(rows)


def test_without_versions_or_statements_it_says_what_is_not_proven(
    export: ModernTreasuryExport,
) -> None:
    (export.folder / "ledger_transaction_versions.json").unlink()
    (export.folder / "ledger_account_statements.json").unlink()
    adapted = load_adapted(export.folder, NAME)
    assert "no ledger_transaction_versions" in " ".join(adapted.report.notes)
    statements = next(
        n.result for n in adapted.native if n.result.check == "modern_treasury_statements"
    )
    assert statements.coverage.unproven_rules == (RuleId.BALANCE_ASSERTION_FAILED,)
    assert statements.coverage.checked == 0


def test_running_balances_on_entries_are_checked_and_end_at_the_account_balances(
    export: ModernTreasuryExport,
) -> None:
    adapted = load_adapted(export.folder, NAME)
    running = next(n.result for n in adapted.native if n.result.check == "modern_treasury_running")
    versions = records(export.folder / "ledger_transaction_versions.json")
    legs = [leg for version in versions for leg in version["ledger_entries"]]
    assert running.coverage.checked == len(legs)
    assert running.findings.height == 0
    # Independently of the replay: each account's last entry states the account's balances.
    last: dict[str, dict[str, Any]] = {}
    for leg in legs:
        seen = last.get(leg["ledger_account_id"])
        if seen is None or leg["ledger_account_lock_version"] > seen["ledger_account_lock_version"]:
            last[leg["ledger_account_id"]] = leg
    for account in records(export.folder / "ledger_accounts.json"):
        if account["id"] in last:
            stated = last[account["id"]]["resulting_ledger_account_balances"]
            assert stated["posted_balance"] == account["balances"]["posted_balance"]
            assert stated["pending_balance"] == account["balances"]["pending_balance"]
            assert account["lock_version"] == last[account["id"]]["ledger_account_lock_version"]


def test_an_edited_resulting_balance_breaks_the_running_balance_at_its_entry(
    export: ModernTreasuryExport,
) -> None:
    def bump(rows: list[dict[str, Any]]) -> None:
        leg = rows[7]["ledger_entries"][1]
        leg["resulting_ledger_account_balances"]["posted_balance"]["credits"] += 5

    _edit(export, "ledger_transaction_versions", bump)
    version = records(export.folder / "ledger_transaction_versions.json")[7]
    result = _audit(load_adapted(export.folder, NAME))
    broken = result.findings.filter(pl.col("rule") == RuleId.BALANCE_RUNNING_BROKEN)
    assert broken["locator"].to_list() == [
        f"{export.folder / 'ledger_transaction_versions.json'}#7 ledger_entries.1"
    ]
    assert broken["account_id"][0] == version["ledger_entries"][1]["ledger_account_id"]
    assert _rules(result) == {RuleId.BALANCE_RUNNING_BROKEN: 1}


def test_discarded_entries_and_page_envelopes(export: ModernTreasuryExport) -> None:
    (export.folder / "ledger_transaction_versions.json").unlink()
    path = export.folder / "ledger_transactions.json"
    rows = records(path)
    target = next(r for r in rows if r["status"] == "posted" and len(r["ledger_entries"]) == 2)
    stale = {**target["ledger_entries"][0], "id": "stale", "amount": 999_999}
    stale["discarded_at"] = target["created_at"]
    target["ledger_entries"].append(stale)
    path.write_text(json.dumps({"data": rows}), encoding="utf-8")  # a page with its envelope
    adapted = load_adapted(export.folder, NAME)
    legs = adapted.frames.entries.filter(pl.col("transaction_id") == target["id"])
    assert legs.height == 2  # the discarded entry belongs to an older version
    assert _rules(_audit(adapted)).get(RuleId.ENTRY_UNBALANCED) is None


def test_a_statement_counts_only_the_versions_written_by_its_creation(
    export: ModernTreasuryExport,
) -> None:
    statements = records(export.folder / "ledger_account_statements.json")
    middle = max(s["effective_at_lower_bound"] for s in statements)
    versions = records(export.folder / "ledger_transaction_versions.json")
    late = next(
        v
        for v in versions
        if v["version"] == 2 and v["status"] == "posted" and v["created_at"] > middle
    )

    def backdate(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if row["id"] == late["id"]:
                row["effective_at"] = "2025-01-02T00:00:00.000000Z"

    _edit(export, "ledger_transaction_versions", backdate)
    result = _audit(load_adapted(export.folder, NAME))
    failed = result.findings.filter(pl.col("rule") == RuleId.BALANCE_ASSERTION_FAILED)
    # The first window's statements were made before the post was written: they still hold.
    # The second window's, made after, see it before their lower bound: their start fails.
    accounts = {leg["ledger_account_id"] for leg in late["ledger_entries"]}
    assert {
        (r["account_id"], r["locator"].rsplit(" ", 1)[1]) for r in failed.iter_rows(named=True)
    } == {(a, "start") for a in accounts}
