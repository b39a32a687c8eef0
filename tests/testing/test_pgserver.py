"""The throwaway PostgreSQL server: it starts, serves separate databases, leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from ledger_audit.testing.pgserver import (
    PostgresNotFoundError,
    PostgresServer,
    PostgresServerError,
    find_postgres_bin_dir,
    unique_database_name,
)

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module")
def server(pg_bin_dir: Path) -> Iterator[PostgresServer]:
    # Our own server, not the session's `pg_server`: that one may be an external server.
    with PostgresServer(bin_dir=pg_bin_dir, fsync=False) as running:
        yield running


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """A parent directory the `postgres` user can enter even when the tests run as root."""
    path = Path(tempfile.mkdtemp(prefix="ledger-audit-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _scalar(url: str, query: str) -> object:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(query).scalar_one()
    finally:
        engine.dispose()


def test_server_accepts_connections_on_loopback_only(server: PostgresServer) -> None:
    assert (
        server.admin_url == f"postgresql+psycopg://{server.user}@127.0.0.1:{server.port}/postgres"
    )
    version = _scalar(server.admin_url, "SELECT version()")
    assert isinstance(version, str)
    assert version.startswith("PostgreSQL ")
    assert _scalar(server.admin_url, "SHOW listen_addresses") == "127.0.0.1"
    assert _scalar(server.admin_url, "SHOW server_encoding") == "UTF8"
    assert _scalar(server.admin_url, "SHOW fsync") == "off"
    socket_dir = _scalar(server.admin_url, "SHOW unix_socket_directories")
    assert isinstance(socket_dir, str)
    assert Path(socket_dir).is_relative_to(server.base_dir)


def test_server_does_not_run_as_root(server: PostgresServer) -> None:
    assert server.user != "root"
    assert server.data_dir.stat().st_uid != 0


def test_databases_are_independent(server: PostgresServer) -> None:
    first = server.create_database(unique_database_name("first"))
    second = server.create_database(unique_database_name("second"))
    assert first != second

    engine = sa.create_engine(first, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE marker (value TEXT NOT NULL)")
        conn.exec_driver_sql("INSERT INTO marker VALUES ('first')")
    engine.dispose()

    assert _scalar(first, "SELECT value FROM marker") == "first"
    assert _scalar(first, "SELECT current_setting('server_encoding')") == "UTF8"
    assert _scalar(second, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    assert _scalar(second, "SELECT to_regclass('public.marker') IS NULL") is True


def test_drop_database_disconnects_users_and_is_idempotent(server: PostgresServer) -> None:
    name = unique_database_name("dropped")
    url = server.create_database(name)
    engine = sa.create_engine(url)
    conn = engine.connect()
    conn.exec_driver_sql("SELECT 1")
    server.drop_database(name)  # while `conn` is still connected
    conn.invalidate()  # the server closed it: do not try to roll back on close
    conn.close()
    engine.dispose()
    server.drop_database(name)
    exists = f"SELECT count(*) FROM pg_database WHERE datname = '{name}'"
    assert _scalar(server.admin_url, exists) == 0


@pytest.mark.parametrize("name", ["", "Upper", "semi;colon", "1starts_with_digit", "x" * 64])
def test_create_database_rejects_unsafe_names(server: PostgresServer, name: str) -> None:
    with pytest.raises(PostgresServerError, match="invalid test database name"):
        server.create_database(name)


def test_unique_database_name_is_valid_and_unique() -> None:
    names = {unique_database_name("test_x[param-1] Ünïcode"), unique_database_name("9lives")}
    assert len(names) == 2
    for name in names:
        assert len(name) <= 63
        assert name.replace("_", "").isalnum()
        assert name.islower()
        assert name[0].isalpha()


def test_stop_removes_the_data_dir_and_the_server(pg_bin_dir: Path) -> None:
    server = PostgresServer(bin_dir=pg_bin_dir, fsync=False)
    with pytest.raises(PostgresServerError, match="not running"):
        _ = server.port
    with server:
        base_dir = server.base_dir
        admin_url = server.admin_url
        assert (server.data_dir / "PG_VERSION").is_file()
        assert _scalar(admin_url, "SELECT 1") == 1
    assert not base_dir.exists()
    with pytest.raises(sa.exc.OperationalError):
        _scalar(admin_url, "SELECT 1")
    server.stop()  # a second stop is harmless


def test_failed_start_reports_the_log_tail_and_cleans_up(
    pg_bin_dir: Path, world_readable_dir: Path
) -> None:
    server = PostgresServer(
        bin_dir=pg_bin_dir,
        fsync=False,
        settings={"shared_buffers": "not-a-size"},
        base_dir=world_readable_dir,
    )
    with pytest.raises(PostgresServerError, match="did not start") as failure:
        server.start()
    assert "shared_buffers" in str(failure.value)
    assert "last lines of" in str(failure.value)
    assert list(world_readable_dir.iterdir()) == []


def test_missing_binaries_name_the_install_script(tmp_path: Path) -> None:
    (tmp_path / "15" / "bin").mkdir(parents=True)  # a version directory without binaries
    with pytest.raises(PostgresNotFoundError, match=r"scripts/ensure-postgres\.sh"):
        find_postgres_bin_dir(path=str(tmp_path), roots=(tmp_path,))


def test_finds_the_newest_version(tmp_path: Path) -> None:
    for version in ("9.6", "13", "16", "not-a-version"):
        bin_dir = tmp_path / version / "bin"
        bin_dir.mkdir(parents=True)
        for name in ("initdb", "pg_ctl", "postgres"):
            (bin_dir / name).touch(mode=0o755)
    (tmp_path / "17" / "bin").mkdir(parents=True)  # incomplete: no binaries
    assert find_postgres_bin_dir(path=os.devnull, roots=(tmp_path,)) == tmp_path / "16" / "bin"
