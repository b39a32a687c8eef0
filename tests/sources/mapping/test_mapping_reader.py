"""The mapping reader on small hand-made sources: each shape, each field kind, each bad input.

Sources are written with plain ``sqlite3`` or polars (the project only reads them); each test
states the ledger it expects in the frames, or the one-line error / rejected row it expects.
"""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import polars as pl
import psycopg
import pytest

from ledger_audit.checks.runner import audit
from ledger_audit.cli import main
from ledger_audit.errors import InputError
from ledger_audit.sources import load_ledger
from ledger_audit.sources.mapping import read_mapping
from ledger_audit.spec import VerifySpec

HEADER = 'format = "ledger-audit/mapping/1"\n'

PAYMENTS = """
[ledger]
id = "hg"
timezone = "Europe/Paris"

[assets]
scales = { USD = 2, JPY = 0 }

[accounts]
from = "accounts"
id = "code"
name = "name"
normal_balance = { column = "type", map = { A = "debit", L = "credit", R = "credit" } }
currency = "currency"

[transactions]
from = "payments"
id = "id"
status = { column = "state", map = { settled = "posted", pending = "pending", void = "archived" } }
recorded_at = "created_at"
idempotency_key = "idem"
description = "memo"

[entries]
from = "lines"
row_id = "id"
transaction_id = "payment_id"
account = "account"
amount = { column = "amount", sign = "debit_positive", units = "major" }
currency = "currency"
"""


def _sqlite(path: Path, script: str) -> Path:
    with sqlite3.connect(path) as connection:
        connection.executescript(script)
    connection.close()
    return path


def _mapping(folder: Path, body: str, name: str = "mapping.toml") -> Path:
    path = folder / name
    path.write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    return path


@pytest.fixture
def payments_db(tmp_path: Path) -> Path:
    return _sqlite(
        tmp_path / "payments.sqlite",
        """
        create table accounts(code text, name text, type text, currency text);
        create table payments(id integer, state text, created_at text, idem text, memo text);
        create table lines(id integer, payment_id integer, account text, amount text,
                           currency text);
        insert into accounts values ('1000', 'Bank', 'A', 'USD'),
            ('2000', 'Wallet', 'L', 'USD'), ('4000', 'Fees', 'R', NULL);
        insert into payments values (1, 'settled', '2025-01-02 10:00:00', 'k1', 'deposit'),
            (2, 'pending', '2025-01-03T11:00:00+00:00', 'k2', 'card');
        insert into lines values (1, 1, '1000', '100.00', 'USD'), (2, 1, '2000', '-100', 'USD'),
            (3, 2, '2000', '25.5', 'USD'), (4, 2, '4000', '-25.50', 'USD');
        """,
    )


def test_entry_per_row_signed_major_units(payments_db: Path, tmp_path: Path) -> None:
    frames, report = load_ledger(payments_db, mapping=_mapping(tmp_path, PAYMENTS))
    assert report.rejected == 0
    assert frames.entries.select(
        "transaction_id", "entry_index", "account_id", "direction", "amount", "asset_id"
    ).rows() == [
        ("1", 0, "1000", "debit", 10000, "USD/2"),
        ("1", 1, "2000", "credit", 10000, "USD/2"),
        ("2", 0, "2000", "debit", 2550, "USD/2"),
        ("2", 1, "4000", "credit", 2550, "USD/2"),
    ]
    # A naive time is read in the ledger's zone (Paris is UTC+1 in January); an offset wins.
    assert frames.transactions["recorded_ns"].to_list() == [
        1735808400 * 10**9,
        1735902000 * 10**9,
    ]
    assert frames.transactions.select("status", "kind", "effective_ns").rows() == [
        ("posted", "standard", 1735808400 * 10**9),
        ("pending", "pending", 1735902000 * 10**9),
    ]
    assert frames.accounts.select("account_id", "normal_balance", "asset_id").rows() == [
        ("1000", "debit", "USD/2"),
        ("2000", "credit", "USD/2"),
        ("4000", "credit", None),
    ]
    assert frames.ledgers["chain_algorithm"].to_list() == [None]
    assert any("effective basis equals the recorded basis" in n for n in report.notes)
    assert any("no hash chain" in n for n in report.notes)
    assert {c.table: (c.read, c.loaded) for c in report.source_counts} == {
        "accounts": (3, 3),
        "payments": (2, 2),
        "lines": (4, 4),
    }


