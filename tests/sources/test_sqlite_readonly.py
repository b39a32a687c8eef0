"""The audited SQLite file is never written: any journal mode, any folder permission.

The ledgers here are written by the reference writer (WAL mode) in a child process that
exits without closing its connection, as a crashed or still-running writer leaves them: the
latest transactions live only in ``-wal``. ``verify`` runs as the CLI, as a non-root user on
a read-only folder (root ignores permissions), through both SQLite paths: the ADBC reader
and the SQL suites' SQLAlchemy engine (``--suites sql``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ledger_audit.cli import main
from ledger_audit.errors import InputError
from ledger_audit.sources import load_ledger
from ledger_audit.sources.database import open_sqlite
from ledger_audit.sources.sqlite_readonly import plan_read_only
from tests.conftest import PROJECT_ROOT, missing_prerequisite

TRANSACTIONS = 3
UNPRIVILEGED = 65534  # nobody
CLI = PROJECT_ROOT / ".venv" / "bin" / "ledger-audit"

_WRITER = textwrap.dedent(
    """
    import os, sys
    from ledger_audit.ledger import admin
    from ledger_audit.ledger.engine import open_writer_engine
    from ledger_audit.ledger.requests import AccountSpec, EntrySpec, PostTransaction
    from ledger_audit.ledger.writer import LedgerWriter

    engine = open_writer_engine("sqlite:///" + sys.argv[1], create=True)
    admin.create_ledger(engine, "main", name="Main", created_ns=0)
    admin.register_asset(engine, "USD/2")
    admin.open_accounts(engine, "main", [
        AccountSpec("assets:bank", "debit", "USD/2"),
        AccountSpec("liabilities:wallet:alice", "credit", "USD/2"),
    ], opened_ns=0)
    writer = LedgerWriter(engine, "main")
    for i in range(int(sys.argv[2])):
        writer.submit(PostTransaction(f"deposit-{i}", (
            EntrySpec("assets:bank", "USD/2", "debit", 100 + i),
            EntrySpec("liabilities:wallet:alice", "USD/2", "credit", 100 + i),
        )))
    if sys.argv[3] == "crash":
        os._exit(0)  # no close, no checkpoint: the transactions stay in -wal
    engine.dispose()
    """
)

Snapshot = dict[str, str]


def _write_ledger(folder: Path, ending: str) -> Path:
    folder.mkdir()
    path = folder / "ledger.sqlite"
    subprocess.run(
        [sys.executable, "-c", _WRITER, str(path), str(TRANSACTIONS), ending],
        check=True,
        cwd=PROJECT_ROOT,
    )
    return path


@pytest.fixture
def wal_ledger(tmp_path: Path) -> Path:
    """A WAL ledger whose transactions are all in ``-wal`` (main file: schema at most)."""
    path = _wal(tmp_path)
    assert (tmp_path / "wal" / "ledger.sqlite-wal").stat().st_size > 32
    assert (tmp_path / "wal" / "ledger.sqlite-shm").is_file()
    return path


def _checkpointed(tmp_path: Path) -> Path:
    """WAL mode, closed cleanly: no side file, the header still says WAL."""
    path = _write_ledger(tmp_path / "checkpointed", "close")
    assert sorted(p.name for p in path.parent.iterdir()) == ["ledger.sqlite"]
    assert path.read_bytes()[18:20] == b"\x02\x02"
    return path


def _rollback(tmp_path: Path) -> Path:
    """The same ledger switched to rollback-journal mode."""
    path = _write_ledger(tmp_path / "rollback", "close")
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")
    connection.close()
    assert path.read_bytes()[18:20] == b"\x01\x01"
    return path


def _wal(tmp_path: Path) -> Path:
    return _write_ledger(tmp_path / "wal", "crash")


def snapshot(folder: Path) -> Snapshot:
    """Every file of ``folder`` with the SHA-256 of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def _transactions_in_main_file_only(path: Path) -> int:
    uri = f"file:{path}?immutable=1"
    with sqlite3.connect(uri, uri=True) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM transactions").fetchone()[0])
        except sqlite3.OperationalError:  # not even the schema is checkpointed
            return 0


def test_transactions_only_in_the_wal_are_read_and_nothing_is_written(wal_ledger: Path) -> None:
    before = snapshot(wal_ledger.parent)
    assert _transactions_in_main_file_only(wal_ledger) < TRANSACTIONS  # the WAL matters
    frames, report = load_ledger(wal_ledger)
    assert frames.transactions.height == TRANSACTIONS
    assert report.rejections.is_empty()
    assert snapshot(wal_ledger.parent) == before  # -shm included: no read mark written


