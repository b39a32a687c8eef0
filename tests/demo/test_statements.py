"""The demo's bank statements: valid files, deterministic, with a truth and a recon key."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from ledger_audit.demo.answer_key import read_answer_key
from ledger_audit.demo.scenario import BANK, CARD_PAYABLE
from ledger_audit.demo.statements import STATEMENTS_DIR, _posted_entries
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.findings import RuleId
from ledger_audit.schema import tables
from ledger_audit.sources.bank.load import load_statement
from tests.demo.conftest import DemoFactory, connect

RECON_RULES = [
    RuleId.RECON_AMOUNT_MISMATCH,
    RuleId.RECON_AMOUNT_MISMATCH,
    RuleId.RECON_DUPLICATE_EXTERNAL,
    RuleId.RECON_IN_TRANSIT,
    RuleId.RECON_MISSING_EXTERNAL,
    RuleId.RECON_MISSING_INTERNAL,
    RuleId.RECON_PAYOUT_UNTIED,
    RuleId.RECON_SUGGESTED_MATCH,
]


def files(demo: DemoSummary) -> list[Path]:
    assert demo.statements is not None
    # the processor report is one of reconcile's inputs
    assert demo.statements.processor_report in demo.statements.statements
    return list(demo.statements.statements)


@pytest.mark.parametrize("clean", [False, True])
def test_every_file_parses_without_a_finding(demo_factory: DemoFactory, clean: bool) -> None:
    demo = demo_factory(clean=clean)
    sources = []
    for path in files(demo):
        parsed = load_statement(path)
        assert parsed.findings.is_empty(), (path, parsed.findings.to_dicts())
        assert parsed.rejected == 0
        assert parsed.records.height > 0
        sources.append(parsed.source)
    assert sources == ["bai2", "camt053", "stripe"]


def test_same_seed_gives_the_same_files(demo_factory: DemoFactory) -> None:
    first, second = demo_factory(), demo_factory(copy=1)
    assert first.statements is not None
    assert second.statements is not None
    for a, b in zip(files(first), files(second), strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert first.statements.truth_path.read_bytes() == second.statements.truth_path.read_bytes()
    assert (
        first.statements.recon_key_path.read_bytes()
        == second.statements.recon_key_path.read_bytes()
    )


def test_the_recon_key_names_the_seven_planted_breaks_in_eight_entries(
    planted_demo: DemoSummary,
) -> None:
    assert planted_demo.statements is not None
    key = read_answer_key(planted_demo.statements.recon_key_path)
    assert sorted(a.rule for a in key) == sorted(RECON_RULES)
    for anomaly in key:
        assert anomaly.item_id is not None or anomaly.bank_ref is not None
        if anomaly.file is not None:
            assert (planted_demo.out_dir / anomaly.file).is_file()
    # the ledger's own key is untouched: only the ten ledger anomalies
    ledger_key = read_answer_key(planted_demo.answer_key_path)
    assert len(ledger_key) == 10
    assert not any(a.rule.startswith("recon.") for a in ledger_key)
    data = json.loads(planted_demo.demo_json_path.read_text(encoding="utf-8"))
    assert data["statements"]["planted"]["count"] == 8
    assert data["statements"]["files"] == [
        f"{STATEMENTS_DIR}/operating-usd.bai2",
        f"{STATEMENTS_DIR}/operating-eur.xml",
        f"{STATEMENTS_DIR}/processor-payouts.csv",
    ]


def test_a_clean_demo_plants_nothing(clean_demo: DemoSummary) -> None:
    assert clean_demo.statements is not None
    assert clean_demo.statements.anomalies == ()
    assert clean_demo.statements.recon_key_path.read_text(encoding="utf-8") == "[]\n"


def test_the_truth_names_every_bank_line_once(planted_demo: DemoSummary) -> None:
    assert planted_demo.statements is not None
    truth = json.loads(planted_demo.statements.truth_path.read_text(encoding="utf-8"))
    written = {
        (str(Path(r["file"]).name), r["bank_ref"])
        for path in planted_demo.statements.statements
        for r in load_statement(path).records.select("file", "bank_ref").to_dicts()
    }
    in_truth = {(Path(t["file"]).name, t["bank_ref"]) for t in truth if t["file"] is not None}
    assert written == in_truth
    notes = [t["note"] for t in truth]
    assert notes.count("the same line reported twice") == 1
    assert notes.count("books after the statement period") == 1


def test_the_netted_payout_is_explained_by_the_processor_report(
    planted_demo: DemoSummary,
) -> None:
    assert planted_demo.statements is not None
    netted = next(
        a
        for a in read_answer_key(planted_demo.statements.recon_key_path)
        if a.rule == RuleId.RECON_AMOUNT_MISMATCH and "processor" in a.description
    )
    bank = load_statement(planted_demo.out_dir / str(netted.file)).records
    line = bank.filter(pl.col("bank_ref") == netted.bank_ref).row(0, named=True)
    report = load_statement(planted_demo.statements.processor_report).records
    payout_id = str(line["text"]).rsplit(" ", 1)[-1]
    paid = report.filter(pl.col("payout_id") == payout_id)
    payout = paid.filter(pl.col("type_code") == "payout")["amount"].item()
    fees = paid.filter(pl.col("type_code") == "fee")["amount"].sum()
    assert payout == -line["amount"]
    assert fees < 0
    assert paid.filter(pl.col("type_code") != "payout")["amount"].sum() == line["amount"]


def _posted_entries_by_hand(path: Path, accounts: set[str]) -> list[tuple[object, ...]]:
    """What ``_posted_entries`` must give, read with sqlite3 and worked out in Python."""
    with connect(path) as db:
        versions = db.execute(
            "SELECT transaction_id, version, status, effective_ns, chain_seq, external_id "
            "FROM transactions WHERE ledger_id = 'demo'"
        ).fetchall()
        legs = db.execute(
            "SELECT transaction_id, version, entry_index, account_id, direction, amount "
            "FROM entries WHERE ledger_id = 'demo'"
        ).fetchall()
    latest: dict[str, int] = {}
    external: dict[str, str | None] = {}
    by_key = {}
    for tx_id, version, status, effective_ns, chain_seq, external_id in versions:
        latest[tx_id] = max(latest.get(tx_id, version), version)
        known = external.get(tx_id)
        if external_id is not None and (known is None or external_id > known):
            external[tx_id] = external_id
        by_key[(tx_id, version)] = (status, effective_ns, chain_seq)
    rows = []
    for tx_id, version, index, account_id, direction, amount in legs:
        status, effective_ns, chain_seq = by_key[(tx_id, version)]
        if account_id in accounts and status == "posted" and version == latest[tx_id]:
            row = (tx_id, version, index, account_id, direction, amount, effective_ns, chain_seq)
            rows.append((*row, external.get(tx_id)))
    return sorted(rows, key=lambda r: (r[6], r[0], r[2]))


def test_the_posted_entries_are_each_transactions_latest_posted_version(
    planted_demo: DemoSummary,
) -> None:
    """Both account sets the statements read; the card payables' captures leave rows out."""
    accounts = {a: c for c, a in (*BANK.items(), *CARD_PAYABLE.items())}
    engine = sa.create_engine(f"sqlite:///{planted_demo.ledger_path}")
    try:
        found = [tuple(r) for r in _posted_entries(engine, accounts)]
    finally:
        engine.dispose()
    assert found == _posted_entries_by_hand(planted_demo.ledger_path, set(accounts))
    assert {r[3] for r in found} == set(accounts)
    with connect(planted_demo.ledger_path) as db:  # the filters have rows to leave out
        (on_accounts,) = db.execute(
            f"SELECT COUNT(*) FROM entries WHERE account_id IN ({', '.join('?' * len(accounts))})",
            tuple(accounts),
        ).fetchone()
    assert on_accounts > len(found)