def test_a_decimal_with_too_many_places_is_a_rejected_row_never_rounded(
    payments_db: Path, tmp_path: Path
) -> None:
    with sqlite3.connect(payments_db) as connection:
        connection.execute("insert into lines values (5, 2, '1000', '0.001', 'USD')")
    connection.close()
    frames, report = load_ledger(payments_db, mapping=_mapping(tmp_path, PAYMENTS))
    assert frames.entries.height == 4
    row = report.rejections.row(0, named=True)
    assert row["locator"] == "lines(id=5)"
    assert row["column"] == "entries.amount"
    assert "more decimals than the currency's scale" in row["reason"]
    assert row["raw_value"] == "0.001"
    assert report.rejected == 1


def test_unknown_status_and_duplicate_ids_are_rejected_rows(
    payments_db: Path, tmp_path: Path
) -> None:
    with sqlite3.connect(payments_db) as connection:
        connection.execute("insert into payments values (3, 'weird', '2025-01-04', NULL, NULL)")
        connection.execute("insert into payments values (1, 'settled', '2025-01-05', NULL, NULL)")
    connection.close()
    frames, report = load_ledger(payments_db, mapping=_mapping(tmp_path, PAYMENTS))
    reasons = dict(zip(report.rejections["locator"], report.rejections["reason"], strict=True))
    assert "value not in the map" in reasons["payments(id=3)"]
    # Both rows of the duplicated id are rejected: which one is right cannot be told.
    assert report.rejections.filter(pl.col("locator") == "payments(id=1)").height == 2
    assert frames.transactions["transaction_id"].to_list() == ["2"]
    counts = {c.table: c for c in report.source_counts}
    assert (counts["payments"].read, counts["payments"].rejected) == (4, 3)


def test_a_missing_column_fails_before_reading_and_names_what_the_table_has(
    payments_db: Path, tmp_path: Path
) -> None:
    mapping = _mapping(tmp_path, PAYMENTS.replace('account = "account"', 'account = "acct"'))
    with pytest.raises(InputError) as caught:
        load_ledger(payments_db, mapping=mapping)
    message = str(caught.value)
    line = mapping.read_text().splitlines().index('account = "acct"') + 1
    assert message.startswith(f"{mapping}:{line}: entries.account: column 'acct' not in table")
    assert "it has: id, payment_id, account, amount, currency" in message
    assert "\n" not in message


def test_a_missing_table_names_the_tables_there_are(payments_db: Path, tmp_path: Path) -> None:
    mapping = _mapping(tmp_path, PAYMENTS.replace('from = "lines"', 'from = "ledger_lines"'))
    with pytest.raises(
        InputError,
        match=r"\[entries\] no table, view or file 'ledger_lines'; "
        r"it has: accounts, lines, payments",
    ):
        load_ledger(payments_db, mapping=mapping)


