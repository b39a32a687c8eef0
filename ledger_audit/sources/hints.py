"""What an error about a source that is not the canonical schema tells the user to do next."""

from __future__ import annotations

NOT_CANONICAL = (
    ": not the canonical ledger schema (docs/schema.md); to audit your own tables, run "
    "'ledger-audit init SOURCE --out DIR' and pass --mapping DIR/mapping.toml (docs/mapping.md)"
)
"""Said after a missing canonical table, file or column: the user's own schema needs a mapping."""
