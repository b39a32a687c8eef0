"""Each invariant is one statement, and every engine returns the same violations for it.

DuckDB over the ``legs`` frame (the frame path), SQLite and PostgreSQL (the SQL path) run the
same ``violations_query``: equal on the demo, on a tampered demo and on a hand-made damaged
ledger, and (a property) on random small ``legs``. Amounts past int64 are summed exactly on
the frames, also past 2^95 where a BIGINT half would overflow, and refused by the databases.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.pool import NullPool

from ledger_audit.checks import engines
from ledger_audit.checks.engines import (
    DUCKDB_MEMORY_CEILING,
    DUCKDB_MEMORY_FLOOR,
    INVARIANT_NAMES,
    database_engine,
    duckdb_memory_limit,
    duckdb_sql,
    frame_engine,
    violations_on,
)
from ledger_audit.checks.invariant_rules import LEGS_SCHEMA, legs_schema, prepare_legs
from ledger_audit.checks.invariants import check_invariants
from ledger_audit.errors import InputError
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.scratch import OWNER, remove_abandoned
from ledger_audit.sources import load_ledger
from ledger_audit.sources.invariant_sql import LEG_COLUMNS, violations_query
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.sources.spill import spill_area
from ledger_audit.spec import VerifySpec
from tests.checks.demo_tampering import tamper
from tests.checks.test_suites import DAMAGED
from tests.checks.test_wide_amounts import BIG, _wide_frames
from tests.conftest import DemoFactory
from tests.sources.sample_ledger import write_sample_ledger
from tests.text_ledger import ledger_from_text

Violations = dict[str, pl.DataFrame]
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def on_frames(frames: LedgerFrames) -> Violations:
    with frame_engine(prepare_legs(frames)) as engine:
        return {name: violations_on(engine, name) for name in INVARIANT_NAMES}


def in_database(url: str) -> Violations:
    with database_engine(url) as engine:
        assert engine.name == engine.dialect == sa.make_url(url).get_backend_name()
        return {name: violations_on(engine, name) for name in INVARIANT_NAMES}


def database(kind: str, frames: LedgerFrames, folder: Path, request: pytest.FixtureRequest) -> str:
    """A database of ``kind`` holding ``frames`` (written with plain inserts)."""
    url = f"sqlite:///{folder / 'copy.sqlite'}"
    if kind == "postgresql":
        url = request.getfixturevalue("pg_url")
    engine = sa.create_engine(url, poolclass=NullPool)
    write_sample_ledger(engine, {table: frame.to_dicts() for table, frame in frames.items()})
    engine.dispose()
    return url


def assert_equal(found: Violations, reference: Violations) -> set[str]:
    """Every invariant's rows equal (values and order); the invariants that found something."""
    for name in INVARIANT_NAMES:
        assert found[name].schema == reference[name].schema, name
        assert found[name].equals(reference[name], null_equal=True), (
            name,
            found[name].to_dicts(),
            reference[name].to_dicts(),
        )
    return {name for name in INVARIANT_NAMES if not reference[name].is_empty()}


