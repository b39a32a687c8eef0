"""A Stripe report read by column gives the per-row parser's statement, or hands it over.

``parse_stripe`` reads a clean report by column (``stripe_columns``) and any other row by
row; these properties write reports from cells chosen to sit on both sides of every rule
(amounts at each exponent, dates, padding, empty fields, payouts, fees, short rows, blank
lines, quoted commas and newlines) and hold the two paths equal.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger_audit.sources.bank import stripe, stripe_columns
from ledger_audit.sources.bank.amounts import AmountError, to_minor
from ledger_audit.sources.bank.builder import StatementBuilder
from ledger_audit.sources.bank.csvrows import read_csv_values
from ledger_audit.sources.bank.records import ParsedStatement

# Not exports.stripe.HEADER: another column order, which the parser matches by name.
HEADER = (
    "balance_transaction_id",
    "created_utc",
    "available_on_utc",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "description",
    "automatic_payout_id",
)
AMOUNTS = st.sampled_from(
    (
        "10.00", "0.59", "9.41", "-2.50", "1000", "36", "964", "0", "0.00", "", "1.005",
        "1.0050", "+3", "-0", ".5", "5.", ",5", "1,50", "1.2.3", "abc", "-", ".", "1e3",
        " 1.00", "1.00 ", "999999999999999999", "9999999999999999999", "0000000000000000001",
        "12.345", "12.3450", "\u0661", "1\x1c",
    )
)  # fmt: skip
DATES = st.sampled_from(
    (
        "2024-03-01 10:00:00", "2024-03-01", "2024-03-01T09:00:00Z", "2024-02-30",
        "0000-01-01", "2024-3-01", "", "01/03/2024", " 2024-03-01", "2024-03-01x",
        "2024-12-31 23:59:59",
    )
)  # fmt: skip
CURRENCIES = st.sampled_from(("usd", "USD", "jpy", "kwd", "eur", "", "us", " usd", "xx1"))
CATEGORIES = st.sampled_from(("charge", "refund", "payout", "fee", "", "Payout"))
IDS = st.sampled_from(("txn_1", "txn_2", "txn_3", "", " txn_4", "po_1", "ch_1"))
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)

row = st.tuples(IDS, DATES, DATES, CURRENCIES, AMOUNTS, AMOUNTS, AMOUNTS, CATEGORIES,
                IDS, TEXT, st.sampled_from(("po_1", "po_2", "", "txn_1")))  # fmt: skip
line = st.one_of(
    row.map(list),
    row.map(lambda cells: list(cells[:5])),  # a short row
    st.just([]),  # a blank line
)


EXPONENTS = {"usd": 2, "USD": 2, "jpy": 0, "kwd": 3}


def _loads(text: str, exponent: int) -> bool:
    try:
        to_minor(text, exponent)
    except AmountError:
        return False
    return True


def _amount(exponent: int) -> st.SearchStrategy[str]:
    """Amount text ``to_minor`` takes at ``exponent``: signs, leading and trailing zeros,
    both separators, up to 18 significant digits."""
    parts = st.tuples(
        st.sampled_from(("", "-", "+")),
        st.text("0123456789", max_size=19),
        st.sampled_from(("", ".", ",")),
        st.text("0123456789", max_size=exponent),
        st.text("0", max_size=2),
    )
    return parts.map(lambda p: p[0] + p[1] + (p[2] + p[3] + p[4] if p[2] else "")).filter(
        lambda text: _loads(text, exponent)
    )


clean_row = st.sampled_from(sorted(EXPONENTS)).flatmap(
    lambda currency: st.tuples(
        st.sampled_from(("txn_1", "txn_2", "po_1", "t,x", 't"q')),
        st.sampled_from(
            ("2024-03-01", "2024-03-01 10:00:00", "2024-12-31T23:59:59Z", "2000-02-29")
        ),
        st.sampled_from(("", "2024-03-03", "1999-02-28 00:00:00")),
        st.just(currency),
        _amount(EXPONENTS[currency]),
        st.one_of(st.just(""), _amount(EXPONENTS[currency])),
        st.one_of(st.just(""), _amount(EXPONENTS[currency])),
        CATEGORIES,
        st.sampled_from(("", "po_1", "po_2", "ch_1")),
        TEXT.map(lambda text: text.replace("\r", "").strip()),  # a bare CR ends a CSV line
        st.sampled_from(("po_1", "po_2", "", "txn_1")),
    ).map(list)
)


def _report(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for cells in rows:
        writer.writerow(cells)
    return out.getvalue()


def _both(text: str) -> tuple[ParsedStatement, ParsedStatement]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.csv"
        path.write_text(text, encoding="utf-8")
        return (
            stripe.parse_stripe(path, by_column=True),
            stripe.parse_stripe(path, by_column=False),
        )


def _assert_equal(by_column: ParsedStatement, by_row: ParsedStatement) -> None:
    assert by_column.records.schema == by_row.records.schema
    assert by_column.records.to_dicts() == by_row.records.to_dicts()
    assert by_column.findings.to_dicts() == by_row.findings.to_dicts()
    assert by_column.balances.equals(by_row.balances)
    assert by_column.counts == by_row.counts


CLEAN = [
    ["txn_1", "2024-03-01 10:00:00", "2024-03-03", "usd", "10.00", "0.59", "9.41", "charge",
     "ch_1", "Order 1", "po_1"],
    ["txn_2", "2024-03-01", "", "jpy", "1000", "36", "", "charge", "ch_2", "", "po_2"],
    ["txn_3", "2024-03-02", "2024-03-04", "USD", "-2.50", "", "-2.50", "refund", "re_1",
     "Refund, x\nsecond line", "po_1"],
    ["txn_4", "2024-03-05", "2024-03-05", "usd", "-6.91", "0.00", "-6.91", "payout", "po_1",
     "STRIPE PAYOUT", ""],
    ["txn_5", "2024-03-05", "", "kwd", "1.234", "0.001", "1.233", "charge", "", "", ""],
    ["txn_6", "2024-03-06", "", "usd", "5", "1", "4.5", "", "ch_6", "net off", "po_9"],
]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line, max_size=12))
@example(rows=CLEAN)
@example(rows=[*CLEAN, ["txn_7", "2024-03-01", "", "usd", "1.005", "0", "", "", "", "", ""]])
@example(rows=[*CLEAN, ["txn_8", "0000-01-01", "", "usd", "1", "0", "", "", "", "", ""]])
@example(rows=[*CLEAN, ["txn_9", "2024-03-01", "", "usd", " 1", "0", "", "", "", "", ""]])
@example(
    rows=[*CLEAN, ["t7", "2024-03-01", "", "jpy", "1000000000000000000", "", "", "", "", "", ""]]
)
@example(rows=[*CLEAN, ["t8", "2024-03-09", "", "usd", "-7.00", "", "", "payout", "po_1", "", ""]])
@example(
    rows=[
        *(["t", "2024-03-01", "", "jpy", "900000000000000000", "", "", "", "", "", "po_1"],) * 11,
        ["p", "2024-03-02", "", "jpy", "-1", "", "", "payout", "po_1", "", ""],
    ]
)  # the nets pass 2**63: summed exactly
def test_by_column_and_by_row_give_the_same_statement(rows: list[list[str]]) -> None:
    """Random rows: mostly the per-row path; the examples put one rule's edge in a clean report:
    19 significant digits, a second payout row for the same payout (its amount wins), nets
    past 64 bits."""
    _assert_equal(*_both(_report(rows)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(clean_row, min_size=1, max_size=12))
def test_clean_reports_are_read_by_column_as_by_row(rows: list[list[str]]) -> None:
    """Every cell valid: the columnar path takes the report, and gives the rows' statement."""
    text = _report(rows)
    assert _columnar(text)
    _assert_equal(*_both(text))


