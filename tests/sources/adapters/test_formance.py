"""The Formance adapter: golden hashes, a demo round trip, and each anomaly found by rule."""

from __future__ import annotations

import polars as pl
import psycopg
import pytest

from ledger_audit.checks.runner import audit
from ledger_audit.demo.vendors.formance import DEFAULT_FEATURES, write_formance
from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.replay.balances import balances_as_of
from ledger_audit.reports.trial_balance import build_trial_balance
from ledger_audit.sources import LedgerFrames
from ledger_audit.sources.adapters import load_adapted
from ledger_audit.sources.adapters.formance import check, load
from ledger_audit.sources.adapters.formance.hashing import (
    block_hash,
    block_part,
    log_body,
    log_hash,
)
from ledger_audit.spec import Period, VerifySpec
from tests.sources.adapters.pg_sql import conninfo, execute

M1 = (
    b'{"transaction":{"postings":[{"source":"world","destination":"users:001","amount":100,'
    b'"asset":"USD/2"}],"metadata":{},"timestamp":"2024-01-01T00:00:00Z","id":1,'
    b'"reverted":false},"accountMetadata":{}}'
)
M2 = (
    b'{"transaction":{"postings":[{"source":"users:001","destination":"fees","amount":25,'
    b'"asset":"USD/2"}],"metadata":{"note":"caf\xc3\xa9 \\u003cb\\u003e"},'
    b'"timestamp":"2024-01-01T00:05:00.1234Z","id":2,"reverted":false},"accountMetadata":{}}'
)
JANUARY = Period.month("2025-01")
H1 = "daabff7b51d1fc647f87421d2575dab917e85537cd1668151a9dc97123575d22"
H2 = "bd5144c9a2527da5d5285f23f8df1771af219c45c3c3cc34a02adaa274c27f28"
BLOCK = "88bf8d60755734595f52c5be15ef152652439413c714f717b484ec28df0d2c7e"


def test_golden_log_hashes() -> None:
    """The vectors of docs/adapters/formance.md: a first log, a chained one, a block."""
    h1 = log_hash(None, log_body("NEW_TRANSACTION", M1, "2024-01-01T00:00:00", "", None))
    h2 = log_hash(h1, log_body("NEW_TRANSACTION", M2, "2024-01-01T00:05:00.1234", "ik-2", None))
    parts = [
        block_part("NEW_TRANSACTION", M1, "2024-01-01T00:00:00", "", 1),
        block_part("NEW_TRANSACTION", M2, "2024-01-01T00:05:00.1234", "ik-2", 2),
    ]
    assert (h1.hex(), h2.hex(), block_hash(None, parts).hex()) == (H1, H2, BLOCK)


# The vendor's hashing as PostgreSQL evaluates it: the expressions of bucket migrations 35/47
# (compute_hash) and 38 (create_block), with pgcrypto's digest(x, 'sha256') as sha256().
_PG_LOG_HASH = """
SELECT sha256(
  CASE WHEN %(prev)s::bytea IS NULL THEN body::bytea
  ELSE '"' || encode(%(prev)s::bytea, 'base64')::bytea || E'"\\n' || body::bytea END
  || E'\\n')
FROM (SELECT '{' || '"type":"' || %(type)s || '",' || '"data":' || encode(%(memento)s::bytea,
  'escape') || ',' || '"date":"' || (to_json(%(date)s::timestamp)#>>'{}') || 'Z",'
  || '"idempotencyKey":"' || coalesce(%(ik)s, '') || '",' || '"id":0,' || '"hash":null'
  || '}' AS body) b
"""
_PG_BLOCK = """
SELECT sha256(convert_to(coalesce(NULL::bytea, '') || string_agg(t || encode(m, 'escape')
  || (to_json(d)#>>'{}') || coalesce(k, '') || i, '' ORDER BY i), 'UTF8'))
FROM (VALUES ('NEW_TRANSACTION', %(m1)s::bytea, '2024-01-01 00:00:00'::timestamp, NULL, 1),
             ('NEW_TRANSACTION', %(m2)s::bytea, '2024-01-01 00:05:00.1234'::timestamp,
              'ik-2', 2)) v(t, m, d, k, i)
"""


