"""Memory of a process tree read from ``/proc``: the close benchmarks' children share it."""

from __future__ import annotations

import contextlib
from pathlib import Path


def status_mib(pid: int) -> dict[str, float]:
    """``VmRSS``, ``VmHWM`` and ``RssAnon`` (RSS less file pages) in MiB; empty once gone."""
    out: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon"):
                out[key] = int(value.split()[0]) / 1024
    return out


def descendants(root: int) -> dict[int, str]:
    """Every live descendant of ``root`` (pid -> command name), from ``/proc``."""
    parent: dict[int, int] = {}
    name: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
            head, _, tail = stat.rpartition(")")
            parent[int(entry.name)] = int(tail.split()[1])
            name[int(entry.name)] = head.partition("(")[2]
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child, ppid in parent.items():
            if ppid == pid and child not in found:
                found[child] = name[child]
                frontier.append(child)
    return found