def _columnar(text: str) -> bool:
    """Whether ``read_by_column`` takes the report (rather than handing it to the rows)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.csv"
        path.write_text(text, encoding="utf-8")
        header, rows = read_csv_values(path)
        out = StatementBuilder("stripe", str(path))
        taken = stripe_columns.read_by_column(out, header, rows, stripe._columns(header, str(path)))
        return taken is not None


def test_a_clean_report_is_read_by_column_and_a_bad_row_hands_it_over() -> None:
    assert _columnar(_report(CLEAN))
    by_column, _ = _both(_report(CLEAN))
    assert by_column.records.height == 10  # six gross lines and four fee lines
    assert by_column.records.filter(pl.col("record_id") == "txn_2:fee")["amount"].item() == -36
    control = by_column.findings["message"].to_list()
    assert control == ["balance transaction txn_6: net 450 is not gross 500 - fee 100"]
    for bad in (
        ["", "2024-03-01", "", "usd", "1", "0", "", "", "", "", ""],  # no id
        ["t", "2024-02-30", "", "usd", "1", "0", "", "", "", "", ""],  # no such day
        ["t", "2024-03-01", "", "usd", "1.005", "0", "", "", "", "", ""],  # too many places
        ["t", "2024-03-01", "", "us", "1", "0", "", "", "", "", ""],  # not a currency
        ["t", "2024-03-01", "", "usd", "1 ", "0", "", "", "", "", ""],  # padded
        ["t", "2024-03-01", "", "usd", "1"],  # short
    ):
        assert not _columnar(_report([*CLEAN, bad])), bad
