"""Create the ledger schema identically on SQLite and PostgreSQL, append-only triggers included."""

from __future__ import annotations

import sqlalchemy as sa

from ledger_audit.schema.tables import APPEND_ONLY_TABLES, metadata

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING
    MESSAGE = TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' rejected',
    ERRCODE = 'restrict_violation';
END
$$
"""


def _trigger_statements(dialect: str) -> list[str]:
    statements: list[str] = []
    if dialect == "postgresql":
        statements.append(_PG_FUNCTION)
        for table in APPEND_ONLY_TABLES:
            statements.append(
                f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON "
                f"{table} FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            )
            statements.append(
                f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON "
                f"{table} FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
            )
    elif dialect == "sqlite":
        for table in APPEND_ONLY_TABLES:
            statements.extend(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} rejected'); END"
                for op in ("UPDATE", "DELETE")
            )
    else:
        raise ValueError(f"unsupported database dialect {dialect!r}: use SQLite or PostgreSQL")
    return statements


def create_schema(engine: sa.Engine) -> None:
    """Create every table, index and append-only trigger (idempotent).

    Tables in ``metadata.sorted_tables`` order, each table's indexes by name: SQLAlchemy's
    ``create_all`` takes a table's indexes from a set, whose order changes from process to
    process, and SQLite places each index's root page in creation order, so the same ledger
    written twice was not the same file.
    """
    with engine.begin() as conn:
        existing = set(sa.inspect(conn).get_table_names())
        for table in metadata.sorted_tables:
            if table.name not in existing:
                conn.execute(sa.schema.CreateTable(table))
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                index.create(conn, checkfirst=True)
        for statement in _trigger_statements(engine.dialect.name):
            conn.exec_driver_sql(statement)


def drop_append_only_triggers(conn: sa.Connection) -> None:
    """Remove the append-only guard, as an attacker with DDL rights would (demo planting only)."""
    dialect = conn.dialect.name
    for table in APPEND_ONLY_TABLES:
        if dialect == "postgresql":
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            for op in ("update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{op}")


def restore_append_only_triggers(conn: sa.Connection) -> None:
    """Put the guard back after planting, so the demo ledger looks untouched from outside."""
    for statement in _trigger_statements(conn.dialect.name):
        conn.exec_driver_sql(statement)
