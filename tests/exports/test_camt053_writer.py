"""camt.053 writer: what it writes, our parser reads back unchanged, with no finding."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ledger_audit.exports.camt053 import CamtHeader, write_camt053
from ledger_audit.exports.stripe import write_stripe_report
from ledger_audit.sources.bank.camt053 import parse_camt053
from ledger_audit.sources.bank.load import load_statement
from tests.exports.statement_rows import balances, comparable, day, records

HEADER = CamtHeader("MSG-2025-01", dt.datetime(2025, 2, 1, 6, 0, tzinfo=dt.UTC))
EUR = "DE00DEMO0000000002"
DROP = ("source", "file", "line", "record_id")


def sample() -> tuple[pl.DataFrame, pl.DataFrame]:
    base = {"account_ref": EUR, "asset_id": "EUR/2", "statement_id": "STMT-EUR-2025-01"}
    recs = records(
        "camt053",
        [
            base
            | {
                "amount": 50_000,
                "booking_date": day(2),
                "value_date": day(2),
                "bank_ref": "E0001",
                "end_to_end_id": "sepa-00000007",
                "counterparty": "Anna Example",
                "text": "SEPA credit; wallet top-up",
                "type_code": "PMNT/RCDT/ESCT",
            },
            base
            | {
                "amount": -1_234,
                "booking_date": day(3),
                "bank_ref": "E0002",
                "end_to_end_id": "payout-1;payout-2",
                "tx_id": "T1;T2",
                "customer_ref": "RF18539007547034",
                "counterparty": "Ben;Cleo",
                "batch_key": "PMT-9",
                "type_code": "PMNT/ICDT/ESCT",
            },
            base
            | {
                "amount": -500,
                "booking_date": day(4),
                "bank_ref": "E0003",
                "reversal": True,
                "status": "BOOK",
                "type_code": "CHRG",
            },
            base | {"amount": 700, "booking_date": day(5), "status": "PDNG"},
        ],
    )
    bals = balances(
        "camt053",
        [
            base | {"kind": "OPBD", "date": day(1), "amount": 10_000},
            base | {"kind": "ITBD", "date": day(3), "amount": 58_766, "intermediate": True},
            base | {"kind": "CLBD", "date": day(5), "amount": 58_266},
        ],
    )
    return recs, bals


def test_round_trip_gives_the_same_records_and_balances(tmp_path: Path) -> None:
    recs, bals = sample()
    path = tmp_path / "statement.xml"
    ids = write_camt053(path, recs, bals, HEADER)
    parsed = load_statement(path)
    assert parsed.source == "camt053"
    assert parsed.findings.is_empty(), parsed.findings.to_dicts()
    assert parsed.rejected == 0
    assert parsed.records["record_id"].to_list() == list(ids)
    assert ids[1] == "statement.xml:/Document/BkToCstmrStmt/Stmt[1]/Ntry[2]"
    assert_frame_equal(comparable(parsed.records, DROP), comparable(recs, DROP))
    assert_frame_equal(comparable(parsed.balances, DROP[:3]), comparable(bals, DROP[:3]))


def test_one_statement_per_statement_id_and_the_summary_is_verified(tmp_path: Path) -> None:
    recs, bals = sample()
    other = recs.head(1).with_columns(
        pl.lit("STMT-2").alias("statement_id"), pl.lit("DE00OTHER").alias("account_ref")
    )
    path = tmp_path / "two.xml"
    write_camt053(path, pl.concat([recs, other]), bals, HEADER)
    parsed = parse_camt053(path)
    assert parsed.findings.is_empty()
    assert parsed.records["statement_id"].unique(maintain_order=True).to_list() == [
        "STMT-EUR-2025-01",
        "STMT-2",
    ]
    text = path.read_text(encoding="utf-8")
    assert "<NbOfNtries>4</NbOfNtries>" in text
    broken = tmp_path / "broken.xml"
    broken.write_text(text.replace("<NbOfNtries>4</NbOfNtries>", "<NbOfNtries>5</NbOfNtries>"))
    assert parse_camt053(broken).findings["rule"].to_list() == ["statement.record_count_mismatch"]


def test_what_camt_cannot_hold_is_refused(tmp_path: Path) -> None:
    recs, bals = sample()
    with pytest.raises(ValueError, match="payout id"):
        write_camt053(
            tmp_path / "x.xml", recs.with_columns(pl.lit("po_1").alias("payout_id")), bals, HEADER
        )
    with pytest.raises(ValueError, match="statement_id"):
        write_camt053(
            tmp_path / "x.xml",
            recs.with_columns(pl.lit(None, dtype=pl.String()).alias("statement_id")),
            bals.clear(),
            HEADER,
        )


def test_stripe_report_round_trip(tmp_path: Path) -> None:
    common = {"account_ref": "stripe", "asset_id": "USD/2", "booking_date": day(6)}
    recs = records(
        "stripe",
        [
            common
            | {
                "record_id": "txn_1",
                "bank_ref": "txn_1",
                "amount": -10_000,
                "tx_id": "iauth_1",
                "payout_id": "po_1",
                "batch_key": "po_1",
                "statement_id": "po_1",
                "type_code": "issuing_authorization",
                "text": "Card capture",
            },
            common
            | {
                "record_id": "txn_1:fee",
                "bank_ref": "txn_1",
                "amount": -60,
                "tx_id": "iauth_1",
                "payout_id": "po_1",
                "batch_key": "po_1",
                "statement_id": "po_1",
                "type_code": "fee",
                "text": "Stripe fee for txn_1",
            },
            common
            | {
                "record_id": "txn_2",
                "bank_ref": "txn_2",
                "amount": 10_060,
                "tx_id": "po_1",
                "payout_id": "po_1",
                "batch_key": "po_1",
                "statement_id": "po_1",
                "type_code": "payout",
                "value_date": day(7),
            },
        ],
    )
    path = tmp_path / "report.csv"
    write_stripe_report(path, recs)
    parsed = load_statement(path)
    assert parsed.source == "stripe"
    assert parsed.findings.is_empty(), parsed.findings.to_dicts()
    assert_frame_equal(
        comparable(parsed.records, ("source", "file", "line")),
        comparable(recs, ("source", "file", "line")),
    )
