"""Bad input in a real-size foreign layout: a one-line error, or rejected rows naming the row.

Each case corrupts one thing in a demo exported to a foreign layout (foreign.py) and checks
the class of outcome, not only the message: a mapping error fails before anything is
loaded, in one line naming ``file:line`` and the key; a bad row is not loaded, is named in
the rejections with its column and value, and every other row still loads exactly as the
layout promised (``read == loaded + rejected`` per source relation).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import polars as pl
import psycopg
import pytest

from ledger_audit.cli import main
from ledger_audit.errors import InputError
from ledger_audit.sources import LedgerFrames, LoadReport, load_ledger
from tests.sources.mapping.foreign import (
    Exported,
    export_pg_entries,
    file_exporters,
    libpq_url,
)

TX_KEY = ["ledger_id", "transaction_id", "version"]


@pytest.fixture
def csv_layout(demo_frames: LedgerFrames, tmp_path: Path) -> Exported:
    return file_exporters()["csv_versioned"](demo_frames, tmp_path)


@pytest.fixture
def sqlite_layout(demo_frames: LedgerFrames, tmp_path: Path) -> Exported:
    return file_exporters()["sqlite_transfers"](demo_frames, tmp_path)


def edited_mapping(exported: Exported, old: str, new: str) -> tuple[Path, int]:
    """A copy of the mapping with ``old`` replaced once; returns it and the edited line."""
    text = exported.mapping.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = exported.mapping.with_name(f"edited.{exported.mapping.name}")
    path.write_text(text.replace(old, new), encoding="utf-8")
    line = text[: text.index(old)].count("\n") + 1 + old.count("\n")
    return path, line


def assert_one_line_error(error: InputError, path: Path, line: int, key: str) -> str:
    message = str(error)
    assert "\n" not in message, message
    assert len(message) < 400, message
    assert message.startswith(f"{path}:{line}: {key}: "), message
    return message


def assert_accounted(report: LoadReport) -> None:
    """Every source row loaded or rejected, and the rejections carry what is needed."""
    for count in report.source_counts:
        assert count.read == count.loaded + count.rejected, count
    assert (report.rejected == 0) == (report.rejections.height == 0)
    assert report.rejections["locator"].is_not_null().all()
    assert (report.rejections["reason"].str.len_chars() > 0).all()


def missing_versions(frames: LedgerFrames, expected: LedgerFrames) -> pl.DataFrame:
    return expected.transactions.select(TX_KEY).join(
        frames.transactions.select(TX_KEY), on=TX_KEY, how="anti"
    )


def test_a_missing_column_fails_in_one_line_before_reading(csv_layout: Exported) -> None:
    path, line = edited_mapping(csv_layout, 'amount = "amount_minor"', 'amount = "amt"')
    with pytest.raises(InputError) as caught:
        load_ledger(csv_layout.source, mapping=path)
    message = assert_one_line_error(caught.value, path, line, "entries.amount")
    assert "column 'amt' not in table 'ledger_lines.csv'; it has: " in message
    assert "amount_minor" in message


def test_an_unknown_mapping_key_fails_in_one_line(sqlite_layout: Exported) -> None:
    path, line = edited_mapping(
        sqlite_layout, 'description = "memo"\n', 'description = "memo"\nmemos = "x"\n'
    )
    with pytest.raises(InputError) as caught:
        load_ledger(sqlite_layout.source, mapping=path)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{path}:{line}: "), str(caught.value)


def test_a_text_column_read_as_an_integer_rejects_each_row_by_name(
    sqlite_layout: Exported,
) -> None:
    path, _ = edited_mapping(sqlite_layout, 'version = "rev"\nstatus', 'version = "memo"\nstatus')
    frames, report = load_ledger(sqlite_layout.source, mapping=path)
    assert_accounted(report)
    txns = report.count("transactions")
    assert frames.transactions.height == 0
    assert report.rejections.filter(pl.col("column") == "transactions.version").height == (
        sqlite_layout.expected.transactions.height
    )
    assert report.rejections["locator"].str.starts_with("txns(txn=tx-").all()
    assert txns.read == 0  # nothing reached the canonical table: all stopped at the source


def test_an_unknown_status_rejects_that_row_only(csv_layout: Exported) -> None:
    folder = Path(csv_layout.source)
    table = pl.read_csv(folder / "ledger_txn.csv", infer_schema=False)
    victim = table.row(5, named=True)
    table.with_columns(
        status=pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("frozen")).otherwise("status")
    ).write_csv(folder / "ledger_txn.csv")
    frames, report = load_ledger(csv_layout.source, mapping=csv_layout.mapping)
    assert_accounted(report)
    rejected = report.rejections.row(0, named=True)
    assert report.rejections.height == 1
    assert rejected["column"] == "transactions.status"
    assert rejected["raw_value"] == "frozen"
    assert f"id={victim['id']}" in rejected["locator"]
    assert rejected["locator"].startswith("ledger_txn.csv(")
    assert missing_versions(frames, csv_layout.expected).rows() == [
        ("demo", victim["id"], int(victim["version"]))
    ]
    kept = csv_layout.expected.transactions.join(
        missing_versions(frames, csv_layout.expected), on=TX_KEY, how="anti"
    )
    assert frames.transactions.equals(kept, null_equal=True)


def test_duplicate_ids_reject_every_copy(csv_layout: Exported) -> None:
    folder = Path(csv_layout.source)
    table = pl.read_csv(folder / "ledger_txn.csv", infer_schema=False)
    twin = table.slice(7, 1).with_columns(memo=pl.lit("a second row with the same key"))
    pl.concat([table, twin]).write_csv(folder / "ledger_txn.csv")
    frames, report = load_ledger(csv_layout.source, mapping=csv_layout.mapping)
    assert_accounted(report)
    assert report.rejections.height == 2
    rows = sorted(int(m) for m in report.rejections["locator"].str.extract(r"row (\d+)"))
    assert rows == [8, table.height + 1]
    assert missing_versions(frames, csv_layout.expected).height == 1


def test_a_decimal_with_too_many_places_is_rejected_never_rounded(
    demo_frames: LedgerFrames, pg_url: str, tmp_path: Path
) -> None:
    exported = export_pg_entries(demo_frames, pg_url, tmp_path)
    with psycopg.connect(libpq_url(pg_url)) as conn:
        line_id, journal_id = conn.execute(
            "UPDATE journal_lines SET amount = amount + 0.001 "
            "WHERE line_id = (SELECT min(line_id) FROM journal_lines) "
            "RETURNING line_id, journal_id"
        ).fetchone() or (None, None)
    frames, report = load_ledger(exported.source, mapping=exported.mapping)
    assert_accounted(report)
    rejected = report.rejections.filter(pl.col("column") == "entries.amount")
    assert rejected.height == 1
    assert rejected["locator"][0] == f"journal_lines(line_id={line_id})"
    assert re.fullmatch(r"-?\d+\.\d{3}", rejected["raw_value"][0])
    legs = frames.entries.filter(pl.col("transaction_id") == journal_id)
    original = exported.expected.entries.filter(pl.col("transaction_id") == journal_id)
    assert legs.height == original.height - 1  # the leg is out, not rounded in
    assert legs.join(original, on=legs.columns, how="anti").height == 0


def _float_amounts(exported: Exported, expression: str) -> None:
    with closing(sqlite3.connect(exported.source)) as conn:
        conn.execute("ALTER TABLE transfers ADD COLUMN amount_real REAL")
        conn.execute(f"UPDATE transfers SET amount_real = {expression}")
        conn.commit()


def test_a_float_column_is_refused_unless_the_mapping_opts_in(sqlite_layout: Exported) -> None:
    _float_amounts(sqlite_layout, "amount_cents / 100.0")
    path, line = edited_mapping(sqlite_layout, 'amount = "amount_cents"', 'amount = "amount_real"')
    with pytest.raises(InputError) as caught:
        load_ledger(sqlite_layout.source, mapping=path)
    message = assert_one_line_error(caught.value, path, line, "entries.amount")
    assert "allow_float" in message
    opted, _ = edited_mapping(
        sqlite_layout,
        'amount = "amount_cents"',
        'amount = { column = "amount_real", units = "major", allow_float = true }',
    )
    frames, report = load_ledger(sqlite_layout.source, mapping=opted)
    assert report.rejected == 0, report.rejections
    assert frames.equals(sqlite_layout.expected)
    assert any("float" in note for note in report.notes), report.notes


def test_an_opted_in_float_column_of_minor_units_loads(sqlite_layout: Exported) -> None:
    _float_amounts(sqlite_layout, "amount_cents")
    opted, _ = edited_mapping(
        sqlite_layout,
        'amount = "amount_cents"',
        'amount = { column = "amount_real", allow_float = true }',
    )
    frames, report = load_ledger(sqlite_layout.source, mapping=opted)
    assert report.rejected == 0, report.rejections.head(3)
    assert frames.equals(sqlite_layout.expected)


def test_an_unreadable_source_file_is_one_line(csv_layout: Exported) -> None:
    (Path(csv_layout.source) / "ledger_lines.csv").write_bytes(b'tx,"version\n1,2,3\n')
    with pytest.raises(InputError) as caught:
        load_ledger(csv_layout.source, mapping=csv_layout.mapping)
    assert "\n" not in str(caught.value)


def test_legs_without_an_index_follow_integer_row_ids_in_numeric_order(tmp_path: Path) -> None:
    """docs/mapping.md: without ``index`` the legs are numbered by ``row_id``."""
    folder = tmp_path / "src"
    folder.mkdir()
    pl.DataFrame({"id": ["t1"], "state": ["posted"], "at": ["2025-01-01T00:00:00Z"]}).write_csv(
        folder / "tx.csv"
    )
    pl.DataFrame(
        {"line": [9, 10], "tx": ["t1", "t1"], "account": ["b", "a"], "amount": [-5, 5]}
    ).write_csv(folder / "lines.csv")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        'format = "ledger-audit/mapping/1"\n[ledger]\nid = "l"\n[assets]\nscale = 2\n'
        '[accounts]\nderive = true\nnormal_balance = { value = "debit" }\n'
        '[transactions]\nfrom = "tx.csv"\nid = "id"\nstatus = "state"\nrecorded_at = "at"\n'
        '[entries]\nfrom = "lines.csv"\nrow_id = "line"\ntransaction_id = "tx"\n'
        'account = "account"\namount = { column = "amount", sign = "debit_positive" }\n'
        'currency = { value = "USD" }\n',
        encoding="utf-8",
    )
    frames, report = load_ledger(folder, mapping=mapping)
    assert report.rejected == 0
    assert frames.entries.sort("entry_index")["account_id"].to_list() == ["b", "a"]


def test_every_layout_copy_is_left_as_it_was(csv_layout: Exported, tmp_path: Path) -> None:
    """Reading through a mapping writes nothing into the source folder."""
    before = {p.name: p.read_bytes() for p in Path(csv_layout.source).iterdir()}
    shutil.copy(csv_layout.mapping, tmp_path / "copy.toml")
    load_ledger(csv_layout.source, mapping=csv_layout.mapping)
    after = {p.name: p.read_bytes() for p in Path(csv_layout.source).iterdir()}
    assert after == before


def test_verify_says_a_bad_mapping_in_one_line_and_exits_2(
    csv_layout: Exported, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, line = edited_mapping(csv_layout, 'amount = "amount_minor"', 'amount = "amt"')
    code = main(["verify", csv_layout.source, "--mapping", str(path), "--out", str(tmp_path)])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert "\n" not in error
    assert f"{path}:{line}: entries.amount: column 'amt' not in table" in error
    assert "Traceback" not in error


def test_verify_reports_a_rejected_row_as_a_finding_naming_it(
    csv_layout: Exported, tmp_path: Path
) -> None:
    folder = Path(csv_layout.source)
    table = pl.read_csv(folder / "ledger_txn.csv", infer_schema=False)
    victim = table.row(3, named=True)
    table.with_columns(
        status=pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("frozen")).otherwise("status")
    ).write_csv(folder / "ledger_txn.csv")
    out = tmp_path / "verify"
    main(["verify", csv_layout.source, "--mapping", str(csv_layout.mapping), "--out", str(out)])
    findings = pl.read_parquet(out / "findings.parquet")
    rejected = findings.filter(pl.col("rule") == "source.rejected_row")
    assert rejected.height == 1
    assert f"id={victim['id']}" in rejected["locator"][0]
    assert "frozen" in rejected["message"][0] or "frozen" in str(rejected["actual"][0])