def test_a_float_column_is_refused_unless_the_mapping_opts_in(tmp_path: Path) -> None:
    db = _sqlite(
        tmp_path / "f.sqlite",
        """
        create table lines(id integer, tx text, account text, amount real, side text, cur text,
                           at integer);
        insert into lines values (1, 't', 'a', 1.5, 'D', 'USD', 1700000000),
                                 (2, 't', 'b', 1.5, 'C', 'USD', 1700000000);
        """,
    )
    body = """
    [ledger]
    id = "f"
    [assets]
    scale = 2
    [accounts]
    derive = true
    normal_balance = { prefixes = { a = "debit" }, default = "credit" }
    [transactions]
    id = "tx"
    status = { value = "posted" }
    recorded_at = { column = "at", epoch = "s" }
    [entries]
    from = "lines"
    row_id = "id"
    transaction_id = "tx"
    account = "account"
    direction = { column = "side", map = { D = "debit", C = "credit" } }
    amount = { column = "amount", units = "major"ALLOW }
    currency = "cur"
    """
    refused = _mapping(tmp_path, body.replace("ALLOW", ""))
    with pytest.raises(InputError, match=r"entries.amount: column 'amount' is REAL \(a float"):
        load_ledger(db, mapping=refused)
    accepted = _mapping(tmp_path, body.replace("ALLOW", ", allow_float = true"), "ok.toml")
    frames, report = load_ledger(db, mapping=accepted)
    assert frames.entries["amount"].to_list() == [150, 150]
    assert frames.accounts.select("account_id", "normal_balance").rows() == [
        ("a", "debit"),
        ("b", "credit"),
    ]
    assert frames.transactions["recorded_ns"].to_list() == [1_700_000_000 * 10**9]
    assert any("float columns by opt-in (entries.amount)" in n for n in report.notes)


