"""The Midaz adapter on the demo written in Midaz's transaction tables, on a real PostgreSQL.

Account ids differ (one Midaz balance UUID per account and asset): the comparisons with the
canonical demo go through the balance's ``alias`` (the canonical account id) and its asset.
The generator writes the posted state, so only posted cells are compared.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import psycopg
import pytest

from ledger_audit.checks.runner import AuditResult, audit
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.demo.vendors.midaz import DDL, write_midaz
from ledger_audit.demo.vendors.pgledger import libpq
from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.replay.balances import balances_as_of
from ledger_audit.reports.trial_balance import build_trial_balance
from ledger_audit.sources import LedgerFrames, load_ledger
from ledger_audit.sources.adapters import check_adapted, load_adapted
from ledger_audit.sources.adapters.adapted import Adapted
from ledger_audit.sources.adapters.midaz import load
from ledger_audit.spec import Period, VerifySpec

DemoFactory = Callable[..., DemoSummary]
END = 2**62


@pytest.fixture(scope="module")
def demo_frames(demo_factory: DemoFactory) -> LedgerFrames:
    frames, _ = load_ledger(str(demo_factory(clean=True).ledger_path))
    return frames


@pytest.fixture
def written(pg_url: str, demo_frames: LedgerFrames) -> dict[str, pl.DataFrame]:
    return write_midaz(demo_frames, pg_url)


def _sql(url: str, *statements: str) -> None:
    with psycopg.connect(libpq(url)) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.commit()


def _audit(adapted: Adapted) -> AuditResult:
    return audit(
        adapted.frames,
        adapted.report,
        VerifySpec(source="midaz"),
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
        "ledger_id", "account_id", "asset_id", "posted_debits", "posted_credits"
    ).filter((pl.col("posted_debits") != 0) | (pl.col("posted_credits") != 0))


def test_the_demo_reads_back_with_the_same_balances_and_trial_balance(
    pg_url: str, written: dict[str, pl.DataFrame], demo_frames: LedgerFrames
) -> None:
    adapted = load_adapted(pg_url, "midaz")
    assert adapted.report.rejected == 0
    key = ["account_id", "asset_id"]
    columns = ["account_id", "asset_id", "posted_debits", "posted_credits"]
    ours = _by_name(adapted.frames, _posted(adapted.frames)).select(columns).sort(key)
    assert ours.equals(_posted(demo_frames).select(columns).sort(key))

    january = Period.month("2025-01")
    tb = ["account_id", "asset_id", "debits", "credits", "opening", "closing"]
    theirs = build_trial_balance(demo_frames, january).rows.select(tb)
    mine = _by_name(adapted.frames, build_trial_balance(adapted.frames, january).rows)
    moved = (pl.col("debits") != 0) | (pl.col("credits") != 0)
    # Midaz keeps the normal balance (balance direction): oriented balances agree too.
    assert mine.select(tb).filter(moved).sort(key).equals(theirs.filter(moved).sort(key))
    assert written["transaction"].height == adapted.frames.transactions.height


def test_a_clean_copy_has_no_finding_and_says_what_midaz_cannot_prove(
    pg_url: str, written: dict[str, pl.DataFrame]
) -> None:
    adapted = load_adapted(pg_url, "midaz")
    result = _audit(adapted)
    assert result.findings.height == 0
    summary = {row["rule"]: row["status"] for row in result.summary().iter_rows(named=True)}
    assert summary[RuleId.BALANCE_RUNNING_BROKEN] == "passed"
    assert summary[RuleId.BALANCE_DRIFT] == "passed"
    assert summary[RuleId.ENTRY_UNBALANCED] == "passed"
    # no vendor chain: what only a chain proves is not passed (chain.deleted is also covered
    # by the invariants' sequence check, which has rows to look at)
    unchained = ("tampered", "resealed", "inserted", "reordered", "truncated", "rewritten")
    assert all(summary[f"chain.{name}"] != "passed" for name in unchained)
    notes = " ".join(adapted.report.notes)
    for missing in ("no hash chain", "status in place", "idempotency"):
        assert missing in notes
    checked = {n.result.check: n.result.coverage.checked for n in adapted.native}
    assert checked["midaz_available"] == written["operation"].height


def _first(written: dict[str, pl.DataFrame], table: str, where: pl.Expr) -> dict[str, object]:
    return written[table].filter(where).row(0, named=True)


def _rules(result: AuditResult) -> set[str]:
    return set(result.findings.get_column("rule"))


def _at(result: AuditResult, rule: str) -> set[str]:
    return set(result.findings.filter(pl.col("rule") == rule).get_column("locator"))


def test_an_edited_running_balance_is_found_at_its_operation(
    pg_url: str, written: dict[str, pl.DataFrame]
) -> None:
    op = _first(written, "operation", pl.col("balance_version_after") == 3)
    _sql(
        pg_url,
        "UPDATE operation SET available_balance_after = available_balance_after + 0.01 "
        f"WHERE id = '{op['id']}'",
    )
    result = _audit(load(pg_url))
    assert f"operation(id={op['id']})" in _at(result, RuleId.BALANCE_RUNNING_BROKEN)
    assert _rules(result) == {RuleId.BALANCE_RUNNING_BROKEN}


def test_a_version_gap_is_found_where_it_opens(
    pg_url: str, written: dict[str, pl.DataFrame]
) -> None:
    op = _first(written, "operation", pl.col("balance_version_after") == 4)
    _sql(
        pg_url,
        "UPDATE operation SET balance_version_before = balance_version_before + 1, "
        "balance_version_after = balance_version_after + 1 "
        f"WHERE balance_id = '{op['balance_id']}' AND balance_version_after >= 4",
    )
    result = _audit(load(pg_url))
    gap = result.findings.filter(pl.col("locator") == f"operation(id={op['id']})")
    assert "not contiguous" in " ".join(gap.get_column("message"))
    assert _rules(result) == {RuleId.BALANCE_RUNNING_BROKEN}


def test_a_drifted_cached_balance_is_drift_and_a_broken_running_end(
    pg_url: str, written: dict[str, pl.DataFrame]
) -> None:
    balance = _first(written, "balance", pl.col("version") > 2)
    _sql(pg_url, f"UPDATE balance SET available = available + 1 WHERE id = '{balance['id']}'")
    result = _audit(load(pg_url))
    drift = result.findings.filter(pl.col("rule") == RuleId.BALANCE_DRIFT)
    assert drift.get_column("account_id").to_list() == [balance["id"]]
    running = result.findings.filter(pl.col("rule") == RuleId.BALANCE_RUNNING_BROKEN)
    assert running.get_column("account_id").to_list() == [balance["id"]]


def test_an_unbalanced_operation_set_is_an_unbalanced_transaction(
    pg_url: str, written: dict[str, pl.DataFrame]
) -> None:
    op = _first(written, "operation", pl.col("type") == "CREDIT")
    _sql(
        pg_url,
        "UPDATE operation SET amount = amount + 1, "
        "available_balance_after = available_balance_after + 1 "
        f"WHERE id = '{op['id']}'",
    )
    result = _audit(load(pg_url))
    unbalanced = result.findings.filter(pl.col("rule") == RuleId.ENTRY_UNBALANCED)
    assert unbalanced.get_column("transaction_id").to_list() == [op["transaction_id"]]
    # the operation's own arithmetic holds; the balance's next operation no longer follows
    assert f"operation(id={op['id']})" not in _at(result, RuleId.BALANCE_RUNNING_BROKEN)


def test_an_amount_finer_than_the_asset_is_a_rejected_row_never_rounded(
    pg_url: str, written: dict[str, pl.DataFrame]
) -> None:
    op = _first(written, "operation", pl.col("type") == "DEBIT")
    _sql(pg_url, f"UPDATE operation SET amount = amount + 0.001 WHERE id = '{op['id']}'")
    adapted = load(pg_url)
    rejected = adapted.report.rejections.filter(
        pl.col("locator").str.contains(str(op["id"]), literal=True)
    )
    first = rejected.row(0, named=True)
    assert (first["column"], first["raw_value"]) == ("entries.amount", f"{op['amount']}1")
    rules = _rules(_audit(adapted))
    assert RuleId.SOURCE_REJECTED_ROW in rules
    assert RuleId.BALANCE_RUNNING_BROKEN in rules  # its running amount is not exact either


def test_a_noted_transaction_is_said_not_loaded(
    pg_url: str, written: dict[str, pl.DataFrame]
) -> None:
    tx = _first(written, "transaction", pl.col("parent_transaction_id").is_null())
    _sql(
        pg_url,
        'INSERT INTO "transaction" (id, description, status, amount, asset_code, '
        "chart_of_accounts_group_name, ledger_id, organization_id, created_at) "
        "VALUES ('99999999-0000-4000-8000-000000000001', 'note', 'NOTED', 0, 'USD', '', "
        f"'{tx['ledger_id']}', '{tx['organization_id']}', now())",
    )
    adapted = load(pg_url)
    assert any("1 NOTED transaction(s)" in note for note in adapted.report.notes)
    assert adapted.frames.transactions.height == written["transaction"].height


def test_a_missing_table_names_the_adapter_and_the_table(pg_url: str) -> None:
    _sql(pg_url, DDL, "DROP TABLE balance")
    with pytest.raises(InputError) as raised:
        check_adapted(pg_url, "midaz")
    assert "--adapter midaz" in str(raised.value)
    assert "'balance' is missing" in str(raised.value)


def test_an_older_migration_without_balance_versions_is_named(pg_url: str) -> None:
    _sql(
        pg_url,
        DDL,
        "ALTER TABLE operation DROP COLUMN balance_version_before",
        "ALTER TABLE operation DROP COLUMN balance_version_after",
    )
    with pytest.raises(InputError) as raised:
        load(pg_url)
    message = str(raised.value)
    assert "--adapter midaz" in message
    assert "table operation" in message
    assert "balance_version_before" in message
    assert "000014" in message or "migrations" in message


_BAL = (
    "INSERT INTO balance (id, organization_id, ledger_id, account_id, alias, asset_code, "
    "available, on_hold, version, account_type, allow_sending, allow_receiving, created_at, "
    "updated_at) VALUES ('{id}', '{org}', '{ledger}', '{id}', '{alias}', 'USD', {available}, "
    "{on_hold}, {version}, '{kind}', true, true, '2025-01-01T00:00:00Z', '{updated}')"
)
_TX = (
    'INSERT INTO "transaction" (id, description, status, amount, asset_code, '
    "chart_of_accounts_group_name, ledger_id, organization_id, created_at) VALUES "
    "('{id}', '', '{status}', 10, 'USD', '', '{ledger}', '{org}', '{at}')"
)
_OP = (
    "INSERT INTO operation (id, transaction_id, description, type, asset_code, amount, "
    "available_balance, on_hold_balance, available_balance_after, on_hold_balance_after, "
    "status, account_id, account_alias, balance_id, chart_of_accounts, organization_id, "
    "ledger_id, created_at, balance_version_before, balance_version_after) VALUES "
    "('{id}', '{tx}', '', '{type}', 'USD', {amount}, {a0}, {h0}, {a1}, {h1}, 'x', '{bal}', "
    "'{bal}', '{bal}', '', '{org}', '{ledger}', '{at}', {v0}, {v1})"
)
ORG, LEDGER = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
X, A, B = (f"00000000-0000-4000-8000-00000000000{n}" for n in (5, 6, 7))
T0, T1 = "00000000-0000-4000-8000-000000000010", "00000000-0000-4000-8000-000000000011"


def _op(n: int, tx: str, kind: str, bal: str, amount: int, *moves: int) -> str:
    a0, h0, a1, h1, v0, v1 = moves
    return _OP.format(
        id=f"00000000-0000-4000-8000-0000000001{n:02d}", tx=tx, type=kind, amount=amount,
        a0=a0, h0=h0, a1=a1, h1=h1, bal=bal, org=ORG, ledger=LEDGER, v0=v0, v1=v1,
        at=f"2025-01-0{n}T00:00:00Z",
    )  # fmt: skip


def _hold_flow(url: str, *, approved: bool) -> None:
    """X funds A with 100 (plain), then A -> B 10 as a pending transaction, approved or not."""
    balances = [(X, "@x", -100, 0, 1, "external"), (A, "@a", 90, 10, 2, "deposit")]
    balances.append((B, "@b", 0, 0, 0, "deposit"))
    if approved:
        balances[1:] = [(A, "@a", 90, 0, 3, "deposit"), (B, "@b", 10, 0, 1, "deposit")]
    statements = [DDL]
    statements += [
        _BAL.format(id=i, org=ORG, ledger=LEDGER, alias=n, available=av, on_hold=h, version=v,
                    kind=k, updated="2025-01-09T00:00:00Z")
        for i, n, av, h, v, k in balances
    ]  # fmt: skip
    statements += [
        _TX.format(id=T0, status="APPROVED", ledger=LEDGER, org=ORG, at="2025-01-01T00:00:00Z"),
        _TX.format(
            id=T1, status="APPROVED" if approved else "PENDING", ledger=LEDGER, org=ORG,
            at="2025-01-03T00:00:00Z",
        ),
        _op(1, T0, "DEBIT", X, 100, 0, 0, -100, 0, 0, 1),
        _op(2, T0, "CREDIT", A, 100, 0, 0, 100, 0, 0, 1),
        _op(3, T1, "ON_HOLD", A, 10, 100, 0, 90, 10, 1, 2),
        _op(4, T1, "CREDIT", B, 10, 0, 0, 0, 0, 0, 0),  # pending: B does not move yet
    ]  # fmt: skip
    if approved:
        statements += [
            _op(5, T1, "DEBIT", A, 10, 90, 10, 90, 0, 2, 3),
            _op(6, T1, "CREDIT", B, 10, 0, 0, 10, 0, 0, 1),
        ]
    _sql(url, *statements)


@pytest.mark.parametrize("approved", [False, True])
def test_the_hold_flow_reads_as_pending_then_posted_with_continuity_only(
    pg_url: str, approved: bool
) -> None:
    _hold_flow(pg_url, approved=approved)
    adapted = load(pg_url)
    assert _audit(adapted).findings.height == 0
    status = dict(adapted.frames.transactions.select("transaction_id", "status").iter_rows())
    assert status[T1] == ("posted" if approved else "pending")
    legs = adapted.frames.entries.filter(pl.col("transaction_id") == T1)
    assert sorted(legs.select("account_id", "direction", "amount").rows()) == [
        (A, "debit", 1000),
        (B, "credit", 1000),
    ]
    running = next(n.result for n in adapted.native if n.result.check == "midaz_available")
    assert any("two-phase" in line for line in running.coverage.unproven)
