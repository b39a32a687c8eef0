"""Vendor adapters: ``--adapter NAME`` reads a Ledger-as-a-Service's own data as the ledger.

Stage 1 of the data flow (sources), beside source mappings. Each adapter is written as a
source mapping where the mapping format can express the vendor, and in code where it cannot
(a JSON posting array, a vendor's hash chain); ``docs/adapters.md`` says which. Every adapter
also seals what it read with LACH-1 (``seal.py``) so the evidence names the copy audited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger_audit.sources.adapters.registry import ADAPTERS, Adapter, adapter_named, adapter_names

if TYPE_CHECKING:
    from pathlib import Path

    from ledger_audit.schema.lach1 import Checkpoint
    from ledger_audit.sources.adapters.adapted import Adapted

__all__ = [
    "ADAPTERS",
    "Adapter",
    "adapter_named",
    "adapter_names",
    "check_adapted",
    "load_adapted",
]


def check_adapted(source: str | Path, adapter: str) -> None:
    """Raise InputError unless ``source`` is the named vendor's layout; reads no row."""
    adapter_named(adapter).check(source)


def load_adapted(
    source: str | Path,
    adapter: str,
    *,
    checkpoints: tuple[Checkpoint, ...] = (),
    vendor_checks: bool = True,
) -> Adapted:
    """Read ``source`` through the named adapter, then seal it (compared with ``checkpoints``).

    ``vendor_checks=False``: only the frames are wanted (see ``Adapter.load``).
    """
    from ledger_audit.sources.adapters.adapted import Adapted  # noqa: PLC0415 - keep it light
    from ledger_audit.sources.adapters.seal import seal_check  # noqa: PLC0415 - hashing deps

    adapted = adapter_named(adapter).load(source, vendor_checks=vendor_checks)
    sealed = seal_check(adapted.adapter, adapted.frames, checkpoints)
    return Adapted(adapted.adapter, adapted.frames, adapted.report, (*adapted.native, sealed))
