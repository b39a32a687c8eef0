"""Turn a user's relations into the six canonical tables, as raw frames ready for ``conform``.

Three phases, each over whole frames (no Python per row):

1. **Rows**: every relation is read and each mapped field converted (``fields``); a row with
   any problem (a value that cannot be represented exactly, a null where a value is needed,
   a currency without a scale) is marked with its first problem.
2. **Across rows**: among the remaining rows, duplicate ids, and transaction fields that
   differ between the rows of one transaction, mark every row involved (never keep one of
   them at random).
3. **Tables**: the canonical tables are derived from the unmarked rows only: transfers become
   two entries, history rows become versions, entries without a version belong to every
   version, accounts and assets are gathered.

Every marked row is reported under its relation and key (``source.rejected_row``); every
other row is loaded. What the mapping could not give (a chain, stored balances, effective
times...) is said in ``notes`` for the audit's coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.sources.ledger_frames import TableCount
from ledger_audit.sources.mapping import fields
from ledger_audit.sources.mapping.fields import reason_when
from ledger_audit.sources.mapping.gather import (
    accounts_table,
    balances_table,
    canonical_tables,
    rejected_rows,
)
from ledger_audit.sources.mapping.legs import entries_of_versions, entry_rows
from ledger_audit.sources.mapping.relations import RelationSource
from ledger_audit.sources.mapping.rows import Build, mark_duplicates, null_problem
from ledger_audit.sources.mapping.spec import SourceMapping
from ledger_audit.sources.mapping.versions import transaction_versions


@dataclass(frozen=True, slots=True, eq=False)
class MappedTables:
    """The canonical tables as raw frames, the rejected source rows, counts and notes.

    Attributes:
        tables: canonical table name -> frame with exactly the FRAME_SCHEMAS columns.
        rejections: REJECTION_SCHEMA rows, one per rejected source row.
        counts: per relation read: source rows read, loaded and rejected.
        notes: what the audit cannot prove because the mapping could not give it.
        in_key_order: the tables already in their KEYS order (``conform`` need not check).
    """

    tables: dict[str, pl.DataFrame]
    rejections: pl.DataFrame
    counts: tuple[TableCount, ...]
    notes: tuple[str, ...]
    in_key_order: frozenset[str] = frozenset()


def declared_scales(build: Build) -> pl.DataFrame:
    """Currency code -> scale, from ``[assets]`` or the user's scale relation (bad rows out)."""
    assets = build.mapping.assets
    schema = {"code": pl.String, "scale": pl.Int64}
    if assets.section is None:
        return pl.DataFrame(
            {"code": [c for c, _ in assets.scales], "scale": [s for _, s in assets.scales]},
            schema=schema,
        )
    rel = build.rel(assets.section)
    code = fields.text(assets.code, rel.dtypes)
    scale = fields.integer(assets.scale_field, rel.dtypes)
    out = build.evaluate(
        rel,
        {"code": code.value, "scale": scale.value},
        [
            *fields.problems(code, scale),
            null_problem(code.value, "assets.code"),
            null_problem(scale.value, "assets.scale"),
            reason_when(~scale.value.is_between(0, 38), "assets.scale: not between 0 and 38"),
        ],
    )
    mark_duplicates(rel, out, ["code"], "assets")
    return rel.good(out).select("code", "scale").sort("code")


def build_tables(mapping: SourceMapping, source: RelationSource) -> MappedTables:
    """Read every relation the mapping names and build the canonical raw tables."""
    build = Build(mapping, source)
    build.read_all()
    scales = declared_scales(build)
    rows, tx_in_entries = entry_rows(build, scales)
    transactions = transaction_versions(build, tx_in_entries)
    entries = entries_of_versions(build, rows, transactions)
    accounts = accounts_table(build, entries, scales)
    balances = balances_table(build, scales)
    tables = canonical_tables(
        build,
        scales=scales,
        accounts=accounts,
        transactions=transactions,
        entries=entries,
        balances=balances,
    )
    rejections, counts = rejected_rows(build)
    notes = tuple(dict.fromkeys(build.notes))
    return MappedTables(tables, rejections, counts, notes, frozenset(build.in_key_order))
