"""ERP writers: golden NetSuite, QuickBooks and Xero CSVs; reproducible bytes; Parquet."""

from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.errors import InputError
from ledger_audit.exports.erp import (
    NETSUITE_HEADER,
    QUICKBOOKS_HEADER,
    XERO_HEADER,
    write_journals_parquet,
    write_netsuite_journals,
    write_quickbooks_journals,
    write_xero_journals,
    xero_rows,
)
from ledger_audit.reports.journals import SummaryJournals, build_summary_journals
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.sources.gl_mapping import GlMapping, GlRule
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period
from tests.text_ledger import ledger_from_text

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

MAPPING = GlMapping(
    version="2025.1",
    suspense_account="9990",
    clearing_account="9995",
    dimensions=("department", "class", "location"),
    rules=(
        GlRule("assets:bank:*", "1010", ("treasury", None, "US")),
        GlRule("assets:cash:jpy", "1030", ("treasury", None, "JP")),
        GlRule("liabilities:wallet:*", "2010", ("wallets", "retail", "US")),
        GlRule("revenue:fees:*", "4010", ("revenue", "fees", None)),
        GlRule("equity:conversion", "3900", (None, "fx", None)),
    ),
    gl_names=(
        ("1010", "Cash:Operating"),
        ("2010", "Customer Wallets"),
        ("4010", "Fees, card and instant"),  # a comma: quoted in every CSV
    ),
)

LEDGER = """
ledger acme
account assets:bank:usd debit USD/2
account assets:cash:jpy debit JPY/0
account liabilities:wallet:a credit USD/2
account liabilities:wallet:b credit USD/2
account revenue:fees:card credit USD/2
account equity:conversion credit *
account other:mystery debit USD/2
tx t1 standard posted at=3600
  assets:bank:usd debit 150000 USD/2
  liabilities:wallet:a credit 150000 USD/2
tx t2 standard posted at=7200
  liabilities:wallet:a debit 2500 USD/2
  liabilities:wallet:b credit 2450 USD/2
  revenue:fees:card credit 50 USD/2
tx t3 standard posted at=90000
  liabilities:wallet:b debit 1000 USD/2
  equity:conversion credit 1000 USD/2
  assets:cash:jpy debit 1500 JPY/0
  equity:conversion credit 1500 JPY/0
tx t4 standard posted at=90500
  other:mystery debit 7 USD/2
  assets:bank:usd credit 7 USD/2
"""


def journals(max_lines: int = 10_000) -> SummaryJournals:
    return build_summary_journals(
        ledger_from_text(LEDGER), MAPPING, Period.month("2025-01"), "day", max_lines=max_lines
    )


def check_golden(path: Path, name: str) -> None:
    golden = GOLDEN / name
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(path.read_bytes())
    assert golden.exists(), f"no golden file {golden}: run with UPDATE_GOLDEN=1"
    assert path.read_bytes() == golden.read_bytes(), f"{name} differs from its golden file"


WRITERS = {
    "netsuite.csv": write_netsuite_journals,
    "quickbooks.csv": write_quickbooks_journals,
    "xero.csv": write_xero_journals,
}


@pytest.mark.parametrize("name", sorted(WRITERS))
@pytest.mark.parametrize("max_lines", [10_000, 3])
def test_golden_csv(tmp_path: Path, name: str, max_lines: int) -> None:
    out = WRITERS[name](journals(max_lines), tmp_path / name)
    check_golden(out, f"{max_lines}-{name}")


def read_csv(path: Path) -> list[list[str]]:
    with io.StringIO(path.read_text(encoding="utf-8"), newline="") as text:
        return list(csv.reader(text))


def test_netsuite_layout(tmp_path: Path) -> None:
    rows = read_csv(write_netsuite_journals(journals(), tmp_path / "ns.csv"))
    assert rows[0] == [*NETSUITE_HEADER, "Department", "Class", "Location"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Date"] == "01/01/2025"
    assert first["Currency"] == "USD"
    assert (first["Account"], first["Debit"], first["Credit"]) == ("1010", "1500.00", "")
    jpy = [dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[2] == "JPY"]
    assert [(r["Account"], r["Debit"], r["Credit"]) for r in jpy] == [
        ("1030", "1500", ""),
        ("3900", "", "1500"),
    ]


def test_quickbooks_layout(tmp_path: Path) -> None:
    rows = read_csv(write_quickbooks_journals(journals(), tmp_path / "qbo.csv"))
    assert rows[0] == list(QUICKBOOKS_HEADER)
    by_account = {r[4]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    fees = by_account["Fees, card and instant"]
    assert (fees["Credits"], fees["Debits"], fees["Class"], fees["Location"]) == (
        "0.50",
        "",
        "fees",
        "",
    )
    assert by_account["9990"]["Debits"] == "0.07"  # no display name: the GL account
    assert all(len(r[0]) <= 21 for r in rows[1:])  # QuickBooks' journal number limit


def test_xero_layout_and_tracking(tmp_path: Path) -> None:
    rows = read_csv(write_xero_journals(journals(), tmp_path / "xero.csv", tax_rate="No VAT"))
    assert rows[0] == list(XERO_HEADER)
    line = dict(zip(rows[0], rows[1], strict=True))
    assert line["*Date"] == "01/01/2025"
    assert line["*Amount"] == "1500.00"
    assert line["*TaxRate"] == "No VAT"
    assert (line["TrackingName1"], line["TrackingOption1"]) == ("Department", "treasury")
    assert (line["TrackingName2"], line["TrackingOption2"]) == ("", "")  # no class on 1010
    assert any(r[5].startswith("-") for r in rows[1:])  # credits are negative
    header, located = xero_rows(journals(), tracking=[("location", "Region")])
    assert header == XERO_HEADER
    assert located[0][6:] == ("Region", "US", "", "")
    with pytest.raises(InputError, match="tracking"):
        xero_rows(journals(), tracking=[("colour", "Colour")])


def test_same_journals_same_bytes(tmp_path: Path) -> None:
    digests = []
    for run in ("a", "b"):
        out = tmp_path / run
        written = [
            write_netsuite_journals(journals(3), out / "ns.csv"),
            write_quickbooks_journals(journals(3), out / "qbo.csv"),
            write_xero_journals(journals(3), out / "xero.csv"),
            *write_journals_parquet(journals(3), out),
        ]
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in written])
    assert digests[0] == digests[1]
    assert not list(tmp_path.rglob("*.partial"))


def test_parquet_round_trip(tmp_path: Path) -> None:
    summary = journals(3)
    lines, drilldown = write_journals_parquet(summary, tmp_path)
    assert (lines.name, drilldown.name) == ("journal_lines.parquet", "journal_drilldown.parquet")
    assert pl.read_parquet(lines).equals(summary.lines)
    assert pl.read_parquet(drilldown).equals(summary.drilldown)


def test_wide_ledger_amounts_write_the_same(tmp_path: Path) -> None:
    frames = ledger_from_text(LEDGER)
    wide = LedgerFrames.from_tables(
        {
            **dict(frames.items()),
            "entries": frames.entries.with_columns(pl.col("amount").cast(WIDE_AMOUNT)),
        }
    )
    summary = build_summary_journals(wide, MAPPING, Period.month("2025-01"), "day", max_lines=3)
    assert summary.balanced
    assert summary.ties_out
    out = write_netsuite_journals(summary, tmp_path / "ns.csv")
    assert out.read_bytes() == (GOLDEN / "3-netsuite.csv").read_bytes()