def test_golden_vectors_match_postgres(pg_url: str) -> None:
    """The trigger's own SQL, run by PostgreSQL, gives the same bytes as hashing.py."""
    with psycopg.connect(conninfo(pg_url)) as conn:
        row1 = conn.execute(
            _PG_LOG_HASH,
            {
                "prev": None,
                "type": "NEW_TRANSACTION",
                "memento": M1,
                "date": "2024-01-01 00:00:00",
                "ik": None,
            },
        ).fetchone()
        row2 = conn.execute(
            _PG_LOG_HASH,
            {
                "prev": bytes.fromhex(H1),
                "type": "NEW_TRANSACTION",
                "memento": M2,
                "date": "2024-01-01 00:05:00.1234",
                "ik": "ik-2",
            },
        ).fetchone()
        block = conn.execute(_PG_BLOCK, {"m1": M1, "m2": M2}).fetchone()
    assert row1 is not None
    assert row2 is not None
    assert block is not None
    assert (bytes(row1[0]).hex(), bytes(row2[0]).hex(), bytes(block[0]).hex()) == (H1, H2, BLOCK)


def _findings(url: str) -> pl.DataFrame:
    adapted = load_adapted(url, "formance")
    result = audit(
        adapted.frames,
        adapted.report,
        VerifySpec(),
        native=adapted.native,
    )
    return result.findings


def _posted(frames: LedgerFrames) -> pl.DataFrame:
    at = 2**62
    return (
        balances_as_of(frames, at, "recorded")
        .select("ledger_id", "account_id", "asset_id", "posted_debits", "posted_credits")
        .filter((pl.col("posted_debits") != 0) | (pl.col("posted_credits") != 0))
        .sort("ledger_id", "account_id", "asset_id")
        .collect()
    )


def test_round_trip_balances_and_clean_audit(demo: LedgerFrames, pg_url: str) -> None:
    """Same posted balances per account and asset as the canonical demo, and no finding."""
    write_formance(demo, pg_url)
    adapted = load(pg_url)
    assert _posted(adapted.frames).equals(_posted(demo))
    normal = demo.accounts.select("account_id", "normal_balance").sort("account_id")
    assert (
        adapted.frames.accounts.select("account_id", "normal_balance")
        .sort("account_id")
        .equals(normal)
    )
    for basis in ("effective", "recorded"):
        ours = build_trial_balance(adapted.frames, JANUARY, basis)
        theirs = build_trial_balance(demo, JANUARY, basis)
        assert _active(ours.rows).equals(_active(theirs.rows)), basis
        assert ours.totals.equals(theirs.totals), basis
    assert adapted.report.rejected == 0
    assert _findings(pg_url).height == 0


def _active(rows: pl.DataFrame) -> pl.DataFrame:
    """Trial balance rows with something in them (pending-only pairs have none)."""
    amounts = ("opening", "debits", "credits", "closing")
    return rows.filter(pl.any_horizontal(pl.col(c) != 0 for c in amounts))


def _rules(findings: pl.DataFrame) -> set[str]:
    return set(findings.get_column("rule").to_list())


def test_edited_amount_in_the_log_breaks_the_chain(demo: LedgerFrames, pg_url: str) -> None:
    write_formance(demo, pg_url)
    execute(
        pg_url,
        'UPDATE "_default".logs SET memento = convert_to(replace(convert_from(memento, '
        "'UTF8'), '\"amount\":', '\"amount\":9'), 'UTF8') WHERE id = 40",
    )
    found = _findings(pg_url)
    tampered = found.filter(pl.col("rule") == RuleId.CHAIN_TAMPERED)
    assert tampered.get_column("locator").to_list() == ["logs(ledger=demo, id=40)"]
    assert RuleId.SOURCE_INCONSISTENT in _rules(found)  # the row no longer matches its log


