"""Put an evidence bundle in place: one run at a time, swapped in whole, reproducible.

The close writes a bundle into a staging folder beside its final place; these helpers make
the executed notebook reproducible, then replace the previous bundle with two renames, under
a lock, so that a reader sees the old bundle or the new one and never a mix.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger_audit.errors import InputError
from ledger_audit.exports.atomic import write_text_atomic

_TIMING_KEYS = ("start_time", "end_time", "duration")


@contextmanager
def folder_lock(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created) while the block runs.

    Raises:
        InputError: another process holds it (``what`` says what that process is doing).
    """
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(str(path), f"{what} is running here") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def swap_in(staging: Path, folder: Path) -> None:
    """Replace ``folder`` by ``staging`` with two renames on the same file system."""
    old = folder.with_name(f".{folder.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    staging.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def normalise_notebook(path: Path) -> None:
    """Drop what differs between two runs of the same notebook: timestamps, paths, ids.

    papermill stamps the run's start, end and duration (notebook and cells) and its input
    and output paths, and gives the cells it inserts random ids; the kernel client stamps
    each cell's execution times. The parameters, each cell's status and the failing cell's
    exception mark stay.
    """
    notebook = json.loads(path.read_text(encoding="utf-8"))
    meta = notebook.get("metadata", {}).get("papermill", {})
    for key in (*_TIMING_KEYS, "output_path", "input_path"):
        meta.pop(key, None)
    for number, cell in enumerate(notebook.get("cells", [])):
        if "id" in cell:
            cell["id"] = f"cell-{number:02d}"
        cell_meta = cell.get("metadata", {})
        cell_meta.pop("execution", None)
        for key in _TIMING_KEYS:
            cell_meta.get("papermill", {}).pop(key, None)
    text = json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    write_text_atomic(path, text)
