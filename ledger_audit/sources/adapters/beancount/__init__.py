"""``--adapter beancount``: a Beancount v3 file read by Beancount's own loader.

Stage 1 of the data flow (sources). Directives become canonical rows through the shared
plain-text conventions (``adapters/plaintext.py``); the loader's own errors, the balance
assertions replayed independently of the loader's verdict, and the transactions the canonical
ledger cannot carry are the adapter's native checks (docs/adapters/beancount.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ledger_audit.errors import InputError
from ledger_audit.sources.adapters.adapted import Adapted
from ledger_audit.sources.adapters.beancount.native import native_checks
from ledger_audit.sources.adapters.beancount.read import PLUGINS_ENV, read_file
from ledger_audit.sources.adapters.plaintext import require_zone, to_frames

NAME = "beancount"
SUFFIXES = (".beancount", ".bean")

NOTES = (
    "a Beancount file has no hash chain: only the mirror seal vouches for the copy audited",
    (
        "a Beancount file records no time of entry, only dates: recorded time is not proven, "
        "file order stands for it"
    ),
    "a Beancount file carries no idempotency keys or external ids",
    "a Beancount file stores no balances: drift against a stored balance is not proven",
    (
        "a Beancount transaction has a flag, not a pending lifecycle: '!' reads as pending, "
        "never resolved or voided"
    ),
    "a Beancount account has no negative-balance limit: every account allows negatives",
)


def check(source: str | Path) -> None:
    """Raise InputError unless ``source`` is a readable Beancount file (reads no directive)."""
    _path(source)


def _path(source: str | Path) -> Path:
    path = Path(source)
    where = f"--adapter {NAME}: {path}"
    if not path.is_file():
        raise InputError(
            where, "is not a file (expected a Beancount ledger file, e.g. ledger.beancount)"
        )
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(
            where,
            f"has suffix {path.suffix or '(none)'!r} (expected a Beancount file ending in "
            f"{' or '.join(SUFFIXES)})",
        )
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise InputError(where, f"cannot be read: {exc.strerror or exc}") from exc
    return path


def load(
    source: str | Path,
    *,
    zone: str = "UTC",
    scales: Mapping[str, int] | None = None,
    ledger_id: str | None = None,
) -> Adapted:
    """Read a Beancount file into canonical frames plus its native checks.

    Args:
        source: the ``.beancount`` file (its includes are followed by the loader).
        zone: the IANA zone whose midnight starts each date (UTC unless given).
        scales: commodity -> scale overrides (they win over ``scale:`` metadata and ISO 4217).
        ledger_id: the canonical ledger id (the file's stem unless given).
    """
    path = _path(source)
    require_zone(NAME, zone)
    read = read_file(path, zone=zone, scales=dict(scales or {}), ledger_id=ledger_id)
    notes: tuple[str, ...] = NOTES
    if read.skipped:
        listed = ", ".join(f"{count} {kind}" for kind, count in read.skipped.items())
        notes = (*notes, f"directives with no ledger effect were not read: {listed}")
    ran = [name for name in read.plugins if name not in read.held]
    if ran:
        notes = (
            *notes,
            (
                f"Beancount ran the file's plugins ({', '.join(ran)}): the rows "
                "audited are the plugins' output"
            ),
        )
    if read.held:
        notes = (
            *notes,
            (
                f"the file names plugins that are not Beancount's own ({', '.join(read.held)}): "
                f"they run Python code, so they were not run (set {PLUGINS_ENV}=run to run "
                "them); the rows audited are the file's directives without them"
            ),
        )
    loaded = to_frames(read.plain, notes)
    return Adapted(NAME, loaded.frames, loaded.report, native_checks(read, loaded))