def test_edited_amount_under_an_intact_chain(demo: LedgerFrames, pg_url: str) -> None:
    """Edited in the transactions table only: the chain holds, the memento disagrees."""
    write_formance(demo, pg_url)
    execute(
        pg_url,
        'UPDATE "_default".transactions SET postings = replace(postings, \'"amount":\', '
        "'\"amount\":1') WHERE id = 41",
    )
    found = _findings(pg_url)
    assert not any(r.startswith("chain.") for r in _rules(found))
    inconsistent = found.filter(pl.col("rule") == RuleId.SOURCE_INCONSISTENT)
    assert "transactions(ledger=demo, id=41)" in inconsistent.get_column("locator").to_list()


def test_deleted_log_and_deleted_transaction(demo: LedgerFrames, pg_url: str) -> None:
    write_formance(demo, pg_url)
    execute(
        pg_url,
        'DELETE FROM "_default".logs WHERE id = 50',
        'DELETE FROM "_default".transactions WHERE id = 60',
    )
    found = _findings(pg_url)
    deleted = found.filter(pl.col("rule") == RuleId.CHAIN_DELETED)
    assert deleted.get_column("locator").to_list() == ["logs(ledger=demo, id=51)"]
    locators = found.filter(pl.col("rule") == RuleId.SOURCE_INCONSISTENT)["locator"].to_list()
    assert "transactions(ledger=demo, id=50)" in locators  # a transaction without its log
    assert "logs(ledger=demo, id=60)" in locators  # a log without its transaction


def test_reordered_logs(demo: LedgerFrames, pg_url: str) -> None:
    write_formance(demo, pg_url)
    execute(
        pg_url,
        'UPDATE "_default".logs SET id = -1 WHERE id = 70',
        'UPDATE "_default".logs SET id = 70 WHERE id = 71',
        'UPDATE "_default".logs SET id = 71 WHERE id = -1',
    )
    found = _findings(pg_url)
    assert RuleId.CHAIN_REORDERED in _rules(found)
    assert RuleId.CHAIN_TAMPERED not in _rules(found)


def test_drifted_volume_and_broken_post_commit_volumes(demo: LedgerFrames, pg_url: str) -> None:
    write_formance(demo, pg_url)
    execute(
        pg_url,
        'UPDATE "_default".accounts_volumes SET input = input + 1 '
        "WHERE accounts_address = 'liabilities:wallet:u000003:usd'",
        'UPDATE "_default".moves SET post_commit_volumes = '
        "((post_commit_volumes).inputs + 5, (post_commit_volumes).outputs) WHERE seq = 30",
    )
    found = _findings(pg_url)
    drift = found.filter(pl.col("rule") == RuleId.BALANCE_DRIFT)
    assert drift.get_column("account_id").to_list() == ["liabilities:wallet:u000003:usd"]
    running = found.filter(pl.col("rule") == RuleId.BALANCE_RUNNING_BROKEN)
    assert running.get_column("locator").to_list() == ["moves(ledger=demo, seq=30)"]


def test_conflicting_idempotency_key(demo: LedgerFrames, pg_url: str) -> None:
    """A key reused with another request hash (possible once the unique index is gone)."""
    write_formance(demo, pg_url)
    execute(
        pg_url,
        'DROP INDEX "_default".logs_idempotency_key',
        'UPDATE "_default".logs SET idempotency_key = (SELECT idempotency_key FROM '
        '"_default".logs WHERE id = 10) WHERE id = 11',
    )
    found = _findings(pg_url)
    conflict = found.filter(pl.col("check") == "formance_logs").filter(
        pl.col("rule") == RuleId.IDEMPOTENCY_CONFLICT
    )
    assert conflict.height == 1
    assert RuleId.CHAIN_TAMPERED in _rules(found)  # the key is hashed: log 11 changed


def test_hash_logs_disabled_is_not_proven(demo: LedgerFrames, pg_url: str) -> None:
    features = {"demo": {**DEFAULT_FEATURES, "HASH_LOGS": "DISABLED"}}
    write_formance(demo, pg_url, features=features)
    adapted = load(pg_url)
    chain = next(n for n in adapted.native if n.result.check == "formance_chain")
    assert chain.result.findings.height == 0
    assert RuleId.CHAIN_TAMPERED in chain.result.coverage.unproven_rules
    assert any("HASH_LOGS=DISABLED" in note for note in adapted.report.notes)


