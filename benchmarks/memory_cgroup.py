"""Run a benchmark child inside a memory cgroup: does it complete within a limit?

Peak RSS counts every resident page, those of mapped files included, which the kernel can
drop and read back; it overstates what a process needs. A cgroup's memory limit is the
test that does not: the kernel reclaims file pages (the page cache, mapped files) to stay
under it and kills the process only when what cannot be reclaimed (its heap, with no swap)
does not fit. Used by ``bench_close.py --memory-limit``.

Needs a writable cgroup hierarchy (root, or a delegated subtree): v1's ``memory``
controller or v2 with ``memory`` enabled for its children. Elsewhere it says why not.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([kmgt]?)i?b?", re.IGNORECASE)
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_size(text: str) -> int:
    """``3G``, ``2.5g``, ``512M``, ``1073741824`` -> bytes (binary units)."""
    found = _SIZE.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"expected a size such as 3G or 512M, got {text!r}")
    return int(float(found.group(1)) * _UNITS[found.group(2).lower()])


class MemoryCgroup:
    """A fresh cgroup with ``limit`` bytes of memory; children join it before they exec.

    Attributes:
        path: the group's folder.
        version: 1 or 2.
    """

    def __init__(self, name: str, limit: int) -> None:
        v1 = ROOT / "memory"
        if (v1 / "memory.limit_in_bytes").is_file():
            self.version, self.path = 1, v1 / name
        elif "memory" in _read(ROOT / "cgroup.subtree_control").split():
            self.version, self.path = 2, ROOT / name
        else:
            raise OSError(f"no writable memory cgroup under {ROOT}")
        self.path.mkdir(exist_ok=True)
        limit_file = "memory.limit_in_bytes" if self.version == 1 else "memory.max"
        (self.path / limit_file).write_text(str(limit), encoding="ascii")

    def join(self) -> None:
        """Move the calling process in (``preexec_fn``: the child, before it execs)."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()), encoding="ascii")

    def peak_mib(self) -> float:
        """The group's highest charge: heap and page cache (reclaimable) together."""
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        text = _read(self.path / name)
        return int(text) / 2**20 if text.strip().isdigit() else float("nan")

    def oom_kills(self) -> int:
        """How many of the group's processes the kernel killed for want of memory."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        for line in _read(self.path / name).splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def remove(self) -> None:
        """Remove the (empty) group; its processes have exited."""
        for _ in range(50):
            try:
                self.path.rmdir()
            except OSError:
                time.sleep(0.1)  # the kernel frees an exited member's charge a moment later
            else:
                return


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except OSError:
        return ""
