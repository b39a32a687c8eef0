"""The workpaper whose rows polars renders is byte for byte the one openpyxl wrote cell by cell.

``workpaper_reference`` is the previous writer (every cell an openpyxl object). Each test
writes the same manifest, tables and findings with both and compares the files' bytes: any
difference in a cell, a style id, a number format, a column width, the sheet's dimension or
the ZIP's compression shows.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.exports.manifest import Digest, Manifest, build_manifest
from ledger_audit.exports.sheet_rows import (
    Column,
    MoneyColumn,
    PlainColumn,
    python_body,
    write_rows,
)
from ledger_audit.exports.tables import Table
from ledger_audit.exports.workpaper import write_workpaper
from ledger_audit.findings import FINDINGS_SCHEMA
from ledger_audit.schema.lach1 import Checkpoint
from tests.exports import workpaper_reference

AS_OF = 1_738_368_000 * 10**9  # 2025-02-01T00:00:00Z

TRICKY_TEXT = st.one_of(
    st.text(
        alphabet=st.sampled_from(
            [
                *"aZ0 =&<>\"'#/",
                "\t",
                "\n",
                "\r",
                "\x00",
                "\x0b",
                "\x1f",
                "\x85",
                "\xa0",
                "\u2028",
                "\u3000",
                "\ufffe",
                "é",
                "€",
                "😀",
            ]
        ),
        max_size=8,
    ),
    st.sampled_from(["#N/A", "=SUM(A1)", "1e5", " ", "\u3000x\u3000"]),
)
SCALES = st.sampled_from([0, 2, 3, 8, 18, 23, 31])
ASSETS = st.sampled_from(["USD/2", "EUR/2", 'B"TC/8', "JPY/0", "X/18", None])
AMOUNTS = st.one_of(
    st.none(),
    st.integers(-(10**15), 10**15),
    st.integers(-(10**18), 10**18),
    st.sampled_from([0, 1, -1, 813, 999_999_999_999_999, 10**15, -(10**16)]),
)
FLOATS = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.1, 8.13, 1e20])
)
DATES = st.one_of(st.none(), st.dates(dt.date(1899, 12, 1), dt.date(2100, 1, 1)))
TIMES = st.one_of(
    st.none(),
    st.datetimes(dt.datetime(1899, 12, 1), dt.datetime(2100, 1, 1)),  # noqa: DTZ001
)
ROW = st.fixed_dictionaries(
    {
        "label": st.one_of(st.none(), TRICKY_TEXT),
        "count": st.one_of(st.none(), st.integers(-(10**17), 10**17)),
        "amount": AMOUNTS,
        "fee": AMOUNTS,
        "scale": st.one_of(st.none(), SCALES),
        "asset_id": ASSETS,
        "rate": FLOATS,
        "ok": st.one_of(st.none(), st.booleans()),
        "day": DATES,
        "at": TIMES,
    }
)
SCHEMA = {
    "label": pl.String(),
    "count": pl.Int64(),
    "amount": pl.Int64(),
    "fee": pl.Decimal(38, 0),
    "scale": pl.Int32(),
    "asset_id": pl.String(),
    "rate": pl.Float64(),
    "ok": pl.Boolean(),
    "day": pl.Date(),
    "at": pl.Datetime("us"),
}
EMPTY_ROW = dict.fromkeys(SCHEMA)


def _manifest() -> Manifest:
    return build_manifest(
        run_time_ns=AS_OF,
        parameters={"period": "2025-01"},
        inputs=[Digest("ledger.sqlite", "frames", "a" * 64, 3)],
        outputs=[Digest("report.html", "file", "b" * 64, 10)],
        checkpoints=[Checkpoint("demo", 5, "c" * 64, 5)],
    )


def _findings(messages: list[str | None]) -> pl.DataFrame:
    rows = [
        {
            **dict.fromkeys(FINDINGS_SCHEMA),
            "rule": "balance.drift",
            "severity": "high",
            "chain_seq": 10**16 + n,
            "version": n,
            "message": message,
        }
        for n, message in enumerate(messages)
    ]
    return pl.DataFrame(rows, schema=FINDINGS_SCHEMA, orient="row")


def _both(tables: list[Table], findings: pl.DataFrame, folder: Path) -> tuple[bytes, bytes]:
    manifest = _manifest()
    new = write_workpaper(folder / "new.xlsx", manifest, tables, findings, as_of_ns=AS_OF)
    old = workpaper_reference.write_workpaper(
        folder / "old.xlsx", manifest, tables, findings, as_of_ns=AS_OF
    )
    return new.read_bytes(), old.read_bytes()


def _table(rows: list[dict[str, object]], name: str = "Mixed") -> Table:
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    return Table(name, frame, ("amount", "fee"), percent=("rate",), debit_credit=("amount",))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(ROW, max_size=12),
    padding=st.sampled_from([0, 197, 205]),
    messages=st.lists(st.one_of(st.none(), TRICKY_TEXT), max_size=4),
)
def test_any_table_gives_the_bytes_openpyxl_wrote_cell_by_cell(
    rows: list[dict[str, object]], padding: int, messages: list[str | None], tmp_path: Path
) -> None:
    """Text, integers past 15 digits, money at any scale, NaN, dates before 1900-03-01...

    ``padding`` empty rows first put the generated rows before, across and after row 200,
    where openpyxl stops writing every row (the first use of a style later on still counts).
    """
    table = _table([EMPTY_ROW] * padding + rows)
    plain = Table("Plain", pl.DataFrame({"n": [1, 2]}), note="no money")
    new, old = _both([table, plain], _findings(messages), tmp_path)
    assert new == old


def test_styles_first_used_after_row_200_number_as_openpyxl_numbered_them(tmp_path: Path) -> None:
    """A currency, a scale, an amount as text and the first date, each first at row 250+."""
    rows: list[dict[str, object]] = [{**EMPTY_ROW, "label": f"r{n}"} for n in range(300)]
    rows[250] = {**EMPTY_ROW, "amount": 12_345, "scale": 2, "asset_id": "EUR/2"}
    rows[260] = {**EMPTY_ROW, "amount": 10**17, "scale": 2, "asset_id": "USD/2"}
    rows[270] = {**EMPTY_ROW, "amount": 5, "scale": 23, "asset_id": "X/23"}
    rows[280] = {**EMPTY_ROW, "day": dt.date(2025, 1, 31), "at": dt.datetime(2025, 1, 31, 12)}  # noqa: DTZ001
    rows[290] = {**EMPTY_ROW, "amount": 7, "scale": 0, "asset_id": "JPY/0"}
    later = _table([{**EMPTY_ROW, "amount": 1, "scale": 8, "asset_id": "B/8"}], "Later")
    new, old = _both([_table(rows), later], _findings(["x"] * 250), tmp_path)
    assert new == old


def test_an_empty_table_and_no_findings(tmp_path: Path) -> None:
    new, old = _both([_table([])], _findings([]), tmp_path)
    assert new == old


def test_text_past_excel_cell_limit_is_cut_the_same_way(tmp_path: Path) -> None:
    rows = [{**EMPTY_ROW, "label": " " + "x" * 40_000}, {**EMPTY_ROW, "label": "short"}]
    new, old = _both([_table(rows)], _findings(["y" * 33_000]), tmp_path)
    assert new == old


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 7])
def test_rows_are_the_same_whatever_the_chunk_size(chunk_rows: int) -> None:
    frame = pl.DataFrame(
        {
            "t": ["a", None, " b", "c&d", "", "e", "f", "g"],
            "n": [1, 2, None, 10**16, -5, 0, 7, 8],
            "x": [0.5, None, math.nan, 1e300, -0.0, 2.5, 8.13, 1.0],
            "m": [100, 250, None, 1, 2, 3, 4, 5],
            "scale": [2, 2, 2, 2, 2, 2, 2, 2],
        }
    )
    columns: list[Column] = [
        PlainColumn("A", "t"),
        PlainColumn("B", "n", 4),
        PlainColumn("C", "x"),
        MoneyColumn("D", "m", "scale", None, {("", 2): 3}),
    ]
    whole, chunked = io.BytesIO(), io.BytesIO()
    write_rows(whole, frame, columns)
    write_rows(chunked, frame, columns, chunk_rows=chunk_rows)
    assert whole.getvalue() == chunked.getvalue()
    assert whole.getvalue().startswith(
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>a</t></is></c><c r="B2" s="4" t="n"><v>1</v>'
        b'</c><c r="C2" t="n"><v>0.5</v></c><c r="D2" s="3" t="n"><v>1</v></c></row>'
        b'<row r="3"><c r="B3" s="4" t="n"><v>2</v></c><c r="D3" s="3" t="n"><v>2.5</v></c>'
    )


@pytest.mark.parametrize(
    ("value", "body"),
    [
        ("", ' t="inlineStr" />'),
        ("  ", ' t="inlineStr"><is><t>  </t></is></c>'),
        (" a", ' t="inlineStr"><is><t xml:space="preserve"> a</t></is></c>'),
        ("<&>", ' t="inlineStr"><is><t>&lt;&amp;&gt;</t></is></c>'),
        (True, ' t="b"><v>1</v></c>'),
        (8.13, ' t="n"><v>8.130000000000001</v></c>'),
        (math.inf, ' t="n"><v /></c>'),
        (Decimal("1234.50"), ' t="n"><v>1234.5</v></c>'),
        (dt.date(2025, 1, 31), ' t="n"><v>45688</v></c>'),
        (dt.date(1900, 1, 1), ' t="n"><v>1</v></c>'),
    ],
)
def test_a_cell_as_openpyxl_writes_it(value: object, body: str) -> None:
    assert python_body(value) == body


def test_a_sheet_that_fails_to_render_fails_the_write_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next sheet renders on a helper thread: its error is the write's, no file is left."""
    from ledger_audit.exports import workpaper

    rendered: list[str] = []
    write_xml = workpaper._SheetRows.write_xml

    def failing(self: workpaper._SheetRows, out: io.BufferedIOBase, stub: bytes) -> None:
        rendered.append(self.sheet.title)
        if self.sheet.title == "Second":
            raise RuntimeError("cannot render Second")
        write_xml(self, out, stub)  # type: ignore[arg-type]

    tables = [_table([EMPTY_ROW] * 3, "First"), _table([EMPTY_ROW] * 3, "Second")]
    # a first write opens what stays open (thread pools, caches), so the count compares
    write_workpaper(tmp_path / "warm.xlsx", _manifest(), tables, _findings(["x"]), as_of_ns=AS_OF)
    (tmp_path / "warm.xlsx").unlink()
    monkeypatch.setattr(workpaper._SheetRows, "write_xml", failing)
    fds = len(list(Path("/proc/self/fd").iterdir()))
    target = tmp_path / "book.xlsx"
    with pytest.raises(RuntimeError, match="cannot render Second"):
        write_workpaper(target, _manifest(), tables, _findings(["x"]), as_of_ns=AS_OF)
    assert rendered[:2] == ["First", "Second"]
    assert list(tmp_path.iterdir()) == []
    assert len(list(Path("/proc/self/fd").iterdir())) == fds  # every rendered sheet closed