def test_posted_entries_take_the_latest_version_and_the_largest_external_id(
    tmp_path: Path,
) -> None:
    """Versions the demo never writes: a posted version superseded, external ids that differ."""
    bank = BANK["usd"]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'l.sqlite'}")
    tables.metadata.create_all(engine, tables=[tables.transactions, tables.entries])
    versions = [  # ledger, id, version, status, effective_ns, external_id
        ("demo", "tx-a", 1, "posted", 10, "a1"),
        ("demo", "tx-a", 2, "voided", 11, "a2"),  # the latest is not posted: nothing
        ("demo", "tx-b", 1, "pending", 20, None),
        ("demo", "tx-b", 2, "posted", 21, "b"),  # an external id on one version only
        ("demo", "tx-c", 1, "posted", 5, "c2"),
        ("demo", "tx-c", 2, "posted", 6, "c1"),  # the largest external id, not the latest's
        ("other", "tx-d", 1, "posted", 1, "d"),  # another ledger
        ("demo", "tx-e", 1, "posted", 2, "e"),  # another account
    ]
    with engine.begin() as conn:
        for ledger, tx_id, version, status, effective_ns, external_id in versions:
            conn.execute(
                tables.transactions.insert().values(
                    ledger_id=ledger,
                    transaction_id=tx_id,
                    version=version,
                    kind="transfer",
                    status=status,
                    effective_ns=effective_ns,
                    recorded_ns=effective_ns,
                    external_id=external_id,
                    chain_seq=effective_ns,
                )
            )
            for index, direction in enumerate(("debit", "credit")):
                account = bank if tx_id != "tx-e" and direction == "debit" else "income"
                conn.execute(
                    tables.entries.insert().values(
                        ledger_id=ledger,
                        transaction_id=tx_id,
                        version=version,
                        entry_index=index,
                        account_id=account,
                        asset_id="USD/2",
                        direction=direction,
                        amount=100 * version,
                    )
                )
    try:
        found = [tuple(r) for r in _posted_entries(engine, {bank: "usd"})]
    finally:
        engine.dispose()
    assert found == [
        ("tx-c", 2, 0, bank, "debit", 200, 6, 6, "c2"),
        ("tx-b", 2, 0, bank, "debit", 200, 21, 21, "b"),
    ]
