"""Open a ledger database for writing: SQLite gets serialised writers, PostgreSQL row locks.

SQLite's default deferred transactions let two writers both read the chain head and then
collide; ``BEGIN IMMEDIATE`` takes the write lock up front, which is what sealing needs.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from ledger_audit.schema.ddl import create_schema


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"


def open_writer_engine(url: str, *, create: bool = False) -> sa.Engine:
    """An engine for the reference writer; ``create`` makes the schema if it is missing."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 60})

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    else:
        engine = sa.create_engine(url, pool_size=16, max_overflow=16)
    if create:
        create_schema(engine)
    return engine
