"""One way in for every command and notebook: canonical tables, a source mapping, or an adapter.

``verify``, ``reconcile``, ``close`` and the notebooks all read the ledger through
:func:`read_ledger`, so ``--mapping`` and ``--adapter`` mean the same everywhere, and the
vendor's own checks (``native``) travel with the frames to wherever the audit runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ledger_audit.errors import InputError
from ledger_audit.findings import NativeCheck
from ledger_audit.schema.lach1 import Checkpoint
from ledger_audit.sources.ledger_frames import LedgerFrames, LoadReport
from ledger_audit.sources.load import check_source, load_ledger


@dataclass(frozen=True, slots=True, eq=False)
class LedgerRead:
    """A ledger as read, with the checks only its source allowed.

    Attributes:
        frames: the canonical frames.
        report: what was read, loaded and rejected.
        native: each vendor-specific check an adapter ran, with the rules it covers,
            including the LACH-1 seal of what it read; empty for other sources.
        adapter: the adapter's name, if one read the source.
    """

    frames: LedgerFrames
    report: LoadReport
    native: tuple[NativeCheck, ...] = ()
    adapter: str | None = None

    def chain_checkpoints(self, checkpoints: tuple[Checkpoint, ...]) -> tuple[Checkpoint, ...]:
        """The checkpoints for the canonical chain check: all but this adapter's seals.

        An adapter's seal (``formance:main``) was compared by the adapter; handed to the
        LACH-1 check, which knows no such ledger, it would read as a truncated chain.
        """
        if self.adapter is None:
            return checkpoints
        prefix = f"{self.adapter}:"
        return tuple(c for c in checkpoints if not c.ledger_id.startswith(prefix))


def _one_reader(mapping: object, adapter: str | None) -> None:
    if mapping is not None and adapter is not None:
        raise InputError(
            "--adapter",
            "give either --mapping (your own tables) or --adapter (a vendor's layout), not both",
        )


def check_ledger_source(
    source: str | Path, *, mapping: str | Path | None = None, adapter: str | None = None
) -> None:
    """Raise the InputError a read would raise on the source's layout; reads no row."""
    _one_reader(mapping, adapter)
    if adapter is None:
        check_source(source, mapping=mapping)
        return
    from ledger_audit.sources.adapters import check_adapted  # noqa: PLC0415

    check_adapted(source, adapter)


def read_ledger(
    source: str | Path,
    *,
    mapping: str | Path | None = None,
    adapter: str | None = None,
    checkpoints: tuple[Checkpoint, ...] = (),
    vendor_checks: bool = True,
) -> LedgerRead:
    """Read ``source`` as canonical tables, through ``mapping``, or through ``adapter``.

    ``checkpoints`` are earlier audits' positions; an adapter compares its seal with those
    named after it (``formance:<ledger>``). ``vendor_checks=False``: the caller uses the
    frames only (an adapter may then skip reading what only its own checks need). Raises
    InputError on a source that cannot be read.
    """
    _one_reader(mapping, adapter)
    if adapter is None:
        frames, report = load_ledger(source, mapping=mapping)
        return LedgerRead(frames, report)
    from ledger_audit.sources.adapters import load_adapted  # noqa: PLC0415

    adapted = load_adapted(source, adapter, checkpoints=checkpoints, vendor_checks=vendor_checks)
    return LedgerRead(adapted.frames, adapted.report, adapted.native, adapted.adapter)
