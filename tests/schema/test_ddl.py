"""The DDL: one schema on SQLite and PostgreSQL, idempotent, append-only where it must be."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from ledger_audit.schema.ddl import (
    create_schema,
    drop_append_only_triggers,
    restore_append_only_triggers,
)
from ledger_audit.schema.tables import APPEND_ONLY_TABLES, entries, ledgers, metadata, transactions

if TYPE_CHECKING:
    from collections.abc import Iterator

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

LEDGER_ROW: dict[str, Any] = {
    "ledger_id": "demo",
    "name": "Demo ledger",
    "chain_algorithm": "lach/1",
    "created_ns": 1_738_324_800_000_000_000,
    "metadata": None,
}
TRANSACTION_ROW: dict[str, Any] = {
    "ledger_id": "demo",
    "transaction_id": "tx-0001",
    "version": 0,
    "kind": "standard",
    "status": "posted",
    "pending_transaction_id": None,
    "reverses_transaction_id": None,
    "effective_ns": 1_738_324_800_000_000_000,
    "recorded_ns": 1_738_324_800_000_000_000,
    "idempotency_key": "ik-1",
    "external_id": None,
    "description": "top-up",
    "metadata": None,
    "meta_hash": None,
    "chain_seq": 1,
    "chain_prev_hash": "6253ef4548c1c89753952f65f1a00979d66e6c5335adc87c503dc1d397dd7dc1",
    "content_hash": "d44cd7f7516484f50d00bc54e953bea3659bc02563d370938411729b0694c64f",
    "chain_hash": "e7a8da8062ab3f23a8f3419f1ed05555dccaef123d5d6b582e3b1d5975caab96",
}
ENTRY_ROW: dict[str, Any] = {
    "ledger_id": "demo",
    "transaction_id": "tx-0001",
    "version": 0,
    "entry_index": 0,
    "account_id": "assets:bank",
    "asset_id": "USD/2",
    "direction": "debit",
    "amount": 10_000,
}
ROWS: dict[str, tuple[sa.Table, dict[str, Any]]] = {
    "transactions": (transactions, TRANSACTION_ROW),
    "entries": (entries, ENTRY_ROW),
}
CHANGES: dict[str, dict[str, Any]] = {
    "transactions": {"status": "archived"},
    "entries": {"amount": 10_001},
}


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    """An engine on an empty database of each back end, with the schema not yet created."""
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    created = sa.create_engine(url)
    yield created
    created.dispose()


@pytest.fixture
def ledger_engine(engine: sa.Engine) -> sa.Engine:
    """The schema plus one ledger, one transaction and one entry, inserted with plain SQL."""
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(ledgers.insert().values(LEDGER_ROW))
        conn.execute(transactions.insert().values(TRANSACTION_ROW))
        conn.execute(entries.insert().values(ENTRY_ROW))
    return engine


def _execute(engine: sa.Engine, statement: sa.Executable) -> None:
    """Run one statement in its own transaction (committed only if it succeeds)."""
    with engine.begin() as conn:
        conn.execute(statement)


def _stored(engine: sa.Engine, table: sa.Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(sa.select(table)).mappings()]


def _key(table: sa.Table, row: dict[str, Any]) -> sa.ColumnElement[bool]:
    return sa.and_(*(column == row[column.name] for column in table.primary_key.columns))


def _type_family(column_type: sa.types.TypeEngine[Any]) -> str:
    # Order matters: BigInteger is an Integer, and Text is a String.
    families: list[tuple[type[sa.types.TypeEngine[Any]], str]] = [
        (sa.Boolean, "boolean"),
        (sa.BigInteger, "bigint"),
        (sa.Integer, "integer"),
        (sa.String, "text"),
    ]
    for type_class, family in families:
        if isinstance(column_type, type_class):
            return family
    return f"unexpected:{column_type!r}"


@dataclass(frozen=True, slots=True)
class TableShape:
    """Everything about a reflected table that must not depend on the back end."""

    columns: tuple[tuple[str, bool, str], ...]  # name, nullable, type family; in order
    primary_key: tuple[str, ...]
    indexes: tuple[tuple[str | None, tuple[str | None, ...], bool], ...]  # name, columns, unique
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...]


def _describe(engine: sa.Engine) -> dict[str, TableShape]:
    inspector = sa.inspect(engine)
    return {
        table: TableShape(
            columns=tuple(
                (column["name"], column["nullable"], _type_family(column["type"]))
                for column in inspector.get_columns(table)
            ),
            primary_key=tuple(inspector.get_pk_constraint(table)["constrained_columns"]),
            indexes=tuple(
                sorted(
                    (index["name"], tuple(index["column_names"]), bool(index["unique"]))
                    for index in inspector.get_indexes(table)
                )
            ),
            foreign_keys=tuple(
                sorted(
                    (
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        tuple(fk["referred_columns"]),
                    )
                    for fk in inspector.get_foreign_keys(table)
                )
            ),
        )
        for table in sorted(inspector.get_table_names())
    }


def _trigger_names(engine: sa.Engine) -> list[str]:
    query = {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger'",
        "postgresql": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal",
    }[engine.dialect.name]
    with engine.connect() as conn:
        return sorted(conn.exec_driver_sql(query).scalars())


@pytest.mark.postgres
def test_schema_is_identical_on_sqlite_and_postgresql(sqlite_url: str, pg_url: str) -> None:
    described: dict[str, dict[str, TableShape]] = {}
    for url in (sqlite_url, pg_url):
        engine = sa.create_engine(url)
        create_schema(engine)
        described[engine.dialect.name] = _describe(engine)
        engine.dispose()

    sqlite, postgresql = described["sqlite"], described["postgresql"]
    assert set(sqlite) == set(metadata.tables)
    for table in metadata.tables.values():
        expected_columns = tuple(
            (column.name, bool(column.nullable), _type_family(column.type))
            for column in table.columns
        )
        shape = sqlite[table.name]
        assert shape.columns == expected_columns, table.name
        assert shape.primary_key == tuple(column.name for column in table.primary_key), table.name
        assert {index[0] for index in shape.indexes} == {index.name for index in table.indexes}
    for table_name in sorted(metadata.tables):
        assert sqlite[table_name] == postgresql[table_name], table_name
    assert sqlite == postgresql


def test_create_schema_is_idempotent(engine: sa.Engine) -> None:
    create_schema(engine)
    first = (_describe(engine), _trigger_names(engine))
    create_schema(engine)
    assert (_describe(engine), _trigger_names(engine)) == first
    assert len(first[1]) == 4  # UPDATE/DELETE (SQLite) or row/TRUNCATE (PostgreSQL) x 2 tables


@pytest.mark.parametrize("table_name", APPEND_ONLY_TABLES)
def test_update_is_rejected_and_the_row_is_unchanged(
    ledger_engine: sa.Engine, table_name: str
) -> None:
    table, row = ROWS[table_name]
    update = table.update().where(_key(table, row)).values(CHANGES[table_name])
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        _execute(ledger_engine, update)
    assert _stored(ledger_engine, table) == [row]


@pytest.mark.parametrize("table_name", APPEND_ONLY_TABLES)
def test_delete_is_rejected_and_the_row_is_still_there(
    ledger_engine: sa.Engine, table_name: str
) -> None:
    table, row = ROWS[table_name]
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        _execute(ledger_engine, table.delete().where(_key(table, row)))
    assert _stored(ledger_engine, table) == [row]


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["TRUNCATE entries", "TRUNCATE transactions CASCADE"])
def test_truncate_is_rejected_on_postgresql(pg_url: str, statement: str) -> None:
    engine = sa.create_engine(pg_url)
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(ledgers.insert().values(LEDGER_ROW))
        conn.execute(transactions.insert().values(TRANSACTION_ROW))
        conn.execute(entries.insert().values(ENTRY_ROW))
    with pytest.raises(sa.exc.DBAPIError, match="append-only: TRUNCATE rejected"):
        _execute(engine, sa.text(statement))
    assert _stored(engine, transactions) == [TRANSACTION_ROW]
    assert _stored(engine, entries) == [ENTRY_ROW]
    engine.dispose()


@pytest.mark.parametrize("table_name", APPEND_ONLY_TABLES)
def test_update_succeeds_once_the_triggers_are_dropped(
    ledger_engine: sa.Engine, table_name: str
) -> None:
    table, row = ROWS[table_name]
    change = CHANGES[table_name]
    with ledger_engine.begin() as conn:
        drop_append_only_triggers(conn)
        updated = conn.execute(table.update().where(_key(table, row)).values(change))
        assert updated.rowcount == 1
    assert _stored(ledger_engine, table) == [row | change]
    assert _trigger_names(ledger_engine) == []

    with ledger_engine.begin() as conn:
        restore_append_only_triggers(conn)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        _execute(ledger_engine, table.delete().where(_key(table, row)))
    assert _stored(ledger_engine, table) == [row | change]
