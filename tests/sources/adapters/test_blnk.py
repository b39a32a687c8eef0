"""``--adapter blnk`` on a real PostgreSQL: the demo written as Blnk holds it, read back.

A clean copy audits to zero findings with the same balances and trial balance as the canonical
demo; each kind of damage Blnk's data can carry is found once and classified by its rule.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pytest

from ledger_audit.demo.vendors.blnk import write_blnk
from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.replay.balances import balances_as_of
from ledger_audit.reports.trial_balance import build_trial_balance
from ledger_audit.sources import load_ledger
from ledger_audit.sources.adapters import adapter_named, load_adapted
from ledger_audit.sources.adapters.blnk import check, load
from ledger_audit.sources.adapters.blnk.chain_hash import chain_hash
from ledger_audit.sources.adapters.blnk.chain_verify import RULES as CHAIN_RULES
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period
from ledger_audit.testing.pgserver import DatabaseFactory, unique_database_name
from tests.conftest import DemoFactory
from tests.sources.adapters.blnk_fixtures import (
    BlnkCopies,
    audited,
    chain_row,
    execute,
    reseal,
    rows_of,
    rules_of,
)

MONTH = "2025-01"


@pytest.fixture(scope="module")
def demo_frames(demo_factory: DemoFactory) -> LedgerFrames:
    frames, _ = load_ledger(demo_factory(clean=True).ledger_path)
    return frames


@pytest.fixture(scope="module")
def copies(pg_server: DatabaseFactory, demo_frames: LedgerFrames) -> Iterator[BlnkCopies]:
    name = unique_database_name("blnk_template")
    url = pg_server.create_database(name)
    write_blnk(demo_frames, url)
    yield BlnkCopies(pg_server, name)
    pg_server.drop_database(name)


@pytest.fixture
def url(copies: BlnkCopies) -> Iterator[str]:
    with copies.copy() as copied:
        yield copied


def _chain_findings(url: str) -> pl.DataFrame:
    adapted = load(url)
    return next(n.result.findings for n in adapted.native if n.result.check == "blnk_chain")


def _one_row(url: str, where: str = "chain_seq = 200") -> tuple[str, int]:
    found = rows_of(url, f"SELECT transaction_id, chain_seq FROM blnk.transactions WHERE {where}")
    transaction_id, seq = found[0]
    return str(transaction_id), int(str(seq))


# --- clean copy ---------------------------------------------------------------------------


def test_the_registry_names_the_adapter() -> None:
    assert adapter_named("blnk").module == "ledger_audit.sources.adapters.blnk"


def test_a_clean_copy_gives_zero_findings_and_every_row_loaded(url: str) -> None:
    check(url)
    adapted = load(url)
    result = audited(adapted, url)
    assert result.findings.height == 0, result.findings.select("rule", "locator").head(5)
    assert adapted.report.rejected == 0
    read = {c.table: (c.read, c.loaded) for c in adapted.report.source_counts}
    assert read["blnk.transactions"][0] == read["blnk.transactions"][1] > 0
    for native in adapted.native:
        assert native.result.status == "passed", native.result.check
    sealed = load_adapted(url, "blnk")
    assert [n.result.check for n in sealed.native] == [
        "blnk_chain",
        "blnk_amounts",
        "blnk_consistency",
        "blnk_journal",
        "mirror_seal",
    ]
    assert sealed.native[0].result.checkpoints[0].seq == read["blnk.transactions"][0]


def _keyed(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.drop("ledger_id").sort(keys)


def test_balances_and_trial_balance_equal_the_canonical_demo(
    url: str, demo_frames: LedgerFrames
) -> None:
    adapted = load(url).frames
    end = demo_frames.transactions["recorded_ns"].max()
    assert isinstance(end, int)
    keys = ["account_id", "asset_id"]
    for basis in ("effective", "recorded"):
        theirs = balances_as_of(adapted, end + 1, basis).collect()
        ours = balances_as_of(demo_frames, end + 1, basis).collect()
        assert _keyed(theirs, keys).equals(_keyed(ours, keys))
    period = Period.month(MONTH)
    theirs_tb = build_trial_balance(adapted, period)
    ours_tb = build_trial_balance(demo_frames, period)
    assert _keyed(theirs_tb.rows, keys).equals(_keyed(ours_tb.rows, keys))
    assert theirs_tb.totals.drop("ledger_id").equals(ours_tb.totals.drop("ledger_id"))


def test_rows_group_back_into_the_same_transactions_and_versions(
    url: str, demo_frames: LedgerFrames
) -> None:
    adapted = load(url).frames
    key = ["transaction_id", "version"]
    assert adapted.transactions.select(key).equals(demo_frames.transactions.select(key))
    assert adapted.transactions["status"].equals(demo_frames.transactions["status"])
    sums = ["transaction_id", "version", "account_id", "asset_id", "direction"]

    def legs(frames: LedgerFrames) -> pl.DataFrame:
        return frames.entries.group_by(sums).agg(pl.col("amount").sum()).sort(sums)

    assert legs(adapted).equals(legs(demo_frames))
    reversals = adapted.transactions.filter(pl.col("kind") == "reversal")
    expected = demo_frames.transactions.filter(pl.col("kind") == "reversal")
    assert reversals.select(key, "reverses_transaction_id").equals(
        expected.select(key, "reverses_transaction_id")
    )


# --- each anomaly, found and classified ---------------------------------------------------


def test_an_amount_edited_under_the_chain_is_tampered(url: str) -> None:
    txid, seq = _one_row(url)
    execute(
        url,
        "UPDATE blnk.transactions SET precise_amount = precise_amount + precision, "
        f"amount = amount + 1 WHERE transaction_id = '{txid}'",
    )
    chain = _chain_findings(url)
    assert rules_of(chain) == {"chain.tampered": 1}
    assert chain["chain_seq"][0] == seq
    assert chain["locator"][0] == f"blnk.transactions(transaction_id={txid}, chain_seq={seq})"
    assert "balance.drift" in rules_of(audited(load(url), url).findings)


def test_a_deleted_transaction_is_deleted_at_its_seq(url: str) -> None:
    txid, seq = _one_row(url)
    execute(url, f"DELETE FROM blnk.transactions WHERE transaction_id = '{txid}'")
    chain = _chain_findings(url)
    assert rules_of(chain) == {"chain.deleted": 1}
    assert chain["chain_seq"][0] == seq


def test_a_rehashed_row_is_resealed(url: str) -> None:
    txid, seq = _one_row(url)
    execute(
        url,
        "UPDATE blnk.transactions SET precise_amount = precise_amount + precision, "
        f"amount = amount + 1 WHERE transaction_id = '{txid}'",
    )
    # recompute that row's own hash only: its successor still links to the old one
    reseal_one(url, seq)
    chain = _chain_findings(url)
    assert rules_of(chain) == {"chain.resealed": 1}
    assert chain["chain_seq"][0] == seq


def reseal_one(url: str, seq: int) -> None:
    """Re-hash the row at ``seq`` from its stored prev, leaving the rest of the chain."""

    (row,) = rows_of(
        url,
        "SELECT transaction_id, source, destination, amount::text, precise_amount::text, "
        "currency, status, reference, created_at, chain_prev_hash FROM blnk.transactions "
        f"WHERE chain_seq = {seq}",
    )
    *fields, created, prev = row
    new = chain_hash(str(prev), chain_row([*fields, created]))
    execute(url, f"UPDATE blnk.transactions SET chain_hash = '{new}' WHERE chain_seq = {seq}")


def test_a_fully_rehashed_history_shows_only_against_chain_state(url: str) -> None:
    txid, _ = _one_row(url)
    execute(
        url,
        "UPDATE blnk.transactions SET precise_amount = precise_amount + precision, "
        f"amount = amount + 1 WHERE transaction_id = '{txid}'",
    )
    reseal(url, state=False)
    chain = _chain_findings(url)
    assert rules_of(chain) == {"chain.rewritten": 1}


def test_a_chain_state_head_mismatch_is_rewritten(url: str) -> None:
    execute(url, "UPDATE blnk.chain_state SET head_hash = repeat('a', 64)")
    chain = _chain_findings(url)
    assert rules_of(chain) == {"chain.rewritten": 1}
    assert chain["expected"][0] == "a" * 64


def test_a_deleted_tail_is_truncated_against_chain_state(url: str) -> None:
    execute(
        url,
        "DELETE FROM blnk.transactions WHERE chain_seq = (SELECT last_seq FROM blnk.chain_state)",
    )
    assert rules_of(_chain_findings(url)) == {"chain.truncated": 1}


def test_a_row_chained_beyond_chain_state_is_inserted(url: str) -> None:
    execute(url, "UPDATE blnk.chain_state SET last_seq = last_seq - 1")
    chain = _chain_findings(url)
    assert rules_of(chain) == {"chain.inserted": 1, "chain.rewritten": 1}


def test_swapped_rows_are_reordered_and_nothing_else(url: str) -> None:
    execute(
        url,
        "UPDATE blnk.transactions SET chain_seq = -1 WHERE chain_seq = 300",
        "UPDATE blnk.transactions SET chain_seq = 300 WHERE chain_seq = 301",
        "UPDATE blnk.transactions SET chain_seq = 301 WHERE chain_seq = -1",
    )
    chain = _chain_findings(url)
    assert rules_of(chain) == {"chain.reordered": 2}
    assert sorted(chain["chain_seq"].to_list()) == [300, 301]


def test_a_foreign_genesis_is_a_genesis_mismatch(url: str) -> None:
    execute(url, "UPDATE blnk.chain_state SET genesis_hash = repeat('f', 64)")
    assert rules_of(_chain_findings(url)) == {"chain.genesis_mismatch": 1}


def test_a_row_pulled_out_of_the_chain_is_unchained_and_leaves_a_gap(url: str) -> None:
    txid, seq = _one_row(url)
    execute(
        url,
        "UPDATE blnk.transactions SET chain_seq = NULL, chain_prev_hash = NULL, "
        f"chain_hash = NULL WHERE transaction_id = '{txid}'",
    )
    chain = _chain_findings(url)
    assert rules_of(chain) == {"chain.deleted": 1, "chain.unchained": 1}
    unchained = chain.filter(pl.col("rule") == "chain.unchained")
    assert unchained["locator"][0] == f"blnk.transactions(transaction_id={txid})"
    del seq


def test_a_drifted_stored_balance_is_balance_drift(url: str) -> None:
    (indicator,) = rows_of(
        url,
        "SELECT indicator FROM blnk.balances WHERE credit_balance > 0 ORDER BY indicator LIMIT 1",
    )[0]
    execute(
        url,
        "UPDATE blnk.balances SET credit_balance = credit_balance + 100, "
        f"balance = balance + 100 WHERE indicator = '{indicator}'",
    )
    findings = audited(load(url), url).findings
    assert rules_of(findings) == {"balance.drift": 1}
    assert findings["account_id"][0] == indicator


def test_a_cached_total_that_is_not_credit_minus_debit_is_inconsistent(url: str) -> None:
    execute(url, "UPDATE blnk.balances SET balance = balance + 1 WHERE id = 1")
    findings = audited(load(url), url).findings
    assert rules_of(findings) == {"source.inconsistent": 1}


def test_a_float_amount_not_matching_precise_amount_is_an_amount_mismatch(url: str) -> None:
    txid, _ = _one_row(url)
    execute(
        url,
        f"UPDATE blnk.transactions SET amount = amount + 0.001 WHERE transaction_id = '{txid}'",
    )
    reseal(url)  # the chainer sealed the row as it found it
    adapted = load(url)
    amounts = next(n.result.findings for n in adapted.native if n.result.check == "blnk_amounts")
    assert rules_of(amounts) == {"source.amount_mismatch": 1}
    assert amounts["locator"][0] == f"blnk.transactions(transaction_id={txid})"
    # the edit itself went around Blnk's immutability: its journal recorded it
    assert rules_of(audited(adapted, url).findings) == {
        "source.amount_mismatch": 1,
        "source.inconsistent": 1,
    }


def _journal_findings(url: str) -> pl.DataFrame:
    adapted = load(url)
    return next(n.result.findings for n in adapted.native if n.result.check == "blnk_journal")


def test_the_journal_names_each_protected_edit_and_deletion(url: str) -> None:
    edited, _ = _one_row(url, "chain_seq = 100")
    deleted, _ = _one_row(url, "chain_seq = 400")
    execute(
        url,
        "UPDATE blnk.transactions SET precise_amount = precise_amount + 1, "
        f"meta_data = '{{\"note\": 1}}' WHERE transaction_id = '{edited}'",
        f"UPDATE blnk.transactions SET meta_data = '{{}}' WHERE transaction_id = '{deleted}'",
        f"DELETE FROM blnk.transactions WHERE transaction_id = '{deleted}'",
    )
    journal = _journal_findings(url).sort("message")
    assert rules_of(journal) == {"source.inconsistent": 2}
    messages = journal["message"].to_list()
    assert any(f"transaction {edited} that changed precise_amount at" in m for m in messages)
    assert any(f"transaction {deleted} was deleted at" in m for m in messages)
    assert all(loc.startswith("blnk.transaction_journal(id=") for loc in journal["locator"])


def test_the_journal_sees_an_edit_the_chain_has_not_sealed_yet(url: str) -> None:
    source, destination = rows_of(
        url, "SELECT source, destination FROM blnk.transactions ORDER BY id LIMIT 1"
    )[0]
    execute(
        url,
        "INSERT INTO blnk.transactions (transaction_id, source, destination, reference, amount, "
        "precise_amount, precision, currency, status, created_at) VALUES ('txn_new', "
        f"'{source}', '{destination}', 'ref_new', 1, 100, 100, 'USD', 'APPLIED', now())",
        "UPDATE blnk.transactions SET amount = 2, precise_amount = 200 "
        "WHERE transaction_id = 'txn_new'",
    )
    assert _chain_findings(url).height == 0  # a backlog row: the chain cannot see it
    journal = _journal_findings(url)
    assert rules_of(journal) == {"source.inconsistent": 1}
    assert "changed amount, precise_amount" in journal["message"][0]


def test_a_precision_that_is_not_a_power_of_ten_rejects_the_row(url: str) -> None:
    txid, _ = _one_row(url)
    execute(url, f"UPDATE blnk.transactions SET precision = 50 WHERE transaction_id = '{txid}'")
    adapted = load(url)
    rejected = adapted.report.rejections
    assert rejected.select("table", "locator", "column", "reason", "raw_value").row(0) == (
        "blnk.transactions",
        f"blnk.transactions(transaction_id={txid})",
        "precision",
        "precision_not_power_of_ten",
        "50",
    )
    counts = {c.table: c for c in adapted.report.source_counts}
    assert counts["blnk.transactions"].rejected == 1
    assert RuleId.SOURCE_REJECTED_ROW in rules_of(audited(adapted, url).findings)


def test_requests_without_ledger_effect_are_counted_not_loaded(url: str) -> None:
    source, destination = rows_of(
        url, "SELECT source, destination FROM blnk.transactions ORDER BY id LIMIT 1"
    )[0]
    for status in ("QUEUED", "REJECTED"):
        execute(
            url,
            "INSERT INTO blnk.transactions (transaction_id, source, destination, reference, "
            "amount, precise_amount, precision, currency, status, created_at) VALUES "
            f"('txn_{status}', '{source}', '{destination}', 'ref_{status}', 1, 100, 100, 'USD', "
            f"'{status}', now())",
        )
    adapted = load(url)
    assert any("1 QUEUED, 1 REJECTED" in note for note in adapted.report.notes)
    assert adapted.report.rejected == 0
    assert audited(adapted, url).findings.height == 0
    chain = next(n.result for n in adapted.native if n.result.check == "blnk_chain")
    assert any("2 newest transaction row(s) are not chained" in u for u in chain.coverage.unproven)


def test_rows_executed_from_a_queued_request_are_that_request_s_transaction(url: str) -> None:
    txid, _ = _one_row(url, "status = 'APPLIED' AND parent_transaction IS NULL ORDER BY id LIMIT 1")
    execute(
        url,
        "INSERT INTO blnk.transactions (transaction_id, source, destination, reference, amount, "
        "precise_amount, precision, currency, status, created_at) SELECT 'txn_queued', source, "
        "destination, 'ref_queued', amount, precise_amount, precision, currency, 'QUEUED', "
        f"created_at FROM blnk.transactions WHERE transaction_id = '{txid}'",
        "UPDATE blnk.transactions SET parent_transaction = 'txn_queued' "
        f"WHERE transaction_id = '{txid}'",
    )
    adapted = load(url)
    ids = adapted.frames.transactions["transaction_id"]
    assert "txn_queued" in ids.to_list()
    assert txid not in ids.to_list()
    assert any("1 QUEUED" in note for note in adapted.report.notes)
    assert audited(adapted, url).findings.height == 0


def test_a_commit_whose_parent_is_not_inflight_is_inconsistent(url: str) -> None:
    txid, _ = _one_row(url, "id = (SELECT min(id) FROM blnk.transactions WHERE status = 'COMMIT')")
    execute(
        url,
        "UPDATE blnk.transactions SET parent_transaction = 'nothing' "
        f"WHERE transaction_id = '{txid}'",
    )
    findings = load(url).native[2].result.findings
    assert rules_of(findings) == {"source.inconsistent": 1}
    assert findings["locator"][0] == f"blnk.transactions(transaction_id={txid})"


# --- bad input and older migrations -------------------------------------------------------


def test_a_missing_table_names_the_adapter_the_table_and_what_was_expected(
    pg_server: DatabaseFactory,
) -> None:
    name = unique_database_name("blnk_partial")
    url = pg_server.create_database(name)
    try:
        execute(
            url,
            "CREATE SCHEMA blnk",
            "CREATE TABLE blnk.ledgers (ledger_id TEXT, name TEXT, created_at TIMESTAMP)",
        )
        with pytest.raises(InputError) as raised:
            check(url)
        text = str(raised.value)
        assert "--adapter blnk" in text
        assert "blnk.balances" in text
        assert "missing" in text
    finally:
        pg_server.drop_database(name)


def test_an_older_migration_without_parent_transaction_names_the_column(url: str) -> None:
    execute(url, "ALTER TABLE blnk.transactions DROP COLUMN parent_transaction")
    with pytest.raises(InputError) as raised:
        load(url)
    text = str(raised.value)
    assert "--adapter blnk" in text
    assert "blnk.transactions" in text
    assert "parent_transaction" in text


def test_a_database_before_the_chain_migration_reads_with_chain_rules_not_proven(
    pg_server: DatabaseFactory, demo_frames: LedgerFrames
) -> None:
    name = unique_database_name("blnk_nochain")
    url = pg_server.create_database(name)
    try:
        write_blnk(demo_frames, url, chain=False, journal=False)
        adapted = load(url)
        chain = next(n.result for n in adapted.native if n.result.check == "blnk_chain")
        assert chain.status == "no data"
        assert set(chain.coverage.unproven_rules) == set(CHAIN_RULES)
        journal = next(n.result for n in adapted.native if n.result.check == "blnk_journal")
        assert journal.status == "no data"
        assert journal.coverage.unproven_rules == (RuleId.SOURCE_INCONSISTENT,)
        assert any("predates the hash chain" in note for note in adapted.report.notes)
        assert audited(adapted, url).findings.height == 0
    finally:
        pg_server.drop_database(name)


def test_a_chainer_backlog_is_stated_not_found(
    pg_server: DatabaseFactory, demo_frames: LedgerFrames
) -> None:
    name = unique_database_name("blnk_backlog")
    url = pg_server.create_database(name)
    try:
        write_blnk(demo_frames, url, backlog=5)
        chain = next(n.result for n in load(url).native if n.result.check == "blnk_chain")
        assert chain.findings.height == 0
        assert any("5 newest transaction row(s)" in u for u in chain.coverage.unproven)
    finally:
        pg_server.drop_database(name)


def test_a_source_that_is_not_postgresql_is_refused(tmp_path: object) -> None:
    with pytest.raises(InputError, match="Blnk is read from its PostgreSQL database"):
        check(str(tmp_path))