def test_async_blocks_verified_and_a_tampered_block_found(demo: LedgerFrames, pg_url: str) -> None:
    features = {"demo": {**DEFAULT_FEATURES, "HASH_LOGS": "ASYNC"}}
    write_formance(demo, pg_url, features=features, block_size=100)
    assert _findings(pg_url).height == 0
    execute(
        pg_url,
        "UPDATE \"_default\".logs SET idempotency_key = 'changed' WHERE id = 150",
    )
    found = _findings(pg_url)
    tampered = found.filter(pl.col("rule") == RuleId.CHAIN_TAMPERED)
    assert tampered.get_column("locator").to_list() == ["logs_blocks(ledger=demo, id=2)"]


def test_older_migration_names_adapter_table_and_columns(demo: LedgerFrames, pg_url: str) -> None:
    write_formance(demo, pg_url)
    execute(pg_url, 'ALTER TABLE "_default".logs DROP COLUMN memento')
    with pytest.raises(InputError) as caught:
        check(pg_url)
    text = str(caught.value)
    assert "--adapter formance" in text
    assert "_default.logs" in text
    assert "memento" in text


def _hash_of(url: str, log_id: int) -> bytes:
    with psycopg.connect(conninfo(url)) as conn:
        row = conn.execute('SELECT hash FROM "_default".logs WHERE id = %s', (log_id,)).fetchone()
    assert row is not None
    return bytes(row[0])


def _shift_logs(url: str, from_id: int) -> None:
    """Renumber logs from ``from_id`` up by one, leaving ``from_id`` free."""
    execute(
        url,
        f'UPDATE "_default".logs SET id = id + 1000000 WHERE id >= {from_id}',
        'UPDATE "_default".logs SET id = id - 999999 WHERE id >= 1000000',
    )


def test_inserted_log(demo: LedgerFrames, pg_url: str) -> None:
    """A log slipped in after log 20, hashed over it, with the later ones renumbered."""
    write_formance(demo, pg_url)
    memento = b'{"targetType":"ACCOUNT","targetId":"world","metadata":{"k":"v"}}'
    body = log_body("SET_METADATA", memento, "2025-01-05T00:00:00", "", None)
    forged = log_hash(_hash_of(pg_url, 20), body)
    _shift_logs(pg_url, 21)
    with psycopg.connect(conninfo(pg_url)) as conn:
        conn.execute(
            'INSERT INTO "_default".logs (ledger, id, type, hash, date, data, memento) '
            "VALUES ('demo', 21, 'SET_METADATA', %s, '2025-01-05 00:00:00', %s::jsonb, %s)",
            (forged, memento.decode(), memento),
        )
        conn.commit()
    found = _findings(pg_url)
    chain = found.filter(pl.col("rule").str.starts_with("chain."))
    assert chain.select("rule", "locator").rows() == [
        (RuleId.CHAIN_INSERTED, "logs(ledger=demo, id=21)")
    ]


def test_resealed_log(demo: LedgerFrames, pg_url: str) -> None:
    """Log 30's amount edited and its hash recomputed: log 31 no longer follows it."""
    write_formance(demo, pg_url)
    with psycopg.connect(conninfo(pg_url)) as conn:
        row = conn.execute(
            "SELECT memento, type::text, to_json(date)#>>'{}', coalesce(idempotency_key, '') "
            'FROM "_default".logs WHERE id = 30'
        ).fetchone()
        assert row is not None
        memento = bytes(row[0]).replace(b'"amount":', b'"amount":7', 1)
        resealed = log_hash(_hash_of(pg_url, 29), log_body(row[1], memento, row[2], row[3], None))
        conn.execute(
            'UPDATE "_default".logs SET memento = %s, hash = %s WHERE id = 30',
            (memento, resealed),
        )
        conn.commit()
    found = _findings(pg_url)
    chain = found.filter(pl.col("rule").str.starts_with("chain."))
    assert chain.select("rule", "locator").rows() == [
        (RuleId.CHAIN_RESEALED, "logs(ledger=demo, id=30)")
    ]


