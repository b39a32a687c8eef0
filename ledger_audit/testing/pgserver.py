"""A throwaway PostgreSQL server on loopback, for tests and benchmarks.

Why: the SQL we ship must run against a real PostgreSQL, not a mock, and a test run must not
depend on a server someone configured by hand. So each run gets its own cluster in a temporary
directory (``initdb``, trust authentication, listening on 127.0.0.1 only), and the cluster is
stopped and deleted when the run ends.

PostgreSQL refuses to run as root: when we are root the binaries run as a non-root user
(``postgres`` by default, which Debian's package creates); otherwise they run as us.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, Self

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ledger_audit.errors import LedgerAuditError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import TracebackType

__all__ = [
    "DatabaseFactory",
    "ExistingPostgres",
    "PostgresNotFoundError",
    "PostgresServer",
    "PostgresServerError",
    "find_postgres_bin_dir",
    "unique_database_name",
]

ENSURE_SCRIPT: Final = "scripts/ensure-postgres.sh"
DEFAULT_ROOTS: Final = (Path("/usr/lib/postgresql"),)
_REQUIRED_BINARIES: Final = ("initdb", "pg_ctl", "postgres")
_DATABASE_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_LOG_TAIL_LINES: Final = 40
_START_ATTEMPTS: Final = 3
_STOP_TIMEOUT_S: Final = 30


class PostgresServerError(LedgerAuditError):
    """The throwaway server could not be set up, started or used; the message says why."""


class PostgresNotFoundError(PostgresServerError):
    """No PostgreSQL server binaries on this machine; the message says how to install them."""


class DatabaseFactory(Protocol):
    """What a test needs from a server: fresh databases on demand, dropped afterwards."""

    @property
    def admin_url(self) -> str:
        """SQLAlchemy URL of the maintenance database, as a superuser."""
        ...

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        ...

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever still uses it."""
        ...


def find_postgres_bin_dir(path: str | None = None, roots: Sequence[Path] = DEFAULT_ROOTS) -> Path:
    """Return the directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    ``PATH`` (or ``path``) comes first so that a developer's own build wins; then the newest
    version under each of ``roots`` (Debian installs to ``/usr/lib/postgresql/<major>/bin``
    and puts only client wrappers on ``PATH``).
    """
    found = shutil.which("initdb", path=path)
    if found is not None:
        candidate = Path(found).resolve().parent
        if _has_server_binaries(candidate):
            return candidate
    versioned: list[tuple[tuple[int, ...], Path]] = []
    for root in roots:
        for bin_dir in root.glob("*/bin"):
            version = _version_key(bin_dir.parent.name)
            if version is not None and _has_server_binaries(bin_dir):
                versioned.append((version, bin_dir))
    if versioned:
        return max(versioned)[1]
    searched = ", ".join(f"{root}/*/bin" for root in roots)
    raise PostgresNotFoundError(
        f"PostgreSQL server binaries ({', '.join(_REQUIRED_BINARIES)}) not found on PATH or in "
        f"{searched}: run {ENSURE_SCRIPT} (installs Debian's postgresql package; needs root)"
    )


def unique_database_name(hint: str = "db") -> str:
    """Return a valid, unused-in-practice database name that still says where it came from."""
    stem = re.sub(r"[^a-z0-9_]+", "_", hint.lower()).strip("_")[:40] or "db"
    if not stem[0].isalpha():
        stem = f"t_{stem}"
    return f"{stem}_{uuid.uuid4().hex[:12]}"


