"""Rows that cannot be represented are rejected with a reason; everything else is loaded."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_audit.errors import InputError
from ledger_audit.exports.snapshot import write_ledger_snapshot
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.sources import LoadReport, Reason, load_ledger
from ledger_audit.sources.conform import _in_key_order, conform_table
from ledger_audit.sources.ledger_frames import REJECTION_SCHEMA
from tests.sources.sample_ledger import expected_frames

HEADER = "ledger_id,transaction_id,version,entry_index,account_id,asset_id,direction,amount"
HUGE = 10**30
TOO_WIDE = 10**38  # 39 digits


def write_entries_csv(folder: Path, lines: list[str]) -> Path:
    """A snapshot folder with the sample ledger, whose entries.csv is replaced by ``lines``."""
    write_ledger_snapshot(expected_frames(), folder, "csv")
    path = folder / "entries.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def rejections_of(report: LoadReport, table: str) -> list[tuple[str, str, str, str | None]]:
    frame = report.rejections.filter(pl.col("table") == table)
    return list(
        zip(
            frame["locator"].to_list(),
            frame["column"].to_list(),
            frame["reason"].to_list(),
            frame["raw_value"].to_list(),
            strict=True,
        )
    )


def test_bad_csv_rows_are_rejected_with_reasons(tmp_path: Path) -> None:
    path = write_entries_csv(
        tmp_path,
        [
            "L1,tx-1,0,0,assets:bank,USD/2,debit,100",  # row 1: fine
            "L1,tx-1,0,1,liabilities:wallet:alice,USD/2,credit,12.5",  # row 2
            "L1,tx-2,0,0,assets:bank,USD/2,debit,abc",  # row 3
            ",tx-2,0,1,assets:bank,USD/2,credit,5",  # row 4: empty key
            f"L1,tx-3,0,0,assets:bank,USD/2,debit,{HUGE}",  # row 5: fits Decimal(38, 0)
            f"L1,tx-3,0,1,assets:bank,USD/2,credit,{TOO_WIDE}",  # row 6: 39 digits
            "L1,tx-4,x,0,assets:bank,USD/2,debit,",  # row 7: two bad cells
            "L1,tx-4,0,1,assets:bank,USD/2,debit,-3",  # row 8: negative, representable
        ],
    )
    frames, report = load_ledger(tmp_path)

    assert rejections_of(report, "entries") == [
        ("row 2", "amount", Reason.NOT_AN_INTEGER, "12.5"),
        ("row 3", "amount", Reason.NOT_AN_INTEGER, "abc"),
        ("row 4", "ledger_id", Reason.NULL_IN_KEY, None),
        ("row 6", "amount", Reason.AMOUNT_BEYOND_38_DIGITS, str(TOO_WIDE)),
        ("row 7", "version", Reason.NOT_AN_INTEGER, "x"),
        ("row 7", "amount", Reason.NULL_NOT_ALLOWED, None),
    ]
    assert set(report.rejections["source"].to_list()) == {str(path)}
    count = report.count("entries")
    assert (count.read, count.loaded, count.rejected) == (8, 3, 5)
    for c in report.counts:
        assert c.read == c.loaded + c.rejected

    # the huge amount is loaded, exactly, and switches the column to Decimal(38, 0)
    assert frames.entries.schema["amount"] == WIDE_AMOUNT
    assert frames.entries["amount"].to_list() == [Decimal(100), Decimal(HUGE), Decimal(-3)]
    # the other tables are untouched
    assert frames.transactions.equals(expected_frames().transactions)


def test_amount_within_int64_stays_int64(tmp_path: Path) -> None:
    write_entries_csv(
        tmp_path,
        [
            f"L1,tx-1,0,0,a,USD/2,debit,{2**63 - 1}",
            f"L1,tx-1,0,1,a,USD/2,credit,{-(2**63)}",
            "L1,tx-1,0,2,a,USD/2,credit,+0012",
        ],
    )
    frames, report = load_ledger(tmp_path)
    assert report.rejected == 0
    assert frames.entries.schema["amount"] == pl.Int64
    assert frames.entries["amount"].to_list() == [2**63 - 1, -(2**63), 12]


def test_a_rejected_huge_amount_does_not_widen(tmp_path: Path) -> None:
    write_entries_csv(
        tmp_path,
        [
            "L1,tx-1,0,0,a,USD/2,debit,1",
            f"L1,,0,1,a,USD/2,credit,{HUGE}",  # rejected for its null key
        ],
    )
    frames, report = load_ledger(tmp_path)
    assert report.count("entries").rejected == 1
    assert frames.entries.schema["amount"] == pl.Int64


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1.0", Reason.NOT_AN_INTEGER),
        ("1e3", Reason.NOT_AN_INTEGER),
        (" 1", Reason.NOT_AN_INTEGER),
        ("", Reason.NOT_AN_INTEGER),  # a quoted empty string is a value, not a null
        ("2147483648", Reason.OUT_OF_RANGE),  # version is Int32
    ],
)
def test_integer_parsing_is_strict(raw: str, reason: Reason) -> None:
    raw_frame = pl.DataFrame(
        {
            "ledger_id": ["L1"],
            "transaction_id": ["t"],
            "version": [raw],
            "entry_index": ["0"],
            "account_id": ["a"],
            "asset_id": ["USD/2"],
            "direction": ["debit"],
            "amount": ["1"],
        }
    )
    result = conform_table(raw_frame, "entries", source="test", locate_by="row")
    assert result.frame.height == 0
    assert result.rejections["reason"].to_list() == [reason]
    assert result.rejections["raw_value"].to_list() == [raw]


def test_booleans_from_text_and_integers() -> None:
    base = expected_frames().accounts
    words = ["true", "FALSE", "1", "0", "t", "yes"]
    raw = (
        pl.concat([base] * 2)
        .head(len(words))
        .with_columns(
            pl.Series("allow_negative", words),
            pl.Series("account_id", [f"a{i}" for i in range(len(words))]),
        )
    )
    result = conform_table(raw, "accounts", source="test", locate_by="key")
    assert result.frame["allow_negative"].to_list() == [True, False, True, False, True]
    assert result.rejections["reason"].to_list() == [Reason.NOT_A_BOOLEAN]
    assert result.rejections["raw_value"].to_list() == ["yes"]
    assert result.rejections["locator"].to_list() == ["ledger_id=L2, account_id=a5"]

    ints = raw.with_columns(pl.Series("allow_negative", [1, 0, 1, 0, 1, 2]))
    result = conform_table(ints, "accounts", source="test", locate_by="key")
    assert result.frame["allow_negative"].to_list() == [True, False, True, False, True]
    assert result.rejections["raw_value"].to_list() == ["2"]


def test_raw_dtypes_from_parquet_are_conformed() -> None:
    """A Parquet writer may use other integer widths, Decimal or text: all conform exactly."""
    entries = expected_frames().entries
    raw = entries.with_columns(
        pl.col("version").cast(pl.Int64),
        pl.col("entry_index").cast(pl.UInt8),
        pl.col("amount").cast(pl.Decimal(20, 0)),
    )
    result = conform_table(raw, "entries", source="test", locate_by="row")
    assert result.frame.equals(entries)
    floats = entries.with_columns(pl.col("amount").cast(pl.Float64))
    result = conform_table(floats, "entries", source="test", locate_by="row")
    assert result.frame.height == 0  # never float: every float amount is rejected
    assert set(result.rejections["reason"].to_list()) == {Reason.NOT_AN_INTEGER}


def test_binary_in_a_text_column_is_rejected() -> None:
    assets = expected_frames().assets
    raw = assets.with_columns(pl.col("kind").cast(pl.Binary))
    result = conform_table(raw, "assets", source="test", locate_by="key")
    assert result.frame.height == 0
    assert set(result.rejections["reason"].to_list()) == {Reason.NOT_TEXT}
    assert result.rejections["raw_value"][0] == b"fiat".hex()


def test_extra_columns_are_ignored_missing_ones_are_errors() -> None:
    assets = expected_frames().assets
    result = conform_table(
        assets.with_columns(extra=pl.lit(1)), "assets", source="test", locate_by="row"
    )
    assert result.frame.equals(assets)
    assert dict(result.rejections.schema) == REJECTION_SCHEMA
    with pytest.raises(InputError, match="kind"):
        conform_table(assets.drop("kind"), "assets", source="test", locate_by="row")


@pytest.mark.parametrize("typed", ["typed", "as text"])
def test_a_consumed_table_is_conformed_the_same_and_given_up(typed: str) -> None:
    """A loader hands its read over: the columns are taken out of it, and sorted one by one."""
    entries = expected_frames().entries
    raw = entries.reverse().with_columns(extra=pl.lit(1))
    if typed == "as text":
        raw = raw.with_columns(pl.col("amount").cast(pl.String))
    kept = conform_table(raw.clone(), "entries", source="test", locate_by="row")
    given = raw.clone()
    consumed = conform_table(given, "entries", source="test", locate_by="row", consume=True)
    assert consumed.frame.equals(entries)
    assert consumed.frame.equals(kept.frame)
    assert consumed.count == kept.count
    assert given.columns == ["extra"]  # only the column conform does not read is left
    left = conform_table(raw, "entries", source="test", locate_by="row")
    assert raw.columns == [*entries.columns, "extra"]  # not consumed: the caller's is intact
    assert left.frame.equals(entries)


KEY_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["L1", "L1", "L1", "L2", None]),
        st.sampled_from(["t-1", "t-10", "t-2", "T-1", ""]),
        st.integers(min_value=-2, max_value=2),
        st.integers(min_value=0, max_value=3),
    ),
    max_size=40,
)


@given(rows=KEY_ROWS, constant_ledger=st.booleans(), constant_version=st.booleans())
def test_key_order_is_a_stable_sort_on_every_key(
    rows: list[tuple[str | None, str, int, int]], constant_ledger: bool, constant_version: bool
) -> None:
    """Key columns that hold one value are left out of the sort, and the order is the same.

    Repeated keys keep their input order (the ``row`` column tells), and a column with one
    value beside nulls is not constant.
    """
    keys = ("ledger_id", "transaction_id", "version", "entry_index")
    frame = pl.DataFrame(
        rows,
        schema=dict(zip(keys, [pl.String, pl.String, pl.Int64, pl.Int64], strict=True)),
        orient="row",
    ).with_row_index("row")
    if constant_ledger:
        frame = frame.with_columns(ledger_id=pl.lit("L1"))
    if constant_version:
        frame = frame.with_columns(version=pl.lit(1, pl.Int64))
    expected = frame.sort(list(keys), maintain_order=True)
    assert _in_key_order(frame.clone(), keys).equals(expected)


def test_a_frame_whose_keys_are_all_constant_is_not_copied() -> None:
    frame = pl.DataFrame({"ledger_id": ["L1"] * 3, "transaction_id": ["t"] * 3, "x": [3, 1, 2]})
    assert _in_key_order(frame, ("ledger_id", "transaction_id")) is frame
    nulls = frame.with_columns(ledger_id=pl.Series([None, "L1", "L1"], dtype=pl.String))
    assert _in_key_order(nulls, ("ledger_id", "transaction_id"))["x"].to_list() == [3, 1, 2]
    shuffled = nulls.with_columns(ledger_id=pl.Series(["L1", "L1", None], dtype=pl.String))
    assert _in_key_order(shuffled, ("ledger_id", "transaction_id"))["x"].to_list() == [2, 3, 1]