@pytest.mark.parametrize("make", [_wal, _checkpointed, _rollback])
def test_verify_in_a_writable_folder_leaves_it_as_it_was(
    make: Callable[[Path], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make(tmp_path)
    before = snapshot(path.parent)
    out = tmp_path / "out"
    code = main(["verify", str(path), "--out", str(out), "--suites", "sql"])
    printed = capsys.readouterr()
    assert code == 0, printed
    assert snapshot(path.parent) == before
    _assert_all_transactions_checked(out)


def _assert_all_transactions_checked(out: Path) -> None:
    (checkpoint,) = json.loads((out / "checkpoints.json").read_text())["checkpoints"]
    assert checkpoint["row_count"] == TRANSACTIONS


def _as_unprivileged() -> list[str]:
    """A command prefix that runs as ``nobody``, or nothing when we are not root.

    The interpreter may live under a home only root can enter (``/root/.pyenv``), so the
    user keeps the one capability to search directories and read files (DAC_READ_SEARCH);
    writing still needs ordinary permissions, which is what is tested.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        missing_prerequisite("setpriv (util-linux) is needed to run verify as a non-root user")
    return [
        setpriv,
        f"--reuid={UNPRIVILEGED}",
        f"--regid={UNPRIVILEGED}",
        "--clear-groups",
        "--inh-caps=+dac_read_search",
        "--ambient-caps=+dac_read_search",
        "--",
    ]


def _read_only(folder: Path) -> None:
    for file in folder.iterdir():
        file.chmod(0o444)
    folder.chmod(0o555)


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temporary folder every user can enter (pytest's ``tmp_path`` is root's alone).

    The capability that lets the user reach the interpreter does not count for
    ``access(2)``, which SQLite uses to see whether ``-wal`` exists.
    """
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        folder.chmod(0o755)
        yield folder
        for child in folder.iterdir():  # let the clean-up delete the read-only folder
            child.chmod(0o755)


@pytest.mark.parametrize("make", [_wal, _checkpointed, _rollback])
def test_verify_as_a_non_root_user_on_a_read_only_folder(
    make: Callable[[Path], Path], open_tmp: Path
) -> None:
    tmp_path = open_tmp
    path = make(tmp_path)
    _read_only(path.parent)
    before = snapshot(path.parent)
    out = tmp_path / "out"
    out.mkdir()
    if os.geteuid() == 0:
        os.chown(out, UNPRIVILEGED, UNPRIVILEGED)
    done = subprocess.run(
        [*_as_unprivileged(), str(CLI), "verify", str(path), "--out", str(out), "--suites", "sql"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "HOME": str(out)},
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stderr == ""
    with pytest.raises(PermissionError):  # the folder really is read-only for that user
        _touch_as_unprivileged(path.parent / "x")
    assert snapshot(path.parent) == before
    _assert_all_transactions_checked(out)


def _touch_as_unprivileged(target: Path) -> None:
    done = subprocess.run(
        [*_as_unprivileged(), "touch", str(target)], capture_output=True, check=False
    )
    if done.returncode != 0:
        raise PermissionError(done.stderr)


def test_a_wal_without_its_shm_is_refused_with_what_to_do(
    wal_ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (wal_ledger.parent / "ledger.sqlite-shm").unlink()
    before = snapshot(wal_ledger.parent)
    assert main(["verify", str(wal_ledger), "--out", str(tmp_path / "out")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert str(wal_ledger) in line
    assert "ledger.sqlite-wal" in line
    assert "checkpoint" in line
    assert snapshot(wal_ledger.parent) == before


def test_an_immutable_read_that_the_file_changed_under_is_refused(tmp_path: Path) -> None:
    path = _checkpointed(tmp_path)
    assert plan_read_only(path, "x").mode == "immutable"
    with (  # noqa: PT012 - the change happens inside the read
        pytest.raises(InputError, match="changed while it was read"),
        open_sqlite(path, batch_size=100) as reader,
    ):
        reader.read_raw("ledgers")
        os.utime(path, ns=(0, 0))  # what a checkpoint by a live writer does to it


def test_a_path_with_uri_characters_opens(tmp_path: Path) -> None:
    path = _wal(tmp_path)
    odd = tmp_path / "a b%20c#d?e"
    path.parent.rename(odd)
    moved = odd / path.name
    before = snapshot(odd)
    frames, _ = load_ledger(moved)
    assert frames.transactions.height == TRANSACTIONS
    assert main(["verify", str(moved), "--out", str(tmp_path / "out"), "--suites", "sql"]) == 0
    assert snapshot(odd) == before


_CRASH_MID_WRITE = textwrap.dedent(
    """
    import os, sqlite3, sys
    connection = sqlite3.connect(sys.argv[1], isolation_level=None)
    connection.execute("PRAGMA cache_size=5")
    connection.execute("BEGIN")
    connection.execute(
        "CREATE TABLE pad AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r "
        "WHERE i < 2000) SELECT randomblob(500) AS x FROM r"
    )
    os._exit(0)  # the cache spilled into the file: its journal is hot
    """
)


def test_a_hot_journal_is_refused_and_said_to_be_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _rollback(tmp_path)
    subprocess.run([sys.executable, "-c", _CRASH_MID_WRITE, str(path)], check=True)
    assert (path.parent / "ledger.sqlite-journal").stat().st_size > 0
    before = snapshot(path.parent)
    assert main(["verify", str(path), "--out", str(tmp_path / "out")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "ledger.sqlite-journal is the journal of a write that never finished" in line
    assert snapshot(path.parent) == before  # not rolled back by the audit