class ExistingPostgres:
    """An already running server (given by its admin URL) used the same way as our own."""

    def __init__(self, admin_url: str) -> None:
        url = sa.make_url(admin_url)
        if url.get_backend_name() != "postgresql":
            raise PostgresServerError(f"not a PostgreSQL URL: {url!r}")
        self._admin_url = url.render_as_string(hide_password=False)

    @property
    def admin_url(self) -> str:
        """SQLAlchemy URL of the maintenance database, as given."""
        return self._admin_url

    def database_url(self, name: str) -> str:
        """SQLAlchemy URL of database ``name`` on this server (no check that it exists)."""
        return _database_url(self._admin_url, name)

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        return _create_database(self._admin_url, name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever still uses it."""
        _drop_database(self._admin_url, name)


@dataclass(frozen=True, slots=True)
class _RunAs:
    """The non-root account the server binaries run as when we are root."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True, slots=True)
class _Cluster:
    """What shutting down needs, kept apart from the server object so a finalizer can hold it."""

    bin_dir: Path
    base_dir: Path
    data_dir: Path
    log_file: Path
    run_as: _RunAs | None
    env: Mapping[str, str]


class PostgresServer:
    """A private PostgreSQL cluster on 127.0.0.1 that lives as long as a ``with`` block.

    ``fsync=False`` (with ``synchronous_commit`` and ``full_page_writes`` off) trades crash
    safety, which a throwaway cluster does not need, for much faster tests. ``settings`` go
    into ``postgresql.conf`` as given. If the object is never stopped, the cluster is stopped
    and deleted when the interpreter exits.
    """

    def __init__(
        self,
        *,
        fsync: bool = True,
        settings: Mapping[str, str] | None = None,
        bin_dir: Path | None = None,
        run_as: str | None = None,
        base_dir: Path | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self._fsync = fsync
        self._settings = dict(settings or {})
        self._bin_dir = bin_dir if bin_dir is not None else find_postgres_bin_dir()
        self._run_as = _resolve_run_as(run_as)
        self._user = self._run_as.name if self._run_as else pwd.getpwuid(os.geteuid()).pw_name
        self._parent_dir = base_dir
        self._startup_timeout = startup_timeout
        self._cluster: _Cluster | None = None
        self._port: int | None = None
        self._finalizer: weakref.finalize[[_Cluster], PostgresServer] | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def user(self) -> str:
        """Name of the database superuser (the OS user the server runs as)."""
        return self._user

    @property
    def port(self) -> int:
        """TCP port on 127.0.0.1."""
        if self._port is None:
            raise PostgresServerError("the PostgreSQL server is not running: call start() first")
        return self._port

    @property
    def base_dir(self) -> Path:
        """Temporary directory holding the data directory, the socket and the log."""
        return self._running_cluster().base_dir

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (``PGDATA``)."""
        return self._running_cluster().data_dir

    @property
    def log_file(self) -> Path:
        """The server log; its tail is part of every start-up error."""
        return self._running_cluster().log_file

    @property
    def admin_url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` maintenance database, as the superuser."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        """SQLAlchemy URL of database ``name`` on this server (no check that it exists)."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{_check_name(name)}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        return _create_database(self.admin_url, name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever still uses it."""
        _drop_database(self.admin_url, name)

    def start(self) -> None:
        """Create the cluster, start it and wait until it accepts connections."""
        if self._cluster is not None:
            raise PostgresServerError("the PostgreSQL server is already running")
        deadline = time.monotonic() + self._startup_timeout
        cluster = self._make_cluster()
        # Registered before anything can fail, so that a half-started cluster is cleaned up too.
        finalizer = weakref.finalize(self, _shutdown, cluster)
        try:
            self._initdb(cluster)
            self._port = self._start_postmaster(cluster, deadline)
            self._cluster = cluster
            self._finalizer = finalizer
            self._wait_until_accepting(deadline)
        except BaseException:
            self._cluster = None
            self._port = None
            self._finalizer = None
            finalizer()
            raise

    def stop(self) -> None:
        """Stop the server and delete its directory; stopping twice is harmless."""
        finalizer, self._finalizer = self._finalizer, None
        self._cluster = None
        self._port = None
        if finalizer is not None:
            finalizer()

    def _running_cluster(self) -> _Cluster:
        if self._cluster is None:
            raise PostgresServerError("the PostgreSQL server is not running: call start() first")
        return self._cluster

    def _make_cluster(self) -> _Cluster:
        base_dir = Path(tempfile.mkdtemp(prefix="ledger-audit-pg-", dir=self._parent_dir))
        socket_dir = base_dir / "socket"
        socket_dir.mkdir()
        if self._run_as is not None:
            for owned in (base_dir, socket_dir):
                os.chown(owned, self._run_as.uid, self._run_as.gid)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("PG") and not key.startswith("LC_")
        }
        env |= {"LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
        if self._run_as is not None:
            env |= {"HOME": str(base_dir), "USER": self._run_as.name, "LOGNAME": self._run_as.name}
        return _Cluster(
            bin_dir=self._bin_dir,
            base_dir=base_dir,
            data_dir=base_dir / "data",
            log_file=base_dir / "server.log",
            run_as=self._run_as,
            env=env,
        )

    def _initdb(self, cluster: _Cluster) -> None:
        command = [
            str(cluster.bin_dir / "initdb"),
            f"--pgdata={cluster.data_dir}",
            f"--username={self.user}",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
        ]
        if not self._fsync:
            command.append("--no-sync")
        result = _run(cluster, command, timeout=self._startup_timeout)
        if result.returncode != 0:
            raise PostgresServerError(
                f"initdb failed (exit {result.returncode}) in {cluster.data_dir}:\n"
                f"{_tail(result.stdout + result.stderr)}"
            )
        lines = [
            "",
            "# ledger-audit throwaway test server",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = {_quote_setting(str(cluster.base_dir / 'socket'))}",
            f"fsync = {'on' if self._fsync else 'off'}",
        ]
        if not self._fsync:
            lines += ["synchronous_commit = off", "full_page_writes = off"]
        lines += [f"{key} = {_quote_setting(value)}" for key, value in self._settings.items()]
        with (cluster.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n".join(lines) + "\n")

    def _start_postmaster(self, cluster: _Cluster, deadline: float) -> int:
        """Start on a free port; retry on another port if someone took ours meanwhile."""
        for attempt in range(1, _START_ATTEMPTS + 1):
            port = _free_port()
            remaining = max(1, int(deadline - time.monotonic()))
            result = _run(
                cluster,
                [
                    str(cluster.bin_dir / "pg_ctl"),
                    "start",
                    f"--pgdata={cluster.data_dir}",
                    f"--log={cluster.log_file}",
                    "--wait",
                    f"--timeout={remaining}",
                    f"--options=-p {port}",
                ],
                timeout=remaining + 10,
            )
            if result.returncode == 0:
                return port
            log_tail = _read_tail(cluster.log_file)
            if attempt < _START_ATTEMPTS and "could not bind" in log_tail:
                _pg_ctl_stop(cluster, "immediate")
                continue
            raise PostgresServerError(
                f"PostgreSQL did not start (pg_ctl exit {result.returncode}, timeout "
                f"{self._startup_timeout:g}s): {(result.stdout + result.stderr).strip()}\n"
                f"--- last lines of {cluster.log_file} ---\n{log_tail}"
            )
        raise PostgresServerError("unreachable: every start attempt returns or raises")

    def _wait_until_accepting(self, deadline: float) -> None:
        """Connect over TCP, the way tests will, before declaring the server ready."""
        engine = sa.create_engine(self.admin_url, poolclass=NullPool)
        try:
            while True:
                try:
                    with engine.connect() as conn:
                        conn.exec_driver_sql("SELECT 1")
                except sa.exc.OperationalError as exc:
                    if time.monotonic() >= deadline:
                        raise PostgresServerError(
                            f"PostgreSQL on 127.0.0.1:{self.port} did not accept connections "
                            f"within {self._startup_timeout:g}s: {exc.orig}\n"
                            f"--- last lines of {self.log_file} ---\n{_read_tail(self.log_file)}"
                        ) from exc
                    time.sleep(0.1)
                else:
                    return
        finally:
            engine.dispose()


def _resolve_run_as(run_as: str | None) -> _RunAs | None:
    """Pick the account to run the binaries as: ``None`` means ourselves."""
    if os.geteuid() != 0:
        current = pwd.getpwuid(os.geteuid()).pw_name
        if run_as is not None and run_as != current:
            raise PostgresServerError(
                f"cannot run PostgreSQL as {run_as!r}: only root can switch users (we are "
                f"{current!r}); leave run_as unset to run it as {current!r}"
            )
        return None
    name = run_as or "postgres"
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise PostgresServerError(
            f"we are root and PostgreSQL refuses to run as root, but user {name!r} does not "
            f"exist: run {ENSURE_SCRIPT} (the Debian package creates 'postgres') or pass "
            f"run_as=<a non-root user>"
        ) from None
    if entry.pw_uid == 0:
        raise PostgresServerError(f"run_as={name!r} is root; PostgreSQL refuses to run as root")
    return _RunAs(name=name, uid=entry.pw_uid, gid=entry.pw_gid)


def _run(
    cluster: _Cluster, command: Sequence[str], *, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a server binary as the cluster's owner, capturing its output for error messages."""
    run_as = cluster.run_as
    try:
        return subprocess.run(  # noqa: S603 - absolute paths to the PostgreSQL binaries we found
            command,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            env=dict(cluster.env),
            cwd=cluster.base_dir,
            user=run_as.uid if run_as else None,
            group=run_as.gid if run_as else None,
            extra_groups=[] if run_as else None,
        )
    except subprocess.TimeoutExpired as exc:
        raise PostgresServerError(
            f"{Path(command[0]).name} did not finish within {timeout:g}s\n"
            f"--- last lines of {cluster.log_file} ---\n{_read_tail(cluster.log_file)}"
        ) from exc


def _pg_ctl_stop(cluster: _Cluster, mode: str) -> bool:
    """Ask the postmaster to stop; ``True`` once no server runs on this data directory."""
    if not (cluster.data_dir / "postmaster.pid").exists():
        return True
    command = [
        str(cluster.bin_dir / "pg_ctl"),
        "stop",
        f"--pgdata={cluster.data_dir}",
        f"--mode={mode}",
        "--wait",
        f"--timeout={_STOP_TIMEOUT_S}",
    ]
    try:
        result = _run(cluster, command, timeout=_STOP_TIMEOUT_S + 10)
    except PostgresServerError:
        return False
    return result.returncode == 0 or not (cluster.data_dir / "postmaster.pid").exists()


def _shutdown(cluster: _Cluster) -> None:
    """Stop the postmaster (fast, then immediate) and delete the whole temporary directory."""
    if cluster.data_dir.exists() and not _pg_ctl_stop(cluster, "fast"):
        _pg_ctl_stop(cluster, "immediate")
    shutil.rmtree(cluster.base_dir, ignore_errors=True)


def _free_port() -> int:
    """A port the kernel just handed out on loopback, so almost surely free for a moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _has_server_binaries(bin_dir: Path) -> bool:
    return all(os.access(bin_dir / name, os.X_OK) for name in _REQUIRED_BINARIES)


def _version_key(name: str) -> tuple[int, ...] | None:
    """``"15"`` -> ``(15,)``, ``"9.6"`` -> ``(9, 6)``; anything else is not a version."""
    if re.fullmatch(r"\d+(\.\d+)*", name) is None:
        return None
    return tuple(int(part) for part in name.split("."))


def _quote_setting(value: str) -> str:
    """Quote a value for ``postgresql.conf`` (single quotes, doubled inside)."""
    escaped = value.replace("'", "''")
    return f"'{escaped}'"


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _read_tail(path: Path) -> str:
    try:
        return _tail(path.read_text(encoding="utf-8", errors="replace")) or "(log is empty)"
    except OSError as exc:
        return f"(no log: {exc})"


def _check_name(name: str) -> str:
    if _DATABASE_NAME.fullmatch(name) is None:
        raise PostgresServerError(
            f"invalid test database name {name!r}: use 1-63 lowercase letters, digits and "
            "underscores, starting with a letter or underscore"
        )
    return name


def _database_url(admin_url: str, name: str) -> str:
    url = sa.make_url(admin_url).set(database=_check_name(name))
    return url.render_as_string(hide_password=False)


def _create_database(admin_url: str, name: str) -> str:
    url = _database_url(admin_url, name)
    engine = sa.create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote_identifier(name)
            conn.exec_driver_sql(f"CREATE DATABASE {quoted} ENCODING 'UTF8' TEMPLATE template0")
    finally:
        engine.dispose()
    return url


def _drop_database(admin_url: str, name: str) -> None:
    _check_name(name)
    engine = sa.create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote_identifier(name)
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    finally:
        engine.dispose()
