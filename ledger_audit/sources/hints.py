"""What an error about a source that is not the canonical schema tells the user to do next."""

from __future__ import annotations

NOT_CANONICAL = (
    ": not the canonical ledger schema (docs/schema.md); to audit your own tables, run "
    "'ledger-audit init SOURCE --out DIR' and pass --mapping DIR/mapping.toml (docs/mapping.md)"
)
"""Said after a missing canonical table, file or column: the user's own schema needs a mapping."""

MAPPED_SQL_SUITES = (
    "the SQL path runs the suites on canonical tables inside the database; a source read "
    "through a mapping has none: use --suites frame (the default) or off"
)
"""Why ``--suites sql`` is refused with ``--mapping``."""
