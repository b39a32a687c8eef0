"""Scratch folders: removed by their run, and by the next run when their run was killed."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from ledger_audit.scratch import OWNER, ScratchFolder, remove_abandoned

PREFIX = "ledger-audit-test-"

_CHILD = """
import os, signal, sys
from pathlib import Path
from ledger_audit.scratch import ScratchFolder
folder = ScratchFolder({prefix!r}, Path({parent!r}))
(folder.path / "spilled.tmp").write_bytes(b"x" * 4096)
print(folder.path, flush=True)
if sys.argv[1] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
sys.stdin.read()  # alive until the test closes stdin
"""


def _child(parent: Path, how: str) -> tuple[subprocess.Popen[str], Path]:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(prefix=PREFIX, parent=str(parent)), how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    return child, Path(child.stdout.readline().strip())


def test_a_folder_is_locked_while_it_lives_and_gone_when_removed(tmp_path: Path) -> None:
    folder = ScratchFolder(PREFIX, tmp_path)
    assert folder.path.parent == tmp_path
    assert folder.path.name.startswith(PREFIX)
    assert [p.name for p in folder.path.iterdir()] == [OWNER]
    assert remove_abandoned(tmp_path, PREFIX) == []  # its owner, this process, is alive
    assert folder.path.is_dir()
    folder.remove()
    assert not folder.path.exists()
    folder.remove()  # a second call does nothing


def test_a_killed_runs_folder_goes_when_the_next_one_is_made(tmp_path: Path) -> None:
    child, left = _child(tmp_path, "kill")
    assert child.wait(timeout=60) == -signal.SIGKILL
    assert (left / "spilled.tmp").stat().st_size == 4096  # what a killed run leaves

    fresh = ScratchFolder(PREFIX, tmp_path)
    assert not left.exists()
    assert [p.name for p in tmp_path.iterdir()] == [fresh.path.name]
    fresh.remove()


def test_a_live_runs_folder_is_kept(tmp_path: Path) -> None:
    child, alive = _child(tmp_path, "wait")
    try:
        fresh = ScratchFolder(PREFIX, tmp_path)
        assert remove_abandoned(tmp_path, PREFIX) == []
        assert (alive / "spilled.tmp").exists()
        fresh.remove()
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=60)
    # its run ended without removing it: the next sweep does
    assert remove_abandoned(tmp_path, PREFIX) == [alive]
    assert not alive.exists()


def test_folders_without_a_lock_and_other_names_are_left_alone(tmp_path: Path) -> None:
    unowned = tmp_path / f"{PREFIX}older"  # another tool's, or an older version's
    unowned.mkdir()
    (tmp_path / f"{PREFIX}a-file").write_text("not a folder")
    other = tmp_path / "something-else"
    other.mkdir()
    (other / OWNER).touch()  # an unlocked owner file, but not our prefix

    assert remove_abandoned(tmp_path, PREFIX) == []
    assert unowned.is_dir()
    assert other.is_dir()
    assert (tmp_path / f"{PREFIX}a-file").is_file()
