"""``init``'s inspection: what it proposes for conventionally named ledgers, and what it
refuses to decide.

Each conventional layout is written to SQLite, a CSV folder and a Parquet folder; the
proposal's decisions are asserted, and the mapping written from it must read the ledger back
exactly (entries and statuses) through the project's own mapping reader, with no edits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.demo.summary import DemoSummary
from ledger_audit.errors import InputError
from ledger_audit.exports.setup_files import write_setup_files
from ledger_audit.sources import LedgerFrames, load_ledger
from ledger_audit.sources.mapping import read_mapping
from ledger_audit.sources.mapping.catalogue import SampledRelation
from ledger_audit.sources.mapping.field_guess import _epoch_by_magnitude, amount_units
from ledger_audit.sources.mapping.inspect import inspect_source, ledger_id_of
from ledger_audit.sources.mapping.proposal import FILL_IN, Confidence, Inline, Proposal
from ledger_audit.sources.mapping.relations import Column, TypeClass
from tests.sources.mapping import conventional as conv
from tests.sources.mapping.foreign import (
    differing_tables,
    export_pg_entries,
    file_exporters,
    with_fixed_entries,
    write_postgres,
)

STORAGES = ("sqlite", "csv", "parquet")


def _decided(proposal: Proposal) -> None:
    assert proposal.undecided == (), [f"{d.key}: {d.reason}" for d in proposal.undecided]


def _reads_back(tmp_path: Path, source: str, proposal: Proposal) -> None:
    """The written mapping loads the truth: same entries, same statuses, nothing rejected."""
    files = write_setup_files(proposal, tmp_path / "setup")
    frames, report = load_ledger(source, mapping=files.mapping)
    assert report.rejected == 0, report.rejections
    entries = frames.entries.select(
        "transaction_id", "account_id", "asset_id", "direction", "amount"
    ).sort(pl.all())
    assert entries.equals(conv.expected_entries())
    statuses = dict(frames.transactions.select("transaction_id", "status").iter_rows())
    assert statuses == conv.expected_statuses()


@pytest.mark.parametrize("storage", STORAGES)
def test_entries_with_a_direction_column_map_without_edits(tmp_path: Path, storage: str) -> None:
    source = conv.write_ledger(tmp_path, conv.entry_rows(), storage)
    proposal = inspect_source(source)
    _decided(proposal)
    suffix = "" if storage == "sqlite" else f".{storage}"
    assert proposal.value("entries.from") == f"entries{suffix}"
    assert proposal.value("entries.shape") == "entry"
    assert proposal.value("transactions.from") == f"transactions{suffix}"
    assert proposal.value("accounts.from") == f"accounts{suffix}"
    assert proposal.value("entries.direction") == Inline(
        (("column", "direction"), ("map", Inline((("CR", "credit"), ("DR", "debit")))))
    )
    assert proposal.value("entries.amount") == "amount"
    assert proposal.value("transactions.status") == Inline(
        (
            ("column", "status"),
            (
                "map",
                Inline(
                    (
                        ("completed", "posted"),
                        ("pending", "pending"),
                        ("settled", "posted"),
                        ("voided", "archived"),
                    )
                ),
            ),
        )
    )
    assert proposal.value("transactions.recorded_at") == "created_at"
    assert proposal.decision("transactions.recorded_at").confidence == Confidence.SURE
    assert proposal.value("transactions.idempotency_key") == "idempotency_key"
    assert proposal.value("transactions.external_id") == "reference"
    assert proposal.value("transactions.description") == "memo"
    assert proposal.value("assets.scales") == Inline((("EUR", 2), ("USD", 2)))
    assert proposal.value("accounts.normal_balance") == Inline(
        (
            ("column", "type"),
            (
                "map",
                Inline(
                    (
                        ("asset", "debit"),
                        ("expense", "debit"),
                        ("liability", "credit"),
                        ("revenue", "credit"),
                    )
                ),
            ),
        )
    )
    assert [b.account_id for b in proposal.bank_accounts] == [
        "assets:bank:operating:eur",
        "assets:bank:operating:usd",
    ]
    assert [b.asset_id for b in proposal.bank_accounts] == ["EUR/2", "USD/2"]
    _reads_back(tmp_path, source, proposal)


@pytest.mark.parametrize("storage", STORAGES)
@pytest.mark.parametrize("accounts", [True, False], ids=["accounts", "no-accounts"])
@pytest.mark.parametrize("sign", ["debit_positive", "credit_positive"])
def test_signed_amounts_get_their_convention_from_account_classes(
    tmp_path: Path, storage: str, *, accounts: bool, sign: str
) -> None:
    source = conv.write_ledger(tmp_path, conv.signed_rows(accounts=accounts, sign=sign), storage)
    proposal = inspect_source(source)
    _decided(proposal)
    amount = proposal.decision("entries.amount")
    assert amount.value == Inline((("column", "amount"), ("sign", sign)))
    assert amount.confidence == Confidence.GUESSED
    assert "100% of sampled transactions net to zero" in amount.reason
    assert proposal.value("entries.direction") is None
    with pytest.raises(KeyError):
        proposal.decision("entries.direction")
    # epoch milliseconds, told by their magnitude (the column is named created_at)
    recorded = proposal.decision("transactions.recorded_at")
    assert recorded.value == Inline((("column", "created_at"), ("epoch", "ms")))
    assert recorded.confidence == Confidence.GUESSED
    if not accounts:
        assert proposal.value("accounts.derive") is True
        assert proposal.value("accounts.normal_balance") == Inline(
            (
                (
                    "prefixes",
                    Inline(
                        (
                            ("assets:", "debit"),
                            ("expenses:", "debit"),
                            ("liabilities:", "credit"),
                            ("revenue:", "credit"),
                        )
                    ),
                ),
            )
        )
    _reads_back(tmp_path, source, proposal)


@pytest.mark.parametrize("storage", STORAGES)
def test_exact_decimals_are_major_units(tmp_path: Path, storage: str) -> None:
    source = conv.write_ledger(tmp_path, conv.major_rows(), storage)
    proposal = inspect_source(source)
    _decided(proposal)
    amount = proposal.decision("entries.amount")
    assert amount.value == Inline((("column", "amount"), ("units", "major")))
    assert amount.confidence == Confidence.SURE
    assert proposal.value("entries.direction") == "direction"  # already canonical words
    _reads_back(tmp_path, source, proposal)


@pytest.mark.parametrize("storage", STORAGES)
def test_a_transfer_per_row_table_maps_as_transfers(tmp_path: Path, storage: str) -> None:
    source = conv.write_ledger(tmp_path, conv.transfer_rows(), storage)
    proposal = inspect_source(source)
    _decided(proposal)
    assert proposal.value("entries.shape") == "transfer"
    assert proposal.value("entries.debit_account") == "debit_account_id"
    assert proposal.value("entries.credit_account") == "credit_account_id"
    assert proposal.value("entries.transaction_id") is None  # each transfer its own
    assert proposal.value("transactions.from") is None  # the entries' relation
    assert proposal.value("transactions.id") == "id"
    assert proposal.value("accounts.derive") is True
    _reads_back(tmp_path, source, proposal)


@pytest.mark.parametrize("storage", STORAGES)
def test_values_first_seen_after_the_sample_are_still_mapped(tmp_path: Path, storage: str) -> None:
    """Debit legs first, then credit legs: the 1,000-row sample sees only DR and settled."""
    n = 1_200
    ids = [f"t{i:05d}" for i in range(n)]
    transactions = pl.DataFrame(
        {
            "id": ids,
            "status": ["settled"] * (n - 1) + ["voided"],
            "created_at": ["2025-01-02T10:00:00Z"] * n,
        }
    )
    legs = pl.DataFrame(
        {
            "id": list(range(1, 2 * n + 1)),
            "transaction_id": ids + ids,
            "account_id": ["assets:bank:usd"] * n + ["liabilities:wallet:usd"] * n,
            "amount": [100] * (2 * n),
            "currency": ["USD"] * n + ["EUR"] * n,
            "direction": ["DR"] * n + ["CR"] * n,
        }
    )
    tables = {"transactions": transactions, "entries": legs}
    proposal = inspect_source(conv.write_ledger(tmp_path, tables, storage))
    direction = proposal.decision("entries.direction")
    assert direction.value == Inline(
        (("column", "direction"), ("map", Inline((("CR", "credit"), ("DR", "debit")))))
    )
    assert "in its first 2,400 rows" in direction.reason
    status = proposal.value("transactions.status")
    assert isinstance(status, Inline)
    assert status.get("map") == Inline((("settled", "posted"), ("voided", "archived")))
    assert proposal.value("assets.scales") == Inline((("EUR", 2), ("USD", 2)))


def test_relations_the_mapping_does_not_read_are_listed(tmp_path: Path) -> None:
    tables = conv.entry_rows()
    tables["customers"] = pl.DataFrame({"id": ["c1"], "name": ["Alice"]})
    tables["audit_log"] = pl.DataFrame({"at": ["2025-01-01"], "what": ["login"]})
    proposal = inspect_source(conv.write_ledger(tmp_path, tables, "sqlite"))
    assert proposal.unused == ("audit_log", "customers")
    files = write_setup_files(proposal, tmp_path / "setup")
    assert "# Not read by this mapping: audit_log, customers." in files.mapping.read_text()


def test_the_same_source_gives_the_same_proposal(tmp_path: Path) -> None:
    source = conv.write_ledger(tmp_path, conv.entry_rows(), "sqlite")
    assert inspect_source(source) == inspect_source(source)


# --- what init leaves to a person ---------------------------------------------------------------


def test_an_unknown_status_word_is_left_to_fill_in_and_the_reader_refuses_it(
    tmp_path: Path,
) -> None:
    tables = conv.entry_rows()
    tables["transactions"] = tables["transactions"].with_columns(
        pl.when(pl.col("id") == "t4")
        .then(pl.lit("reversed"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    source = conv.write_ledger(tmp_path, tables, "sqlite")
    proposal = inspect_source(source)
    status = proposal.decision("transactions.status")
    assert status.confidence == Confidence.UNDECIDED
    assert "'reversed'" in status.reason
    assert isinstance(status.value, Inline)
    status_map = status.value.get("map")
    assert isinstance(status_map, Inline)
    assert status_map.get("reversed") == FILL_IN
    assert status_map.get("settled") == "posted"
    files = write_setup_files(proposal, tmp_path / "setup")
    with pytest.raises(InputError) as raised:
        read_mapping(files.mapping)
    line = next(
        n
        for n, text in enumerate(files.mapping.read_text().splitlines(), 1)
        if text.startswith("status = ")
    )
    assert raised.value.locator == f"{files.mapping}:{line}"
    assert "transactions.status" in raised.value.reason


def test_signed_amounts_without_account_classes_are_left_to_fill_in(tmp_path: Path) -> None:
    tables = conv.signed_rows(accounts=False)
    tables["entries"] = tables["entries"].with_columns(
        pl.col("account_id").str.replace_all(":", "_")  # no class prefix left
    )
    source = conv.write_ledger(tmp_path, tables, "csv")
    proposal = inspect_source(source)
    amount = proposal.decision("entries.amount")
    assert amount.value == FILL_IN
    assert amount.confidence == Confidence.UNDECIDED
    assert 'sign = "debit_positive" }' in amount.reason
    assert proposal.decision("accounts.normal_balance").value == FILL_IN
    files = write_setup_files(proposal, tmp_path / "setup")
    with pytest.raises(InputError, match=r"accounts\.normal_balance: to fill in: account ids"):
        read_mapping(files.mapping)  # the first of the two placeholders in the file


def test_float_amounts_are_left_to_fill_in(tmp_path: Path) -> None:
    tables = conv.entry_rows()
    tables["entries"] = tables["entries"].with_columns(pl.col("amount") / 100)
    proposal = inspect_source(conv.write_ledger(tmp_path, tables, "parquet"))
    amount = proposal.decision("entries.amount")
    assert amount.value == FILL_IN
    assert "allow_float = true" in amount.reason


def test_sqlite_reals_in_a_numeric_column_are_floats_not_decimals(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    conv.write_sqlite(path, conv.entry_rows())
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE lines AS SELECT * FROM entries")
        connection.execute("DROP TABLE entries")
        connection.execute(
            "CREATE TABLE entries (id INTEGER, transaction_id TEXT, account_id TEXT, "
            "amount NUMERIC, currency TEXT, direction TEXT)"
        )
        connection.execute(
            "INSERT INTO entries SELECT id, transaction_id, account_id, amount / 100.0, "
            "currency, direction FROM lines"
        )
        connection.execute("DROP TABLE lines")
        connection.commit()
    amount = inspect_source(str(path)).decision("entries.amount")
    assert amount.value == FILL_IN
    assert "floats" in amount.reason


def test_no_currency_column_and_no_direction_are_left_to_fill_in(tmp_path: Path) -> None:
    tables = conv.entry_rows()
    tables["entries"] = tables["entries"].drop("currency", "direction")
    tables["accounts"] = tables["accounts"].drop("currency")
    proposal = inspect_source(conv.write_ledger(tmp_path, tables, "csv"))
    assert proposal.value("entries.currency") == FILL_IN
    assert proposal.value("entries.direction") == FILL_IN
    assert proposal.value("assets.scale") == FILL_IN
    assert {d.key for d in proposal.undecided} == {
        "assets.scale",
        "entries.currency",
        "entries.direction",
    }


def test_an_unknown_currency_code_asks_for_its_scale(tmp_path: Path) -> None:
    tables = conv.entry_rows()
    tables["entries"] = tables["entries"].with_columns(pl.col("currency").replace({"EUR": "PTS"}))
    tables["accounts"] = tables["accounts"].with_columns(pl.col("currency").replace({"EUR": "PTS"}))
    proposal = inspect_source(conv.write_ledger(tmp_path, tables, "sqlite"))
    scales = proposal.decision("assets.scales")
    assert scales.confidence == Confidence.UNDECIDED
    assert scales.value == Inline((("PTS", FILL_IN), ("USD", 2)))
    assert [b.asset_id for b in proposal.bank_accounts] == [None, "USD/2"]


def test_a_canonical_ledger_needs_no_mapping(planted_demo_summary: DemoSummary) -> None:
    with pytest.raises(InputError, match="it needs no mapping; run verify on it without --mapping"):
        inspect_source(str(planted_demo_summary.ledger_path))


def test_currency_values_with_their_scale_are_not_taken_for_codes(tmp_path: Path) -> None:
    tables = conv.entry_rows()
    tables["entries"] = tables["entries"].with_columns(pl.col("currency") + "/2")
    proposal = inspect_source(conv.write_ledger(tmp_path, tables, "csv"))
    currency = proposal.decision("entries.currency")
    assert currency.value == FILL_IN
    assert "asset ids like 'EUR/2' (CODE/scale), not codes" in currency.reason
    assert proposal.value("assets.scales") == Inline((("EUR", 2), ("USD", 2)))


def test_a_currencies_table_is_used_only_when_it_holds_every_code(tmp_path: Path) -> None:
    tables = conv.entry_rows()
    tables["currencies"] = pl.DataFrame({"code": ["USD", "EUR"], "minor_units": [2, 2]})
    proposal = inspect_source(conv.write_ledger(tmp_path, tables, "sqlite"))
    assert proposal.value("assets.from") == "currencies"
    assert proposal.value("assets.scale") == "minor_units"
    tables["currencies"] = pl.DataFrame({"code": ["USD"], "minor_units": [2]})
    (tmp_path / "again").mkdir()
    proposal = inspect_source(conv.write_ledger(tmp_path / "again", tables, "sqlite"))
    assert proposal.value("assets.from") is None
    assert proposal.value("assets.scales") == Inline((("EUR", 2), ("USD", 2)))


def test_nested_and_binary_parquet_columns_do_not_stop_the_inspection(tmp_path: Path) -> None:
    tables = conv.entry_rows()
    tables["entries"] = tables["entries"].with_columns(
        tags=pl.lit(["a", "b"]), extra=pl.struct(x=pl.lit(1)), blob=pl.lit(b"\x00\xff")
    )
    source = conv.write_ledger(tmp_path, tables, "parquet")
    proposal = inspect_source(source)
    _decided(proposal)
    _reads_back(tmp_path, source, proposal)


def test_an_empty_ledger_says_what_it_could_not_see(tmp_path: Path) -> None:
    tables = {name: frame.head(0) for name, frame in conv.entry_rows().items()}
    proposal = inspect_source(conv.write_ledger(tmp_path, tables, "csv"))
    assert {d.key: d.reason for d in proposal.undecided} == {
        "assets.scale": "no currency codes seen: the decimal places of the ledger's minor unit "
        "(2 for cents)",
        "accounts.normal_balance": "no sampled account type values in 'type': write its map",
        "transactions.status": "no sampled status values in 'status': write its map",
        "entries.direction": "no sampled direction values in 'direction': write its map",
    }


def test_a_source_without_entries_is_bad_input(tmp_path: Path) -> None:
    folder = tmp_path / "ledger"
    folder.mkdir()
    pl.DataFrame({"id": ["a"], "name": ["x"]}).write_csv(folder / "customers.csv")
    with pytest.raises(InputError, match=r"no relation looks like ledger entries.*customers\.csv"):
        inspect_source(str(folder))


def test_separate_debit_and_credit_columns_are_named_with_the_way_forward(
    tmp_path: Path,
) -> None:
    lines = pl.DataFrame(
        {"journal": ["j1", "j1"], "account": ["1010", "4000"], "debit": [5, 0], "credit": [0, 5]}
    )
    with pytest.raises(InputError) as raised:
        inspect_source(conv.write_ledger(tmp_path, {"journal_lines": lines}, "sqlite"))
    assert raised.value.locator.endswith("ledger.sqlite journal_lines")
    assert raised.value.reason.startswith(
        "separate debit and credit amount columns (debit, credit): a mapping reads one amount "
        "with a direction: run init on a view that gives them"
    )


def test_an_unreadable_source_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        inspect_source(str(tmp_path / "missing.sqlite"))
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 10)
    with pytest.raises(InputError):
        inspect_source(str(junk))


def test_ledger_ids_come_from_the_source_name(tmp_path: Path) -> None:
    assert ledger_id_of("postgresql+psycopg://u@h/Payments_DB") == "payments_db"
    assert ledger_id_of(str(tmp_path / "My Ledger.sqlite")) == "my-ledger"
    assert ledger_id_of(f"sqlite:///{tmp_path}/books.db") == "books"


# --- properties of the column readers ---------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    seconds=st.integers(min_value=946_684_800, max_value=4_102_444_800),  # 2000..2100
    unit=st.sampled_from(["s", "ms", "us", "ns"]),
)
def test_the_epoch_unit_is_told_by_magnitude_for_this_century(seconds: int, unit: str) -> None:
    factor = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    values = pl.Series([str(seconds * factor)] * 3)
    assert _epoch_by_magnitude(values) == unit


def _relation(values: Sequence[str | None], type_class: TypeClass) -> SampledRelation:
    column = Column("amount", "x", type_class)
    rows = pl.DataFrame({"amount": list(values)}, schema={"amount": pl.String()})
    return SampledRelation("t", "t", (column,), rows)


@settings(max_examples=200, deadline=None)
@given(
    amounts=st.lists(st.integers(min_value=-(10**15), max_value=10**15), min_size=1, max_size=20),
    places=st.integers(min_value=0, max_value=4),
)
def test_decimal_text_is_major_and_whole_numbers_are_minor(amounts: list[int], places: int) -> None:
    written = [
        str(a)
        if places == 0
        else f"{'-' if a < 0 else ''}{abs(a) // 10**places}.{abs(a) % 10**places:0{places}d}"
        for a in amounts
    ]
    guess = amount_units(_relation(written, TypeClass.TEXT), Column("amount", "x", TypeClass.TEXT))
    assert guess.value == ("minor" if places == 0 else "major")
    assert guess.confidence != Confidence.UNDECIDED


def test_amount_text_that_is_not_a_number_is_undecided() -> None:
    relation = _relation(["12.50", "$3.00", None], TypeClass.ANY)
    guess = amount_units(relation, relation.columns[0])
    assert guess.value == FILL_IN
    assert "'$3.00'" in guess.reason


# --- the mapping tests' foreign layouts: terse names, versions, histories, chains ---------


@pytest.mark.parametrize("layout", sorted(file_exporters()))
def test_init_reads_each_foreign_layout_back_as_its_truth(
    demo_frames: LedgerFrames, tmp_path: Path, layout: str
) -> None:
    """Every transaction version and entry comes back as the layout's own mapping gives it.

    Only the ledger id is set (init guesses it from the file name); the parts init cannot
    know from names alone (the layout's ledger name, asset kinds, customer ids under odd
    names, stored balances in dr/cr columns) are left out and stated, never invented.
    """
    frames = with_fixed_entries(demo_frames) if layout == "csv_history" else demo_frames
    exported = file_exporters()[layout](frames, tmp_path)
    proposal = inspect_source(exported.source)
    _decided(proposal)
    files = write_setup_files(proposal, tmp_path / "setup")
    ledger_id = exported.expected.ledgers["ledger_id"][0]
    text = files.mapping.read_text()
    files.mapping.write_text(text.replace(f'id = "{proposal.ledger_id}"', f'id = "{ledger_id}"', 1))
    got, report = load_ledger(exported.source, mapping=files.mapping)
    assert report.rejected == 0, report.rejections
    for table in ("transactions", "entries"):
        assert got.table(table).equals(exported.expected.table(table), null_equal=True), table
    assert differing_tables(got, exported.expected) == [
        t for t in ("ledgers", "assets", "accounts", "balances") if t in EXPECTED_GAPS[layout]
    ]


EXPECTED_GAPS = {
    "sqlite_transfers": {"ledgers", "assets", "accounts"},
    "csv_versioned": {"ledgers", "assets", "accounts", "balances"},
    "csv_history": {"ledgers", "assets"},
}
"""Tables that differ, and why: ledgers (the name), assets (the kind), accounts (owner or
customer columns as external id, attrs as metadata), balances (dr/cr/hold_dr/hold_cr)."""


# --- PostgreSQL ----------------------------------------------------------------------------


def test_init_reads_the_postgresql_layout_back_as_its_truth(
    demo_frames: LedgerFrames, pg_url: str, tmp_path: Path
) -> None:
    """Signed NUMERIC major units, timestamptz, versioned journal rows, status words."""
    exported = export_pg_entries(demo_frames, pg_url, tmp_path)
    proposal = inspect_source(pg_url)
    _decided(proposal)
    amount = proposal.decision("entries.amount")
    assert amount.value == Inline(
        (("column", "amount"), ("units", "major"), ("sign", "debit_positive"))
    )
    assert proposal.value("transactions.recorded_at") == "created_at"
    assert proposal.decision("transactions.recorded_at").confidence == Confidence.SURE
    assert proposal.value("transactions.effective_at") == "booked_at"
    assert proposal.value("balances.from") == "account_balances"
    files = write_setup_files(proposal, tmp_path / "setup")
    ledger_id = exported.expected.ledgers["ledger_id"][0]
    text = files.mapping.read_text()
    files.mapping.write_text(text.replace(f'id = "{proposal.ledger_id}"', f'id = "{ledger_id}"', 1))
    got, report = load_ledger(pg_url, mapping=files.mapping)
    assert report.rejected == 0, report.rejections
    for table in ("transactions", "entries", "balances"):
        a, e = got.table(table), exported.expected.table(table)
        cols = [c for c in e.columns if not a[c].equals(e[c], check_names=False)]
        assert cols == [], (table, cols)


def test_a_conventional_postgresql_ledger_maps_without_edits(pg_url: str, tmp_path: Path) -> None:
    tables = conv.entry_rows()
    ddl = """
        CREATE TABLE accounts (id text, name text, type text, currency text);
        CREATE TABLE transactions (id text, status text, created_at timestamptz,
            idempotency_key text, reference text, memo text);
        CREATE TABLE entries (id bigint, transaction_id text, account_id text, amount bigint,
            currency text, direction text);
    """
    write_postgres(pg_url, ddl, tables)
    proposal = inspect_source(pg_url)
    _decided(proposal)
    assert proposal.value("transactions.recorded_at") == "created_at"
    _reads_back(tmp_path, pg_url, proposal)


# --- how the reader refuses each kind of placeholder (whole, or inside a map) ---------------


def _unknown_status(tables: dict[str, pl.DataFrame]) -> None:
    tables["transactions"] = tables["transactions"].with_columns(
        pl.col("status").replace({"voided": "on_review"})
    )


def _unknown_type(tables: dict[str, pl.DataFrame]) -> None:
    tables["accounts"] = tables["accounts"].with_columns(
        pl.col("type").replace({"expense": "contra"})
    )


def _unknown_direction(tables: dict[str, pl.DataFrame]) -> None:
    tables["entries"] = tables["entries"].with_columns(
        pl.col("direction").replace({"DR": "in", "CR": "out"})
    )


def _unknown_code(tables: dict[str, pl.DataFrame]) -> None:
    for name in ("entries", "accounts"):
        tables[name] = tables[name].with_columns(pl.col("currency").replace({"EUR": "PTS"}))


def _odd_times(tables: dict[str, pl.DataFrame]) -> None:
    tables["transactions"] = tables["transactions"].with_columns(
        pl.col("created_at").str.replace(r"^(\d{4})-(\d\d)-(\d\d)T.*", "$3/$2/$1")
    )


def _no_currency(tables: dict[str, pl.DataFrame]) -> None:
    tables["entries"] = tables["entries"].drop("currency")
    tables["accounts"] = tables["accounts"].drop("currency")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (_odd_times, "transactions.recorded_at"),
        (_no_currency, "entries.currency"),
        (_unknown_status, "transactions.status"),
        (_unknown_type, "accounts.normal_balance"),
        (_unknown_direction, "entries.direction"),
        (_unknown_code, "assets.scales"),
    ],
    ids=["time", "currency", "status-map", "type-map", "direction-map", "scales"],
)
def test_every_placeholder_is_refused_with_its_reason(
    tmp_path: Path, change: Callable[[dict[str, pl.DataFrame]], None], key: str
) -> None:
    tables = conv.entry_rows()
    change(tables)
    proposal = inspect_source(conv.write_ledger(tmp_path, tables, "csv"))
    assert proposal.decision(key).confidence == Confidence.UNDECIDED
    first = proposal.undecided[0]  # the reader refuses the first placeholder of the file
    files = write_setup_files(proposal, tmp_path / "setup")
    with pytest.raises(InputError) as raised:
        read_mapping(files.mapping)
    text = files.mapping.read_text().splitlines()
    line = int(raised.value.locator.rsplit(":", 1)[1])
    assert text[line - 1].startswith(f"{first.name} = ")
    assert raised.value.reason.startswith(f"{first.key}: to fill in: ")
    assert first.reason[:40] in raised.value.reason


def _with_ledgers(tables: dict[str, pl.DataFrame], names: Sequence[str]) -> None:
    """t1..t3 (and their legs) in ledger ``books-a``, t4..t6 in ``books-b``."""
    which = pl.when(pl.col("_t").str.slice(1).cast(pl.Int32) <= 3)
    for name in names:
        key = "id" if name == "transactions" else "transaction_id"
        tables[name] = (
            tables[name]
            .with_columns(pl.col(key).alias("_t"))
            .with_columns(which.then(pl.lit("books-a")).otherwise(pl.lit("books-b")).alias("book"))
            .drop("_t")
        )


@pytest.mark.parametrize("storage", ["sqlite", "parquet"])
def test_a_ledger_column_in_every_relation_maps_several_ledgers(
    tmp_path: Path, storage: str
) -> None:
    tables = conv.entry_rows()
    del tables["accounts"]
    _with_ledgers(tables, ["transactions", "entries"])
    source = conv.write_ledger(tmp_path, tables, storage)
    proposal = inspect_source(source)
    _decided(proposal)
    assert proposal.value("transactions.ledger_id") == "book"
    assert proposal.value("entries.ledger_id") == "book"
    files = write_setup_files(proposal, tmp_path / "setup")
    frames, report = load_ledger(source, mapping=files.mapping)
    assert report.rejected == 0, report.rejections
    ledgers = dict(frames.entries.group_by("ledger_id").len().iter_rows())
    assert ledgers == {"books-a": 6, "books-b": 6}


def test_a_ledger_column_in_some_relations_only_is_left_out_and_said(tmp_path: Path) -> None:
    tables = conv.entry_rows()
    _with_ledgers(tables, ["entries"])
    proposal = inspect_source(conv.write_ledger(tmp_path, tables, "csv"))
    _decided(proposal)
    left_out = proposal.decision("entries.ledger_id")
    assert left_out.value is None
    assert "a ledger column in entries.csv but not in accounts.csv, transactions.csv" in (
        left_out.reason
    )