def test_transfer_per_row_becomes_two_entries_each(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    pl.DataFrame(
        {
            "id": ["t1", "t2", "t3"],
            "from_account": ["alice", "bob", "alice"],
            "to_account": ["bob", "carol", "carol"],
            "amount": ["500", "20", "7"],
            "currency": ["JPY", "JPY", "EUR"],
            "at": ["2025-01-01T00:00:00Z"] * 3,
            "state": ["APPLIED", "INFLIGHT", "APPLIED"],
        }
    ).write_csv(folder / "transfers.csv")
    body = """
    [ledger]
    id = "tb"
    [assets]
    scales = { JPY = 0 }
    [accounts]
    derive = true
    normal_balance = { value = "credit" }
    [transactions]
    id = "id"
    status = { column = "state", map = { APPLIED = "posted", INFLIGHT = "pending" } }
    recorded_at = "at"
    [entries]
    from = "transfers"
    shape = "transfer"
    row_id = "id"
    debit_account = "from_account"
    credit_account = "to_account"
    amount = "amount"
    currency = "currency"
    """
    frames, report = load_ledger(folder, mapping=_mapping(tmp_path, body))
    assert frames.entries.select(
        "transaction_id", "entry_index", "account_id", "direction", "amount"
    ).rows() == [
        ("t1", 0, "alice", "debit", 500),
        ("t1", 1, "bob", "credit", 500),
        ("t2", 0, "bob", "debit", 20),
        ("t2", 1, "carol", "credit", 20),
    ]
    assert frames.transactions.select("transaction_id", "status").rows() == [
        ("t1", "posted"),
        ("t2", "pending"),
    ]
    (row,) = report.rejections.select("locator", "column", "raw_value").rows()
    assert row == ("transfers(row 3, id=t3)", "entries.currency", "EUR")


def test_status_history_gives_one_version_per_change(tmp_path: Path) -> None:
    db = _sqlite(
        tmp_path / "h.sqlite",
        """
        create table payments(id text, created_at text, effective_at text);
        create table events(payment_id text, status text, at text, seq integer);
        create table lines(payment_id text, account text, cents integer, side text);
        insert into payments values ('p1', '2025-01-01T00:00:00Z', '2024-12-31T23:00:00Z');
        insert into events values ('p1', 'authorized', '2025-01-01T00:00:00Z', 1),
                                  ('p1', 'captured', '2025-01-02T00:00:00Z', 2),
                                  ('p9', 'captured', '2025-01-02T00:00:00Z', 3);
        insert into lines values ('p1', 'cash', 100, 'debit'), ('p1', 'sales', 100, 'credit');
        """,
    )
    body = """
    [ledger]
    id = "h"
    [assets]
    scale = 2
    [accounts]
    derive = true
    normal_balance = { prefixes = { cash = "debit" }, default = "credit" }
    [transactions]
    from = "payments"
    shape = "history"
    id = "id"
    effective_at = "effective_at"
    [transactions.history]
    from = "events"
    transaction_id = "payment_id"
    status = { column = "status", map = { authorized = "pending", captured = "posted" } }
    at = "at"
    order = "seq"
    [entries]
    from = "lines"
    transaction_id = "payment_id"
    account = "account"
    direction = "side"
    amount = "cents"
    currency = { value = "USD" }
    """
    frames, report = load_ledger(db, mapping=_mapping(tmp_path, body))
    day = 86_400 * 10**9
    start = 1_735_689_600 * 10**9
    assert frames.transactions.select(
        "version", "kind", "status", "effective_ns", "recorded_ns"
    ).rows() == [
        (0, "pending", "pending", start - 3_600 * 10**9, start),
        (1, "post_pending", "posted", start + day, start + day),
    ]
    # Entries without a version belong to every version of their transaction.
    assert frames.entries.group_by("version").len().sort("version").rows() == [(0, 2), (1, 2)]
    (row,) = report.rejections.select("locator", "reason").rows()
    assert row[0].startswith("events(payment_id=p9")
    assert row[1] == "no such transaction"


def test_transaction_fields_that_differ_between_rows_reject_the_transaction(
    tmp_path: Path,
) -> None:
    db = _sqlite(
        tmp_path / "c.sqlite",
        """
        create table lines(id integer, tx text, status text, at text, account text,
                           amount integer);
        insert into lines values (1, 'a', 'posted', '2025-01-01T00:00:00Z', 'x', 5),
                                 (2, 'a', 'pending', '2025-01-01T00:00:00Z', 'y', -5),
                                 (3, 'b', 'posted', '2025-01-01T00:00:00Z', 'x', 1),
                                 (4, 'b', 'posted', '2025-01-01T00:00:00Z', 'y', -1);
        """,
    )
    body = """
    [ledger]
    id = "c"
    [assets]
    scale = 2
    [accounts]
    derive = true
    normal_balance = { value = "debit" }
    [transactions]
    id = "tx"
    status = "status"
    recorded_at = "at"
    [entries]
    from = "lines"
    row_id = "id"
    transaction_id = "tx"
    account = "account"
    amount = { column = "amount", sign = "credit_positive" }
    currency = { value = "USD" }
    """
    frames, report = load_ledger(db, mapping=_mapping(tmp_path, body))
    assert frames.transactions["transaction_id"].to_list() == ["b"]
    assert frames.entries.select("account_id", "direction").rows() == [
        ("x", "credit"),
        ("y", "debit"),
    ]
    assert sorted(report.rejections["locator"]) == ["lines(id=1, tx=a)", "lines(id=2, tx=a)"]
    assert set(report.rejections["reason"]) == {"fields differ between the rows of one transaction"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("format = ", "format = 'x' #"), "format must be 'ledger-audit/mapping/1'"),
        (('id = "hg"', 'id = "hg"\nledger_name = "x"'), "ledger.ledger_name: unknown key"),
        (('sign = "debit_positive"', 'sign = "up"'), "entries.amount: sign must be one of"),
        (('timezone = "Europe/Paris"', 'timezone = "Mars/Olympus"'), "unknown time zone"),
        (('settled = "posted"', 'settled = "done"'), "'done' is not one of archived, pending"),
        (
            ('account = "account"', 'account = "FILL-IN"  # which column names the account?'),
            "entries.account: to fill in: which column names the account?",
        ),
    ],
)
def test_bad_mappings_fail_in_one_line_naming_file_line_and_key(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    text = (HEADER + PAYMENTS).replace(*edit, 1)
    assert text != HEADER + PAYMENTS
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_mapping(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}")
    assert "\n" not in str(caught.value)


def test_a_gl_mapping_given_as_source_mapping_says_so(tmp_path: Path) -> None:
    path = tmp_path / "gl.toml"
    path.write_text('version = "1"\nsuspense_account = "9990"\n', encoding="utf-8")
    with pytest.raises(InputError, match="looks like a GL mapping"):
        read_mapping(path)


def test_a_foreign_schema_without_a_mapping_points_to_init_and_the_docs(
    payments_db: Path, tmp_path: Path
) -> None:
    with pytest.raises(InputError) as caught:
        load_ledger(payments_db)
    message = str(caught.value)
    assert "missing table(s) ledgers, assets, transactions, entries, balances" in message
    assert "ledger-audit init SOURCE --out DIR" in message
    assert "docs/mapping.md" in message
    folder = tmp_path / "snapshot"
    folder.mkdir()
    pl.DataFrame({"id": [1]}).write_csv(folder / "ledgers.csv")
    with pytest.raises(InputError, match=r"missing file\(s\) .*ledger-audit init"):
        load_ledger(folder)


def test_placeholders_in_maps_and_scales_are_refused_in_file_order(tmp_path: Path) -> None:
    text = (
        (HEADER + PAYMENTS)
        .replace(
            "scales = { USD = 2, JPY = 0 }",
            'scales = { USD = 2, XXX = "FILL-IN" }  # XXX: give its scale',
        )
        .replace('void = "archived"', 'void = "FILL-IN"')
    )
    path = tmp_path / "m.toml"
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    with pytest.raises(InputError) as caught:
        read_mapping(path)
    line = next(i for i, t in enumerate(lines, 1) if "XXX" in t)
    assert str(caught.value) == (
        f"{path}:{line}: assets.scales: to fill in: XXX: give its scale (see docs/mapping.md)"
    )
    path.write_text(text.replace('XXX = "FILL-IN"', "XXX = 3"), encoding="utf-8")
    with pytest.raises(InputError, match=r"transactions.status: to fill in"):
        read_mapping(path)


def test_what_a_mapped_source_cannot_give_reads_not_proven_never_passed(
    payments_db: Path, tmp_path: Path
) -> None:
    no_keys = PAYMENTS.replace('idempotency_key = "idem"\n', "")
    frames, report = load_ledger(payments_db, mapping=_mapping(tmp_path, no_keys))
    summary = audit(frames, report, VerifySpec(source=str(payments_db))).summary()
    status = dict(summary.select("rule", "status").iter_rows())
    assert status["idempotency.conflict"] == "not proven"
    assert status["balance.negative_not_allowed"] == "not proven"  # no limits mapped
    assert status["balance.drift"] == "no data"  # no stored balances
    assert status["entry.unbalanced"] == "passed"


def test_without_a_chain_no_negative_is_replayed_in_recorded_order(tmp_path: Path) -> None:
    """A wallet funded, then spent: in id order the spend would come first and go negative."""
    db = _sqlite(
        tmp_path / "w.sqlite",
        """
        create table accounts(code text, type text, neg integer);
        create table tx(id text, at text);
        create table lines(tx text, account text, cents integer);
        insert into accounts values ('bank', 'A', 1), ('wallet', 'L', 0), ('shop', 'R', 1);
        insert into tx values ('b-fund', '2025-01-01T00:00:00Z'),
                              ('a-spend', '2025-01-02T00:00:00Z');
        insert into lines values ('b-fund', 'bank', 500), ('b-fund', 'wallet', -500),
                                 ('a-spend', 'wallet', 300), ('a-spend', 'shop', -300);
        """,
    )
    body = """
    [ledger]
    id = "w"
    [assets]
    scale = 2
    [accounts]
    from = "accounts"
    id = "code"
    normal_balance = { column = "type", map = { A = "debit", L = "credit", R = "credit" } }
    allow_negative = "neg"
    [transactions]
    from = "tx"
    id = "id"
    status = { value = "posted" }
    recorded_at = "at"
    [entries]
    from = "lines"
    transaction_id = "tx"
    account = "account"
    amount = { column = "cents", sign = "debit_positive" }
    currency = { value = "USD" }
    """
    frames, report = load_ledger(db, mapping=_mapping(tmp_path, body))
    result = audit(frames, report, VerifySpec(source=str(db)))
    status = dict(result.summary().select("rule", "status").iter_rows())
    assert status["balance.negative_not_allowed"] == "passed"
    with sqlite3.connect(db) as connection:
        connection.execute("update lines set cents = cents * 3 where tx = 'a-spend'")
    connection.close()
    frames, report = load_ledger(db, mapping=_mapping(tmp_path, body))
    found = audit(frames, report, VerifySpec(source=str(db))).findings
    negative = found.filter(pl.col("rule") == "balance.negative_not_allowed")
    assert negative["transaction_id"].to_list() == ["a-spend"]


def test_the_sql_suites_are_refused_for_a_mapped_source(payments_db: Path, tmp_path: Path) -> None:
    mapping = _mapping(tmp_path, PAYMENTS)
    out = tmp_path / "out"
    code = main(
        [
            "verify",
            str(payments_db),
            "--mapping",
            str(mapping),
            "--out",
            str(out),
            "--suites",
            "sql",
        ]
    )
    assert code == 2
    assert not out.exists()


def test_postgres_queries_and_schema_qualified_tables_in_one_read_only_snapshot(
    pg_url: str, tmp_path: Path
) -> None:
    libpq = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as connection:
        connection.execute(
            """
            CREATE SCHEMA pay;
            CREATE TABLE pay.accounts (code text, kind text);
            CREATE TABLE pay.moves (id bigint, tx uuid, account text, amount numeric(12, 2),
                                    ccy char(3), at timestamptz, state text);
            INSERT INTO pay.accounts VALUES ('cash', 'A'), ('sales', 'R');
            INSERT INTO pay.moves VALUES
              (1, '00000000-0000-0000-0000-000000000001', 'cash', 12.50, 'EUR',
               '2025-01-02 10:00:00+01', 'ok'),
              (2, '00000000-0000-0000-0000-000000000001', 'sales', -12.50, 'EUR',
               '2025-01-02 10:00:00+01', 'ok'),
              (3, '00000000-0000-0000-0000-000000000002', 'cash', 1.00, 'EUR',
               '2025-01-03 10:00:00+01', 'draft');
            """
        )
    body = """
    [ledger]
    id = "pay"
    [assets]
    scales = { EUR = 2 }
    [accounts]
    from = "pay.accounts"
    id = "code"
    normal_balance = { column = "kind", map = { A = "debit", R = "credit" } }
    [transactions]
    query = "SELECT DISTINCT tx, at, state FROM pay.moves WHERE state <> 'draft'"
    id = "tx"
    status = { column = "state", map = { ok = "posted" } }
    recorded_at = "at"
    [entries]
    query = "SELECT * FROM pay.moves WHERE state <> 'draft'"
    row_id = "id"
    transaction_id = "tx"
    account = "account"
    amount = { column = "amount", units = "major", sign = "debit_positive" }
    currency = "ccy"
    """
    frames, report = load_ledger(pg_url, mapping=_mapping(tmp_path, body))
    assert report.rejected == 0
    assert frames.entries.select("transaction_id", "account_id", "direction", "amount").rows() == [
        ("00000000-0000-0000-0000-000000000001", "cash", "debit", 1250),
        ("00000000-0000-0000-0000-000000000001", "sales", "credit", 1250),
    ]
    assert frames.transactions["recorded_ns"].to_list() == [1_735_808_400 * 10**9]
    assert frames.accounts["account_id"].to_list() == ["cash", "sales"]
    # A misspelt column of a query is found before any row is read, like a table's.
    wrong = _mapping(tmp_path, body.replace('recorded_at = "at"', 'recorded_at = "when"'), "w.toml")
    with pytest.raises(InputError, match=r"transactions.recorded_at: column 'when' not in query"):
        load_ledger(pg_url, mapping=wrong)
