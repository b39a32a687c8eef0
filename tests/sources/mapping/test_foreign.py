"""The foreign-layout exporters themselves: what they write is the ledger, exactly.

These tests read the written files back with plain drivers (sqlite3, psycopg, polars CSV), not
with the project's reader, so a round-trip test failing later points at the reader.
"""

from __future__ import annotations

import sqlite3
import tomllib
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import polars as pl
import psycopg
import pytest

from ledger_audit.sources import LedgerFrames
from tests.sources.mapping.foreign import (
    NotRepresentableError,
    entries_from_pairs,
    export_csv_history,
    export_csv_versioned,
    export_pg_entries,
    export_sqlite_transfers,
    libpq_url,
    major_text,
    transfer_pairs,
)

LEG = ["transaction_id", "version", "account_id", "asset_id", "direction", "amount"]


def _posted_sums(entries: pl.DataFrame) -> dict[tuple[str, str], int]:
    signed = (
        pl.when(pl.col("direction") == "debit").then(pl.col("amount")).otherwise(-pl.col("amount"))
    )
    sums = entries.group_by("account_id", "asset_id").agg(signed.sum().alias("net"))
    return {(str(a), str(s)): int(n) for a, s, n in sums.iter_rows()}


def test_major_text_is_exact_for_every_scale_and_sign() -> None:
    frame = pl.DataFrame(
        {"minor": [-1234, 5, 0, 100, None, -7], "scale": [2, 2, 0, 8, 2, 0]},
        schema={"minor": pl.Int64(), "scale": pl.Int32()},
    )
    text = frame.select(major_text("minor"))["minor"].to_list()
    assert text == ["-12.34", "0.05", "0", "0.00000100", None, "-7"]
    back = [
        None if t is None else int(Decimal(t).scaleb(s))
        for t, s in zip(text, frame["scale"], strict=True)
    ]
    assert back == frame["minor"].to_list()


def test_transfer_pairs_keep_every_leg_of_the_demo(demo_frames: LedgerFrames) -> None:
    pairs = transfer_pairs(demo_frames.entries)
    again = entries_from_pairs(pairs)
    assert again.height == demo_frames.entries.height
    assert again.select(LEG).sort(LEG).equals(demo_frames.entries.select(LEG).sort(LEG))
    multi = pairs.group_by("transaction_id", "version").len().filter(pl.col("len") > 1)
    assert multi.height > 0  # the demo's conversions: two transfers in one transaction
    renumbered = demo_frames.entries.join(again, on=demo_frames.entries.columns, how="anti")
    kinds = (
        demo_frames.transactions.join(
            renumbered.select("transaction_id", "version").unique(),
            on=["transaction_id", "version"],
        )["kind"]
        .unique()
        .to_list()
    )
    assert set(kinds) <= {"reversal"}  # only reversals list their credit first


def test_legs_that_do_not_pair_are_refused() -> None:
    entries = pl.DataFrame(
        {
            "ledger_id": ["l"] * 3,
            "transaction_id": ["t1"] * 3,
            "version": [0] * 3,
            "entry_index": [0, 1, 2],
            "account_id": ["a", "b", "c"],
            "asset_id": ["USD/2"] * 3,
            "direction": ["debit", "credit", "credit"],
            "amount": [100, 60, 40],
        },
        schema=LedgerFrames.empty().entries.schema,
    )
    with pytest.raises(NotRepresentableError, match="1 transaction version"):
        transfer_pairs(entries)


def test_a_status_history_refuses_versions_with_other_entries(
    demo_frames: LedgerFrames, tmp_path: Path
) -> None:
    with pytest.raises(NotRepresentableError, match="change their entries between versions"):
        export_csv_history(demo_frames, tmp_path / "history")


def test_sqlite_transfers_hold_the_demo_amounts(demo_frames: LedgerFrames, tmp_path: Path) -> None:
    exported = export_sqlite_transfers(demo_frames, tmp_path / "ledger.sqlite")
    tomllib.loads(exported.mapping.read_text(encoding="utf-8"))
    with closing(sqlite3.connect(tmp_path / "ledger.sqlite")) as conn:
        rows = conn.execute(
            "SELECT debit_account, credit_account, currency, amount_cents FROM transfers"
        ).fetchall()
    net: dict[tuple[str, str], int] = {}
    for debit, credit, currency, cents in rows:
        asset = f"{currency}/2"
        net[(debit, asset)] = net.get((debit, asset), 0) + cents
        net[(credit, asset)] = net.get((credit, asset), 0) - cents
    assert {k: v for k, v in net.items() if v} == {
        k: v for k, v in _posted_sums(demo_frames.entries).items() if v
    }


def test_csv_versioned_times_carry_nanoseconds(demo_frames: LedgerFrames, tmp_path: Path) -> None:
    exported = export_csv_versioned(demo_frames, tmp_path / "csv")
    tomllib.loads(exported.mapping.read_text(encoding="utf-8"))
    txn = pl.read_csv(tmp_path / "csv" / "ledger_txn.csv", infer_schema=False)
    parsed = txn.select(
        pl.col("created").str.to_datetime("%Y-%m-%dT%H:%M:%S%.9f%:z", time_unit="ns")
    )["created"].dt.epoch("ns")
    ids = txn.select(pl.col("id"), pl.col("version").cast(pl.Int32()))
    original = ids.join(
        demo_frames.transactions, left_on=["id", "version"], right_on=["transaction_id", "version"]
    )
    assert parsed.to_list() == original["recorded_ns"].to_list()
    assert txn["created"].str.contains(r"\+01:00$").all()


def test_pg_entries_hold_the_demo_as_signed_numeric(
    demo_frames: LedgerFrames, pg_url: str, tmp_path: Path
) -> None:
    exported = export_pg_entries(demo_frames, pg_url, tmp_path)
    tomllib.loads(exported.mapping.read_text(encoding="utf-8"))
    with psycopg.connect(libpq_url(pg_url)) as conn:
        rows = conn.execute(
            "SELECT account_code, currency, sum(amount) FROM journal_lines "
            "GROUP BY account_code, currency"
        ).fetchall()
        kinds = conn.execute("SELECT DISTINCT state FROM journal ORDER BY state").fetchall()
        zone = conn.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'journal' AND column_name = 'created_at'"
        ).fetchone()
    net = {(str(a), f"{c}/2"): int(Decimal(total).scaleb(2)) for a, c, total in rows}
    assert {k: v for k, v in net.items() if v} == {
        k: v for k, v in _posted_sums(demo_frames.entries).items() if v
    }
    assert [k for (k,) in kinds] == ["APPLIED", "INFLIGHT", "VOID"]
    assert zone == ("timestamp with time zone",)
