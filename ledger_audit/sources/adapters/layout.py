"""Is this source the vendor's layout? Checked from the catalogue before any row is read.

A wrong or partial vendor schema (a missing table, an older migration without a column) must
fail in a second with the adapter, the table and what was expected named, not as a mapping
error about a file the user never wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ledger_audit.errors import InputError
from ledger_audit.sources.ledger_frames import LedgerFrames, LoadReport
from ledger_audit.sources.load import load_mapped_from
from ledger_audit.sources.mapping import parse_mapping
from ledger_audit.sources.mapping.relations import RelationRef, RelationSource

_SHOWN = 12
"""Names listed in an error before it says "and N more"."""


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    more = len(names) - _SHOWN
    return f"{shown}, and {more} more" if more > 0 else shown or "none"


def require_layout(
    adapter: str,
    opened: RelationSource,
    expected: Mapping[str, Sequence[str]],
    *,
    hint: str = "",
) -> None:
    """Raise InputError unless every ``expected`` relation exists with its columns.

    ``expected`` maps relation names (``blnk.transactions`` for a schema-qualified table, a
    file stem for a folder) to the columns the adapter reads. The error names the adapter, the
    first relation that does not fit, what it lacks and what it has; ``hint`` is appended
    (which vendor version or migration introduced the part, for instance).
    """
    known = opened.relations()
    suffix = f" {hint}" if hint else ""
    for relation, columns in expected.items():
        if relation not in known and relation.split(".")[-1] not in known:
            raise InputError(
                f"--adapter {adapter}: {opened.label}",
                f"table {relation!r} is missing (expected the vendor's tables "
                f"{_listed(list(expected))}; the source has {_listed(list(known))}).{suffix}",
            )
        present = [c.name for c in opened.columns(RelationRef(name=relation))]
        missing = [c for c in columns if c not in present]
        if missing:
            raise InputError(
                f"--adapter {adapter}: {opened.label} table {relation}",
                f"column(s) {_listed(missing)} missing (expected {_listed(list(columns))}; "
                f"it has {_listed(present)}).{suffix}",
            )


def load_with_mapping(
    adapter: str,
    opened: RelationSource,
    mapping_text: str,
    *,
    notes: tuple[str, ...] = (),
) -> tuple[LedgerFrames, LoadReport]:
    """Read ``opened`` through an adapter's own mapping (docs/mapping.md format, in code).

    An adapter the mapping format can express is written as a mapping, so it inherits every
    guarantee of a mapped load (each source row loaded or reported, amounts exact). ``notes``
    say what the vendor cannot give; they join the report's notes and the load's coverage.
    """
    spec = parse_mapping(mapping_text, Path(f"<adapter {adapter}>"))
    return load_mapped_from(opened, spec, notes=notes)


def one_label(paths: Sequence[Path]) -> str:
    """How a report names a source made of files: the first, and how many others."""
    if not paths:
        return "no files"
    rest = len(paths) - 1
    return str(paths[0]) if rest == 0 else f"{paths[0]} (+{rest} more)"