@pytest.mark.parametrize("kind", DATABASES)
def test_the_planted_demo_gives_the_same_violations_everywhere(
    demo_factory: DemoFactory, kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    demo = demo_factory()
    frames, _ = load_ledger(demo.ledger_path)
    url = (
        f"sqlite:///{demo.ledger_path}"
        if kind == "sqlite"
        else database(kind, frames, tmp_path, request)
    )
    found = assert_equal(in_database(url), on_frames(frames))
    assert found == {
        "idempotency_conflict",
        "reversal_not_inverse",
        "balance_negative",
        "external_id_duplicate",
        "chain_gap",
    }


@pytest.mark.parametrize("kind", DATABASES)
def test_a_tampered_demo_gives_the_same_violations_everywhere(
    demo_factory: DemoFactory, kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    path = tmp_path / "tampered.sqlite"
    shutil.copy(demo_factory(clean=True).ledger_path, path)
    for edit in ("amount", "insert", "swap", "delete"):  # unbalanced, a seq twice, a gap
        tamper(path, edit, seed=3)
    frames, _ = load_ledger(path)
    url = f"sqlite:///{path}" if kind == "sqlite" else database(kind, frames, tmp_path, request)
    found = assert_equal(in_database(url), on_frames(frames))
    assert {"entry_unbalanced", "ledger_unbalanced", "chain_gap"} <= found


EMPTY = """
tx t7 standard posted at=90
tx t8 pending pending at=95
"""
"""A posted version without entries (found) and a pending one (not found)."""


@pytest.mark.parametrize("kind", DATABASES)
def test_a_damaged_ledger_gives_the_same_violations_everywhere(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    frames = ledger_from_text(DAMAGED + EMPTY)
    found = assert_equal(in_database(database(kind, frames, tmp_path, request)), on_frames(frames))
    assert found == set(INVARIANT_NAMES) - {"chain_gap"}
    assert on_frames(frames)["empty_version"]["transaction_id"].to_list() == ["t7"]


@pytest.mark.parametrize("kind", DATABASES)
def test_wide_amounts_are_exact_on_the_frames_and_refused_by_the_databases(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    frames = _wide_frames()
    found = on_frames(frames)
    exact = {
        name: rows.select("transaction_id", "expected", "actual").rows()
        for name, rows in found.items()
        if not rows.is_empty()
    }
    assert exact == {
        "entry_unbalanced": [("t2", Decimal(BIG), Decimal(BIG - 1))],
        "ledger_unbalanced": [(None, Decimal(4 * BIG), Decimal(4 * BIG - 1))],
        "balance_negative": [("t3", Decimal(2 * BIG - 1), Decimal(-1))],
    }
    url = f"sqlite:///{tmp_path / 'wide.sqlite'}"
    if kind == "postgresql":
        url = request.getfixturevalue("pg_url")
    engine = sa.create_engine(url, poolclass=NullPool)
    rows = {table: frame.to_dicts() for table, frame in ledger_from_text(DAMAGED).items()}
    entries = rows.pop("entries")
    write_sample_ledger(engine, {**rows, "entries": []})
    for row in entries:
        if row["transaction_id"] == "t2":  # SQLite holds one past int64 as a REAL
            row["amount"] = BIG if kind == "postgresql" else 1e30
    with engine.begin() as connection:
        if kind == "postgresql":
            connection.exec_driver_sql("ALTER TABLE entries ALTER COLUMN amount TYPE NUMERIC(39)")
        connection.execute(sa.insert(sa.table("entries", *map(sa.column, entries[0]))), entries)
    engine.dispose()
    with pytest.raises(InputError, match=r"transaction_id=t2, .* beyond int64"):
        in_database(url)


def test_the_frames_sum_past_2_to_the_95_where_a_bigint_half_would_overflow() -> None:
    """A half of 10^37 is about 2.3e27: only DuckDB's HUGEINT (the frame dialect) holds it."""
    huge = 10**37
    frames = _wide_frames()
    entries = frames.entries.with_columns(
        (pl.col("amount").cast(pl.Int128()) // BIG * huge).cast(WIDE_AMOUNT).alias("amount")
    )
    wide = LedgerFrames.from_tables({**dict(frames.items()), "entries": entries})
    unbalanced = on_frames(wide)["entry_unbalanced"]
    assert unbalanced.select("expected", "actual").rows() == [(Decimal(huge), Decimal(0))]
    statement = violations_query("entry_unbalanced", sa.table("legs"), "postgresql")
    assert "HUGEINT" in duckdb_sql(statement, wide=True)
    assert "BIGINT" not in duckdb_sql(statement, wide=True)
    assert "HUGEINT" not in duckdb_sql(statement, wide=False)


# --- the property: random small legs, DuckDB and SQLite --------------------------------------

LEDGERS = ("l", "m")
TRANSACTIONS = ("a", "b", "c", "d")
ACCOUNTS: dict[str, tuple[str, int, str | None]] = {
    "bank": ("debit", 1, None),
    "wallet": ("credit", 0, "USD/2"),
    "card": ("debit", 0, None),
    "ghost": ("unknown", 0, None),
}
"""account -> (account_check, allow_negative, account_asset_id); ghost does not exist."""
ASSETS = {"USD/2": 2, "EUR/2": 2, "XXX/9": -1}
AMOUNTS = st.one_of(
    st.integers(1, 900), st.sampled_from([0, -3, 2**62, 2**63 - 1, 2**32, 2**32 - 1])
)
MAYBE_TX = st.none() | st.sampled_from(TRANSACTIONS)


@st.composite
def legs_rows(draw: st.DrawFn) -> pl.DataFrame:
    """A ``legs`` frame with one set of version fields per stored version (as any source)."""
    rows: list[dict[str, Any]] = []

    def entry(index: int) -> dict[str, Any]:
        account = draw(st.sampled_from(sorted(ACCOUNTS)))
        check, allow_negative, account_asset = ACCOUNTS[account]
        asset = draw(st.sampled_from(sorted(ASSETS)))
        return {
            "entry_index": index,
            "account_id": account,
            "asset_id": asset,
            "direction": draw(st.sampled_from(["debit", "credit", "debit", "credit", "both"])),
            "amount": draw(AMOUNTS),
            "account_asset_id": account_asset,
            "account_check": check,
            "allow_negative": allow_negative,
            "normal_balance": None if check == "unknown" else check,
            "asset_check": ASSETS[asset],
        }

    keys = st.tuples(st.sampled_from(LEDGERS), st.sampled_from(TRANSACTIONS), st.integers(0, 2))
    for ledger, tx, version in draw(st.lists(keys, unique=True, max_size=9)):
        stored = {
            "ledger_id": ledger,
            "transaction_id": tx,
            "version": version,
            "has_version": 1,
            "kind": draw(st.sampled_from(["standard", "pending", "reversal"])),
            "status": draw(st.sampled_from(["pending", "posted", "archived"])),
            "pending_transaction_id": draw(MAYBE_TX),
            "reverses_transaction_id": draw(MAYBE_TX),
            "idempotency_key": draw(st.none() | st.sampled_from(["k1", "k2"])),
            "external_id": draw(st.none() | st.sampled_from(["e1", "e2"])),
            "chain_seq": draw(st.none() | st.integers(1, 9)),
            "recorded_ns": draw(st.integers(0, 4)),
        }
        count = draw(st.integers(0, 3))
        rows.extend({**stored, **entry(i)} for i in range(count))
        if count == 0:
            rows.append(stored)
    for ledger, tx, version in draw(st.lists(keys, unique=True, max_size=2)):
        orphan = {"ledger_id": ledger, "transaction_id": tx, "version": version}
        rows.append({**orphan, "has_version": 0, **entry(7)})
    return pl.DataFrame(
        [{name: row.get(name) for name in LEG_COLUMNS} for row in rows],
        schema=LEGS_SCHEMA,
        orient="row",
    )


def stored_in_sqlite(legs: pl.DataFrame, path: Path) -> str:
    """``legs`` as a SQLite table of that name (integers as INTEGER, text as TEXT)."""
    kinds = {
        name: "INTEGER" if dtype == pl.Int64() else "TEXT" for name, dtype in legs.schema.items()
    }
    columns = ", ".join(f"{name} {kind}" for name, kind in kinds.items())
    marks = ", ".join("?" for _ in kinds)
    with closing(sqlite3.connect(path)) as connection:
        connection.execute(f"CREATE TABLE legs ({columns})")
        connection.executemany(f"INSERT INTO legs VALUES ({marks})", legs.rows())
        connection.commit()
    return f"sqlite:///{path}"


@settings(max_examples=30, deadline=None)
@given(legs_rows())
def test_random_legs_give_the_same_violations_on_duckdb_and_sqlite(legs: pl.DataFrame) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = stored_in_sqlite(legs, Path(folder) / "legs.sqlite")
        with database_engine(url, stored_legs=True) as engine:
            in_sqlite = {name: violations_on(engine, name) for name in INVARIANT_NAMES}
    with frame_engine(legs) as engine:
        assert_equal(in_sqlite, {name: violations_on(engine, name) for name in INVARIANT_NAMES})


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["debit", "credit"]), st.integers(1, 10**36)),
        min_size=1,
        max_size=8,
    )
)
def test_wide_sums_on_the_frames_are_the_exact_sums(sides: list[tuple[str, int]]) -> None:
    base = {"ledger_id": "l", "transaction_id": "a", "version": 0, "has_version": 1}
    base |= {"status": "posted", "chain_seq": 1, "recorded_ns": 0, "account_id": "bank"}
    base |= {"asset_id": "USD/2", "account_check": "debit", "asset_check": 2}
    rows = [
        {**base, "entry_index": i, "direction": direction, "amount": amount}
        for i, (direction, amount) in enumerate(sides)
    ]
    legs = pl.DataFrame(
        [{name: row.get(name) for name in LEG_COLUMNS} for row in rows],
        schema=legs_schema(WIDE_AMOUNT),
        orient="row",
    )
    debits = sum(amount for direction, amount in sides if direction == "debit")
    credits_ = sum(amount for direction, amount in sides if direction == "credit")
    with frame_engine(legs) as engine:
        unbalanced = violations_on(engine, "entry_unbalanced")
        ledger = violations_on(engine, "ledger_unbalanced")
    expected = [] if debits == credits_ else [(Decimal(debits), Decimal(credits_))]
    assert unbalanced.select("expected", "actual").rows() == expected
    assert ledger.select("expected", "actual").rows() == expected


def test_duckdb_works_within_its_memory_limit_and_spills_into_its_own_folder() -> None:
    """The frame path's DuckDB is bounded (the audit set the 1M close's heap peak)."""
    legs = prepare_legs(ledger_from_text(DAMAGED))
    with frame_engine(legs) as engine:
        connection = engine._connection  # the setting is the connection's
        [(limit, folder)] = connection.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchall()
        assert limit == "1.0 GiB"  # a small ledger's: the floor
        assert Path(folder).name.startswith("ledger-audit-duckdb-")
        assert (Path(folder) / OWNER).is_file()  # locked: a later run removes it if killed
        assert remove_abandoned(Path(folder).parent, "ledger-audit-duckdb-") == []
    assert not Path(folder).exists()  # removed with the engine


def test_duckdb_memory_grows_with_the_legs_between_a_floor_and_a_ceiling() -> None:
    """1 GiB up to the 1M demo's legs and well past them; about 2 GiB at the 10M demo's."""
    assert DUCKDB_MEMORY_FLOOR == 2**30
    assert duckdb_memory_limit(0) == DUCKDB_MEMORY_FLOOR
    assert duckdb_memory_limit(3_000_000) == DUCKDB_MEMORY_FLOOR  # the 1M demo's close
    assert duckdb_memory_limit(6_000_000) == DUCKDB_MEMORY_FLOOR  # 2M: its peak is measured
    assert 1.95 * 2**30 < duckdb_memory_limit(29_637_394) < 2.05 * 2**30  # the 10M demo's
    assert duckdb_memory_limit(10**9) == DUCKDB_MEMORY_CEILING == 4 * 2**30
    sizes = [duckdb_memory_limit(n) for n in range(0, 80_000_000, 1_000_000)]
    assert sizes == sorted(sizes)


def test_the_engine_sets_the_limit_its_legs_call_for(monkeypatch: pytest.MonkeyPatch) -> None:
    legs = prepare_legs(ledger_from_text(DAMAGED))
    monkeypatch.setattr(engines, "DUCKDB_BYTES_PER_LEG", 2**30 // 8)  # 2.6 GiB at 21 legs
    with frame_engine(legs) as engine:
        [(limit,)] = engine._connection.execute("SELECT current_setting('memory_limit')").fetchall()
    expected = duckdb_memory_limit(legs.height)
    assert DUCKDB_MEMORY_FLOOR < expected < DUCKDB_MEMORY_CEILING
    assert limit == f"{expected / 2**30:.1f} GiB"


def test_inside_a_spill_area_the_legs_leave_the_heap_as_they_are_made(tmp_path: Path) -> None:
    """In a close the legs are moved a group of columns at a time (held whole they set the
    audit's peak), once: the invariants' own spill of them writes nothing again."""
    frames = ledger_from_text(DAMAGED)
    outside = prepare_legs(frames)
    with spill_area(tmp_path, min_bytes=1) as spill:
        assert spill is not None
        inside = prepare_legs(frames)
        assert spill.moved(inside)
        assert spill.frames == inside.width  # min_bytes 1: each column is a group
        result = check_invariants(frames, VerifySpec())
        assert spill.frames == 2 * inside.width  # its legs, and nothing more
    assert inside.equals(outside)
    assert result.findings.height > 0
    assert result.findings.equals(check_invariants(frames, VerifySpec()).findings)
