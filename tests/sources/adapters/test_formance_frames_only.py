"""Formance frames without the vendor checks: the same frames, and the checks not proven.

``load(url, vendor_checks=False)`` reads only what the frames need (no hash, move, block, or
memento of an unkeyed log). It must give the very frames and report of the full load, also
on data whose logs disagree with each other, and its three vendor checks must say they
proved nothing.
"""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.checks.runner import audit
from ledger_audit.demo.vendors.formance import write_formance
from ledger_audit.findings import RuleId
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources import LedgerFrames
from ledger_audit.sources.adapters.formance import load
from ledger_audit.sources.adapters.formance.frames import transaction_keys
from ledger_audit.spec import VerifySpec
from tests.sources.adapters.pg_sql import execute


def _same_load(url: str) -> None:
    full, frames_only = load(url), load(url, vendor_checks=False)
    for table in CANONICAL_TABLES:
        assert getattr(full.frames, table).equals(getattr(frames_only.frames, table)), table
    assert full.report.counts == frames_only.report.counts
    assert full.report.source_counts == frames_only.report.source_counts
    assert full.report.notes == frames_only.report.notes
    assert full.report.rejections.equals(frames_only.report.rejections)


def test_clean_demo_same_frames_and_checks_not_proven(demo: LedgerFrames, pg_url: str) -> None:
    write_formance(demo, pg_url)
    _same_load(pg_url)
    adapted = load(pg_url, vendor_checks=False)
    assert adapted.frames.transactions.get_column("idempotency_key").null_count() < (
        adapted.frames.transactions.height
    )
    names = [n.result.check for n in adapted.native]
    assert names == ["formance_chain", "formance_logs", "formance_moves"]
    result = audit(adapted.frames, adapted.report, VerifySpec(), native=adapted.native)
    for native in adapted.native:
        assert native.result.status == "no data"
        assert native.result.coverage.unproven_rules == native.rules
        assert "not run" in native.result.coverage.unproven[0]
    summary = result.summary().filter(pl.col("checks").str.contains("formance_"))
    assert RuleId.IDEMPOTENCY_CONFLICT in summary.get_column("rule").to_list()
    # a rule no other check covers is never "passed"
    alone = summary.filter(~pl.col("checks").str.contains(","))
    assert alone.height > 0
    assert "passed" not in alone.get_column("status").to_list(), alone


def test_logs_that_disagree_give_the_same_keys(demo: LedgerFrames, pg_url: str) -> None:
    """A reused key, a memento that is not UTF-8, a key removed, a second log of one transaction."""
    write_formance(demo, pg_url)
    logs = '"_default".logs'
    execute(
        pg_url,
        'DROP INDEX "_default".logs_idempotency_key',
        f"UPDATE {logs} SET idempotency_key = (SELECT idempotency_key FROM {logs} WHERE id = 10) "
        "WHERE id = 11",
        f"UPDATE {logs} SET memento = memento || '\\xff'::bytea WHERE id = 5",
        f"UPDATE {logs} SET idempotency_key = NULL WHERE id = 7",
        # a copy of log 3 with a higher id and another key: the lower id's key stands
        f"INSERT INTO {logs} (ledger, id, type, hash, date, data, memento, idempotency_key) "
        f"SELECT ledger, 100000, type, hash, date, data, memento, 'copy-key' FROM {logs} "
        "WHERE id = 3",
        # and a copy of log 7 (now unkeyed) that has a key: the only keyed log of its transaction
        f"INSERT INTO {logs} (ledger, id, type, hash, date, data, memento, idempotency_key) "
        f"SELECT ledger, 100001, type, hash, date, data, memento, 'late-key' FROM {logs} "
        "WHERE id = 7",
    )
    _same_load(pg_url)
    keys = load(pg_url, vendor_checks=False).frames.transactions.get_column("idempotency_key")
    assert "late-key" in keys.to_list()
    assert "copy-key" not in keys.to_list()


_LOGS = st.lists(
    st.tuples(
        st.integers(1, 12),  # log id
        st.sampled_from(["1", "2", "3", None]),  # transaction id from the memento
        st.sampled_from(["k1", "k2", "k3", None]),  # idempotency key
    ),
    max_size=20,
    unique_by=lambda log: log[0],
)


@settings(max_examples=200, deadline=None)
@given(logs=_LOGS, seed=st.integers(0, 2**32 - 1))
def test_transaction_keys_take_the_lowest_keyed_log_in_any_row_order(
    logs: list[tuple[int, str | None, str | None]], seed: int
) -> None:
    frame = pl.DataFrame(
        {
            "ledger": ["l"] * len(logs),
            "log_id": [str(log_id) for log_id, _, _ in logs],
            "tx_id": [tx for _, tx, _ in logs],
            "idempotency_key": [key for _, _, key in logs],
        },
        schema={
            "ledger": pl.String,
            "log_id": pl.String,
            "tx_id": pl.String,
            "idempotency_key": pl.String,
        },
    )
    expected: dict[str, str] = {}
    for _, tx, key in sorted(logs, key=lambda log: log[0]):
        if tx is not None and key is not None:
            expected.setdefault(tx, key)
    for shuffled in (frame, frame.sample(fraction=1.0, shuffle=True, seed=seed)):
        got = transaction_keys(shuffled)
        assert dict(zip(got["tx_id"], got["idempotency_key"], strict=True)) == expected
        assert got.height == len(expected)