def test_unchained_log_and_first_log_tampered(demo: LedgerFrames, pg_url: str) -> None:
    write_formance(demo, pg_url)
    execute(
        pg_url,
        'UPDATE "_default".logs SET hash = NULL WHERE id = 90',
        'UPDATE "_default".logs SET memento = convert_to(replace(convert_from(memento, '
        "'UTF8'), '\"amount\":', '\"amount\":3'), 'UTF8') WHERE id = 1",
    )
    found = _findings(pg_url)
    chain = found.filter(pl.col("rule").str.starts_with("chain.")).sort("locator")
    assert chain.select("rule", "locator").rows() == [
        (RuleId.CHAIN_TAMPERED, "logs(ledger=demo, id=1)"),
        (RuleId.CHAIN_UNCHAINED, "logs(ledger=demo, id=90)"),
    ]


def test_first_log_hashed_over_a_predecessor(demo: LedgerFrames, pg_url: str) -> None:
    """Log 1 hashed as if it followed another log: its content still matches its row."""
    write_formance(demo, pg_url)
    with psycopg.connect(conninfo(pg_url)) as conn:
        row = conn.execute(
            "SELECT memento, type::text, to_json(date)#>>'{}', coalesce(idempotency_key, '') "
            'FROM "_default".logs WHERE id = 1'
        ).fetchone()
        assert row is not None
        other = log_hash(b"\x00" * 32, log_body(row[1], bytes(row[0]), row[2], row[3], None))
        conn.execute('UPDATE "_default".logs SET hash = %s WHERE id = 1', (other,))
        conn.commit()
    chain = _findings(pg_url).filter(pl.col("rule").str.starts_with("chain."))
    assert chain.select("rule", "locator").rows()[0] == (
        RuleId.CHAIN_GENESIS_MISMATCH,
        "logs(ledger=demo, id=1)",
    )


def test_memento_that_is_not_utf8_is_a_finding_not_a_crash(demo: LedgerFrames, pg_url: str) -> None:
    write_formance(demo, pg_url)
    execute(pg_url, "UPDATE \"_default\".logs SET memento = memento || '\\xff'::bytea WHERE id = 5")
    found = _findings(pg_url)
    tampered = found.filter(pl.col("rule") == RuleId.CHAIN_TAMPERED)
    assert tampered.get_column("locator").to_list() == ["logs(ledger=demo, id=5)"]


def test_revert_without_reverted_at_and_asset_without_precision(
    demo: LedgerFrames, pg_url: str
) -> None:
    write_formance(demo, pg_url)
    with psycopg.connect(conninfo(pg_url)) as conn:
        row = conn.execute(
            "SELECT (metadata->>'com.formance.spec/state/reverts')::numeric FROM "
            "\"_default\".transactions WHERE metadata ? 'com.formance.spec/state/reverts' "
            "ORDER BY id LIMIT 1"
        ).fetchone()
        assert row is not None
        conn.execute(
            'UPDATE "_default".transactions SET reverted_at = NULL WHERE id = %s', (row[0],)
        )
        conn.execute(
            "UPDATE \"_default\".transactions SET postings = replace(postings, 'EUR/2', 'EUR') "
            "WHERE postings LIKE '%EUR/2%'"
        )
        conn.commit()
    adapted = load(pg_url)
    assert "EUR/0" in adapted.frames.assets.get_column("asset_id").to_list()
    assert any("EUR carry no /precision" in note for note in adapted.report.notes)
    logs = next(n for n in adapted.native if n.result.check == "formance_logs")
    messages = logs.result.findings.get_column("message").to_list()
    assert any(f"reverts transaction {row[0]}" in m for m in messages)


def test_edited_move_amount(demo: LedgerFrames, pg_url: str) -> None:
    """A move's amount edited: it no longer matches its posting, and only it breaks the run."""
    write_formance(demo, pg_url)
    execute(pg_url, 'UPDATE "_default".moves SET amount = amount + 1 WHERE seq = 44')
    found = _findings(pg_url).filter(pl.col("check") == "formance_moves")
    running = found.filter(pl.col("rule") == RuleId.BALANCE_RUNNING_BROKEN)
    assert running.get_column("locator").to_list() == ["moves(ledger=demo, seq=44)"]
    inconsistent = found.filter(pl.col("rule") == RuleId.SOURCE_INCONSISTENT)
    assert inconsistent.height == 1
