"""Source mappings: read a user's own tables, views, queries or files as the canonical ledger.

Stage 1 of the data flow (sources). ``read_mapping`` checks a ``mapping.toml`` for form;
``build_tables`` checks it against the source's catalogue before reading any row, then builds
the canonical tables, reporting every source row it could not load. The format is in
``docs/mapping.md``.
"""

from ledger_audit.sources.mapping.build import MappedTables, build_tables
from ledger_audit.sources.mapping.parse import FILL_IN, parse_mapping, read_mapping
from ledger_audit.sources.mapping.relations import open_relations
from ledger_audit.sources.mapping.spec import FORMAT, SourceMapping

__all__ = [
    "FILL_IN",
    "FORMAT",
    "MappedTables",
    "SourceMapping",
    "build_tables",
    "open_relations",
    "parse_mapping",
    "read_mapping",
]
