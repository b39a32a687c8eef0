"""BAI2 writer: what it writes, our parser reads back unchanged, with no finding."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ledger_audit.exports.bai2 import Bai2Header, write_bai2
from ledger_audit.sources.bank.bai2 import parse_bai2
from ledger_audit.sources.bank.load import load_statement
from tests.exports.statement_rows import balances, comparable, day, records

HEADER = Bai2Header(
    "DEMOBANK", "LEDGERAUDIT", "0001", dt.datetime(2025, 2, 1, 6, 30, tzinfo=dt.UTC)
)
USD = "US00DEMO0000000001"


def sample() -> tuple[pl.DataFrame, pl.DataFrame]:
    recs = records(
        "bai2",
        [
            {
                "account_ref": USD,
                "asset_id": "USD/2",
                "amount": 125_000,
                "booking_date": day(2),
                "bank_ref": "B0001",
                "customer_ref": "ach-00000012",
                "text": "ACH SETTLEMENT, BATCH 12",
                "type_code": "166",
            },
            {
                "account_ref": USD,
                "asset_id": "USD/2",
                "amount": -4_250,
                "booking_date": day(2),
                "value_date": day(3),
                "bank_ref": "B0002",
                "customer_ref": "payout-00000013",
                "text": "OUTGOING TRANSFER",
                "type_code": "495",
            },
            {
                "account_ref": USD,
                "asset_id": "USD/2",
                "amount": -2_500,
                "booking_date": day(3),
                "bank_ref": "B0003",
                "type_code": None,
            },
            {
                "account_ref": "OTHER",
                "asset_id": "JPY/0",
                "amount": 1_000,
                "booking_date": day(3),
                "bank_ref": "J1",
                "customer_ref": "x",
                "text": "yen",
            },
        ],
    )
    bals = balances(
        "bai2",
        [
            {
                "account_ref": USD,
                "asset_id": "USD/2",
                "kind": "OPBD",
                "date": day(2),
                "amount": -1_000,
            },
            {
                "account_ref": USD,
                "asset_id": "USD/2",
                "kind": "CLBD",
                "date": day(2),
                "amount": 119_750,
            },
            {
                "account_ref": USD,
                "asset_id": "USD/2",
                "kind": "OPBD",
                "date": day(3),
                "amount": 119_750,
            },
            {
                "account_ref": USD,
                "asset_id": "USD/2",
                "kind": "CLBD",
                "date": day(3),
                "amount": 117_250,
            },
            {
                "account_ref": USD,
                "asset_id": "USD/2",
                "kind": "CLAV",
                "date": day(3),
                "amount": 117_000,
            },
            {
                "account_ref": "OTHER",
                "asset_id": "JPY/0",
                "kind": "OPBD",
                "date": day(3),
                "amount": 0,
            },
            {
                "account_ref": "OTHER",
                "asset_id": "JPY/0",
                "kind": "CLBD",
                "date": day(3),
                "amount": 1_000,
            },
        ],
    )
    return recs, bals


def test_round_trip_gives_the_same_records_and_balances(tmp_path: Path) -> None:
    recs, bals = sample()
    path = tmp_path / "statement.bai2"
    ids = write_bai2(path, recs, bals, HEADER)
    parsed = load_statement(path)
    assert parsed.source == "bai2"
    assert parsed.findings.is_empty(), parsed.findings.to_dicts()
    assert parsed.rejected == 0
    assert sorted(parsed.records["record_id"].to_list()) == sorted(ids)
    in_input_order = (
        pl.DataFrame({"record_id": list(ids)})
        .join(parsed.records, on="record_id", how="left", maintain_order="left")
        .select(parsed.records.columns)
    )
    drop = ("source", "file", "line", "record_id", "statement_id")
    # the writer fills in the type code a record lacked
    default = pl.when(pl.col("amount") >= 0).then(pl.lit("399")).otherwise(pl.lit("699"))
    expected = recs.with_columns(pl.col("type_code").fill_null(default))
    assert_frame_equal(comparable(in_input_order, drop), comparable(expected, drop))
    assert (
        comparable(parsed.balances, ("source", "file", "line", "statement_id"))
        .sort("date", "account_ref", "kind")
        .equals(
            comparable(bals, ("source", "file", "line", "statement_id")).sort(
                "date", "account_ref", "kind"
            )
        )
    )


def test_trailers_state_the_totals_the_parser_verifies(tmp_path: Path) -> None:
    recs, bals = sample()
    path = tmp_path / "s.bai2"
    write_bai2(path, recs, bals, HEADER)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("01,DEMOBANK,LEDGERAUDIT,250201,0630,0001,")
    assert lines[-1] == f"99,{_file_total(recs, bals)},2,{len(lines)}/"
    assert [line[:2] for line in lines].count("02") == 2
    # a damaged control total is caught by the parser: the writer's totals are the real ones
    broken = tmp_path / "broken.bai2"
    broken.write_text("\n".join([*lines[:-1], "99,1,2,3/"]) + "\n", encoding="utf-8")
    rules = set(parse_bai2(broken).findings["rule"].to_list())
    assert rules == {"statement.control_total_mismatch", "statement.record_count_mismatch"}


def _file_total(recs: pl.DataFrame, bals: pl.DataFrame) -> int:
    amounts: list[int] = recs["amount"].to_list()
    moved = sum(abs(a) for a in amounts)
    stated: list[int] = bals["amount"].to_list()
    return sum(stated) + 2 * moved


def test_an_empty_text_and_no_references_round_trip(tmp_path: Path) -> None:
    recs = records(
        "bai2",
        [
            {
                "account_ref": USD,
                "asset_id": "USD/2",
                "amount": 1,
                "booking_date": day(5),
                "type_code": "399",
            }
        ],
    )
    path = tmp_path / "one.bai2"
    write_bai2(path, recs, balances("bai2", []), HEADER)
    parsed = parse_bai2(path)
    assert parsed.findings.is_empty()
    row = parsed.records.row(0, named=True)
    assert (row["bank_ref"], row["customer_ref"], row["text"], row["amount"]) == (
        None,
        None,
        None,
        1,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end_to_end_id": "E2E"}, "no field for end_to_end_id"),
        ({"status": "PDNG"}, "booked, non-reversal"),
        ({"bank_ref": "A/B"}, "comma, slash or newline"),
        ({"type_code": "495"}, "does not fit amount"),
        ({"text": "ends with /"}, "final slash"),
        ({"asset_id": "USD/4"}, "ISO scale"),
    ],
)
def test_what_bai2_cannot_hold_is_refused(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    row = {"account_ref": USD, "asset_id": "USD/2", "amount": 100, "booking_date": day(5)} | change
    with pytest.raises(ValueError, match=message):
        write_bai2(tmp_path / "x.bai2", records("bai2", [row]), balances("bai2", []), HEADER)
    assert not (tmp_path / "x.bai2").exists()
