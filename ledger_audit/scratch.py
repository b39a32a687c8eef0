"""Private scratch folders that a killed run does not leave behind for long.

DuckDB spills into a folder of its own, and a chain read from files out of order buckets
them into one. A run removes its folder when it ends; a run that is killed (out of memory,
a scheduler's timeout) cannot, and at 10M transactions such a folder holds gigabytes: one
left in ``/tmp`` filled the disk of the next month-end close.

So each folder holds a lock for as long as its run lives: an ``.owner`` file with an
exclusive ``flock`` on it, which the kernel releases when the process ends, however it
ends. Making a folder first removes the folders of the same prefix whose lock nobody holds.
A lock held means a live owner (in any process or container sharing the folder), so a
folder in use is never removed; a folder without an ``.owner`` file (made by another tool,
or by an older version) is left alone.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path

OWNER = ".owner"
"""The lock file in each scratch folder."""


class ScratchFolder:
    """A private folder under ``parent`` (the system's temporary folder by default).

    It stays locked until :meth:`remove`, which deletes it.
    """

    def __init__(self, prefix: str, parent: Path | None = None) -> None:
        root = Path(parent) if parent is not None else Path(tempfile.gettempdir())
        remove_abandoned(root, prefix)
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
        # locked under another name, then renamed: a sweep sees ``.owner`` only once locked
        staging = self.path / f"{OWNER}.new"
        self._lock: int | None = os.open(staging, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        staging.rename(self.path / OWNER)

    def remove(self) -> None:
        """Delete the folder and release its lock (once; later calls do nothing)."""
        if self._lock is None:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock)
        self._lock = None


def remove_abandoned(root: Path, prefix: str) -> list[Path]:
    """Remove the ``prefix`` folders in ``root`` whose owner has ended; the removed ones."""
    try:
        candidates = sorted(root.glob(f"{prefix}*"))
    except OSError:  # an unreadable folder: nothing to judge
        return []
    return [folder for folder in candidates if _abandoned_removed(folder)]


def _abandoned_removed(folder: Path) -> bool:
    try:
        if not folder.is_dir() or folder.is_symlink() or folder.stat().st_uid != os.getuid():
            return False
        lock = os.open(folder / OWNER, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:  # no lock file (not ours to judge), or gone meanwhile
        return False
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held: its run is alive
        os.close(lock)
        return False
    try:
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(lock)
    return True
